package pipeline_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/ingest"
)

// payload reads a captured Alertmanager notification and lets edit change
// it before it is decoded.
func payload(t *testing.T, name string, edit func(map[string]any)) []incident.Event {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "ingest", "testdata", "alertmanager", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		edit(m)
		if b, err = json.Marshal(m); err != nil {
			t.Fatal(err)
		}
	}
	evs, err := ingest.DecodeAlertmanager(b)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// TestTruncatedNotifications: Alertmanager's max_alerts (2 here) lists two
// of the group's five QueueBacklog alerts and says how many it left out.
func TestTruncatedNotifications(t *testing.T) {
	firing := func(t *testing.T) []incident.Event { return payload(t, "truncated", nil) }
	// The two listed alerts resolved while the three unseen ones still fire:
	// the group is still firing, and its notification says so.
	partial := func(t *testing.T) []incident.Event {
		return payload(t, "truncated-resolved", func(m map[string]any) { m["status"] = "firing" })
	}
	allResolved := func(t *testing.T) []incident.Event { return payload(t, "truncated-resolved", nil) }
	at := func(s int) time.Duration { return 13*time.Minute + time.Duration(s)*time.Second }

	t.Run("PartialResolveKeepsItOpen", func(t *testing.T) {
		p := newReplay(t, "")
		p.at(at(6), firing(t)...)
		p.at(at(26), partial(t)...)
		inc := p.incidents()[0]
		if inc.State != incident.StateOpen || inc.FiringCount != 0 || inc.UnseenFiring != 3 {
			t.Fatalf("after the listed alerts resolved: %s, %d firing, %d unseen; want open, 0, 3", inc.State, inc.FiringCount, inc.UnseenFiring)
		}
		// The group resolves: so does the incident, when its alerts ended.
		p.at(at(40), allResolved(t)...)
		inc = p.incidents()[0]
		if inc.State != incident.StateResolved || inc.UnseenFiring != 0 {
			t.Fatalf("after the group resolved: %s, %d unseen; want resolved, 0", inc.State, inc.UnseenFiring)
		}
	})
	t.Run("GroupResolvedResolves", func(t *testing.T) {
		p := newReplay(t, "")
		p.at(at(6), firing(t)...)
		p.at(at(26), allResolved(t)...)
		if inc := p.incidents()[0]; inc.State != incident.StateResolved {
			t.Fatalf("state %s, want resolved", inc.State)
		}
	})
	t.Run("LateTruncatedFiringChangesNothing", func(t *testing.T) {
		p := newReplay(t, "")
		p.at(at(26), allResolved(t)...)
		p.at(at(30), firing(t)...) // the older notification, delivered late
		inc := p.incidents()[0]
		if inc.State != incident.StateResolved || inc.UnseenFiring != 0 {
			t.Fatalf("after a late truncated firing: %s, %d unseen; want resolved, 0", inc.State, inc.UnseenFiring)
		}
	})
}
