package pipeline

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var at0 = time.Date(2026, 11, 28, 20, 0, 0, 0, time.UTC)

// measured is an admission whose writer was measured at 1,000 alerts a
// second.
func measured(budget time.Duration, maxRequests, maxAlerts int) *admission {
	a := newAdmission(budget, maxRequests, maxAlerts)
	a.observe(100, 100*time.Millisecond)
	return a
}

func TestAdmit(t *testing.T) {
	type step struct {
		alerts int
		want   string // "" admitted, or the shed reason
	}
	tests := []struct {
		name  string
		adm   func() *admission
		steps []step
	}{
		{
			name:  "OKUpToTheRequestBound",
			adm:   func() *admission { return newAdmission(time.Second, 2, 1000) },
			steps: []step{{1, ""}, {1, ""}, {1, shedQueueFull}},
		},
		{
			name:  "ErrWorkFull",
			adm:   func() *admission { return newAdmission(time.Second, 100, 100) },
			steps: []step{{60, ""}, {41, shedWorkFull}, {40, ""}, {1, shedWorkFull}},
		},
		{
			// Refusing a request larger than the bound when nothing waits
			// would refuse it for ever.
			name:  "OKAloneWhateverItsSize",
			adm:   func() *admission { return newAdmission(time.Second, 100, 100) },
			steps: []step{{1000, ""}, {1, shedWorkFull}},
		},
		{
			// Before the writer was measured, only the bounds apply.
			name:  "OKNoMeasurementYet",
			adm:   func() *admission { return newAdmission(time.Second, 100, 1_000_000) },
			steps: []step{{500_000, ""}, {400_000, ""}},
		},
		{
			// 1,000 alerts/s and a wait allowed of half of 5s: 2,500
			// alerts may wait ahead of a request, not one more.
			name:  "ErrWaitBudget",
			adm:   func() *admission { return measured(5*time.Second, 100, 1_000_000) },
			steps: []step{{2000, ""}, {500, ""}, {1, ""}, {1, shedWaitBudget}},
		},
		{
			name:  "OKAloneOverTheBudget",
			adm:   func() *admission { return measured(5*time.Second, 100, 1_000_000) },
			steps: []step{{100_000, ""}, {1, shedWaitBudget}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := tt.adm()
			var got, want []string
			for _, s := range tt.steps {
				_, reason := a.admit(at0, s.alerts)
				got, want = append(got, reason), append(want, s.want)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("reasons (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLeaveMakesRoom(t *testing.T) {
	a := newAdmission(time.Second, 1, 10)
	if _, r := a.admit(at0, 5); r != "" {
		t.Fatal(r)
	}
	if _, r := a.admit(at0, 5); r != shedQueueFull {
		t.Fatalf("second: %q, want queue_full", r)
	}
	a.leave(5)
	if _, r := a.admit(at0, 5); r != "" {
		t.Errorf("after leave: %q, want admitted", r)
	}
	if n, _ := a.queued(); n != 5 {
		t.Errorf("queued alerts = %d, want 5", n)
	}
}

// TestEstimates feeds the writer's measurements in and checks the smoothed
// speed, the wait allowed (always half the budget) and the group limit
// (an eighth of the budget's worth) that come out.
func TestEstimates(t *testing.T) {
	type estimate struct {
		Rate       float64 // alerts per second
		Allowed    time.Duration
		GroupLimit int
	}
	type sample struct {
		alerts int
		d      time.Duration
	}
	tests := []struct {
		name    string
		samples []sample
		want    estimate
	}{
		{"None", nil, estimate{0, 2 * time.Second, 0}},
		{"One", []sample{{1000, 100 * time.Millisecond}}, estimate{10_000, 2 * time.Second, 5000}},
		{
			// Speed is alerts over seconds, both smoothed: a big
			// transaction weighs more than a small one.
			name:    "Two",
			samples: []sample{{1000, 100 * time.Millisecond}, {3000, 500 * time.Millisecond}},
			// alerts 1000+(3000-1000)/8 = 1250; seconds .1+(.5-.1)/8 = .15
			want: estimate{1250 / 0.15, 2 * time.Second, 4167},
		},
		{
			name: "SteadyConverges",
			samples: func() []sample {
				s := make([]sample, 200)
				for i := range s {
					s[i] = sample{2000, 250 * time.Millisecond}
				}
				return s
			}(),
			want: estimate{8000, 2 * time.Second, 4000},
		},
		{"IgnoresEmpty", []sample{{0, time.Second}, {10, 0}}, estimate{0, 2 * time.Second, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newAdmission(4*time.Second, 10, 1_000_000)
			for _, s := range tt.samples {
				a.observe(s.alerts, s.d)
			}
			expireAt, _ := a.admit(at0, 1)
			_, rate := a.queued()
			got := estimate{Rate: rate, Allowed: expireAt.Sub(at0), GroupLimit: a.groupLimit()}
			opts := cmp.Options{
				cmpopts.EquateApprox(1e-9, 1e-6),
				cmp.Comparer(func(x, y time.Duration) bool { return (x - y).Abs() <= time.Millisecond }),
			}
			if diff := cmp.Diff(tt.want, got, opts); diff != "" {
				t.Errorf("estimate (-want +got):\n%s", diff)
			}
		})
	}
}
