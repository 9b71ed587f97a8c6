package sqlite

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/alertbridge/alertbridge/incident"
)

// noiseEvent is one recorded event of the noise property test.
type noiseEvent struct {
	at         int64 // received_at, Unix nanoseconds
	source, fp string
	transition incident.Transition
}

// randomNoiseEvents returns n events over days days from t0, on few
// fingerprints and every transition (counted or not), many of them close
// to a midnight, in the order given by shuffle (false: by time).
func randomNoiseEvents(r *rand.Rand, t0 int64, days, n int, shuffle bool) []noiseEvent {
	transitions := []incident.Transition{incident.TransitionNew, incident.TransitionRepeat, incident.TransitionResolved,
		incident.TransitionRefired, incident.TransitionStale, incident.TransitionHistory}
	out := make([]noiseEvent, n)
	for i := range out {
		at := t0 + r.Int64N(int64(days)*nanosPerDay)
		if r.IntN(3) == 0 { // within a second of a midnight
			at = t0 + int64(r.IntN(days+1))*nanosPerDay + r.Int64N(2*int64(time.Second)) - int64(time.Second)
			at = max(at, t0)
		}
		out[i] = noiseEvent{at: at, source: "am", fp: fmt.Sprintf("fp-%d", r.IntN(25)),
			transition: transitions[r.IntN(len(transitions))]}
	}
	if !shuffle {
		slices.SortFunc(out, func(a, b noiseEvent) int { return cmp.Compare(a.at, b.at) })
	}
	return out
}

// rawNoise is the figure computed from the events themselves: an alert
// is a source and a fingerprint.
func rawNoise(es []noiseEvent, since, until int64) (events, alerts int) {
	fps := map[[2]string]bool{}
	for _, e := range es {
		switch e.transition {
		case incident.TransitionNew, incident.TransitionRefired, incident.TransitionResolved, incident.TransitionStale:
		default:
			continue
		}
		if e.at >= since && e.at < until {
			events++
			fps[[2]string{e.source, e.fp}] = true
		}
	}
	return events, len(fps)
}

// TestNoiseDaysEqualsRaw checks that the events and distinct alerts of a
// window, counted from the per-day figures and the window's edges, equal
// the count over the events themselves: for events recorded in order, out
// of order (a clock stepped back), or before migration 0009 (its backfill)
// and after, over random windows that cut days anywhere, fall on
// midnights, or hold no whole day. The events recorded by the store come
// from two sources sharing their fingerprints: two alerts each.
func TestNoiseDaysEqualsRaw(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC).UnixNano()
	const days = 12
	tests := []struct {
		name          string
		seed          uint64
		before, after int // events recorded before migration 0009 and after
		shuffle       bool
	}{
		{"InOrder", 1, 0, 400, false},
		{"OutOfOrder", 2, 0, 400, true},
		{"Backfilled", 3, 400, 0, true},
		{"BackfilledThenOutOfOrder", 4, 200, 200, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(tt.seed, 13))
			es := randomNoiseEvents(r, t0, days, tt.before+tt.after, tt.shuffle)
			for i := tt.before; i < len(es); i++ {
				es[i].source = []string{"am", "gm"}[r.IntN(2)]
			}
			path := filepath.Join(t.TempDir(), FileName)
			if tt.before > 0 {
				db := mustVersion(t, path, 8)
				for _, e := range es[:tt.before] {
					if _, err := db.ExecContext(ctx, `INSERT INTO events (received_at, source, fingerprint, status, labels,
						transition) VALUES (?, 'am', ?, 'firing', '{}', ?)`, e.at, e.fp, e.transition); err != nil {
						t.Fatal(err)
					}
				}
				if err := db.Close(); err != nil {
					t.Fatal(err)
				}
			}
			st, err := OpenFile(ctx, path)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			err = st.Update(ctx, func(tx incident.Tx) error {
				for _, e := range es[tt.before:] {
					if err := tx.AddEvent(ctx, incident.EventRecord{ReceivedAt: time.Unix(0, e.at), Source: e.source,
						Fingerprint: e.fp, Status: incident.StatusFiring, Transition: e.transition}); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			windows := [][2]int64{
				{t0, t0 + days*nanosPerDay},                                              // whole days only
				{t0 - nanosPerDay, t0 + (days+1)*nanosPerDay},                            // beyond the events
				{t0 + nanosPerDay/2, t0 + nanosPerDay/2 + 1},                             // one nanosecond
				{t0 + 3*nanosPerDay - 1, t0 + 5*nanosPerDay + 1},                         // just around two days
				{t0 + 3*nanosPerDay + 1, t0 + 5*nanosPerDay - 1},                         // one whole day missing both ends
				{t0 + 2*nanosPerDay + nanosPerDay/3, t0 + 3*nanosPerDay + nanosPerDay/3}, // no whole day
			}
			for range 300 {
				a, b := t0-nanosPerDay+r.Int64N((days+2)*nanosPerDay), t0-nanosPerDay+r.Int64N((days+2)*nanosPerDay)
				if r.IntN(4) == 0 {
					a -= a % nanosPerDay // on a midnight
				}
				if a > b {
					a, b = b, a
				}
				if a == b {
					b++
				}
				windows = append(windows, [2]int64{a, b})
			}
			// Each window is counted without and with the kept leading
			// days, kept across the windows as across a dashboard's polls.
			lead := newLeadingDays()
			for _, w := range windows {
				wantEvents, wantAlerts := rawNoise(es, w[0], w[1])
				for _, ld := range []*leadingDays{nil, lead} {
					gotEvents, gotAlerts, err := noiseDays(ctx, st.r, ld, w[0], w[1])
					if err != nil {
						t.Fatal(err)
					}
					if gotEvents != wantEvents || gotAlerts != wantAlerts {
						t.Errorf("window %s to %s (kept days: %t): events, alerts = %d, %d; the events themselves say %d, %d",
							time.Unix(0, w[0]).UTC(), time.Unix(0, w[1]).UTC(), ld != nil, gotEvents, gotAlerts, wantEvents, wantAlerts)
					}
				}
			}
			if lead.read.Load() == 0 {
				t.Error("no window read a leading day: the kept path was not tested")
			}
		})
	}
}
