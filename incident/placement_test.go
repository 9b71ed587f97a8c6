package incident

import (
	"context"
	"testing"
	"time"
)

// keyReader is a PlacementReader holding incidents by key, with no
// services or maintenance, that counts its reads of a key's owner.
type keyReader struct {
	byKey   map[string]Incident
	keyRead int
}

func (r *keyReader) Incident(_ context.Context, id int64) (Incident, error) {
	for _, inc := range r.byKey {
		if inc.ID == id {
			return inc, nil
		}
	}
	return Incident{}, ErrNotFound
}

func (r *keyReader) IncidentByKey(_ context.Context, key string) (Incident, error) {
	r.keyRead++
	if inc, ok := r.byKey[key]; ok {
		return inc, nil
	}
	return Incident{}, ErrNotFound
}

func (r *keyReader) ActiveIncidentsFor(context.Context, []string) ([]Incident, error) {
	return nil, nil
}

func (r *keyReader) ActiveMaintenance(context.Context, string, time.Time) (Change, error) {
	return Change{}, ErrNotFound
}

func (r *keyReader) IncidentAlerts(context.Context, int64) ([]Alert, error) { return nil, nil }

// TestPlaceFiringReadsTheKeyOnlyWhenNobodyHas: a decision whose key the
// transaction already found unowned (NoOwner) opens an incident without
// reading the key again; one that nobody looked up reads it, and joins
// the owner it finds.
func TestPlaceFiringReadsTheKeyOnlyWhenNobodyHas(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	open := Incident{ID: 4, CorrelationKey: "k", State: StateOpen, OpenedAt: now, LastEventAt: now}
	for _, tc := range []struct {
		name      string
		noOwner   bool
		stored    map[string]Incident
		reads     int
		kind      Placement
		wantOwner int64
	}{
		{"looked up: none", true, map[string]Incident{}, 0, PlaceOpen, 0},
		{"not looked up: none", false, map[string]Incident{}, 1, PlaceOpen, 0},
		{"not looked up: an open incident", false, map[string]Incident{"k": open}, 1, PlaceJoin, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &keyReader{byKey: tc.stored}
			d := Decision{Key: "k", NoOwner: tc.noOwner, Transition: TransitionNew,
				Event: Event{Source: "am", Fingerprint: "f", Status: StatusFiring, StartsAt: now}}
			p, err := PlaceFiring(ctx, r, d, Topology{}, now)
			if err != nil {
				t.Fatal(err)
			}
			if r.keyRead != tc.reads {
				t.Errorf("the key's owner was read %d times; want %d", r.keyRead, tc.reads)
			}
			var owner int64
			if p.Owner != nil {
				owner = p.Owner.ID
			}
			if p.Kind != tc.kind || owner != tc.wantOwner {
				t.Errorf("placed %v with owner %d; want %v with %d", p.Kind, owner, tc.kind, tc.wantOwner)
			}
		})
	}
}
