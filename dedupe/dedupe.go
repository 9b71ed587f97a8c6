package dedupe

import (
	"context"
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/internal/txcache"
)

// Lookup reads an alert's last known state.
type Lookup interface {
	// AlertState returns incident.ErrNotFound for an unknown alert (source,
	// fingerprint).
	AlertState(ctx context.Context, source, fingerprint string) (incident.AlertState, error)
}

// key identifies an alert: the same fingerprint from two sources is two
// alerts with two states, so that one source never decides about the
// other's alert.
type key struct {
	source, fingerprint string
}

// Decide is the pure dedupe rule: what an event is, given the latest known
// firing of its alert (prior; nil when the alert is unknown). Below, s and e
// are the event's startsAt and endsAt, ks and ke the known firing's; two
// startsAt within incident.SameFiringWithin are the same firing (HA peers
// stamp their own).
//
//	unknown  + firing                                     → new
//	unknown  + resolved, e after s                        → new: a whole firing, recorded and resolved
//	unknown  + resolved, no duration                      → stale (remembered)
//	firing   + firing, the same or a later firing         → repeat
//	firing   + resolved, the same or a later firing
//	           (one that ended after ks)                  → resolved
//	resolved + firing, s at or after ke (and after ks)    → refired
//	resolved + firing, s ≤ ke, no incident recorded       → new: the whole firing that ended at ke
//	resolved + firing, the same firing                    → stale
//	resolved + resolved, s at or after ke, e after s      → refired: a whole later firing
//	resolved + resolved, the same firing                  → repeat
//	an earlier firing: firing, s before ks by more than
//	SameFiringWithin; resolved, s before ks and e ≤ ks    → history
//
// Following the alerts' own times, not arrival order, is what keeps a late
// duplicate of an old firing from reopening a resolved incident, and a
// resolve that overtook its firing from losing the outage (invariant 4).
func Decide(prior *incident.AlertState, ev incident.Event) incident.Transition {
	s, e := ev.StartsAt, ev.EndsAt
	resolved := ev.Status == incident.StatusResolved
	if prior == nil {
		if !resolved || e.After(s) {
			return incident.TransitionNew
		}
		return incident.TransitionStale
	}
	ks, ke := prior.StartsAt, prior.EndsAt
	// An earlier firing than the known one: a firing that started more than
	// SameFiringWithin before it (closer is another peer's stamp of the same
	// firing), or a firing that had ended by the time the known one started.
	earlier := s.Before(ks.Add(-incident.SameFiringWithin))
	if resolved {
		earlier = s.Before(ks) && !e.After(ks)
	}
	if prior.Status == incident.StatusFiring {
		switch {
		case earlier:
			return incident.TransitionHistory
		case resolved:
			return incident.TransitionResolved
		}
		return incident.TransitionRepeat
	}
	// A firing that starts when the known one ended, or later, is a new
	// one: an alert is never firing and resolved at the same instant.
	after := !s.Before(ke) && s.After(ks)
	switch {
	case after && (!resolved || e.After(s)):
		return incident.TransitionRefired
	case after:
		return incident.TransitionStale // a later resolve with nothing to record
	case !resolved && prior.IncidentID == 0:
		return incident.TransitionNew
	case earlier:
		return incident.TransitionHistory
	case resolved:
		return incident.TransitionRepeat
	}
	return incident.TransitionStale
}

// Deduper caches alert states in front of a Lookup.
type Deduper struct {
	cache   *txcache.Cache[key, incident.AlertState]
	metrics *metrics
}

// New returns a Deduper whose cache holds at most size alerts. reg may be nil.
func New(size int, reg prometheus.Registerer) (*Deduper, error) {
	m := newMetrics(reg)
	c, err := txcache.New[key, incident.AlertState](size, txcache.Metrics{Hits: m.hits, Misses: m.misses, Evictions: m.evictions})
	if err != nil {
		return nil, fmt.Errorf("dedupe cache: %w", err)
	}
	return &Deduper{cache: c, metrics: m}, nil
}

// Batch is the dedupe view of one transaction: states staged by events earlier
// in the batch shadow the cache, and reach the cache only on Commit.
type Batch struct {
	d     *Deduper
	cache *txcache.Batch[key, incident.AlertState]
}

// Begin starts a batch whose misses go to lookup (the open transaction).
func (d *Deduper) Begin(lookup Lookup) *Batch {
	load := func(ctx context.Context, k key) (incident.AlertState, bool, error) {
		s, err := lookup.AlertState(ctx, k.source, k.fingerprint)
		if errors.Is(err, incident.ErrNotFound) {
			return s, false, nil
		}
		if err != nil {
			return s, false, fmt.Errorf("alert state %s/%s: %w", k.source, k.fingerprint, err)
		}
		return s, true, nil
	}
	return &Batch{d: d, cache: d.cache.Begin(load)}
}

// Decide returns the transition for ev and the prior state of its alert
// (ev.Source, ev.Fingerprint), nil when unknown.
func (b *Batch) Decide(ctx context.Context, ev incident.Event) (incident.Transition, *incident.AlertState, error) {
	s, found, err := b.cache.Get(ctx, key{ev.Source, ev.Fingerprint})
	if err != nil {
		return "", nil, err
	}
	var prior *incident.AlertState
	if found {
		prior = &s
	}
	t := Decide(prior, ev)
	b.d.metrics.decisions.WithLabelValues(string(t)).Inc()
	return t, prior, nil
}

// State returns the last known state of source's alert with fingerprint fp
// (nil when unknown) without deciding anything about an event.
func (b *Batch) State(ctx context.Context, source, fp string) (*incident.AlertState, error) {
	s, found, err := b.cache.Get(ctx, key{source, fp})
	if err != nil || !found {
		return nil, err
	}
	return &s, nil
}

// Prefetch reads, in one call to r, the states of the alerts of evs that
// the batch does not hold (staged or cached), so that deciding each of
// them reads nothing more: a notification of new alerts otherwise costs a
// lookup per alert, each a miss. Fewer than two such alerts are left to
// Decide.
func (b *Batch) Prefetch(ctx context.Context, r incident.AlertStatesReader, evs []incident.Event) error {
	var keys []incident.AlertKey
	seen := make(map[key]bool, len(evs))
	for _, ev := range evs {
		k := key{ev.Source, ev.Fingerprint}
		if ev.Fingerprint == "" || seen[k] || b.cache.Holds(k) {
			continue
		}
		seen[k] = true
		keys = append(keys, incident.AlertKey{Source: k.source, Fingerprint: k.fingerprint})
	}
	if len(keys) < 2 {
		return nil
	}
	states, err := r.AlertStates(ctx, keys)
	if err != nil {
		return fmt.Errorf("alert states of %d alerts: %w", len(keys), err)
	}
	for _, s := range states {
		k := key{s.Source, s.Fingerprint}
		b.cache.Prime(k, s, true)
		delete(seen, k)
	}
	for k := range seen {
		b.cache.Prime(k, incident.AlertState{}, false)
	}
	return nil
}

// Record stages the alert's state after an event.
func (b *Batch) Record(s incident.AlertState) {
	if s.Fingerprint != "" {
		b.cache.Stage(key{s.Source, s.Fingerprint}, s)
	}
}

// Commit publishes the staged states to the cache. Call it only after the
// transaction committed; on rollback just drop the Batch.
func (b *Batch) Commit() { b.cache.Commit() }

// Uncommitted reports whether the state Decide answers for source's alert
// with fingerprint fp was recorded in this batch: it is not committed yet,
// and a decision resting on it rolls back with the transaction.
func (b *Batch) Uncommitted(source, fp string) bool {
	return b.cache.Staged(key{source, fp})
}

// Purge empties the cache; the next lookups go to the store.
func (d *Deduper) Purge() { d.cache.Purge() }
