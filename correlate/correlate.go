package correlate

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/internal/txcache"
	"github.com/alertbridge/alertbridge/rules"
)

// Lookup finds the incident that owns a key.
type Lookup interface {
	// IncidentByKey returns incident.ErrNotFound when no incident ever had the key.
	IncidentByKey(ctx context.Context, key string) (incident.Incident, error)
}

// Key returns the correlation key of ev under rule r (nil: no rule matched);
// service is the catalog service the alert belongs to ("" if none).
func Key(r *rules.Rule, ev incident.Event, service string) string {
	if r != nil {
		return "rule/" + r.Key(ev, service)
	}
	if ev.GroupLabels != nil {
		return "group" + incident.FormatLabels(ev.GroupLabels)
	}
	// A sender with no notion of groups: each alert is its own incident.
	// An alert is its source and fingerprint: two sources sending the same
	// fingerprint (two PagerDuty integrations with one dedup_key) get an
	// incident each, so neither can reopen, escalate or acknowledge the
	// other's. Source names contain no "/", so the key is unambiguous.
	return "alert/" + ev.Source + "/" + ev.Fingerprint
}

// Correlator caches key → incident in front of a Lookup.
type Correlator struct {
	cache *txcache.Cache[string, owner]
}

// owner is what the cache keeps of a key's owning incident: what the
// ownership rule (owns) and the writer (the ID that placement reads the
// incident by, its unseen firing alerts) read of it, not the whole record.
// The record's labels and texts made each of the 50,000 cached keys about
// 1.3 KiB of heap; this is under a tenth of it.
type owner struct {
	id           int64
	state        incident.State
	sealedAt     time.Time
	resolvedAt   time.Time
	unseenFiring int
}

func ownerOf(inc incident.Incident) owner {
	return owner{id: inc.ID, state: inc.State, sealedAt: inc.SealedAt, resolvedAt: inc.ResolvedAt, unseenFiring: inc.UnseenFiring}
}

// incident is the owner as an incident with only what the cache keeps set.
func (o owner) incident(key string) incident.Incident {
	return incident.Incident{ID: o.id, CorrelationKey: key, State: o.state, SealedAt: o.sealedAt,
		ResolvedAt: o.resolvedAt, UnseenFiring: o.unseenFiring}
}

// New returns a Correlator whose cache holds at most size keys. reg may be nil.
func New(size int, reg prometheus.Registerer) (*Correlator, error) {
	m := newMetrics(reg)
	c, err := txcache.New[string, owner](size, txcache.Metrics{Hits: m.hits, Misses: m.misses, Evictions: m.evictions})
	if err != nil {
		return nil, fmt.Errorf("correlation cache: %w", err)
	}
	return &Correlator{cache: c}, nil
}

// Batch is the correlation view of one transaction; see dedupe.Batch.
type Batch struct {
	cache *txcache.Batch[string, owner]
}

// Begin starts a batch whose misses go to lookup (the open transaction).
func (c *Correlator) Begin(lookup Lookup) *Batch {
	load := func(ctx context.Context, key string) (owner, bool, error) {
		inc, err := lookup.IncidentByKey(ctx, key)
		if errors.Is(err, incident.ErrNotFound) {
			return owner{}, false, nil
		}
		if err != nil {
			return owner{}, false, fmt.Errorf("incident by key %s: %w", key, err)
		}
		return ownerOf(inc), true, nil
	}
	return &Batch{cache: c.cache.Begin(load)}
}

// Current returns the incident that owns key, or nil if none ever did.
// Nil is always the answer of the batch's lookup, the open transaction,
// read just now: the cache keeps no misses (incident.Decision.NoOwner
// relies on it). Only its ID, key, state, sealed and resolved times and
// unseen firing alerts are set: it names the owner, whose record the
// writer reads in its transaction (incident.PlaceFiring).
func (b *Batch) Current(ctx context.Context, key string) (*incident.Incident, error) {
	inc, found, err := b.Owner(ctx, key)
	if err != nil || !found {
		return nil, err
	}
	return &inc, nil
}

// Owner is Current as a value, found false where Current returns nil:
// for callers that only look, it allocates nothing (an Incident on the
// heap, three per new alert, was a tenth of the bytes allocated on that
// path).
func (b *Batch) Owner(ctx context.Context, key string) (inc incident.Incident, found bool, err error) {
	o, found, err := b.cache.Get(ctx, key)
	if err != nil || !found {
		return incident.Incident{}, false, err
	}
	return o.incident(key), true, nil
}

// Record stages an incident's new state under its key. A record for an
// incident that is not the key's current owner (an old, resolved incident
// whose last alert resolves late) must not displace the owner. An incident
// taking its key's alerts owns the key whatever else holds it (owns), so
// it is staged without a lookup: the writer records every incident it
// opens, and for a key never seen the lookup was a second query of the
// store in the transaction that opened it.
func (b *Batch) Record(ctx context.Context, inc incident.Incident) error {
	if taking(inc) {
		b.cache.Stage(inc.CorrelationKey, ownerOf(inc))
		return nil
	}
	cur, found, err := b.Owner(ctx, inc.CorrelationKey)
	if err != nil {
		return err
	}
	if !found || owns(inc, cur) {
		b.cache.Stage(inc.CorrelationKey, ownerOf(inc))
	}
	return nil
}

// owns reports whether inc, rather than cur, owns their key, by the rule of
// the store's IncidentByKey: the incident taking the key's alerts, else the
// one whose impact ended last (a late firing may be recorded after a newer
// one, with a higher ID and an older end).
func owns(inc, cur incident.Incident) bool {
	switch {
	case inc.ID == cur.ID || taking(inc):
		return true
	case taking(cur):
		return false
	case !inc.ResolvedAt.Equal(cur.ResolvedAt):
		return inc.ResolvedAt.After(cur.ResolvedAt)
	}
	return inc.ID > cur.ID
}

// taking reports whether inc takes its key's alerts: pending, open or
// acknowledged and not sealed, the condition of the store's unique index
// on active keys, so at most one incident of a key is taking.
func taking(inc incident.Incident) bool {
	return inc.SealedAt.IsZero() && (inc.State == incident.StatePending || inc.State.Active())
}

// Commit publishes the staged incidents to the cache. Call it only after the
// transaction committed.
func (b *Batch) Commit() { b.cache.Commit() }

// Purge empties the cache; the next lookups go to the store.
func (c *Correlator) Purge() { c.cache.Purge() }
