package antientropy_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/alertbridge/alertbridge/antientropy"
	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/pipeline"
	"github.com/alertbridge/alertbridge/store/sqlite"
	"github.com/alertbridge/alertbridge/store/storetest"
)

// The store is what the daemon gives the poller.
var _ antientropy.Firing = (*sqlite.Store)(nil)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

const (
	source   = "alertmanager"
	grace    = 5 * time.Minute
	interval = time.Minute
)

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// env is a real pipeline over a real SQLite store, as the daemon runs them.
type env struct {
	clock  *clock
	store  *sqlite.Store
	firing *faultyFiring // the store, with a switch to make its reads fail
	pipe   *pipeline.Pipeline
	reg    *prometheus.Registry
}

func newEnv(t *testing.T) *env {
	t.Helper()
	st, err := sqlite.Open(context.Background(), storetest.SQLiteDir(t))
	if err != nil {
		t.Fatal(err)
	}
	e := &env{clock: &clock{now: t0}, store: st, firing: &faultyFiring{Store: st}, reg: prometheus.NewRegistry()}
	e.pipe, err = pipeline.New(pipeline.Options{Store: st, Registerer: e.reg, Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	e.pipe.Start()
	t.Cleanup(func() {
		if err := e.pipe.Stop(context.Background()); err != nil {
			t.Error(err)
		}
		st.Close()
	})
	return e
}

// mustPoller returns a poller of source over e with the test's interval and
// grace; o's zero fields are filled in.
func (e *env) mustPoller(t *testing.T, o antientropy.Options) *antientropy.Poller {
	t.Helper()
	if o.Source == "" {
		o.Source = source
	}
	if o.Grace == 0 {
		o.Grace = grace
	}
	if o.Interval == 0 {
		o.Interval = interval
	}
	if o.Firing == nil {
		o.Firing = e.firing
	}
	o.Sink, o.Registerer, o.Now = e.pipe, e.reg, e.clock.Now
	p, err := antientropy.New(o)
	if err != nil {
		t.Fatalf("antientropy.New: %v", err)
	}
	return p
}

// pollAt sets the clock to at and polls, failing the test on an error.
func (e *env) pollAt(t *testing.T, p *antientropy.Poller, at time.Time) {
	t.Helper()
	e.clock.set(at)
	if err := p.Poll(context.Background()); err != nil {
		t.Fatalf("poll at %s: %v", at.Sub(t0), err)
	}
}

// webhook submits events as the ingest handler would have, at the clock's time.
func (e *env) webhook(t *testing.T, evs ...incident.Event) {
	t.Helper()
	if err := e.pipe.Submit(context.Background(), evs); err != nil {
		t.Fatalf("submit: %v", err)
	}
}

// incidents lists every incident, oldest first.
func (e *env) incidents(t *testing.T) []incident.Incident {
	t.Helper()
	incs, err := e.store.Incidents(context.Background(), incident.IncidentFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for i, j := 0, len(incs)-1; i < j; i, j = i+1, j-1 {
		incs[i], incs[j] = incs[j], incs[i]
	}
	return incs
}

// only returns the one incident, failing the test if there is not exactly one.
func (e *env) only(t *testing.T) incident.Incident {
	t.Helper()
	incs := e.incidents(t)
	if len(incs) != 1 {
		t.Fatalf("want exactly 1 incident, have %d: %+v", len(incs), incs)
	}
	return incs[0]
}

func (e *env) timelineKinds(t *testing.T, id int64) []incident.TimelineKind {
	t.Helper()
	tl, err := e.store.Timeline(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	kinds := make([]incident.TimelineKind, 0, len(tl))
	for _, en := range tl {
		kinds = append(kinds, en.Kind)
	}
	return kinds
}

// lastEvent returns the last recorded event of a fingerprint.
func (e *env) lastEvent(t *testing.T, fp string) incident.EventRecord {
	t.Helper()
	var last incident.EventRecord
	err := e.store.Events(context.Background(), time.Time{}, time.Time{}, func(r incident.EventRecord) error {
		if r.Fingerprint == fp {
			last = r
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if last.Fingerprint == "" {
		t.Fatalf("no event recorded for %s", fp)
	}
	return last
}

// metric reads a counter or gauge of reg; a series not yet created reads as 0.
func metric(t *testing.T, reg prometheus.Gatherer, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if labelsMatch(m, labels) {
				if c := m.GetCounter(); c != nil {
					return c.GetValue()
				}
				return m.GetGauge().GetValue()
			}
		}
	}
	return 0
}

func labelsMatch(m *dto.Metric, want map[string]string) bool {
	n := 0
	for _, lp := range m.GetLabel() {
		if v, ok := want[lp.GetName()]; ok {
			if v != lp.GetValue() {
				return false
			}
			n++
		}
	}
	return n == len(want)
}

func repaired(t *testing.T, e *env, kind string) float64 {
	t.Helper()
	return metric(t, e.reg, "alertbridge_antientropy_repaired_total", map[string]string{"source": source, "kind": kind})
}

// amAlert is an alert as Alertmanager's GET /api/v2/alerts lists it.
type amAlert struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	UpdatedAt    time.Time         `json:"updatedAt"`
	GeneratorURL string            `json:"generatorURL,omitempty"`
	Fingerprint  string            `json:"fingerprint"`
	Receivers    []amReceiver      `json:"receivers"`
	Status       amStatus          `json:"status"`
}

type amReceiver struct {
	Name string `json:"name"`
}

type amStatus struct {
	State       string   `json:"state"`
	SilencedBy  []string `json:"silencedBy"`
	InhibitedBy []string `json:"inhibitedBy"`
}

// active returns an active alert as Alertmanager lists it, routed to the
// receiver "alertbridge".
func active(fp string, startsAt time.Time, labels ...string) amAlert {
	l := make(map[string]string)
	for i := 0; i+1 < len(labels); i += 2 {
		l[labels[i]] = labels[i+1]
	}
	return amAlert{
		Labels: l, Annotations: map[string]string{"summary": "it broke"},
		StartsAt: startsAt, EndsAt: startsAt.Add(5 * time.Minute), UpdatedAt: startsAt,
		GeneratorURL: "http://prometheus/graph?g0.expr=up", Fingerprint: fp,
		Receivers: []amReceiver{{Name: "alertbridge"}},
		Status:    amStatus{State: "active", SilencedBy: []string{}, InhibitedBy: []string{}},
	}
}

// firing is the webhook event of the same alert.
func firing(a amAlert) incident.Event {
	return incident.Event{
		Source: source, Fingerprint: a.Fingerprint, Status: incident.StatusFiring,
		Labels: a.Labels, Annotations: a.Annotations, StartsAt: a.StartsAt, GeneratorURL: a.GeneratorURL,
	}
}

// fakeAM serves GET /api/v2/alerts as Alertmanager does, from what the test
// sets; with fail set it answers that way instead.
type fakeAM struct {
	srv *httptest.Server

	mu     sync.Mutex
	alerts []amAlert
	fail   failure
	auth   string // the Authorization header required, if set
	paths  []string
}

// requests returns how many requests the fake has had.
func (am *fakeAM) requests() int {
	am.mu.Lock()
	defer am.mu.Unlock()
	return len(am.paths)
}

// failure is how a fake Alertmanager misbehaves; the zero value is not at all.
type failure struct {
	status int    // answer this status (with a JSON error body)
	body   string // answer 200 with this body
	down   bool   // close the connection without an answer
}

func newFakeAM(t *testing.T) *fakeAM {
	t.Helper()
	am := &fakeAM{}
	am.srv = httptest.NewServer(http.HandlerFunc(am.serve))
	t.Cleanup(am.srv.Close)
	return am
}

func (am *fakeAM) serve(w http.ResponseWriter, r *http.Request) {
	am.mu.Lock()
	defer am.mu.Unlock()
	am.paths = append(am.paths, r.URL.Path)
	q := r.URL.Query()
	for _, k := range []string{"active", "silenced", "inhibited", "unprocessed"} {
		if q.Get(k) != "true" {
			http.Error(w, `{"message":"want every alert"}`, http.StatusBadRequest)
			return
		}
	}
	if am.auth != "" && r.Header.Get("Authorization") != am.auth {
		http.Error(w, `{"message":"unauthorized"}`, http.StatusUnauthorized)
		return
	}
	switch f := am.fail; {
	case f.down:
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
			}
		}
		return
	case f.status != 0:
		http.Error(w, `{"message":"broken"}`, f.status)
		return
	case f.body != "":
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(f.body))
		return
	}
	alerts := am.alerts
	if alerts == nil {
		alerts = []amAlert{}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(alerts)
}

func (am *fakeAM) set(alerts ...amAlert) {
	am.mu.Lock()
	defer am.mu.Unlock()
	am.alerts = alerts
}

func (am *fakeAM) setFailure(f failure) {
	am.mu.Lock()
	defer am.mu.Unlock()
	am.fail = f
}

// faultyFiring is the store, whose firing-alert reads fail while down is set.
type faultyFiring struct {
	*sqlite.Store
	down atomic.Bool
}

func (f *faultyFiring) FiringAlerts(ctx context.Context, source string) ([]incident.AlertState, error) {
	if f.down.Load() {
		return nil, errors.New("database is locked")
	}
	return f.Store.FiringAlerts(ctx, source)
}
