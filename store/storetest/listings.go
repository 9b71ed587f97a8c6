package storetest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/alertbridge/alertbridge/incident"
)

// pageAll follows a newest-first listing's cursor from the start, pages of
// limit, until a short page, and returns the IDs in the order read. It fails
// on a page longer than limit.
func pageAll(t *testing.T, limit int, page func(afterID int64) ([]int64, error)) []int64 {
	t.Helper()
	var all []int64
	var after int64
	for range 1000 {
		ids, err := page(after)
		if err != nil {
			t.Fatal(err)
		}
		if len(ids) > limit {
			t.Fatalf("page after %d has %d rows, limit %d", after, len(ids), limit)
		}
		all = append(all, ids...)
		if len(ids) < limit {
			return all
		}
		after = ids[len(ids)-1]
	}
	t.Fatal("the listing never ends")
	return nil
}

// newestFirst returns the IDs of the records keep selects, newest (highest
// ID) first: what every listing returns.
func newestFirst[T any](all []T, id func(T) int64, keep func(T) bool) []int64 {
	var out []int64
	for _, v := range all {
		if keep(v) {
			out = append(out, id(v))
		}
	}
	slices.Sort(out)
	slices.Reverse(out)
	return out
}

// testIncidentListing pages through Incidents under each filter: every
// match once, newest first, nothing skipped or repeated at a page's edge;
// and IncidentCounts counts the same matches by state.
func testIncidentListing(t *testing.T, s Store) {
	ctx := context.Background()
	states := []incident.State{incident.StateOpen, incident.StateAcknowledged, incident.StateResolved, incident.StatePending}
	var all []incident.Incident
	for i := range 23 {
		inc := newIncident(fmt.Sprintf("list-%02d", i), incident.Priority(1+i%5))
		inc.State = states[i%len(states)]
		switch inc.State {
		case incident.StateAcknowledged:
			inc.AcknowledgedAt = t0
		case incident.StateResolved:
			inc.ResolvedAt = t0
		case incident.StatePending:
			inc.OpenedAt = time.Time{}
		}
		if i%3 == 0 {
			inc.Service = "checkout"
		}
		if i%4 == 1 {
			inc.Title = "Checkout LATENCY high"
		}
		all = append(all, create(t, s, inc))
	}
	id := func(inc incident.Incident) int64 { return inc.ID }
	tests := []struct {
		name string
		f    incident.IncidentFilter
		keep func(incident.Incident) bool
	}{
		{"All", incident.IncidentFilter{}, func(incident.Incident) bool { return true }},
		{"States", incident.IncidentFilter{States: []incident.State{incident.StateOpen, incident.StatePending}},
			func(inc incident.Incident) bool {
				return inc.State == incident.StateOpen || inc.State == incident.StatePending
			}},
		{"Priority", incident.IncidentFilter{Priority: 3}, func(inc incident.Incident) bool { return inc.Priority == 3 }},
		{"Service", incident.IncidentFilter{Service: "checkout"}, func(inc incident.Incident) bool { return inc.Service == "checkout" }},
		// The query is a substring of the title, whatever the case, or of
		// the correlation key.
		{"QueryTitle", incident.IncidentFilter{Query: "latency"}, func(inc incident.Incident) bool {
			return strings.Contains(inc.Title, "LATENCY")
		}},
		{"QueryKey", incident.IncidentFilter{Query: "list-1"}, func(inc incident.Incident) bool {
			return strings.HasPrefix(inc.CorrelationKey, "list-1")
		}},
		{"Combined", incident.IncidentFilter{States: []incident.State{incident.StateResolved}, Service: "checkout", Priority: 4},
			func(inc incident.Incident) bool {
				return inc.State == incident.StateResolved && inc.Service == "checkout" && inc.Priority == 4
			}},
		{"QueryStatesService", incident.IncidentFilter{Query: "LIST-", States: []incident.State{incident.StateOpen, incident.StateResolved},
			Service: "checkout"}, func(inc incident.Incident) bool {
			return (inc.State == incident.StateOpen || inc.State == incident.StateResolved) && inc.Service == "checkout"
		}},
		{"NoMatch", incident.IncidentFilter{Query: "nothing like it"}, func(incident.Incident) bool { return false }},
	}
	for _, tt := range tests {
		want := newestFirst(all, id, tt.keep)
		for _, limit := range []int{1, 4, 5, 100} {
			t.Run(fmt.Sprintf("%s/Limit%d", tt.name, limit), func(t *testing.T) {
				got := pageAll(t, limit, func(after int64) ([]int64, error) {
					f := tt.f
					f.Limit, f.AfterID = limit, after
					list, err := s.Incidents(ctx, f)
					var ids []int64
					for _, inc := range list {
						ids = append(ids, inc.ID)
					}
					return ids, err
				})
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("pages (-want +got):\n%s", diff)
				}
			})
		}
		t.Run(tt.name+"/Counts", func(t *testing.T) {
			// IncidentCounts ignores States, AfterID and Limit.
			f := tt.f
			f.AfterID, f.Limit = all[5].ID, 1
			got, err := s.IncidentCounts(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			want := map[incident.State]int{}
			for _, inc := range all {
				if matchesButStates(inc, tt.f) {
					want[inc.State]++
				}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("IncidentCounts (-want +got):\n%s", diff)
			}
		})
	}
}

// matchesButStates reports whether inc matches f's priority, service and
// query: what IncidentCounts counts.
func matchesButStates(inc incident.Incident, f incident.IncidentFilter) bool {
	return (f.Priority == 0 || inc.Priority == f.Priority) && (f.Service == "" || inc.Service == f.Service) &&
		(f.Query == "" || strings.Contains(strings.ToLower(inc.Title), strings.ToLower(f.Query)) ||
			strings.Contains(inc.CorrelationKey, f.Query))
}

// testProblemListing pages through Problems by state.
func testProblemListing(t *testing.T, s Store) {
	ctx := context.Background()
	states := []incident.ProblemState{incident.ProblemOpen, incident.ProblemKnownError, incident.ProblemResolved, incident.ProblemClosed}
	var all []incident.Problem
	for i := range 17 {
		p := newProblem(fmt.Sprintf("sig-%02d", i))
		p.State = states[i%len(states)]
		all = append(all, createProblem(t, s, p))
	}
	id := func(p incident.Problem) int64 { return p.ID }
	tests := []struct {
		name   string
		states []incident.ProblemState
	}{
		{"All", nil},
		{"Open", []incident.ProblemState{incident.ProblemOpen}},
		{"Done", []incident.ProblemState{incident.ProblemResolved, incident.ProblemClosed}},
	}
	for _, tt := range tests {
		want := newestFirst(all, id, func(p incident.Problem) bool { return len(tt.states) == 0 || slices.Contains(tt.states, p.State) })
		for _, limit := range []int{1, 3, 100} {
			t.Run(fmt.Sprintf("%s/Limit%d", tt.name, limit), func(t *testing.T) {
				got := pageAll(t, limit, func(after int64) ([]int64, error) {
					list, err := s.Problems(ctx, incident.ProblemFilter{States: tt.states, Limit: limit, AfterID: after})
					var ids []int64
					for _, p := range list {
						ids = append(ids, p.ID)
					}
					return ids, err
				})
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("pages (-want +got):\n%s", diff)
				}
			})
		}
	}
}

// testChangeListing pages through Changes by service and start time: Since
// is inclusive, Until exclusive. Listings are newest first by ID (the
// cursor), not by start: a change reported late lists first.
func testChangeListing(t *testing.T, s Store) {
	ctx := context.Background()
	var all []incident.Change
	mustUpdate(t, s, func(tx incident.Tx) error {
		for i := range 19 {
			c := incident.Change{Source: "ci", ExternalID: fmt.Sprintf("run-%02d", i), Service: []string{"api", "db"}[i%2],
				Summary: "deploy", StartedAt: t0.Add(time.Duration((i*7)%19) * time.Minute), Labels: map[string]string{},
				ReceivedAt: t0}
			if err := tx.PutChange(ctx, &c); err != nil {
				return err
			}
			all = append(all, c)
		}
		return nil
	})
	id := func(c incident.Change) int64 { return c.ID }
	since, until := t0.Add(3*time.Minute), t0.Add(11*time.Minute)
	tests := []struct {
		name string
		f    incident.ChangeFilter
		keep func(incident.Change) bool
	}{
		{"All", incident.ChangeFilter{}, func(incident.Change) bool { return true }},
		{"Service", incident.ChangeFilter{Service: "db"}, func(c incident.Change) bool { return c.Service == "db" }},
		{"Since", incident.ChangeFilter{Since: since}, func(c incident.Change) bool { return !c.StartedAt.Before(since) }},
		{"Until", incident.ChangeFilter{Until: until}, func(c incident.Change) bool { return c.StartedAt.Before(until) }},
		{"Window", incident.ChangeFilter{Service: "api", Since: since, Until: until}, func(c incident.Change) bool {
			return c.Service == "api" && !c.StartedAt.Before(since) && c.StartedAt.Before(until)
		}},
	}
	for _, tt := range tests {
		want := newestFirst(all, id, tt.keep)
		for _, limit := range []int{1, 4, 100} {
			t.Run(fmt.Sprintf("%s/Limit%d", tt.name, limit), func(t *testing.T) {
				got := pageAll(t, limit, func(after int64) ([]int64, error) {
					f := tt.f
					f.Limit, f.AfterID = limit, after
					list, err := s.Changes(ctx, f)
					var ids []int64
					for _, c := range list {
						ids = append(ids, c.ID)
					}
					return ids, err
				})
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("pages (-want +got):\n%s", diff)
				}
			})
		}
	}
}

// testOutboxListing pages through OutboxRows by state.
func testOutboxListing(t *testing.T, s Store) {
	ctx := context.Background()
	inc := create(t, s, newIncident("k", 3))
	states := []incident.OutboxState{incident.OutboxPending, incident.OutboxHeld, incident.OutboxDead}
	var all []incident.OutboxRow
	mustUpdate(t, s, func(tx incident.Tx) error {
		for i := range 14 {
			r := incident.OutboxRow{Sink: []string{"jira", "slack"}[i%2], IncidentID: inc.ID, Kind: incident.NotifyComment,
				State: states[i%3], CreatedAt: t0, NextAttemptAt: t0}
			if err := tx.AddOutbox(ctx, &r); err != nil {
				return err
			}
			all = append(all, r)
		}
		return nil
	})
	id := func(r incident.OutboxRow) int64 { return r.ID }
	for _, state := range []incident.OutboxState{"", incident.OutboxPending, incident.OutboxHeld, incident.OutboxDead} {
		want := newestFirst(all, id, func(r incident.OutboxRow) bool { return state == "" || r.State == state })
		for _, limit := range []int{1, 3, 100} {
			t.Run(fmt.Sprintf("%q/Limit%d", state, limit), func(t *testing.T) {
				got := pageAll(t, limit, func(after int64) ([]int64, error) {
					list, err := s.OutboxRows(ctx, state, after, limit)
					var ids []int64
					for _, r := range list {
						ids = append(ids, r.ID)
					}
					return ids, err
				})
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("pages (-want +got):\n%s", diff)
				}
			})
		}
	}
}

// testIncidentSearch: the list's query is a substring of the title (ASCII
// case folded) or of the correlation key (exact), whatever characters it
// holds and however short, and follows titles and keys as they change. A
// backend that indexes the search must find exactly what a scan finds, in
// its pages and in its counts: queries too short to have a trigram, LIKE's
// wildcards and escape character taken literally, and non-ASCII letters,
// which only match as they are (SQL's lower() folds ASCII only).
func testIncidentSearch(t *testing.T, s Store) {
	ctx := context.Background()
	titles := []string{
		`Disk "full" on db-1`, "Ünïcode Straße down", "latency p99 > 2s", "CPU 100%_busy", "a", "Ab", "x'y;DROP",
		"payments: 5xx from pay-gw", "résumé service", "EU-WEST-1 unreachable", `C:\Temp\_cache 50% full`,
		"ünïcode lower", "cpu 1000 busy",
	}
	var all []incident.Incident
	for i, title := range titles {
		inc := newIncident(fmt.Sprintf(`rule/r@0000000%d{cluster="Eu-%d"}`, i, i), 3)
		inc.Title = title
		if i%3 == 1 { // counts are by state
			inc.State, inc.ResolvedAt = incident.StateResolved, t0
		}
		all = append(all, create(t, s, inc))
	}
	// A title that changes after creation is found by its new text only
	// (a key never changes).
	moved := &all[2]
	moved.Title = "queue backlog growing"
	mustUpdate(t, s, func(tx incident.Tx) error { return tx.UpdateIncident(ctx, *moved) })

	fold := func(s string) string { // lower() of SQL: ASCII only
		return strings.Map(func(r rune) rune {
			if r >= 'A' && r <= 'Z' {
				return r + 'a' - 'A'
			}
			return r
		}, s)
	}
	for _, q := range []string{
		`"full"`, `"`, "full", "FULL", "straße", "STRASSE", "Ünï", "ünï", "ÜNÏ", "ÜNÏCODE", "ésu", "ÉSU", "p99 > 2",
		"100%", "%_b", "10_%", "%", "_", `\`, `\_`, `\T`, `p\_c`, "50% f", "r@0000000_", "x'y;", "a", "ab", "AB", "b",
		"Eu-3", "eu-3", `cluster="Eu-1"}`, "latency", "p99", "queue", "backlog", "rule/r@", "nothing at all", "-", "EU-WEST",
	} {
		t.Run(q, func(t *testing.T) {
			match := func(inc incident.Incident) bool {
				return strings.Contains(fold(inc.Title), fold(q)) || strings.Contains(inc.CorrelationKey, q)
			}
			want := newestFirst(all, func(inc incident.Incident) int64 { return inc.ID }, match)
			for _, limit := range []int{2, 100} {
				got := pageAll(t, limit, func(after int64) ([]int64, error) {
					list, err := s.Incidents(ctx, incident.IncidentFilter{Query: q, Limit: limit, AfterID: after})
					var ids []int64
					for _, inc := range list {
						ids = append(ids, inc.ID)
					}
					return ids, err
				})
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("query %q, pages of %d (-want +got):\n%s", q, limit, diff)
				}
			}
			wantCounts := map[incident.State]int{}
			for _, inc := range all {
				if match(inc) {
					wantCounts[inc.State]++
				}
			}
			gotCounts, err := s.IncidentCounts(ctx, incident.IncidentFilter{Query: q})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(wantCounts, gotCounts); diff != "" {
				t.Errorf("query %q, IncidentCounts (-want +got):\n%s", q, diff)
			}
		})
	}
}
