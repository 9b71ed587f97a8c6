package pipeline_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/alertbridge/alertbridge/incident"
)

func TestTopologySymptomJoinsUpstreamIncident(t *testing.T) {
	tests := []struct {
		name      string
		rules     string
		upAt      time.Duration // when the upstream (db) alert fires
		downAt    time.Duration // when the checkout alert fires
		wantJoins bool
		wantWhy   string
	}{
		{"JoinsTransitiveDependency", catalog, 0, 5 * time.Minute, true,
			"symptom of #1 on db: checkout depends on api, api depends on db"},
		{"OutsideWindowOpensOwn", catalog + "defaults:\n  window: 10m\n", 0, 30 * time.Minute, false, ""},
		{"InsideWindowJoins", catalog + "defaults:\n  window: 10m\n", 0, 8 * time.Minute, true,
			"symptom of #1 on db: checkout depends on api, api depends on db"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newReplay(t, tt.rules)
			p.at(tt.upAt, fire(tt.upAt, lab("alertname", "DBDown", "job", "db", "severity", "critical")))
			p.at(tt.downAt, fire(tt.downAt, lab("alertname", "Errors", "job", "checkout")))
			list := p.incidents()
			if joined := len(list) == 1; joined != tt.wantJoins {
				t.Fatalf("%d incidents, want joined=%v", len(list), tt.wantJoins)
			}
			if !tt.wantJoins {
				return
			}
			inc := list[0]
			if inc.AlertCount != 2 || inc.Service != "db" {
				t.Errorf("incident %+v, want db's incident with 2 alerts", inc)
			}
			tl, _ := p.st.Timeline(context.Background(), inc.ID)
			var why string
			for _, e := range tl {
				if e.Kind == incident.TimelineSymptom {
					why = e.Message
				}
			}
			if why != tt.wantWhy {
				t.Errorf("symptom reason = %q, want %q", why, tt.wantWhy)
			}
		})
	}
}

func TestTopologyIgnoresUnrelatedAndDownstream(t *testing.T) {
	p := newReplay(t, catalog)
	// search depends on nothing and nothing on it; api is downstream of db.
	p.at(0, fire(0, lab("alertname", "Slow", "job", "search")))
	p.at(time.Minute, fire(time.Minute, lab("alertname", "DBDown", "job", "db")))
	var services []string
	for _, inc := range p.incidents() {
		services = append(services, inc.Service)
	}
	if got := strings.Join(services, ","); got != "db,search" {
		t.Errorf("incidents by service (newest first) = %s, want each its own", got)
	}
	// The symptom's later alerts keep joining the upstream incident.
	p2 := newReplay(t, catalog)
	p2.at(0, fire(0, lab("alertname", "APIDown", "job", "api")))
	p2.at(time.Minute, fire(time.Minute, lab("alertname", "Errors", "job", "checkout", "instance", "1")))
	p2.at(2*time.Minute, fire(2*time.Minute, lab("alertname", "Errors", "job", "checkout", "instance", "2")))
	if list := p2.incidents(); len(list) != 1 || list[0].AlertCount != 3 {
		t.Errorf("incidents = %+v, want one with 3 alerts", list)
	}
}

// live lists the incidents not merged into another, newest first.
func (p *replay) live() []incident.Incident {
	var out []incident.Incident
	for _, inc := range p.incidents() {
		if inc.MergedInto == 0 {
			out = append(out, inc)
		}
	}
	return out
}

// TestTopologyInAnyOrder: a symptom that fires before its cause, or with it
// in one notification, ends in the cause's incident exactly as when the
// cause comes first; a symptom in another cluster never does.
func TestTopologyInAnyOrder(t *testing.T) {
	db := func(cluster string) map[string]string {
		return lab("alertname", "DBDown", "job", "db", "cluster", cluster, "severity", "critical")
	}
	checkout := func(cluster string) map[string]string {
		return lab("alertname", "Errors", "job", "checkout", "cluster", cluster)
	}
	tests := []struct {
		name      string
		steps     func(p *replay)
		incidents int // not merged away
	}{
		{"CauseFirst", func(p *replay) {
			p.at(0, fire(0, db("eu-1")))
			p.at(time.Minute, fire(time.Minute, checkout("eu-1")))
		}, 1},
		{"SymptomFirst", func(p *replay) {
			p.at(0, fire(0, checkout("eu-1")))
			p.at(time.Minute, fire(time.Minute, db("eu-1")))
		}, 1},
		{"SameNotificationSymptomFirst", func(p *replay) {
			p.at(time.Minute, fire(0, checkout("eu-1")), fire(0, db("eu-1")))
		}, 1},
		{"SameNotificationCauseFirst", func(p *replay) {
			p.at(time.Minute, fire(0, db("eu-1")), fire(0, checkout("eu-1")))
		}, 1},
		{"OtherClusterCauseFirst", func(p *replay) {
			p.at(0, fire(0, db("us-1")))
			p.at(time.Minute, fire(time.Minute, checkout("eu-1")))
		}, 2},
		{"OtherClusterSymptomFirst", func(p *replay) {
			p.at(0, fire(0, checkout("eu-1")))
			p.at(time.Minute, fire(time.Minute, db("us-1")))
		}, 2},
		{"SymptomLongBeforeCause", func(p *replay) {
			p.at(0, fire(0, checkout("eu-1")))
			p.at(40*time.Minute, fire(40*time.Minute, db("eu-1")))
		}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newReplay(t, catalog)
			tt.steps(p)
			live := p.live()
			if len(live) != tt.incidents {
				t.Fatalf("%d incidents, want %d: %+v", len(live), tt.incidents, live)
			}
			if tt.incidents != 1 {
				return
			}
			inc := live[0]
			if inc.Service != "db" || inc.AlertCount != 2 || inc.FiringCount != 2 || inc.Priority != 1 {
				t.Errorf("incident: service %s, %d alerts (%d firing), %s; want db's, 2 (2), P1", inc.Service,
					inc.AlertCount, inc.FiringCount, inc.Priority)
			}
			// When the symptom came first, both timelines say it moved.
			for _, other := range p.incidents() {
				if other.MergedInto == 0 {
					continue
				}
				tl, _ := p.st.Timeline(context.Background(), other.ID)
				if last := tl[len(tl)-1]; last.Kind != incident.TimelineMerged || !strings.Contains(last.Message, "symptom of #") {
					t.Errorf("the re-homed incident's last entry: %+v", last)
				}
			}
		})
	}
}
