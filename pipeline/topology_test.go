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
	p.at(0, fire(0, lab("alertname", "Errors", "job", "checkout")))
	// search does not depend on checkout; db is upstream of checkout, not downstream.
	p.at(time.Minute, fire(time.Minute, lab("alertname", "Slow", "job", "search")))
	p.at(2*time.Minute, fire(2*time.Minute, lab("alertname", "DBDown", "job", "db")))
	var services []string
	for _, inc := range p.incidents() {
		services = append(services, inc.Service)
	}
	if got := strings.Join(services, ","); got != "db,search,checkout" {
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
