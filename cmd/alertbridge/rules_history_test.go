package main

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/pipeline"
	"github.com/alertbridge/alertbridge/rules"
	"github.com/alertbridge/alertbridge/store/sqlite"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// historyStart is when the daemon of mustHistoryDB started: a week of
// events follows, up to historyEnd.
var (
	historyStart = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	historyEnd   = historyStart.Add(7 * 24 * time.Hour)
)

// batch is what one webhook delivered at one time.
type batch struct {
	at     time.Time
	events []incident.Event
}

// historyEvents is a week of a small cluster's alerts, as Alertmanager
// (grouping by alertname and cluster) delivers them:
//
//   - daily at 02:00, four nodes of cluster a fill /var, five minutes apart,
//     and all recover at 03:00; on the last day a fifth alert
//     (NodeFilesystemFilesOutOfSpace) joins at 02:02;
//   - daily at 14:00, one node of cluster b fills /data, until 14:40;
//   - on days 2 and 5, /var of node n6 of cluster b flaps from 08:00 to 09:00;
//   - on days 1 and 4, HighLatency of the api job fires from 10:00 to 10:30;
//   - the Watchdog fires all week.
func historyEvents() []batch {
	fire := func(at time.Time, kv ...string) incident.Event {
		l := map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			l[kv[i]] = kv[i+1]
		}
		g := map[string]string{"alertname": l["alertname"]}
		if c, ok := l["cluster"]; ok {
			g["cluster"] = c
		}
		return incident.Event{Source: "alertmanager", Fingerprint: incident.LabelFingerprint(l), Status: incident.StatusFiring,
			Labels: l, Annotations: map[string]string{"summary": l["alertname"] + " on " + l["instance"]}, StartsAt: at, GroupLabels: g}
	}
	resolved := func(ev incident.Event, at time.Time) incident.Event {
		ev.Status, ev.EndsAt = incident.StatusResolved, at
		return ev
	}
	disk := func(at time.Time, cluster, mount, node string) incident.Event {
		return fire(at, "alertname", "NodeFilesystemAlmostOutOfSpace", "cluster", cluster, "mountpoint", mount,
			"instance", node+":9100", "job", "node", "severity", "warning")
	}
	var out []batch
	add := func(at time.Time, evs ...incident.Event) { out = append(out, batch{at, evs}) }

	add(historyStart, fire(historyStart, "alertname", "Watchdog", "severity", "none"))
	for d := range 7 {
		day := historyStart.Add(time.Duration(d) * 24 * time.Hour)
		var var4 []incident.Event
		for i, n := range []string{"n1", "n2", "n3", "n4"} {
			at := day.Add(2*time.Hour + time.Duration(i)*5*time.Minute)
			ev := disk(at, "a", "/var", n)
			add(at, ev)
			var4 = append(var4, ev)
			if d == 6 && i == 0 {
				inodes := fire(at.Add(2*time.Minute), "alertname", "NodeFilesystemFilesOutOfSpace", "cluster", "a",
					"mountpoint", "/var", "instance", "n1:9100", "job", "node", "severity", "warning")
				add(at.Add(2*time.Minute), inodes)
				var4 = append(var4, inodes)
			}
		}
		end := day.Add(3 * time.Hour)
		var res []incident.Event
		for _, ev := range var4 {
			res = append(res, resolved(ev, end))
		}
		add(end, res...)

		if d == 2 || d == 5 {
			for k := range 3 {
				at := day.Add(8*time.Hour + time.Duration(k)*20*time.Minute)
				ev := disk(at, "b", "/var", "n6")
				add(at, ev)
				add(at.Add(10*time.Minute), resolved(ev, at.Add(10*time.Minute)))
			}
		}
		if d == 1 || d == 4 {
			at := day.Add(10 * time.Hour)
			ev := fire(at, "alertname", "HighLatency", "instance", "api-1:8080", "job", "api", "severity", "warning")
			add(at, ev)
			add(at.Add(30*time.Minute), resolved(ev, at.Add(30*time.Minute)))
		}
		at := day.Add(14 * time.Hour)
		ev := disk(at, "b", "/data", "n5")
		add(at, ev)
		add(at.Add(40*time.Minute), resolved(ev, at.Add(40*time.Minute)))
	}
	return out
}

// mustHistoryDB makes, in dir, the database of a daemon that ran with the
// rule files (none: the built-in defaults) through historyEvents until
// until, and closes it as the daemon would at shutdown.
func mustHistoryDB(t *testing.T, dir string, until time.Time, ruleFiles ...string) {
	t.Helper()
	ctx := context.Background()
	var set *rules.Set
	if len(ruleFiles) > 0 {
		var err error
		if set, err = rules.LoadFiles(ruleFiles); err != nil {
			t.Fatal(err)
		}
	}
	st, err := sqlite.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	r, err := pipeline.NewReplayer(st, set, historyStart, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range historyEvents() {
		if !b.at.Before(until) {
			break
		}
		if err := r.Submit(ctx, b.at, b.events); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Advance(ctx, until); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
}

// repoRoot is the module root, where docs/ is.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

func checkGolden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s mismatch (-want +got; run go test -update to accept):\n%s", path, diff)
	}
}
