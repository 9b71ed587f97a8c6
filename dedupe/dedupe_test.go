package dedupe

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/alertbridge/alertbridge/incident"
)

var (
	t0 = time.Date(2026, 11, 28, 20, 0, 0, 0, time.UTC)
	t1 = t0.Add(time.Minute)
)

func ev(status incident.Status, startsAt time.Time) incident.Event {
	return incident.Event{Fingerprint: "fp", Status: status, StartsAt: startsAt}
}

func state(status incident.Status, startsAt time.Time) *incident.AlertState {
	st := &incident.AlertState{Fingerprint: "fp", Status: status, StartsAt: startsAt, IncidentID: 1}
	if status == incident.StatusResolved {
		st.EndsAt = startsAt.Add(5 * time.Minute)
	}
	return st
}

func TestDecide(t *testing.T) {
	const (
		F = incident.StatusFiring
		R = incident.StatusResolved
	)
	skew := incident.SameFiringWithin / 2 // another HA peer's stamp of the same firing
	long := 3 * incident.SameFiringWithin // clearly another firing
	span := func(e incident.Event, end time.Time) incident.Event { e.EndsAt = end; return e }
	remembered := &incident.AlertState{Fingerprint: "fp", Status: R, StartsAt: t1, EndsAt: t1} // a resolve with nothing to record
	tests := []struct {
		name  string
		prior *incident.AlertState
		ev    incident.Event
		want  incident.Transition
	}{
		{"NewFiring", nil, ev(F, t0), incident.TransitionNew},
		{"UnknownResolvedWithDurationIsAWholeFiring", nil, span(ev(R, t0), t1), incident.TransitionNew},
		{"UnknownResolvedWithoutDurationIsStale", nil, span(ev(R, t0), t0), incident.TransitionStale},
		{"RepeatFiring", state(F, t0), ev(F, t0), incident.TransitionRepeat},
		{"FiringNewerStartsAtIsRepeat", state(F, t0), ev(F, t1), incident.TransitionRepeat},
		{"FiringOtherPeerStampIsRepeat", state(F, t0), ev(F, t0.Add(-skew)), incident.TransitionRepeat},
		{"FiringMuchOlderIsHistory", state(F, t1), ev(F, t1.Add(-long)), incident.TransitionHistory},
		{"Resolve", state(F, t0), span(ev(R, t0), t1), incident.TransitionResolved},
		{"ResolveFromPeerWithOlderStampResolves", state(F, t0), span(ev(R, t0.Add(-skew)), t1), incident.TransitionResolved},
		{"ResolveEndingAfterKnownStartResolves", state(F, t1), span(ev(R, t1.Add(-long)), t1.Add(time.Second)), incident.TransitionResolved},
		{"ResolveOfEarlierFiringIsHistory", state(F, t1), span(ev(R, t1.Add(-long)), t1.Add(-long/2)), incident.TransitionHistory},
		{"Refire", state(R, t0), ev(F, t0.Add(10*time.Minute)), incident.TransitionRefired},
		{"FiringWithinKnownFiringIsStale", state(R, t0), ev(F, t0.Add(time.Minute)), incident.TransitionStale},
		{"LateDuplicateOfOldFiringIsStale", state(R, t0), ev(F, t0), incident.TransitionStale},
		{"LateFiringOfRememberedResolveIsAWholeFiring", remembered, ev(F, t0), incident.TransitionNew},
		{"LateFiringAfterRememberedResolveRefires", remembered, ev(F, t1.Add(time.Second)), incident.TransitionRefired},
		{"RepeatResolved", state(R, t0), span(ev(R, t0), t0.Add(5*time.Minute)), incident.TransitionRepeat},
		{"ResolvedOfUnseenNewerFiringIsAWholeFiring", state(R, t0), span(ev(R, t0.Add(10*time.Minute)), t0.Add(11*time.Minute)), incident.TransitionRefired},
		{"ResolvedOfUnseenNewerWithoutDurationIsStale", state(R, t0), span(ev(R, t0.Add(10*time.Minute)), t0.Add(10*time.Minute)), incident.TransitionStale},
		{"ResolvedOfEarlierFiringIsHistory", state(R, t1), span(ev(R, t1.Add(-long)), t1.Add(-long/2)), incident.TransitionHistory},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Decide(tt.prior, tt.ev); got != tt.want {
				t.Errorf("Decide = %s, want %s", got, tt.want)
			}
		})
	}
}

// mapLookup is the store side of the lookup, as plain data.
type mapLookup map[key]incident.AlertState

func (m mapLookup) AlertState(_ context.Context, source, fp string) (incident.AlertState, error) {
	s, ok := m[key{source, fp}]
	if !ok {
		return s, incident.ErrNotFound
	}
	return s, nil
}

func TestBatchStagesUntilCommit(t *testing.T) {
	ctx := context.Background()
	reg := prometheus.NewRegistry()
	d, err := New(1, reg)
	if err != nil {
		t.Fatal(err)
	}
	store := mapLookup{}

	b := d.Begin(store)
	if tr, _, _ := b.Decide(ctx, ev(incident.StatusFiring, t0)); tr != incident.TransitionNew {
		t.Fatalf("first firing = %s, want new", tr)
	}
	b.Record(*state(incident.StatusFiring, t0))
	// Within the batch the staged state counts.
	if tr, _, _ := b.Decide(ctx, ev(incident.StatusFiring, t0)); tr != incident.TransitionRepeat {
		t.Fatalf("same batch repeat = %s, want repeat", tr)
	}
	// A rolled-back batch (never committed) leaves the cache untouched.
	b2 := d.Begin(store)
	if tr, _, _ := b2.Decide(ctx, ev(incident.StatusFiring, t0)); tr != incident.TransitionNew {
		t.Fatalf("after rollback = %s, want new", tr)
	}
	b.Commit()
	b3 := d.Begin(store)
	if tr, _, _ := b3.Decide(ctx, ev(incident.StatusFiring, t0)); tr != incident.TransitionRepeat {
		t.Fatalf("after commit = %s, want repeat (from cache)", tr)
	}
	if got := testutil.ToFloat64(d.metrics.hits); got != 1 {
		t.Errorf("cache hits = %v, want 1", got)
	}
}

func TestEvictionFallsThroughToStore(t *testing.T) {
	ctx := context.Background()
	d, err := New(1, nil)
	if err != nil {
		t.Fatal(err)
	}
	store := mapLookup{{"", "fp"}: *state(incident.StatusResolved, t0)}
	b := d.Begin(store)
	b.Record(incident.AlertState{Fingerprint: "other", Status: incident.StatusFiring, StartsAt: t0})
	b.Commit() // "other" fills the size-1 cache; "fp" is only in the store
	tr, prior, err := d.Begin(store).Decide(ctx, ev(incident.StatusFiring, t0))
	if err != nil {
		t.Fatal(err)
	}
	if tr != incident.TransitionStale || prior == nil {
		t.Errorf("late firing after resolve with cold cache = %s (prior %v), want stale from the store", tr, prior)
	}
}

// TestVerdictsPerSource: source am's alert fp fires. The same fingerprint
// from source pd is another alert: pd's firing is new and pd's resolve is
// stale (nothing of pd's to resolve), while am's own events are judged
// against am's state — wherever that state is: in the store, staged in the
// batch, or in the cache.
func TestVerdictsPerSource(t *testing.T) {
	ctx := context.Background()
	amState := incident.AlertState{Source: "am", Fingerprint: "fp", Status: incident.StatusFiring, StartsAt: t0}
	from := func(source string, status incident.Status) incident.Event {
		e := ev(status, t0)
		e.Source = source
		return e
	}
	events := []struct {
		name string
		ev   incident.Event
		want incident.Transition
	}{
		{"OwnFiringIsRepeat", from("am", incident.StatusFiring), incident.TransitionRepeat},
		{"OwnResolveResolves", from("am", incident.StatusResolved), incident.TransitionResolved},
		{"OtherSourceFiringIsNew", from("pd", incident.StatusFiring), incident.TransitionNew},
		{"OtherSourceResolveIsStale", from("pd", incident.StatusResolved), incident.TransitionStale},
	}
	setups := []struct {
		name string
		// batch returns a batch in which am's state is known.
		batch func(d *Deduper) *Batch
	}{
		{"Store", func(d *Deduper) *Batch { return d.Begin(mapLookup{{"am", "fp"}: amState}) }},
		{"Staged", func(d *Deduper) *Batch {
			b := d.Begin(mapLookup{})
			b.Record(amState)
			return b
		}},
		{"Cached", func(d *Deduper) *Batch {
			b := d.Begin(mapLookup{})
			b.Record(amState)
			b.Commit()
			return d.Begin(mapLookup{})
		}},
	}
	for _, su := range setups {
		for _, tt := range events {
			t.Run(su.name+"/"+tt.name, func(t *testing.T) {
				d, err := New(10, nil)
				if err != nil {
					t.Fatal(err)
				}
				b := su.batch(d)
				tr, prior, err := b.Decide(ctx, tt.ev)
				if err != nil {
					t.Fatal(err)
				}
				if tr != tt.want {
					t.Errorf("Decide = %s, want %s", tr, tt.want)
				}
				if prior != nil && prior.Source != tt.ev.Source {
					t.Errorf("prior state is %s's, want the event's own source %s", prior.Source, tt.ev.Source)
				}
				st, err := b.State(ctx, tt.ev.Source, "fp")
				if err != nil {
					t.Fatal(err)
				}
				if known := st != nil; known != (tt.ev.Source == "am") {
					t.Errorf("State(%s) = %+v, want known only for am", tt.ev.Source, st)
				}
			})
		}
	}
}

// countingLookup is a store that counts its reads, one by one or at once.
type countingLookup struct {
	m          mapLookup
	one, batch int
	asked      []incident.AlertKey
}

func (c *countingLookup) AlertState(ctx context.Context, source, fp string) (incident.AlertState, error) {
	c.one++
	return c.m.AlertState(ctx, source, fp)
}

func (c *countingLookup) AlertStates(_ context.Context, keys []incident.AlertKey) ([]incident.AlertState, error) {
	c.batch++
	c.asked = append(c.asked, keys...)
	var out []incident.AlertState
	for _, k := range keys {
		if s, ok := c.m[key{k.Source, k.Fingerprint}]; ok {
			out = append(out, s)
		}
	}
	return out, nil
}

// TestPrefetchDecidesWithoutLookups: Prefetch reads the states of a
// notification's alerts the batch does not hold in one call, each once;
// deciding them then reads nothing, and decides as the lookups would: a
// stored firing is a repeat, an unknown alert new, and one recorded after
// the prefetch (a second event of it) by what was recorded.
func TestPrefetchDecidesWithoutLookups(t *testing.T) {
	ctx := context.Background()
	d, err := New(10, nil)
	if err != nil {
		t.Fatal(err)
	}
	stored := *state(incident.StatusFiring, t0)
	stored.Source, stored.Fingerprint = "am", "stored"
	cached := stored
	cached.Fingerprint = "cached"
	l := &countingLookup{m: mapLookup{{"am", "stored"}: stored, {"am", "cached"}: cached}}
	warm := d.Begin(l)
	warm.Record(cached)
	warm.Commit()

	event := func(fp string) incident.Event {
		e := ev(incident.StatusFiring, t0)
		e.Source, e.Fingerprint = "am", fp
		return e
	}
	evs := []incident.Event{event("stored"), event("cached"), event("new"), event("new")}
	b := d.Begin(l)
	if err := b.Prefetch(ctx, l, evs); err != nil {
		t.Fatal(err)
	}
	if l.batch != 1 || len(l.asked) != 2 {
		t.Fatalf("%d reads asking %v; want one, for stored and new", l.batch, l.asked)
	}
	want := []incident.Transition{incident.TransitionRepeat, incident.TransitionRepeat, incident.TransitionNew}
	for i, e := range evs[:3] {
		tr, _, err := b.Decide(ctx, e)
		if err != nil || tr != want[i] {
			t.Errorf("Decide(%s) = %s, %v; want %s", e.Fingerprint, tr, err, want[i])
		}
	}
	st := stored
	st.Fingerprint = "new"
	b.Record(st)
	if tr, _, _ := b.Decide(ctx, evs[3]); tr != incident.TransitionRepeat {
		t.Errorf("Decide(new) after its state was recorded = %s, want repeat", tr)
	}
	if l.one != 0 {
		t.Errorf("%d lookups one by one after the prefetch, want none", l.one)
	}
}
