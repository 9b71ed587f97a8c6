package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/alertbridge/alertbridge/incident"
)

func ids(incs []incident.Incident) []int64 {
	var out []int64
	for _, inc := range incs {
		out = append(out, inc.ID)
	}
	return out
}

// testIncidentsVersion: the live list's ETag changes whenever an incident is
// created or updated, and stays put otherwise.
func testIncidentsVersion(t *testing.T, s Store) {
	ctx := context.Background()
	version := func() string {
		t.Helper()
		v, err := s.IncidentsVersion(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	seen := map[string]string{}
	changed := func(what string) {
		t.Helper()
		v := version()
		if prev, ok := seen[v]; ok {
			t.Errorf("after %s: version %q, as after %s", what, v, prev)
		}
		seen[v] = what
	}
	same := func(what string, want string) {
		t.Helper()
		if v := version(); v != want {
			t.Errorf("after %s: version %q, want %q unchanged", what, v, want)
		}
	}
	changed("nothing")
	a := create(t, s, newIncident("a", 3))
	changed("creating a")
	b := create(t, s, newIncident("b", 3))
	changed("creating b")

	// Updates as the domain makes them: UpdatedAt moves to now.
	a.State, a.AcknowledgedAt, a.UpdatedAt = incident.StateAcknowledged, t0.Add(time.Minute), t0.Add(time.Minute)
	mustUpdate(t, s, func(tx incident.Tx) error { return tx.UpdateIncident(ctx, a) })
	changed("acknowledging a")
	b.Priority, b.UpdatedAt = 1, t0.Add(2*time.Minute)
	mustUpdate(t, s, func(tx incident.Tx) error { return tx.UpdateIncident(ctx, b) })
	changed("raising b's priority")
	// a, not the latest updated, changes again.
	a.State, a.ResolvedAt, a.UpdatedAt = incident.StateResolved, t0.Add(3*time.Minute), t0.Add(3*time.Minute)
	mustUpdate(t, s, func(tx incident.Tx) error { return tx.UpdateIncident(ctx, a) })
	changed("resolving a")
	// An update that leaves UpdatedAt as it was (or sets an earlier one,
	// a clock stepped back) changes the incident all the same.
	b.Owner = "dba"
	mustUpdate(t, s, func(tx incident.Tx) error { return tx.UpdateIncident(ctx, b) })
	changed("an update keeping UpdatedAt")
	b.Summary, b.UpdatedAt = "earlier", t0
	mustUpdate(t, s, func(tx incident.Tx) error { return tx.UpdateIncident(ctx, b) })
	changed("an update setting an earlier UpdatedAt")

	v := version()
	same("reading it again", v)
	if _, err := s.Incidents(ctx, incident.IncidentFilter{Limit: 10}); err != nil {
		t.Fatal(err)
	}
	same("listing", v)
	err := s.Update(ctx, func(tx incident.Tx) error {
		c := newIncident("c", 3)
		if err := tx.CreateIncident(ctx, &c); err != nil {
			return err
		}
		b.Title, b.UpdatedAt = "rolled back", t0.Add(time.Hour)
		if err := tx.UpdateIncident(ctx, b); err != nil {
			return err
		}
		return errors.New("rollback")
	})
	if err == nil {
		t.Fatal("Update did not return fn's error")
	}
	same("a rolled-back create and update", v)
}

// testIncidentByKeyOwner: the key's owner is the incident taking its alerts
// (pending included, sealed not), else the one whose impact ended last
// (latest ResolvedAt, not highest ID: a late firing recorded afterwards may
// have an older end), else the newest. A sealed, still open incident has not
// ended: a resolved one is its key's last owner before it.
func testIncidentByKeyOwner(t *testing.T, s Store) {
	ctx := context.Background()
	resolvedAt := func(key string, end time.Time) incident.Incident {
		inc := newIncident(key, 3)
		inc.State, inc.ResolvedAt = incident.StateResolved, end
		return create(t, s, inc)
	}
	sealed := func(key string) incident.Incident {
		inc := newIncident(key, 3)
		inc.SealedAt = t0.Add(time.Minute)
		return create(t, s, inc)
	}
	pending := func(key string) incident.Incident {
		inc := newIncident(key, 3)
		inc.State, inc.OpenedAt = incident.StatePending, time.Time{}
		return create(t, s, inc)
	}
	owner := func(key string) int64 {
		t.Helper()
		var got incident.Incident
		mustUpdate(t, s, func(tx incident.Tx) error {
			var err error
			got, err = tx.IncidentByKey(ctx, key)
			return err
		})
		read, err := s.IncidentByKey(ctx, key)
		if err != nil || read.ID != got.ID {
			t.Errorf("IncidentByKey(%s): reader says %d, %v; the writer %d", key, read.ID, err, got.ID)
		}
		return got.ID
	}

	lateEnd := resolvedAt("ended", t0.Add(2*time.Hour))
	resolvedAt("ended", t0.Add(time.Hour)) // newer ID, earlier end
	if got := owner("ended"); got != lateEnd.ID {
		t.Errorf("owner of a key with two resolved incidents = %d, want %d, whose impact ended last", got, lateEnd.ID)
	}

	old := resolvedAt("sealed", t0.Add(time.Hour))
	sealed("sealed")
	if got := owner("sealed"); got != old.ID {
		t.Errorf("owner beside a sealed incident = %d, want the resolved %d", got, old.ID)
	}
	s1 := sealed("only-sealed")
	s2 := sealed("only-sealed")
	if got := owner("only-sealed"); got != s2.ID {
		t.Errorf("owner of sealed incidents only = %d, want the newest, %d (not %d)", got, s2.ID, s1.ID)
	}

	resolvedAt("pending", t0.Add(time.Hour))
	p := pending("pending")
	if got := owner("pending"); got != p.ID {
		t.Errorf("owner with a pending incident = %d, want it, %d", got, p.ID)
	}
	sealed("open")
	open := create(t, s, newIncident("open", 3))
	resolvedAt("open", t0.Add(5*time.Hour))
	if got := owner("open"); got != open.ID {
		t.Errorf("owner with an open incident = %d, want it, %d", got, open.ID)
	}
	if _, err := s.IncidentByKey(ctx, "never"); !errors.Is(err, incident.ErrNotFound) {
		t.Errorf("IncidentByKey(never) = %v, want ErrNotFound", err)
	}
}

// testActiveIncidents: ActiveIncidentsFor (writer and reader) and
// ActiveByPriority count what needs work: open and acknowledged incidents,
// neither pending nor resolved; ActiveIncidentsFor also leaves out sealed
// ones, which take no more alerts.
func testActiveIncidents(t *testing.T, s Store) {
	ctx := context.Background()
	mk := func(key, service string, p incident.Priority, set func(*incident.Incident)) incident.Incident {
		inc := newIncident(key, p)
		inc.Service = service
		set(&inc)
		return create(t, s, inc)
	}
	none := func(*incident.Incident) {}
	a := mk("a", "api", 1, none)
	b := mk("b", "db", 2, func(inc *incident.Incident) { inc.State, inc.AcknowledgedAt = incident.StateAcknowledged, t0 })
	mk("c", "api", 1, func(inc *incident.Incident) { inc.State, inc.ResolvedAt = incident.StateResolved, t0 })
	mk("d", "api", 1, func(inc *incident.Incident) { inc.State, inc.OpenedAt = incident.StatePending, time.Time{} })
	sealed := mk("e", "api", 3, func(inc *incident.Incident) { inc.SealedAt = t0 })
	mk("f", "web", 2, none)
	g := mk("g", "api", 2, none)
	tests := []struct {
		name     string
		services []string
		want     []int64
	}{
		{"OneService", []string{"api"}, []int64{g.ID, a.ID}},
		{"Services", []string{"db", "api"}, []int64{g.ID, b.ID, a.ID}},
		{"Unknown", []string{"nope"}, nil},
		{"NoServices", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			list, err := s.ActiveIncidentsFor(ctx, tt.services)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, ids(list)); diff != "" {
				t.Errorf("ActiveIncidentsFor (-want +got):\n%s", diff)
			}
			mustUpdate(t, s, func(tx incident.Tx) error {
				list, err := tx.ActiveIncidentsFor(ctx, tt.services)
				if err != nil {
					return err
				}
				if diff := cmp.Diff(tt.want, ids(list)); diff != "" {
					t.Errorf("Tx.ActiveIncidentsFor (-want +got):\n%s", diff)
				}
				return nil
			})
		})
	}
	got, err := s.ActiveByPriority(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The sealed one still needs work: it counts.
	if diff := cmp.Diff(map[incident.Priority]int{1: 1, 2: 3, 3: 1}, got); diff != "" {
		t.Errorf("ActiveByPriority (-want +got):\n%s (sealed %d counts)", diff, sealed.ID)
	}
}

// testMaintenanceWindow: a maintenance change covers [StartedAt,
// FinishedAt), or from StartedAt on while unfinished; a plain change is no
// window; of two windows covering the moment, the later started is
// returned. Writer and reader agree.
func testMaintenanceWindow(t *testing.T, s Store) {
	ctx := context.Background()
	var closed, open, later incident.Change
	mustUpdate(t, s, func(tx incident.Tx) error {
		for _, c := range []*incident.Change{
			{Source: "ci", ExternalID: "closed", Service: "api", StartedAt: t0, FinishedAt: t0.Add(time.Hour), Maintenance: true},
			{Source: "ci", ExternalID: "open", Service: "db", StartedAt: t0, Maintenance: true},
			{Source: "ci", ExternalID: "later", Service: "db", StartedAt: t0.Add(time.Hour), FinishedAt: t0.Add(2 * time.Hour), Maintenance: true},
			{Source: "ci", ExternalID: "deploy", Service: "web", StartedAt: t0},
		} {
			c.Labels, c.ReceivedAt = map[string]string{}, t0
			if err := tx.PutChange(ctx, c); err != nil {
				return err
			}
			switch c.ExternalID {
			case "closed":
				closed = *c
			case "open":
				open = *c
			case "later":
				later = *c
			}
		}
		return nil
	})
	const ns = time.Nanosecond
	tests := []struct {
		name    string
		service string
		at      time.Time
		want    int64 // 0: ErrNotFound
	}{
		{"NotFound/BeforeStart", "api", t0.Add(-ns), 0},
		{"OK/AtStart", "api", t0, closed.ID},
		{"OK/BeforeFinish", "api", t0.Add(time.Hour - ns), closed.ID},
		{"NotFound/AtFinish", "api", t0.Add(time.Hour), 0},
		{"OK/Unfinished", "db", t0.Add(30 * time.Minute), open.ID},
		{"OK/LaterStartedWins", "db", t0.Add(time.Hour), later.ID},
		{"OK/UnfinishedAfterTheOther", "db", t0.Add(2 * time.Hour), open.ID},
		{"NotFound/NotMaintenance", "web", t0.Add(time.Minute), 0},
		{"NotFound/OtherService", "checkout", t0.Add(time.Minute), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			check := func(who string, c incident.Change, err error) {
				t.Helper()
				switch {
				case tt.want == 0 && !errors.Is(err, incident.ErrNotFound):
					t.Errorf("%s: %+v, %v; want ErrNotFound", who, c, err)
				case tt.want != 0 && (err != nil || c.ID != tt.want):
					t.Errorf("%s: change %d, %v; want %d", who, c.ID, err, tt.want)
				}
			}
			c, err := s.ActiveMaintenance(ctx, tt.service, tt.at)
			check("ActiveMaintenance", c, err)
			mustUpdate(t, s, func(tx incident.Tx) error {
				c, err := tx.ActiveMaintenance(ctx, tt.service, tt.at)
				check("Tx.ActiveMaintenance", c, err)
				return nil
			})
		})
	}
}

// testChangesForBounds: ChangesFor is changes on the services that started
// in [from, to], both ends inclusive, oldest first (then by ID).
func testChangesForBounds(t *testing.T, s Store) {
	ctx := context.Background()
	mustUpdate(t, s, func(tx incident.Tx) error {
		for _, c := range []incident.Change{
			{ExternalID: "before", Service: "api", StartedAt: t0.Add(-time.Nanosecond)},
			{ExternalID: "at-to", Service: "api", StartedAt: t0.Add(time.Hour)},
			{ExternalID: "at-from", Service: "db", StartedAt: t0},
			{ExternalID: "at-from-2", Service: "api", StartedAt: t0},
			{ExternalID: "middle", Service: "web", StartedAt: t0.Add(time.Minute)},
			{ExternalID: "after", Service: "api", StartedAt: t0.Add(time.Hour + time.Nanosecond)},
		} {
			c.Source, c.Labels, c.ReceivedAt = "ci", map[string]string{}, t0
			if err := tx.PutChange(ctx, &c); err != nil {
				return err
			}
		}
		return nil
	})
	tests := []struct {
		name     string
		services []string
		want     []string
	}{
		{"Services", []string{"api", "db"}, []string{"at-from", "at-from-2", "at-to"}},
		{"OneService", []string{"web"}, []string{"middle"}},
		{"NoServices", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mustUpdate(t, s, func(tx incident.Tx) error {
				list, err := tx.ChangesFor(ctx, tt.services, t0, t0.Add(time.Hour))
				if err != nil {
					return err
				}
				var got []string
				for _, c := range list {
					got = append(got, c.ExternalID)
				}
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("ChangesFor (-want +got):\n%s", diff)
				}
				return nil
			})
		})
	}
}

// testSLABreaches counts the marked SLA misses of all incidents, whatever
// their state, by target and priority.
func testSLABreaches(t *testing.T, s Store) {
	ctx := context.Background()
	for i, b := range []struct {
		p                incident.Priority
		respond, resolve bool
		state            incident.State
	}{
		{1, true, true, incident.StateOpen},
		{1, true, false, incident.StateResolved},
		{2, false, true, incident.StateAcknowledged},
		{2, false, true, incident.StateResolved},
		{3, false, false, incident.StateOpen},
	} {
		inc := newIncident(fmt.Sprintf("k%d", i), b.p)
		inc.State, inc.RespondBy, inc.ResolveBy = b.state, t0, t0
		if b.state == incident.StateResolved {
			inc.ResolvedAt = t0
		}
		if b.respond {
			inc.RespondBreachedAt = t0.Add(time.Minute)
		}
		if b.resolve {
			inc.ResolveBreachedAt = t0.Add(time.Minute)
		}
		create(t, s, inc)
	}
	got, err := s.SLABreaches(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := map[[2]string]int{{"respond", "P1"}: 2, {"resolve", "P1"}: 1, {"resolve", "P2"}: 2}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("SLABreaches (-want +got):\n%s", diff)
	}
}

// testEventWindow: Events lists, and CountEvents counts, the events received
// in [since, until), oldest (first recorded) first, a zero bound open; Events
// stops at fn's first error and returns it.
func testEventWindow(t *testing.T, s Store) {
	ctx := context.Background()
	const ns = time.Nanosecond
	received := []time.Duration{0, time.Minute - ns, time.Minute, time.Hour, -time.Hour}
	mustUpdate(t, s, func(tx incident.Tx) error {
		for i, d := range received {
			if err := tx.AddEvent(ctx, incident.EventRecord{ReceivedAt: t0.Add(d), Source: "am", Fingerprint: fmt.Sprint(i),
				Status: incident.StatusFiring, Labels: map[string]string{}, Annotations: map[string]string{},
				Transition: incident.TransitionNew}); err != nil {
				return err
			}
		}
		return nil
	})
	tests := []struct {
		name         string
		since, until time.Time
		want         []string
	}{
		{"OpenBounds", time.Time{}, time.Time{}, []string{"0", "1", "2", "3", "4"}},
		{"SinceInclusive", t0.Add(time.Minute), time.Time{}, []string{"2", "3"}},
		{"UntilExclusive", time.Time{}, t0.Add(time.Minute), []string{"0", "1", "4"}},
		{"Window", t0, t0.Add(time.Hour), []string{"0", "1", "2"}},
		{"NanosecondWindow", t0.Add(time.Minute - ns), t0.Add(time.Minute), []string{"1"}},
		{"Empty", t0.Add(2 * time.Hour), time.Time{}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			if err := s.Events(ctx, tt.since, tt.until, func(e incident.EventRecord) error {
				got = append(got, e.Fingerprint)
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Events (-want +got):\n%s", diff)
			}
			n, err := s.CountEvents(ctx, tt.since, tt.until)
			if err != nil || n != len(tt.want) {
				t.Errorf("CountEvents = %d, %v; want %d", n, err, len(tt.want))
			}
		})
	}
	stop := errors.New("stop")
	calls := 0
	err := s.Events(ctx, time.Time{}, time.Time{}, func(incident.EventRecord) error { calls++; return stop })
	if !errors.Is(err, stop) || calls != 1 {
		t.Errorf("Events with a failing fn: %d calls, err %v; want 1 call and its error", calls, err)
	}
}
