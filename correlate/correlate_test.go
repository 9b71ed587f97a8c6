package correlate

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/rules"
)

func TestKey(t *testing.T) {
	set, err := rules.Parse("r.yml", []byte(`correlations:
  - name: disk
    matchers: ['alertname="DiskFull"']
    by: [cluster, mountpoint]
  - name: per-service
    matchers: ['alertname="Latency"']
    by: [service]
  - name: everything
`))
	if err != nil {
		t.Fatal(err)
	}
	disk, perService, everything := set.Rules()[0], set.Rules()[1], set.Rules()[2]
	labels := map[string]string{"alertname": "DiskFull", "cluster": "a", "mountpoint": "/var", "instance": "n1"}
	tests := []struct {
		name    string
		rule    *rules.Rule
		ev      incident.Event
		service string
		want    string
	}{
		{"RuleByLabels", disk, incident.Event{Labels: labels}, "", `rule/disk@` + disk.Version + `{cluster="a", mountpoint="/var"}`},
		{"RuleByService", perService, incident.Event{Labels: map[string]string{"alertname": "Latency"}}, "checkout",
			`rule/per-service@` + perService.Version + `{service="checkout"}`},
		{"RuleWithoutBy", everything, incident.Event{Labels: map[string]string{"alertname": "X"}}, "", `rule/everything@` + everything.Version + `{}`},
		{"DefaultGroupLabels", nil, incident.Event{Labels: labels, GroupLabels: map[string]string{"cluster": "a", "alertname": "DiskFull"}}, "",
			`group{alertname="DiskFull", cluster="a"}`},
		{"DefaultEmptyGroup", nil, incident.Event{Labels: labels, GroupLabels: map[string]string{}}, "", `group{}`},
		{"DefaultNoGroups", nil, incident.Event{Source: "pd-prod", Fingerprint: "abc", Labels: labels}, "", `alert/pd-prod/abc`},
		{"DefaultNoGroupsOtherSource", nil, incident.Event{Source: "events", Fingerprint: "abc", Labels: labels}, "", `alert/events/abc`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Key(tt.rule, tt.ev, tt.service); got != tt.want {
				t.Errorf("Key = %s, want %s", got, tt.want)
			}
		})
	}
}

type mapLookup map[string]incident.Incident

func (m mapLookup) IncidentByKey(_ context.Context, key string) (incident.Incident, error) {
	inc, ok := m[key]
	if !ok {
		return inc, incident.ErrNotFound
	}
	return inc, nil
}

func TestRecordKeepsNewestOwner(t *testing.T) {
	ctx := context.Background()
	c, err := New(10, nil)
	if err != nil {
		t.Fatal(err)
	}
	store := mapLookup{"k": {ID: 7, CorrelationKey: "k", State: incident.StateOpen}}
	b := c.Begin(store)
	// A late resolve of an older incident of the same key must not make it the owner.
	if err := b.Record(ctx, incident.Incident{ID: 3, CorrelationKey: "k", State: incident.StateResolved}); err != nil {
		t.Fatal(err)
	}
	if cur, _ := b.Current(ctx, "k"); cur == nil || cur.ID != 7 {
		t.Fatalf("owner = %+v, want incident 7", cur)
	}
	if err := b.Record(ctx, incident.Incident{ID: 8, CorrelationKey: "k", State: incident.StateOpen}); err != nil {
		t.Fatal(err)
	}
	if cur, _ := b.Current(ctx, "k"); cur == nil || cur.ID != 8 {
		t.Fatalf("owner = %+v, want the newer incident 8", cur)
	}
	// Nothing reaches the cache before Commit.
	if cur, _ := c.Begin(mapLookup{}).Current(ctx, "k"); cur != nil {
		t.Fatalf("uncommitted record visible: %+v", cur)
	}
	b.Commit()
	if cur, _ := c.Begin(mapLookup{}).Current(ctx, "k"); cur == nil || cur.ID != 8 {
		t.Fatalf("after commit owner = %+v, want 8 from the cache", cur)
	}
}

// countingLookup is a store that counts its lookups.
type countingLookup struct {
	mapLookup
	n int
}

func (c *countingLookup) IncidentByKey(ctx context.Context, key string) (incident.Incident, error) {
	c.n++
	return c.mapLookup.IncidentByKey(ctx, key)
}

// TestRecordLooksUpOnlyWhatMayNotOwn: an incident taking its key's alerts
// (pending, open or acknowledged, not sealed) owns the key, so recording
// it reads nothing; any other incident is compared with the key's owner,
// which is looked up.
func TestRecordLooksUpOnlyWhatMayNotOwn(t *testing.T) {
	ctx := context.Background()
	at := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name    string
		inc     incident.Incident
		lookups int
		owner   int64 // the key's owner after the record; the store has 7
	}{
		{"pending", incident.Incident{ID: 9, State: incident.StatePending}, 0, 9},
		{"open", incident.Incident{ID: 9, State: incident.StateOpen}, 0, 9},
		{"acknowledged", incident.Incident{ID: 9, State: incident.StateAcknowledged}, 0, 9},
		{"open but sealed", incident.Incident{ID: 9, State: incident.StateOpen, SealedAt: at}, 1, 7},
		{"resolved", incident.Incident{ID: 9, State: incident.StateResolved, ResolvedAt: at}, 1, 7},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := New(10, nil)
			if err != nil {
				t.Fatal(err)
			}
			store := &countingLookup{mapLookup: mapLookup{"k": {ID: 7, CorrelationKey: "k", State: incident.StateOpen}}}
			b := c.Begin(store)
			tc.inc.CorrelationKey = "k"
			if err := b.Record(ctx, tc.inc); err != nil {
				t.Fatal(err)
			}
			if store.n != tc.lookups {
				t.Errorf("Record looked the key up %d times; want %d", store.n, tc.lookups)
			}
			if cur, err := b.Current(ctx, "k"); err != nil || cur == nil || cur.ID != tc.owner {
				t.Errorf("owner after Record = %+v, %v; want incident %d", cur, err, tc.owner)
			}
		})
	}
}

// TestCurrentMissReadsTheStore: the cache keeps no misses, so a nil
// Current is what the batch's lookup (the open transaction) says at that
// moment; the writer relies on it to place a new key's first alert
// without reading the key again (incident.Decision.NoOwner).
func TestCurrentMissReadsTheStore(t *testing.T) {
	ctx := context.Background()
	c, err := New(10, nil)
	if err != nil {
		t.Fatal(err)
	}
	store := &countingLookup{mapLookup: mapLookup{}}
	b := c.Begin(store)
	for i := 1; i <= 2; i++ {
		if cur, err := b.Current(ctx, "new"); err != nil || cur != nil {
			t.Fatalf("Current(new) = %+v, %v; want none", cur, err)
		}
		if store.n != i {
			t.Fatalf("after %d misses the store was read %d times", i, store.n)
		}
	}
	b.Commit()
	if cur, _ := c.Begin(store).Current(ctx, "new"); cur != nil || store.n != 3 {
		t.Fatalf("a later batch: Current(new) = %+v after %d reads; want none after 3", cur, store.n)
	}
}

// TestOwnerIsCurrent: Owner answers as Current does, found or not, and
// allocates nothing for a key the batch holds.
func TestOwnerIsCurrent(t *testing.T) {
	ctx := context.Background()
	c, err := New(10, nil)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)
	b := c.Begin(mapLookup{"k": {ID: 7, CorrelationKey: "k", State: incident.StateResolved, ResolvedAt: at, UnseenFiring: 2}})
	for _, key := range []string{"k", "none"} {
		cur, err := b.Current(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		inc, found, err := b.Owner(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		if found != (cur != nil) || found && !reflect.DeepEqual(inc, *cur) {
			t.Errorf("Owner(%q) = %+v, %v; Current = %+v", key, inc, found, cur)
		}
	}
	if n := testing.AllocsPerRun(100, func() {
		if _, found, _ := b.Owner(ctx, "k"); !found {
			t.Fatal("k not found")
		}
	}); n != 0 {
		t.Errorf("Owner allocates %v times for a key the batch holds", n)
	}
}
