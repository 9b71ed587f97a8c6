package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/alertbridge/alertbridge/incident"
)

// The round trips below write every field of a record with a distinctive
// non-zero value and read it back whole. mustAllSet fails when a record
// type gains a field the round trip does not set, so that the contract
// cannot silently fall behind the domain: a new field must be given a value
// here, and so be stored by every backend.

// zone is where the written times are: a backend must return the same
// instant (to the nanosecond) in UTC, whatever zone it was given.
var zone = time.FixedZone("UTC+5:30", 5*3600+30*60)

// at returns a distinct instant for the k-th time field of a record: k
// minutes and k nanoseconds after t0, in zone, so that two fields swapped by
// a backend, or a time rounded to microseconds, show.
func at(k int) time.Time {
	return t0.Add(time.Duration(k)*time.Minute + time.Duration(k)*time.Nanosecond).In(zone)
}

// mustAllSet fails unless every field of the struct v is non-zero, but those
// named in exempt (each with the reason in the caller's comment).
func mustAllSet(t *testing.T, v any, exempt ...string) {
	t.Helper()
	rv := reflect.ValueOf(v)
	skip := map[string]bool{}
	for _, e := range exempt {
		if _, ok := rv.Type().FieldByName(e); !ok {
			t.Errorf("%T has no field %s to exempt", v, e)
		}
		skip[e] = true
	}
	var check func(prefix string, rv reflect.Value)
	check = func(prefix string, rv reflect.Value) {
		for i := range rv.NumField() {
			f := rv.Type().Field(i)
			if f.Anonymous && f.Type.Kind() == reflect.Struct {
				check(prefix+f.Name+".", rv.Field(i)) // a group of fields: each must be set
				continue
			}
			if !skip[f.Name] && rv.Field(i).IsZero() {
				t.Errorf("%T.%s%s is zero in the round trip: give it a distinctive value, so that every backend is shown to store it", v, prefix, f.Name)
			}
		}
	}
	check("", rv)
}

// mustUTC fails unless every non-zero time.Time field of the struct v (and
// of the structs it holds) is in UTC: reads return UTC, whatever zone the
// time was written in (OpenedPerDay, the API and the UI rely on it).
func mustUTC(t *testing.T, v any) {
	t.Helper()
	var walk func(path string, rv reflect.Value)
	walk = func(path string, rv reflect.Value) {
		if tm, ok := rv.Interface().(time.Time); ok {
			if !tm.IsZero() && tm.Location() != time.UTC {
				t.Errorf("%s = %s is not in UTC", path, tm)
			}
			return
		}
		if rv.Kind() == reflect.Struct {
			for i := range rv.NumField() {
				if rv.Type().Field(i).IsExported() {
					walk(path+"."+rv.Type().Field(i).Name, rv.Field(i))
				}
			}
		}
	}
	walk(reflect.TypeOf(v).String(), reflect.ValueOf(v))
}

// mustRead checks a read-back record against want: equal (times as
// instants, to the nanosecond) and in UTC.
func mustRead[T any](t *testing.T, what string, want, got T, err error) {
	t.Helper()
	if err != nil {
		t.Errorf("%s: %v", what, err)
		return
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("%s (-want +got):\n%s", what, diff)
	}
	mustUTC(t, got)
}

// fullIncident is an incident with every field set (but ID); k shifts its
// values so that two of them differ in every field.
func fullIncident(key string, k int, mergedInto, problemID int64) incident.Incident {
	return incident.Incident{
		State: incident.StateAcknowledged, Priority: 2, Impact: incident.LevelHigh, Urgency: incident.LevelLow,
		Title: "Disk full on db-1 ✓", Summary: "97% of /var used", Service: "db", Owner: "dba-team",
		CorrelationKey: key, Rule: "disk", Source: "alertmanager-eu",
		OpenedAt: at(k + 1), AcknowledgedAt: at(k + 2), ResolvedAt: at(k + 3), ImpactStartedAt: at(k + 4),
		ReopenedAt: at(k + 5), UnseenFiring: 3 + k, UnseenAsOf: at(k + 6),
		Labels:    map[string]string{"alertname": "DiskFull", "instance": "db-1:9100", "quote": `"<&>"`},
		UpdatedAt: at(k + 7), LastEventAt: at(k + 8), ResolveDueAt: at(k + 9), SealedAt: at(k + 10), Retention: incident.Retention{ClosedAt: at(k + 16), HistoryDeletedAt: at(k + 17)}, RuleSnapshot: incident.RuleSnapshot{ResolveMode: incident.ResolveAny, ResolveAfter: 5*time.Minute + time.Duration(k), MinAlerts: 2 + k, Window: 10*time.Minute + time.Duration(k)}, MergedInto: mergedInto, SLA: incident.SLA{RespondBy: at(k + 11), ResolveBy: at(k + 12), SLAPolicy: "gold", RespondBreachedAt: at(k + 13), ResolveBreachedAt: at(k + 14)}, Flapping: incident.Flapping{FlappingSince: at(k + 15), FlapThreshold: 4 + k, FlapWindow: 15*time.Minute + time.Duration(k)}, DuringMaintenance: true, AlertCount: 7 + k, FiringCount: 5 + k,
		ProblemID: problemID,
	}
}

// testIncidentEveryField: every field of an incident is stored by
// CreateIncident and by UpdateIncident, and read back by every read of one
// incident, to the nanosecond and in UTC.
func testIncidentEveryField(t *testing.T, s Store) {
	ctx := context.Background()
	target := create(t, s, newIncident("target", 3))
	p := createProblem(t, s, newProblem("sig"))
	other := createProblem(t, s, newProblem("other"))
	in := fullIncident("every-field", 0, target.ID, p.ID)
	mustUpdate(t, s, func(tx incident.Tx) error { return tx.CreateIncident(ctx, &in) })
	mustAllSet(t, in)
	read := func(stage string, want incident.Incident) {
		t.Helper()
		mustUpdate(t, s, func(tx incident.Tx) error {
			got, err := tx.Incident(ctx, want.ID)
			mustRead(t, stage+": Tx.Incident", want, got, err)
			got, err = tx.IncidentByKey(ctx, want.CorrelationKey)
			mustRead(t, stage+": Tx.IncidentByKey", want, got, err)
			return nil
		})
		got, err := s.Incident(ctx, want.ID)
		mustRead(t, stage+": Incident", want, got, err)
		got, err = s.IncidentByKey(ctx, want.CorrelationKey)
		mustRead(t, stage+": IncidentByKey", want, got, err)
		list, err := s.Incidents(ctx, incident.IncidentFilter{Query: want.CorrelationKey, Limit: 10})
		if err == nil && len(list) != 1 {
			t.Fatalf("%s: Incidents(query %q) = %d incidents, want 1", stage, want.CorrelationKey, len(list))
		}
		mustRead(t, stage+": Incidents", want, list[0], err)
	}
	read("created", in)

	// Every field UpdateIncident stores changes. CorrelationKey, Rule,
	// Source and Labels describe what opened the incident and the domain
	// never changes them: SQLite's UpdateIncident leaves them as created,
	// and the contract does not ask a backend to write them on update.
	up := fullIncident("every-field", 100, p.ID, other.ID)
	up.ID, up.CorrelationKey, up.Rule, up.Source, up.Labels = in.ID, in.CorrelationKey, in.Rule, in.Source, in.Labels
	up.State, up.Priority, up.Impact, up.Urgency = incident.StateResolved, 4, incident.LevelMedium, incident.LevelHigh
	up.Title, up.Summary, up.Service, up.Owner = "Disk full (resolved)", "rotated logs", "db-replica", "sre"
	up.ResolveMode, up.SLAPolicy, up.DuringMaintenance = incident.ResolveManual, "silver", false
	mustUpdate(t, s, func(tx incident.Tx) error { return tx.UpdateIncident(ctx, up) })
	read("updated", up)

	// Zero values read back as zero: times as the zero time (not 1970),
	// IDs as 0, the resolve mode as its default.
	zero := incident.Incident{ID: in.ID, State: incident.StateOpen, Priority: 5, CorrelationKey: in.CorrelationKey,
		Rule: in.Rule, Source: in.Source, Labels: in.Labels, UpdatedAt: at(50), LastEventAt: at(51), RuleSnapshot: incident.RuleSnapshot{ResolveMode: incident.ResolveAll, MinAlerts: 1}}
	mustUpdate(t, s, func(tx incident.Tx) error { return tx.UpdateIncident(ctx, zero) })
	read("zeroed", zero)
}

// testRecordsEveryField round-trips every field of the other records the
// store keeps.
func testRecordsEveryField(t *testing.T, s Store) {
	ctx := context.Background()
	inc := create(t, s, newIncident("k", 3))
	other := create(t, s, newIncident("other", 3))

	t.Run("AlertState", func(t *testing.T) {
		st := incident.AlertState{Fingerprint: "fp-state", Source: "am-eu", Status: incident.StatusResolved,
			StartsAt: at(1), EndsAt: at(2), IncidentID: inc.ID, LastSeenAt: at(3)}
		mustAllSet(t, st, "Annotations") // the writer's, in memory only
		mustUpdate(t, s, func(tx incident.Tx) error {
			if err := tx.PutAlertState(ctx, st); err != nil {
				return err
			}
			got, err := tx.AlertState(ctx, st.Source, st.Fingerprint)
			mustRead(t, "AlertState", st, got, err)
			return nil
		})
		st.Status = incident.StatusFiring
		mustUpdate(t, s, func(tx incident.Tx) error { return tx.PutAlertState(ctx, st) })
		got, err := s.FiringAlerts(ctx, st.Source)
		if err == nil && len(got) != 1 {
			t.Fatalf("FiringAlerts = %+v, want the one state", got)
		}
		mustRead(t, "FiringAlerts", st, got[0], err)
	})

	t.Run("Alert", func(t *testing.T) {
		a := incident.Alert{IncidentID: inc.ID, Source: "am-eu", Fingerprint: "fp-alert", Status: incident.StatusResolved,
			Labels: map[string]string{"alertname": "DiskFull", "ü": "<&>"}, Annotations: map[string]string{"summary": "full"},
			StartsAt: at(1), EndsAt: at(2), GeneratorURL: "http://prom/graph?g0.expr=up", FirstSeenAt: at(3),
			LastSeenAt: at(4), Count: 42}
		mustAllSet(t, a)
		mustUpdate(t, s, func(tx incident.Tx) error { return tx.PutAlert(ctx, a) })
		check := func(stage string, want incident.Alert) {
			t.Helper()
			mustUpdate(t, s, func(tx incident.Tx) error {
				got, err := tx.Alert(ctx, want.IncidentID, want.Source, want.Fingerprint)
				mustRead(t, stage+": Tx.Alert", want, got, err)
				list, err := tx.AlertsByFingerprint(ctx, want.IncidentID, want.Fingerprint)
				mustRead(t, stage+": Tx.AlertsByFingerprint", []incident.Alert{want}, list, err)
				list, err = tx.IncidentAlerts(ctx, want.IncidentID)
				mustRead(t, stage+": Tx.IncidentAlerts", []incident.Alert{want}, list, err)
				return nil
			})
			list, err := s.Alerts(ctx, want.IncidentID)
			mustRead(t, stage+": Alerts", []incident.Alert{want}, list, err)
			list, err = s.IncidentAlerts(ctx, want.IncidentID)
			mustRead(t, stage+": IncidentAlerts", []incident.Alert{want}, list, err)
		}
		check("put", a)
		// PutAlert again replaces every field but FirstSeenAt: the alert
		// was first seen when it was first put (SQLite's upsert keeps it,
		// and the domain passes the first value back anyway).
		b := incident.Alert{IncidentID: inc.ID, Source: a.Source, Fingerprint: a.Fingerprint, Status: incident.StatusFiring,
			Labels: map[string]string{"alertname": "DiskFull2"}, Annotations: map[string]string{"summary": "fuller"},
			StartsAt: at(11), EndsAt: at(12), GeneratorURL: "http://prom2/graph", FirstSeenAt: at(13), LastSeenAt: at(14), Count: 43}
		mustUpdate(t, s, func(tx incident.Tx) error { return tx.PutAlert(ctx, b) })
		b.FirstSeenAt = a.FirstSeenAt
		check("replaced", b)
		// TouchAlert: count+1, last seen, startsAt and annotations; the
		// rest stays.
		mustUpdate(t, s, func(tx incident.Tx) error {
			return tx.TouchAlert(ctx, inc.ID, b.Source, b.Fingerprint, at(21), at(22), map[string]string{"summary": "touched"})
		})
		b.Count, b.LastSeenAt, b.StartsAt, b.Annotations = 44, at(21), at(22), map[string]string{"summary": "touched"}
		check("touched", b)
		// A zero startsAt and no annotations read back as zero and empty.
		mustUpdate(t, s, func(tx incident.Tx) error {
			return tx.TouchAlert(ctx, inc.ID, b.Source, b.Fingerprint, at(31), time.Time{}, nil)
		})
		b.Count, b.LastSeenAt, b.StartsAt, b.Annotations = 45, at(31), time.Time{}, map[string]string{}
		check("touched without start", b)
		mustUpdate(t, s, func(tx incident.Tx) error {
			if err := tx.TouchAlert(ctx, other.ID, b.Source, b.Fingerprint, at(41), at(41), nil); !errors.Is(err, incident.ErrNotFound) {
				t.Errorf("TouchAlert of another incident's alert: err = %v, want ErrNotFound", err)
			}
			return nil
		})
		// TouchAlerts (deferred repeats): the count grows by each touch's
		// count; last-seen times only move forward, on the alert and on its
		// state; a touch of an alert another incident (or nobody) has
		// creates nothing.
		st := incident.AlertState{Fingerprint: b.Fingerprint, Source: b.Source, Status: incident.StatusFiring,
			StartsAt: at(1), IncidentID: inc.ID, LastSeenAt: at(60)}
		mustUpdate(t, s, func(tx incident.Tx) error { return tx.PutAlertState(ctx, st) })
		// Many unknown alerts first: a backend that writes touches in
		// chunks must reach the ones after the chunk boundaries.
		var touches []incident.Touch
		for i := range 250 {
			touches = append(touches, incident.Touch{Source: "nobody", Fingerprint: fmt.Sprintf("fp-none-%d", i), IncidentID: inc.ID, Seen: at(52), Count: 1})
		}
		touches = append(touches,
			incident.Touch{Source: b.Source, Fingerprint: b.Fingerprint, IncidentID: inc.ID, Seen: at(51), Count: 3},
			incident.Touch{Source: b.Source, Fingerprint: b.Fingerprint, IncidentID: other.ID, Seen: at(52), Count: 5},
			incident.Touch{Source: "nobody", Fingerprint: "fp-none", IncidentID: inc.ID, Seen: at(52), Count: 1})
		mustUpdate(t, s, func(tx incident.Tx) error { return tx.TouchAlerts(ctx, touches) })
		b.Count, b.LastSeenAt = 48, at(51)
		check("touches written", b)
		mustUpdate(t, s, func(tx incident.Tx) error {
			if err := tx.TouchAlerts(ctx, []incident.Touch{{Source: b.Source, Fingerprint: b.Fingerprint, IncidentID: inc.ID, Seen: at(40), Count: 1}}); err != nil {
				return err
			}
			got, err := tx.AlertState(ctx, st.Source, st.Fingerprint)
			mustRead(t, "AlertState after touches", st, got, err)
			if _, err := tx.Alert(ctx, other.ID, b.Source, b.Fingerprint); !errors.Is(err, incident.ErrNotFound) {
				t.Errorf("a touch of another incident's alert created it: err = %v", err)
			}
			if _, err := tx.AlertState(ctx, "nobody", "fp-none"); !errors.Is(err, incident.ErrNotFound) {
				t.Errorf("a touch of an unknown alert created its state: err = %v", err)
			}
			return nil
		})
		b.Count = 49
		check("an older touch", b)
	})

	t.Run("TimelineEntry", func(t *testing.T) {
		e := incident.TimelineEntry{IncidentID: inc.ID, At: at(1), Kind: incident.TimelineMerged, Actor: "rita",
			OnBehalfOf: "alice on the phone", Fingerprint: "fp1", Message: "merged #2 into #1"}
		mustUpdate(t, s, func(tx incident.Tx) error { return tx.AddTimeline(ctx, &e) })
		mustAllSet(t, e)
		got, err := s.TimelineEntry(ctx, e.ID)
		mustRead(t, "TimelineEntry", e, got, err)
		list, err := s.Timeline(ctx, inc.ID)
		mustRead(t, "Timeline", []incident.TimelineEntry{e}, list, err)
		if _, err := s.TimelineEntry(ctx, e.ID+100); !errors.Is(err, incident.ErrNotFound) {
			t.Errorf("TimelineEntry(unknown): err = %v, want ErrNotFound", err)
		}
	})

	t.Run("Episode", func(t *testing.T) {
		e := incident.Episode{Source: "am-eu", Fingerprint: "fp-ep", StartsAt: at(1), EndsAt: at(2), IncidentID: inc.ID,
			Key: "k"}
		mustUpdate(t, s, func(tx incident.Tx) error { return tx.PutEpisode(ctx, &e) })
		mustAllSet(t, e)
		read := func(stage string, want incident.Episode) {
			t.Helper()
			mustUpdate(t, s, func(tx incident.Tx) error {
				got, err := tx.EpisodeNear(ctx, want.Source, want.Fingerprint, want.StartsAt, 0)
				mustRead(t, stage+": EpisodeNear", want, got, err)
				list, err := tx.Episodes(ctx, []int64{want.IncidentID})
				mustRead(t, stage+": Episodes", []incident.Episode{want}, list, err)
				return nil
			})
		}
		read("inserted", e)
		// An update by ID stores every field but the alert's identity.
		e.StartsAt, e.EndsAt, e.IncidentID, e.Key = at(11), at(12), other.ID, "other"
		mustUpdate(t, s, func(tx incident.Tx) error { return tx.PutEpisode(ctx, &e) })
		read("updated", e)
		e.EndsAt, e.IncidentID = time.Time{}, 0
		mustUpdate(t, s, func(tx incident.Tx) error { return tx.PutEpisode(ctx, &e) })
		mustUpdate(t, s, func(tx incident.Tx) error {
			got, err := tx.NextEpisodes(ctx, []incident.Episode{{Source: e.Source, Fingerprint: e.Fingerprint, StartsAt: at(0)}})
			if err != nil || len(got) != 1 {
				t.Fatalf("NextEpisodes: %d answers for one alert, %v", len(got), err)
			}
			mustRead(t, "firing, no incident: NextEpisodes", e, got[0], nil)
			return nil
		})
	})

	t.Run("EventRecord", func(t *testing.T) {
		e := incident.EventRecord{ReceivedAt: at(1), Source: "am-eu", Fingerprint: "fp-ev", Status: incident.StatusResolved,
			Labels: map[string]string{"alertname": "X"}, Annotations: map[string]string{"summary": "y"},
			GroupLabels: map[string]string{"cluster": "eu"}, Receiver: "alertbridge", GeneratorURL: "http://prom/g",
			StartsAt: at(2), EndsAt: at(3), Transition: incident.TransitionResolved, Rule: "disk", Key: "k",
			IncidentID: inc.ID}
		mustAllSet(t, e)
		// No group labels (a sender without groups) stay nil, not empty.
		bare := incident.EventRecord{ReceivedAt: at(4), Source: "pd", Fingerprint: "fp-bare", Status: incident.StatusFiring,
			Labels: map[string]string{}, Annotations: map[string]string{}, Transition: incident.TransitionNew}
		mustUpdate(t, s, func(tx incident.Tx) error {
			if err := tx.AddEvent(ctx, e); err != nil {
				return err
			}
			return tx.AddEvent(ctx, bare)
		})
		var got []incident.EventRecord
		err := s.Events(ctx, time.Time{}, time.Time{}, func(r incident.EventRecord) error { got = append(got, r); return nil })
		mustRead(t, "Events", []incident.EventRecord{e, bare}, got, err)
		for _, r := range got {
			mustUTC(t, r)
		}
	})

	t.Run("Change", func(t *testing.T) {
		// Omitted is not stored: it only tells RecordChange what a
		// redelivery left out (Change.Merge), and RecordChange clears it
		// before PutChange. A backend reads it back zero.
		c := incident.Change{Source: "ci", ExternalID: "run-42", Service: "api", Summary: "deploy api v42",
			URL: "https://ci/run/42", StartedAt: at(1), FinishedAt: at(2), Labels: map[string]string{"version": "v42"},
			Maintenance: true, ReceivedAt: at(3), Omitted: incident.ChangeFields{Summary: true}}
		mustUpdate(t, s, func(tx incident.Tx) error { return tx.PutChange(ctx, &c) })
		mustAllSet(t, c)
		want := c
		want.Omitted = incident.ChangeFields{}
		read := func(stage string, want incident.Change) {
			t.Helper()
			mustUpdate(t, s, func(tx incident.Tx) error {
				got, err := tx.ChangeByExternalID(ctx, want.Source, want.ExternalID)
				mustRead(t, stage+": ChangeByExternalID", want, got, err)
				list, err := tx.ChangesFor(ctx, []string{want.Service}, want.StartedAt, want.StartedAt)
				mustRead(t, stage+": ChangesFor", []incident.Change{want}, list, err)
				return nil
			})
			list, err := s.Changes(ctx, incident.ChangeFilter{Limit: 10})
			mustRead(t, stage+": Changes", []incident.Change{want}, list, err)
			if want.Maintenance {
				got, err := s.ActiveMaintenance(ctx, want.Service, want.StartedAt)
				mustRead(t, stage+": ActiveMaintenance", want, got, err)
			}
		}
		read("put", want)
		// A redelivery (same Source and ExternalID) replaces every other
		// field, and keeps the ID.
		re := incident.Change{Source: c.Source, ExternalID: c.ExternalID, Service: "web", Summary: "deploy web v43",
			URL: "https://ci/run/43", StartedAt: at(11), Labels: map[string]string{"version": "v43"}, ReceivedAt: at(13)}
		mustUpdate(t, s, func(tx incident.Tx) error { return tx.PutChange(ctx, &re) })
		if re.ID != c.ID {
			t.Errorf("redelivery got ID %d, want %d", re.ID, c.ID)
		}
		read("redelivered", re)
		mustUpdate(t, s, func(tx incident.Tx) error {
			if _, err := tx.ChangeByExternalID(ctx, "other-ci", c.ExternalID); !errors.Is(err, incident.ErrNotFound) {
				t.Errorf("ChangeByExternalID of another source: err = %v, want ErrNotFound", err)
			}
			return nil
		})

		// RecordChange, the domain's redelivery, relies on the store's
		// read and upsert: a redelivery carrying only its finish keeps
		// the rest (a sender always names the service).
		fin := incident.Change{Source: c.Source, ExternalID: c.ExternalID, Service: re.Service, FinishedAt: at(20), ReceivedAt: at(21),
			Omitted: incident.ChangeFields{Summary: true, URL: true, StartedAt: true, Labels: true, Maintenance: true}}
		mustUpdate(t, s, func(tx incident.Tx) error { return incident.RecordChange(ctx, tx, &fin) })
		wantFin := re
		wantFin.FinishedAt, wantFin.ReceivedAt = at(20), at(21)
		read("finished", wantFin)
	})

	t.Run("ChangeLink", func(t *testing.T) {
		c := incident.Change{Source: "ci", ExternalID: "link", Service: "db", Summary: "migrate", URL: "u",
			StartedAt: at(1), FinishedAt: at(2), Labels: map[string]string{"a": "b"}, Maintenance: true, ReceivedAt: at(3)}
		mustUpdate(t, s, func(tx incident.Tx) error { return tx.PutChange(ctx, &c) })
		l := incident.ChangeLink{IncidentID: inc.ID, Change: c, Rank: 3, Reason: "migrate on db started 5m before"}
		mustAllSet(t, l)
		mustUpdate(t, s, func(tx incident.Tx) error { return tx.LinkChange(ctx, l) })
		got, err := s.IncidentChanges(ctx, inc.ID)
		mustRead(t, "IncidentChanges", []incident.ChangeLink{l}, got, err)
		// Linking the same change again replaces rank and reason.
		l.Rank, l.Reason = 1, "relinked"
		mustUpdate(t, s, func(tx incident.Tx) error { return tx.LinkChange(ctx, l) })
		got, err = s.IncidentChanges(ctx, inc.ID)
		mustRead(t, "IncidentChanges after relinking", []incident.ChangeLink{l}, got, err)
		for _, gl := range got {
			mustUTC(t, gl.Change)
		}
		sp, err := s.ChangeSuspects(ctx, []int64{c.ID}, 10)
		want := []incident.Suspect{{ChangeID: c.ID, Incident: inc, Rank: 1, Reason: "relinked", Total: 1}}
		if len(want) == 1 {
			mustAllSet(t, want[0])
		}
		mustRead(t, "ChangeSuspects", want, sp, err)
	})

	t.Run("OutboxRow", func(t *testing.T) {
		e := incident.TimelineEntry{IncidentID: inc.ID, At: at(0), Kind: incident.TimelineOpened, Actor: "system"}
		mustUpdate(t, s, func(tx incident.Tx) error { return tx.AddTimeline(ctx, &e) })
		r := incident.OutboxRow{Sink: "jira", IncidentID: inc.ID, Kind: incident.NotifyOpened, TimelineID: e.ID,
			State: incident.OutboxPending, CreatedAt: at(1), Attempts: 2, NextAttemptAt: at(2), LastError: "503 busy"}
		mustUpdate(t, s, func(tx incident.Tx) error { return tx.AddOutbox(ctx, &r) })
		mustAllSet(t, r)
		got, err := s.OutboxRows(ctx, "", 0, 10)
		mustRead(t, "OutboxRows", []incident.OutboxRow{r}, got, err)
		got, err = s.DueOutbox(ctx, r.Sink, r.NextAttemptAt, 10)
		mustRead(t, "DueOutbox", []incident.OutboxRow{r}, got, err)
		got, err = s.OutboxAfter(ctx, r.Sink, r.IncidentID, 0)
		mustRead(t, "OutboxAfter", []incident.OutboxRow{r}, got, err)
		// A release has no timeline entry: TimelineID 0 reads back 0.
		rel := incident.OutboxRow{Sink: "slack", IncidentID: inc.ID, Kind: incident.NotifyReleased, State: incident.OutboxHeld,
			CreatedAt: at(3), NextAttemptAt: at(3)}
		mustUpdate(t, s, func(tx incident.Tx) error { return tx.AddOutbox(ctx, &rel) })
		got, err = s.OutboxRows(ctx, incident.OutboxHeld, 0, 10)
		mustRead(t, "OutboxRows(held)", []incident.OutboxRow{rel}, got, err)
	})

	t.Run("Ticket", func(t *testing.T) {
		tk := incident.Ticket{IncidentID: inc.ID, Sink: "slack", ExternalID: "C123/1700000000.000100",
			URL: "https://slack/archives/C123/p1700000000000100", Data: map[string]string{"channel": "C123"}, UpdatedAt: at(1)}
		mustAllSet(t, tk)
		mustUpdate(t, s, func(tx incident.Tx) error { return tx.PutTicket(ctx, tk) })
		read := func(stage string, want incident.Ticket) {
			t.Helper()
			got, err := s.Ticket(ctx, want.IncidentID, want.Sink)
			mustRead(t, stage+": Ticket", want, got, err)
			got, err = s.TicketByExternalID(ctx, want.Sink, want.ExternalID)
			mustRead(t, stage+": TicketByExternalID", want, got, err)
			list, err := s.Tickets(ctx, want.IncidentID)
			mustRead(t, stage+": Tickets", []incident.Ticket{want}, list, err)
		}
		read("put", tk)
		// Put again for the same incident and sink: replaced, not added.
		tk2 := incident.Ticket{IncidentID: inc.ID, Sink: "slack", ExternalID: "C123/1700000001.000200", URL: "https://slack/2",
			Data: map[string]string{"channel": "C999"}, UpdatedAt: at(2)}
		mustUpdate(t, s, func(tx incident.Tx) error { return tx.PutTicket(ctx, tk2) })
		read("replaced", tk2)
		if _, err := s.TicketByExternalID(ctx, tk.Sink, tk.ExternalID); !errors.Is(err, incident.ErrNotFound) {
			t.Errorf("TicketByExternalID(replaced id): err = %v, want ErrNotFound", err)
		}
		if _, err := s.Ticket(ctx, inc.ID, "jira"); !errors.Is(err, incident.ErrNotFound) {
			t.Errorf("Ticket(other sink): err = %v, want ErrNotFound", err)
		}
		if _, err := s.TicketByExternalID(ctx, "jira", tk2.ExternalID); !errors.Is(err, incident.ErrNotFound) {
			t.Errorf("TicketByExternalID(other sink): err = %v, want ErrNotFound", err)
		}
		// Tickets are by sink.
		jira := incident.Ticket{IncidentID: inc.ID, Sink: "jira", ExternalID: "OPS-1", Data: map[string]string{}, UpdatedAt: at(3)}
		mustUpdate(t, s, func(tx incident.Tx) error { return tx.PutTicket(ctx, jira) })
		list, err := s.Tickets(ctx, inc.ID)
		mustRead(t, "Tickets by sink", []incident.Ticket{jira, tk2}, list, err)
		if list, err := s.Tickets(ctx, other.ID); err != nil || len(list) != 0 {
			t.Errorf("Tickets(other incident) = %+v, %v; want none", list, err)
		}
	})
}

// testProblemEveryField: every field of a problem, its timeline entries and
// incident signatures round-trips.
func testProblemEveryField(t *testing.T, s Store) {
	ctx := context.Background()
	p := incident.Problem{Name: "disk-recurring", Signature: `disk-recurring{service="db"}`, State: incident.ProblemClosed,
		Title: "Disk keeps filling", RootCause: "log rotation", Workaround: "restart vector", FirstSeenAt: at(1),
		LastSeenAt: at(2), IncidentCount: 5, OpenedAt: at(3), ResolvedAt: at(4), ClosedAt: at(5), UpdatedAt: at(6)}
	mustUpdate(t, s, func(tx incident.Tx) error { return tx.CreateProblem(ctx, &p) })
	mustAllSet(t, p)
	read := func(stage string, want incident.Problem) {
		t.Helper()
		mustUpdate(t, s, func(tx incident.Tx) error {
			got, err := tx.Problem(ctx, want.ID)
			mustRead(t, stage+": Tx.Problem", want, got, err)
			got, err = tx.ProblemBySignature(ctx, want.Signature)
			mustRead(t, stage+": ProblemBySignature", want, got, err)
			return nil
		})
		got, err := s.Problem(ctx, want.ID)
		mustRead(t, stage+": Problem", want, got, err)
		list, err := s.Problems(ctx, incident.ProblemFilter{Limit: 10})
		mustRead(t, stage+": Problems", []incident.Problem{want}, list, err)
	}
	read("created", p)
	// UpdateProblem stores all but Name and Signature, which identify what
	// opened it; the domain never changes them and SQLite keeps them.
	up := incident.Problem{ID: p.ID, Name: p.Name, Signature: p.Signature, State: incident.ProblemKnownError,
		Title: "Disk keeps filling (known)", RootCause: "vector buffers", Workaround: "raise the quota", FirstSeenAt: at(11),
		LastSeenAt: at(12), IncidentCount: 6, OpenedAt: at(13), UpdatedAt: at(16)}
	mustUpdate(t, s, func(tx incident.Tx) error { return tx.UpdateProblem(ctx, up) })
	read("updated", up)

	e := incident.ProblemEntry{ProblemID: p.ID, At: at(7), Kind: incident.ProblemEntryKnownError, Actor: "bob",
		OnBehalfOf: "the change board", Message: "root cause found"}
	mustUpdate(t, s, func(tx incident.Tx) error { return tx.AddProblemEntry(ctx, &e) })
	mustAllSet(t, e)
	tl, err := s.ProblemTimeline(ctx, p.ID)
	mustRead(t, "ProblemTimeline", []incident.ProblemEntry{e}, tl, err)

	inc := create(t, s, newIncident("k", 3))
	sig := incident.IncidentSignature{IncidentID: inc.ID, ProblemRule: "disk-recurring", Signature: "sig", OpenedAt: at(8)}
	mustAllSet(t, sig)
	mustUpdate(t, s, func(tx incident.Tx) error {
		if err := tx.AddIncidentSignature(ctx, sig); err != nil {
			return err
		}
		got, err := tx.UnlinkedSignatures(ctx, "sig", at(8))
		mustRead(t, "UnlinkedSignatures", []incident.IncidentSignature{sig}, got, err)
		// Recorded again under the same rule: the signature and time are
		// replaced.
		sig2 := sig
		sig2.Signature, sig2.OpenedAt = "sig2", at(9)
		if err := tx.AddIncidentSignature(ctx, sig2); err != nil {
			return err
		}
		if got, err := tx.UnlinkedSignatures(ctx, "sig", at(0)); err != nil || len(got) != 0 {
			t.Errorf("UnlinkedSignatures(old signature) = %+v, %v; want none", got, err)
		}
		got, err = tx.UnlinkedSignatures(ctx, "sig2", at(0))
		mustRead(t, "UnlinkedSignatures after replacing", []incident.IncidentSignature{sig2}, got, err)
		return nil
	})
}
