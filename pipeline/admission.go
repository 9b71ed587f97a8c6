package pipeline

import (
	"math"
	"sync"
	"time"
)

// The admission defaults. Alertmanager's webhook client gives up after about
// 10s and retries a 5xx with backoff, so an answer it waits longer than that
// for is lost even when it is a 200, and work done for it is wasted.
const (
	// DefaultMaxWait is the latency budget of an ingest request: half of
	// Alertmanager's timeout, which leaves the other half for the network,
	// decoding, and a slow sender's own clock. It is also the Retry-After
	// ingest sends, so a sender that retries at once meets a queue that has
	// drained by then.
	DefaultMaxWait = 5 * time.Second
	// DefaultMaxQueuedAlerts bounds the alerts (events and changes) waiting
	// for the writer: about three seconds of the writer's measured speed for
	// repeats and eight for new alerts (docs/operations.md), so it meets the
	// wait budget, and binds first only while there is no measurement yet or
	// the requests are large. At the default payload limits it is also what
	// bounds the queue's memory: tens of MiB for typical alerts.
	DefaultMaxQueuedAlerts = 50_000
)

// reservedSlots are queue slots that only requests without alerts (manual
// commands, sweeps) may use: ingest can fill its QueueSize, and an operator
// can still acknowledge an incident.
const reservedSlots = 64

// The reasons a request is shed: the values of the reason label of
// alertbridge_pipeline_overloaded_total.
const (
	shedQueueFull  = "queue_full"  // QueueSize requests are waiting
	shedWorkFull   = "work_full"   // MaxQueuedAlerts alerts are waiting
	shedWaitBudget = "wait_budget" // the alerts waiting would take longer than the wait allowed
	shedExpired    = "expired"     // admitted, but still waiting when the wait allowed ran out
)

var shedReasons = []string{shedQueueFull, shedWorkFull, shedWaitBudget, shedExpired}

// shedMessages are what an ErrOverloaded says, by reason.
var shedMessages = map[string]string{
	shedQueueFull:  "write queue full",
	shedWorkFull:   "too many alerts waiting to be written",
	shedWaitBudget: "the alerts waiting would take longer than the wait budget",
	shedExpired:    "waited longer than the wait budget",
}

// gain is the weight of a new measurement in the smoothed speed, as in
// TCP's smoothed round trip time (RFC 6298).
const gain = 1.0 / 8

// admission decides which ingest requests the writer takes on, so that an
// answered request, 2xx or 503, is answered within the budget. The budget
// is split: a request may wait for the writer for half of it, and the other
// half is for its own transaction, which the writer keeps to an eighth of
// it, so three eighths are left for what comes after the last request of a
// transaction: committing it (a WAL checkpoint, a busy disk), and the HTTP
// answer.
//
//   - A request is admitted while fewer than maxRequests requests and, with
//     its own, at most maxAlerts alerts are waiting. One request on its own
//     is admitted whatever its size: refusing it would refuse it for ever.
//   - It is admitted only if the alerts waiting ahead of it can be written,
//     at the writer's measured speed, within half the budget. Before the
//     first measurement everything within the bounds is admitted.
//   - A request still waiting when half the budget has passed is answered
//     ErrOverloaded then, and the writer skips it (expireAt).
//   - The writer cuts a group at an eighth of the budget's worth of alerts
//     (groupLimit), but always takes its first request whole. And once a
//     transaction has run for an eighth of the budget (txLimit), it applies
//     no further request but commits, and the rest wait again at the head
//     of the queue: the writer's speed can collapse within a transaction
//     (its CPU taken by hostile load, which must still be read to be
//     shed), and no estimate made beforehand bounds that.
//
// Only ingest requests are counted; commands and sweeps are small and pass.
// The writer's speed is measured only on transactions it started with
// requests already waiting: an idle writer commits one small request at a
// time, and its speed then says nothing about how fast it drains a queue.
//
// It is pure bookkeeping: the caller passes the time in.
type admission struct {
	budget                 time.Duration
	maxRequests, maxAlerts int

	mu       sync.Mutex
	requests int // ingest requests admitted and not yet taken or given up
	alerts   int // their alerts
	// alertsEWMA and secondsEWMA smooth the alerts and the seconds of the
	// busy transactions: their ratio is the writer's speed, in alerts
	// committed per second of commit time. Zero until measured.
	alertsEWMA, secondsEWMA float64
}

func newAdmission(budget time.Duration, maxRequests, maxAlerts int) *admission {
	return &admission{budget: budget, maxRequests: maxRequests, maxAlerts: maxAlerts}
}

// admit admits a request of n alerts at now and returns when its wait runs
// out, or the reason it is shed.
func (a *admission) admit(now time.Time, n int) (expireAt time.Time, reason string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	switch {
	case a.requests >= a.maxRequests:
		return time.Time{}, shedQueueFull
	case a.alerts > 0 && a.alerts+n > a.maxAlerts:
		return time.Time{}, shedWorkFull
	case a.alerts > 0 && a.expectedWait() > a.waitAllowed():
		return time.Time{}, shedWaitBudget
	}
	a.requests++
	a.alerts += n
	return now.Add(a.waitAllowed()), ""
}

// check returns the reason a request would be shed now whatever its size,
// or "": the request bound is reached, or the alerts waiting already take
// longer than the wait allowed.
func (a *admission) check() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	switch {
	case a.requests >= a.maxRequests:
		return shedQueueFull
	case a.alerts > 0 && a.expectedWait() > a.waitAllowed():
		return shedWaitBudget
	}
	return ""
}

// leave removes an admitted request of n alerts from the count: the writer
// took it, or its caller gave up waiting.
func (a *admission) leave(n int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.requests--
	a.alerts -= n
}

// rejoin counts a request of n alerts that the writer took but put back
// again, uncommitted, as waiting.
func (a *admission) rejoin(n int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.requests++
	a.alerts += n
}

// observe records a transaction of n alerts that took d and was started
// with requests waiting.
func (a *admission) observe(n int, d time.Duration) {
	if n <= 0 || d <= 0 {
		return
	}
	s := d.Seconds()
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.secondsEWMA == 0 {
		a.alertsEWMA, a.secondsEWMA = float64(n), s
		return
	}
	a.alertsEWMA += gain * (float64(n) - a.alertsEWMA)
	a.secondsEWMA += gain * (s - a.secondsEWMA)
}

// rate is the writer's speed in alerts per second, 0 before a measurement.
func (a *admission) rate() float64 {
	if a.secondsEWMA == 0 {
		return 0
	}
	return a.alertsEWMA / a.secondsEWMA
}

// expectedWait is how long the alerts waiting take to write; 0 before a
// measurement, which admits.
func (a *admission) expectedWait() time.Duration {
	r := a.rate()
	if r == 0 {
		return 0
	}
	return time.Duration(float64(a.alerts) / r * float64(time.Second))
}

// waitAllowed is how long a request may wait for the writer: half the
// budget.
func (a *admission) waitAllowed() time.Duration { return a.budget / 2 }

// txLimit is how long a transaction may take requests on: an eighth of the
// budget.
func (a *admission) txLimit() time.Duration { return a.budget / 8 }

// groupLimit is how many alerts the writer puts in one transaction, beyond
// its first request: an eighth of the budget's worth. 0, no limit, before
// a measurement.
func (a *admission) groupLimit() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return int(math.Ceil(a.rate() * (a.budget / 8).Seconds()))
}

// queued returns the alerts waiting and the writer's measured speed.
func (a *admission) queued() (alerts int, rate float64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.alerts, a.rate()
}
