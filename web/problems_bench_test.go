package web_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/store/sqlite"
)

// seedProblems links the n seeded incidents (IDs 1..n, oldest first) to
// problems: the first problem takes every tenth incident (a long-running
// problem with n/10 of them), the others 20 incidents each of the rest.
func seedProblems(b *testing.B, st *sqlite.Store, n int) {
	b.Helper()
	ctx := context.Background()
	err := st.Update(ctx, func(tx incident.Tx) error {
		link := func(p *incident.Problem, ids []int64) error {
			p.Name, p.State, p.Title, p.IncidentCount = "disk-recurring", incident.ProblemOpen, "Disk full, again", len(ids)
			p.FirstSeenAt = t0.Add(-time.Duration(n-int(ids[0])+1) * 4 * time.Minute)
			p.LastSeenAt = t0.Add(-time.Duration(n-int(ids[len(ids)-1])+1) * 4 * time.Minute)
			p.OpenedAt, p.UpdatedAt = p.FirstSeenAt, p.LastSeenAt
			if err := tx.CreateProblem(ctx, p); err != nil {
				return err
			}
			for _, id := range ids {
				if err := tx.SetIncidentProblem(ctx, id, p.ID); err != nil {
					return err
				}
			}
			for i := range 20 {
				if err := tx.AddProblemEntry(ctx, &incident.ProblemEntry{ProblemID: p.ID, At: p.FirstSeenAt.Add(time.Duration(i) * time.Hour),
					Kind: incident.ProblemEntryLinked, Actor: "system", Message: fmt.Sprintf("incident #%d linked", ids[i%len(ids)])}); err != nil {
					return err
				}
			}
			return nil
		}
		var big, rest []int64
		for id := int64(1); id <= int64(n); id++ {
			if id%10 == 1 {
				big = append(big, id)
			} else {
				rest = append(rest, id)
			}
		}
		if err := link(&incident.Problem{Signature: "disk-recurring{service=\"db\"}"}, big); err != nil {
			return err
		}
		for i := 0; i+20 <= len(rest); i += 20 {
			p := incident.Problem{Signature: fmt.Sprintf("disk-recurring{instance=\"db-%d\"}", i/20)}
			if i%40 == 0 {
				p.RootCause, p.Workaround = "log rotation off", "restart vector"
			}
			if err := link(&p, rest[i:i+20]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
}

// seedChanges records a change every 20 minutes over the seeded
// incidents' 4n minutes, each suspected by the incidents that opened in the
// 2 hours after it, on its service or not.
func seedChanges(b *testing.B, st *sqlite.Store, n int) {
	b.Helper()
	ctx := context.Background()
	services := []string{"checkout", "api", "db", "search", "edge"}
	err := st.Update(ctx, func(tx incident.Tx) error {
		for i := range n / 5 {
			at := t0.Add(-time.Duration(n-i*5) * 4 * time.Minute)
			c := incident.Change{Source: "ci", ExternalID: fmt.Sprintf("deploy-%d", i), Service: services[i%len(services)],
				Summary: fmt.Sprintf("Deploy %s v%d", services[i%len(services)], i), URL: fmt.Sprintf("https://ci.example/%d", i),
				StartedAt: at, FinishedAt: at.Add(5 * time.Minute), Labels: map[string]string{"version": fmt.Sprint(i)}, ReceivedAt: at}
			if err := tx.PutChange(ctx, &c); err != nil {
				return err
			}
			// The incidents seeded from at on, 4 minutes apart: 2 hours' worth.
			for k := range 30 {
				id := int64(i*5 + k + 1)
				if id > int64(n) {
					break
				}
				if err := tx.LinkChange(ctx, incident.ChangeLink{IncidentID: id, Change: c, Rank: 1 + k%3,
					Reason: c.Summary + " started before the first alert"}); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
}

// BenchmarkProblemList renders the problem list and the largest problem's
// page with 10,000 incidents, all linked to problems (issue #11: under 100
// ms).
func BenchmarkProblemList(b *testing.B) {
	st, get := benchUI(b, 10000)
	seedProblems(b, st, 10000)
	for _, path := range []string{"/problems", "/problems?state=all&cursor=200", "/problems/1", "/problems/2"} {
		b.Run(path, func(b *testing.B) {
			for b.Loop() {
				get(path)
			}
		})
	}
}

// BenchmarkChanges renders the changes page with 10,000 incidents and
// 2,000 changes, each suspected in 30 of them.
func BenchmarkChanges(b *testing.B) {
	st, get := benchUI(b, 10000)
	seedChanges(b, st, 10000)
	for _, path := range []string{"/changes", "/changes?period=all", "/changes?period=30d&service=db"} {
		b.Run(path, func(b *testing.B) {
			for b.Loop() {
				get(path)
			}
		})
	}
}
