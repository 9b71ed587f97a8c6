package e2e

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/alertmanager/template"
	"github.com/prometheus/common/model"

	"github.com/alertbridge/alertbridge/api"
	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/internal/racebuild"
	"github.com/alertbridge/alertbridge/store/sqlite"
)

// webhookMessage is the body Alertmanager's webhook notifier POSTs (version
// 4). It mirrors webhook.Message of
// github.com/prometheus/alertmanager/notify/webhook field for field, tags
// and order included, as ingest and loadgen do: importing that package would
// add Alertmanager's whole notification stack (about 55 modules: memberlist,
// Kafka, gRPC, OpenTelemetry) to go.mod for three fields. template.Data, which
// holds everything else, is the real type.
type webhookMessage struct {
	*template.Data

	Version         string `json:"version"`
	GroupKey        string `json:"groupKey"`
	TruncatedAlerts uint64 `json:"truncatedAlerts"`
}

// Crash-test load: workers post webhooks concurrently until the daemon is
// killed, once a random number of payloads, between killAfterAcks and
// twice that, have been acknowledged in its life.
const (
	crashWorkers  = 8
	killAfterAcks = 200
)

// crashRounds is how many lives end in a SIGKILL before the checks of the
// last one: `make test` kills once, `make crash-test` many times
// (-crash.rounds, or ALERTBRIDGE_CRASH_ROUNDS).
var crashRounds = flag.Int("crash.rounds", envInt("ALERTBRIDGE_CRASH_ROUNDS", 1), "SIGKILLs of TestCrashLosesNothing")

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

// TestCrashLosesNothing checks invariants 1, 2 and 5 across kill -9: it
// builds the real binary, with a webhook sink that never answers so that
// every outbox row stays, loads it with concurrent webhooks, SIGKILLs it
// while requests are in flight, restarts it on the same storage, and checks
// that every acknowledged payload is reflected and that no key has two
// active incidents, crashRounds times. Then it checks that redelivering
// everything changes nothing, that SIGTERM shuts down gracefully, and, in
// the database itself, that its integrity check passes, that no key has two
// active incidents, and that every change that notifies has its outbox row.
func TestCrashLosesNothing(t *testing.T) {
	t.Parallel()
	bin := mustBuildDaemon(t)
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	// A sink nobody listens on: its rows stay pending, to be counted.
	cfg := mustWriteFile(t, dir, "alertbridge.yml", `sinks:
  - name: nowhere
    backoff: {initial: 1s, max: 10s}
    webhook:
      url: http://`+mustFreeAddr(t)+`/hook
`)
	ctx := context.Background()
	seed := uint64(time.Now().UnixNano())
	t.Logf("load seed %d, %d rounds", seed, *crashRounds)
	rng := rand.New(rand.NewPCG(seed, 0))
	var load *crashLoad
	for round := 1; round <= *crashRounds; round++ {
		d, base := mustStartDaemon(t, bin, data, "--config.file="+cfg)
		if load == nil {
			load = newCrashLoad(base, seed)
		} else {
			// Everything acknowledged in the lives before must be there.
			c := &api.Client{BaseURL: base, HTTP: &http.Client{Timeout: 30 * time.Second}}
			mustCheckCrashState(t, ctx, c, load)
			load.base = base
		}
		until := load.acks.Load() + killAfterAcks + rng.Int64N(killAfterAcks)
		load.start(t)
		eventually(t, 60*time.Second, func() error {
			if n := load.acks.Load(); n < until {
				return fmt.Errorf("%d payloads acknowledged, waiting for %d", n, until)
			}
			if load.inflight.Load() == 0 {
				return fmt.Errorf("no request in flight")
			}
			return nil
		})
		inflight := load.inflight.Load()
		if err := d.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatalf("SIGKILL: %v", err)
		}
		<-d.done
		load.wait()
		if strings.Contains(d.out.String(), "WARNING: DATA RACE") {
			t.Error("the race detector reported a data race in the daemon before the kill (its output is below)")
		}
		t.Logf("round %d: SIGKILL with about %d requests in flight; %d payloads acknowledged, %d sent without an answer",
			round, inflight, load.acks.Load(), load.unknown())
		if t.Failed() {
			t.FailNow()
		}
	}

	// The last life: everything acknowledged must be there.
	d2, base2 := mustStartDaemon(t, bin, data, "--config.file="+cfg)
	c := &api.Client{BaseURL: base2, HTTP: &http.Client{Timeout: 30 * time.Second}}
	before := mustCheckCrashState(t, ctx, c, load)

	// Redelivery: Alertmanager re-sends what it is unsure about; a payload
	// applied twice must change nothing.
	load.redeliver(t, base2)
	if t.Failed() {
		t.FailNow()
	}
	after := mustCheckCrashState(t, ctx, c, load)
	if len(after) != len(before) {
		t.Errorf("redelivery changed the number of incidents: %d → %d", len(before), len(after))
	}
	for id, b := range before {
		if a, ok := after[id]; !ok || a != b {
			t.Errorf("redelivery changed incident %d: %+v → %+v", id, b, a)
		}
	}

	// A graceful shutdown: SIGTERM drains and exits 0 (a data race found by a
	// -race build would make it 66).
	if err := d2.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}
	select {
	case <-d2.done:
		if d2.err != nil {
			t.Errorf("after SIGTERM the daemon exited with %v, want exit status 0", d2.err)
		}
	case <-time.After(shutdownBound):
		t.Errorf("the daemon still runs %s after SIGTERM", shutdownBound)
	}
	mustCheckCrashDB(t, filepath.Join(data, sqlite.FileName))
}

// mustCheckCrashDB checks the database the crash test left: SQLite's
// integrity check, one active incident per key at most (invariant 2), and
// an outbox row for every timeline entry that notifies sinks, or a release
// of the incident's held notifications after it (invariant 5).
func mustCheckCrashDB(t *testing.T, path string) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	defer db.Close()
	var integrity string
	if err := db.QueryRow(`PRAGMA integrity_check`).Scan(&integrity); err != nil || integrity != "ok" {
		t.Errorf("PRAGMA integrity_check = %q, %v; want ok", integrity, err)
	}
	var dupKeys int
	if err := db.QueryRow(`SELECT COUNT(*) FROM (SELECT correlation_key FROM incidents
		WHERE state IN ('open', 'acknowledged') GROUP BY correlation_key HAVING COUNT(*) > 1)`).Scan(&dupKeys); err != nil || dupKeys != 0 {
		t.Errorf("%d keys with more than one active incident (%v)", dupKeys, err)
	}
	// Every episode is found again from its alert's number (migration
	// 0020): the number its alert's state holds. The daemon writes an
	// alert's state with its episodes, so no number is an orphan's, and a
	// restart never gives a number twice.
	var lost, orphans int
	if err := db.QueryRow(`SELECT COUNT(*) FROM alert_episodes e WHERE e.alert_no IS NOT
		(SELECT s.alert_no FROM alert_states s WHERE s.source = e.source AND s.fingerprint = e.fingerprint)`).Scan(&lost); err != nil || lost != 0 {
		t.Errorf("%d episodes whose number is not their alert state's (%v)", lost, err)
	}
	if err := db.QueryRow(`SELECT COUNT(*) FROM alert_orphans`).Scan(&orphans); err != nil || orphans != 0 {
		t.Errorf("%d alert numbers without a state (%v)", orphans, err)
	}
	// The search index holds exactly the incidents up to its mark
	// (migration 0027): each batch and its mark commit together.
	var unindexed, stray, marked int
	if err := db.QueryRow(`SELECT
		(SELECT COUNT(*) FROM incidents i WHERE i.id <= m.upto
			AND NOT EXISTS (SELECT 1 FROM incident_search_docsize d WHERE d.id = i.id)),
		(SELECT COUNT(*) FROM incident_search_docsize d WHERE d.id > m.upto
			OR NOT EXISTS (SELECT 1 FROM incidents i WHERE i.id = d.id)),
		(SELECT COUNT(*) FROM incidents i WHERE i.id <= m.upto)
		FROM incident_search_indexed m WHERE m.id = 1`).Scan(&unindexed, &stray, &marked); err != nil || unindexed != 0 || stray != 0 {
		t.Errorf("search index: %d incidents under its mark missing, %d entries it should not hold (%v)", unindexed, stray, err)
	}
	// The counts the scrape reads are the rows' own (migrations 0029,
	// 0030, 0031): their triggers run in the transaction that changes the
	// rows. An hour of the backlog none is active in has no row.
	for _, c := range []struct{ name, kept, rows string }{
		{"incident_counts", `SELECT kind, priority, n FROM incident_counts WHERE n <> 0`,
			`SELECT state, priority, COUNT(*) FROM incidents WHERE state IN ('open', 'acknowledged') GROUP BY state, priority
			UNION ALL SELECT 'respond_breached', priority, COUNT(*) FROM incidents WHERE respond_breached_at IS NOT NULL GROUP BY priority
			UNION ALL SELECT 'resolve_breached', priority, COUNT(*) FROM incidents WHERE resolve_breached_at IS NOT NULL GROUP BY priority`},
		{"outbox_counts", `SELECT sink, state, n FROM outbox_counts WHERE n <> 0`,
			`SELECT sink, state, COUNT(*) FROM outbox GROUP BY sink, state`},
		{"backlog_hours", `SELECT hour, n FROM backlog_hours`,
			`SELECT opened_at / 3600000000000, COUNT(*) FROM incidents
			WHERE state IN ('open', 'acknowledged') AND opened_at IS NOT NULL GROUP BY 1`},
	} {
		var differ int
		if err := db.QueryRow(`SELECT COUNT(*) FROM (SELECT * FROM (` + c.kept + `) EXCEPT SELECT * FROM (` + c.rows + `)
			UNION ALL SELECT * FROM (SELECT * FROM (` + c.rows + `) EXCEPT SELECT * FROM (` + c.kept + `)))`).Scan(&differ); err != nil || differ != 0 {
			t.Errorf("%s: %d rows differ from the counts of the rows themselves (%v)", c.name, differ, err)
		}
	}
	rows, err := db.Query(`SELECT t.id, t.incident_id, t.kind FROM timeline t
		WHERE NOT EXISTS (SELECT 1 FROM outbox o WHERE o.timeline_id = t.id)
		  AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.incident_id = t.incident_id AND o.timeline_id IS NULL AND o.created_at >= t.at)`)
	if err != nil {
		t.Fatalf("timeline without outbox: %v", err)
	}
	defer rows.Close()
	var entries, missing int
	for rows.Next() {
		var id, inc int64
		var kind string
		if err := rows.Scan(&id, &inc, &kind); err != nil {
			t.Fatal(err)
		}
		if _, notifies := incident.NotifyKindOf(incident.TimelineKind(kind)); notifies {
			missing++
			if missing <= 10 {
				t.Errorf("timeline entry %d (%s) of incident %d has no outbox row", id, kind, inc)
			}
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(`SELECT COUNT(*) FROM timeline`).Scan(&entries); err != nil {
		t.Fatal(err)
	}
	var outbox int
	if err := db.QueryRow(`SELECT COUNT(*) FROM outbox`).Scan(&outbox); err != nil {
		t.Fatal(err)
	}
	t.Logf("database: integrity ok, %d timeline entries, %d outbox rows, %d notifying entries without one, %d incidents indexed for search",
		entries, outbox, missing, marked)
	if outbox == 0 {
		t.Error("no outbox row at all: the sink was not configured, and the check checked nothing")
	}
}

// shutdownBound is how long a graceful shutdown of an idle daemon may take: a
// hang guard well below the daemon's 30s drain limit, not a speed target.
const shutdownBound = 20 * time.Second

// mustBuildDaemon builds ./cmd/alertbridge into a temporary directory, with
// -race when the tests run with it (the build then reuses their packages).
func mustBuildDaemon(t *testing.T) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to build the daemon: %v", err)
	}
	out, err := exec.Command(goBin, "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("go env GOMOD: %v", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == "/dev/null" {
		t.Fatalf("go env GOMOD = %q: not inside the alertbridge module", gomod)
	}
	bin := filepath.Join(t.TempDir(), "alertbridge")
	args := []string{"build", "-o", bin}
	if racebuild.Enabled {
		args = append(args, "-race")
	}
	cmd := exec.Command(goBin, append(args, "./cmd/alertbridge")...)
	cmd.Dir = filepath.Dir(gomod)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(cmd.Args[1:], " "), err, out)
	}
	return bin
}

// mustStartDaemon runs `alertbridge serve` on a free port over data and
// returns it with its base URL once it is ready.
func mustStartDaemon(t *testing.T, bin, data string, extra ...string) (*proc, string) {
	t.Helper()
	addr := mustFreeAddr(t)
	args := append([]string{"serve", "--web.listen-address=" + addr, "--storage.path=" + data, "--log.level=debug"}, extra...)
	p := mustStart(t, "alertbridge", bin, args...)
	base := "http://" + addr
	mustWaitReady(t, p, base+"/-/ready")
	return p, base
}

// crashAlert is one alert of a simulated group and its current episode.
type crashAlert struct {
	labels   template.KV
	fp       string
	firing   bool
	startsAt time.Time
	endsAt   time.Time
}

// crashGroup is one Alertmanager group. Each belongs to one worker, which
// posts its payloads in order, so the order of its alerts' states is known.
type crashGroup struct {
	alertname, cluster string
	alerts             []*crashAlert
	last               *crashPayload
}

// crashPayload is one webhook request and what the test learnt of it.
type crashPayload struct {
	group  *crashGroup
	body   []byte
	status map[string]bool // fingerprint → firing, as the payload says
	acked  bool            // answered 2xx: committed
	sent   bool            // sent at least once; unanswered if !acked
}

// crashWorker generates and posts one worker's payloads sequentially.
type crashWorker struct {
	id       int
	rng      *rand.Rand
	groups   []*crashGroup
	payloads []*crashPayload
}

// crashLoad is the concurrent load of the first daemon.
type crashLoad struct {
	base     string
	http     *http.Client
	workers  []*crashWorker
	acks     atomic.Int64
	inflight atomic.Int64
	wg       sync.WaitGroup
}

func newCrashLoad(base string, seed uint64) *crashLoad {
	l := &crashLoad{base: base, http: &http.Client{Timeout: 30 * time.Second}}
	for i := range crashWorkers {
		l.workers = append(l.workers, &crashWorker{id: i, rng: rand.New(rand.NewPCG(seed, uint64(i)))})
	}
	return l
}

// start runs every worker until its daemon goes away.
func (l *crashLoad) start(t *testing.T) {
	for _, w := range l.workers {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for {
				p := w.next(time.Now())
				w.payloads = append(w.payloads, p)
				if err := l.post(p, true); err != nil {
					if !errors.Is(err, errUnreachable) {
						t.Error(err)
					}
					return // killed: the fate of p is unknown
				}
			}
		}()
	}
}

func (l *crashLoad) wait() { l.wg.Wait() }

// unknown counts payloads sent whose fate is unknown.
func (l *crashLoad) unknown() int {
	n := 0
	for _, w := range l.workers {
		for _, p := range w.payloads {
			if p.sent && !p.acked {
				n++
			}
		}
	}
	return n
}

// errUnreachable means the daemon did not answer: it was killed, or is down.
var errUnreachable = errors.New("daemon unreachable")

// post delivers p, retrying 5xx answers as Alertmanager does; count says
// whether an acknowledgement counts towards killAfterAcks. It returns
// errUnreachable once the daemon does not answer, and another error for a
// 4xx: the payloads are valid, and Alertmanager would drop the notification.
func (l *crashLoad) post(p *crashPayload, count bool) error {
	for attempt := 0; ; attempt++ {
		l.inflight.Add(1)
		p.sent = true
		resp, err := l.http.Post(l.base+"/ingest/alertmanager", "application/json", bytes.NewReader(p.body))
		l.inflight.Add(-1)
		if err != nil {
			return fmt.Errorf("%w: %w", errUnreachable, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		switch {
		case resp.StatusCode/100 == 2:
			p.acked = true
			if count {
				l.acks.Add(1)
			}
			return nil
		case resp.StatusCode/100 == 4 || attempt >= 100:
			return fmt.Errorf("POST %s/ingest/alertmanager: %s: %s\npayload: %s", l.base, resp.Status, b, p.body)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// redeliver posts every acknowledged payload once more, each worker's in its
// original order, the workers concurrently.
func (l *crashLoad) redeliver(t *testing.T, base string) {
	l.base = base
	var wg sync.WaitGroup
	for _, w := range l.workers {
		wg.Go(func() {
			for _, p := range w.payloads {
				if !p.acked {
					continue
				}
				again := *p
				if err := l.post(&again, false); err != nil {
					t.Errorf("redelivery: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
}

// next makes the worker's next payload: a new group, an exact repeat of a
// group's last payload, some alerts of a group resolving, or the resolved
// alerts of a group firing again (a refire, with a newer startsAt).
func (w *crashWorker) next(now time.Time) *crashPayload {
	var firing, resolved []*crashGroup
	for _, g := range w.groups {
		for _, a := range g.alerts {
			if a.firing {
				firing = append(firing, g)
				break
			}
		}
		for _, a := range g.alerts {
			if !a.firing {
				resolved = append(resolved, g)
				break
			}
		}
	}
	switch r := w.rng.Float64(); {
	case r < 0.2 && len(w.groups) > 0:
		g := w.groups[w.rng.IntN(len(w.groups))]
		again := *g.last
		again.acked, again.sent = false, false
		return &again
	case r < 0.45 && len(firing) > 0:
		g := firing[w.rng.IntN(len(firing))]
		for _, a := range g.alerts {
			if a.firing && (w.rng.IntN(2) == 0 || len(g.alerts) == 1) {
				a.firing, a.endsAt = false, later(now, a.startsAt)
			}
		}
		return w.payload(g, "some alerts resolved")
	case r < 0.6 && len(resolved) > 0:
		g := resolved[w.rng.IntN(len(resolved))]
		for _, a := range g.alerts {
			if !a.firing {
				a.firing, a.startsAt, a.endsAt = true, later(now, a.endsAt), time.Time{}
			}
		}
		return w.payload(g, "new alerts added")
	}
	n := w.id + crashWorkers*len(w.groups) // unique across workers
	g := &crashGroup{alertname: fmt.Sprintf("E2ECrash%d", n%5), cluster: fmt.Sprintf("g-%d", n)}
	for i := range 1 + w.rng.IntN(3) {
		labels := template.KV{
			"alertname": g.alertname, "cluster": g.cluster, "instance": fmt.Sprintf("i-%d", i),
			"severity": []string{"critical", "warning", "info"}[w.rng.IntN(3)],
		}
		g.alerts = append(g.alerts, &crashAlert{labels: labels, fp: fingerprint(labels), firing: true, startsAt: now})
	}
	w.groups = append(w.groups, g)
	return w.payload(g, "first notification")
}

// later returns now, or just after t if now is not after it, so that a new
// episode never looks older than the last one.
func later(now, t time.Time) time.Time {
	if now.After(t) {
		return now
	}
	return t.Add(time.Millisecond)
}

// payload renders g's current state as Alertmanager would send it.
func (w *crashWorker) payload(g *crashGroup, reason string) *crashPayload {
	d := &template.Data{
		Receiver:           "alertbridge",
		Status:             "resolved",
		NotificationReason: reason,
		GroupLabels:        template.KV{"alertname": g.alertname, "cluster": g.cluster},
		CommonLabels:       template.KV{"alertname": g.alertname, "cluster": g.cluster},
		CommonAnnotations:  template.KV{"summary": "crash test"},
		RouteLabels:        template.KV{},
		ExternalURL:        "http://127.0.0.1:9093",
	}
	p := &crashPayload{group: g, status: make(map[string]bool)}
	for _, a := range g.alerts {
		st := "resolved"
		if a.firing {
			st, d.Status = "firing", "firing"
		}
		d.Alerts = append(d.Alerts, template.Alert{
			Status: st, Labels: a.labels, Annotations: template.KV{"summary": "crash test"},
			StartsAt: a.startsAt, EndsAt: a.endsAt, Fingerprint: a.fp,
		})
		p.status[a.fp] = a.firing
	}
	if d.Status == "resolved" && reason == "some alerts resolved" {
		d.NotificationReason = "all alerts resolved"
	}
	gl := model.LabelSet{"alertname": model.LabelValue(g.alertname), "cluster": model.LabelValue(g.cluster)}
	body, err := json.Marshal(webhookMessage{Data: d, Version: "4", GroupKey: "{}:" + gl.String()})
	if err != nil {
		panic(err) // only strings and times: cannot happen
	}
	p.body = body
	g.last = p
	return p
}

// fingerprint is Alertmanager's fingerprint of a label set.
func fingerprint(labels template.KV) string {
	ls := make(model.LabelSet, len(labels))
	for k, v := range labels {
		ls[model.LabelName(k)] = model.LabelValue(v)
	}
	return ls.Fingerprint().String()
}

// incidentSummary is what redelivery must leave unchanged.
type incidentSummary struct {
	key                     string
	state                   string
	alertCount, firingCount int
	alerts                  string // fingerprint=status, sorted
}

// mustCheckCrashState checks the daemon's incidents against the load's
// acknowledged payloads and returns them by id.
func mustCheckCrashState(t *testing.T, ctx context.Context, c *api.Client, l *crashLoad) map[int64]incidentSummary {
	t.Helper()
	all, err := listAll(ctx, c)
	if err != nil {
		t.Fatalf("list incidents: %v", err)
	}
	keys := byKey(all)
	details := make(map[int64]api.Incident, len(all))
	out := make(map[int64]incidentSummary, len(all))

	// Invariant 2 and the incident's own consistency, for every incident.
	for key, incs := range keys {
		active := 0
		for _, inc := range incs {
			if inc.State == "open" || inc.State == "acknowledged" {
				active++
			}
		}
		if active > 1 {
			t.Errorf("key %s has %d active incidents: %s", key, active, brief(incs))
		}
	}
	for _, inc := range all {
		d, err := c.Incident(ctx, inc.ID)
		if err != nil {
			t.Fatalf("incident %d: %v", inc.ID, err)
		}
		details[inc.ID] = d
		firing := 0
		var alerts []string
		for _, a := range d.Alerts {
			if a.Status == "firing" {
				firing++
			}
			alerts = append(alerts, a.Fingerprint+"="+a.Status)
		}
		active := d.State == "open" || d.State == "acknowledged"
		if d.AlertCount != len(d.Alerts) || d.FiringCount != firing || active != (firing > 0) {
			t.Errorf("incident %d (%s): state %q alert_count %d firing_count %d, but %d alerts of which %d firing",
				d.ID, d.CorrelationKey, d.State, d.AlertCount, d.FiringCount, len(d.Alerts), firing)
		}
		slices.Sort(alerts)
		out[d.ID] = incidentSummary{key: d.CorrelationKey, state: d.State, alertCount: d.AlertCount,
			firingCount: d.FiringCount, alerts: strings.Join(alerts, ",")}
	}

	// Every acknowledged alert, with the status its last acknowledged payload
	// gave it, unless a later payload of unknown fate may have changed it.
	checkedGroups := 0
	for _, w := range l.workers {
		for _, g := range w.groups {
			key := groupKey(g.alertname, g.cluster)
			want := make(map[string]map[bool]bool) // fingerprint → acceptable firing values
			for _, p := range w.payloads {
				if p.group != g || !p.sent {
					continue
				}
				for fp, firing := range p.status {
					if p.acked {
						want[fp] = map[bool]bool{firing: true}
					} else if want[fp] != nil {
						want[fp][firing] = true
					}
				}
			}
			if len(want) == 0 {
				continue // never acknowledged: it may or may not be there
			}
			checkedGroups++
			incs := keys[key]
			if len(incs) != 1 {
				// Refires come within the reopen window, so they reopen.
				t.Errorf("key %s: %d incidents, want exactly 1: %s", key, len(incs), brief(incs))
				continue
			}
			got := make(map[string]string)
			for _, a := range details[incs[0].ID].Alerts {
				got[a.Fingerprint] = a.Status
			}
			for fp, ok := range want {
				st, present := got[fp]
				switch {
				case !present:
					t.Errorf("key %s: acknowledged alert %s is missing (incident %d has %v)", key, fp, incs[0].ID, got)
				case !ok[st == "firing"]:
					t.Errorf("key %s: alert %s is %s, want %s (its last acknowledged payload, or a later unanswered one)",
						key, fp, st, statuses(ok))
				}
			}
		}
	}
	t.Logf("%d incidents; checked %d acknowledged groups", len(all), checkedGroups)
	if checkedGroups == 0 {
		t.Error("no group was acknowledged: the test checked nothing")
	}
	return out
}

// brief lists incidents as id:state.
func brief(incs []api.Incident) string {
	var out []string
	for _, inc := range incs {
		out = append(out, fmt.Sprintf("%d:%s", inc.ID, inc.State))
	}
	return "[" + strings.Join(out, " ") + "]"
}

// statuses names the acceptable statuses of an alert.
func statuses(firing map[bool]bool) string {
	var out []string
	if firing[true] {
		out = append(out, "firing")
	}
	if firing[false] {
		out = append(out, "resolved")
	}
	return strings.Join(out, " or ")
}
