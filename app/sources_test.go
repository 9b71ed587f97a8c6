package app_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/alertbridge/alertbridge/api"
	"github.com/alertbridge/alertbridge/app"
	"github.com/alertbridge/alertbridge/config"
)

type pdAnswer struct {
	Status   string   `json:"status"`
	Message  string   `json:"message"`
	DedupKey string   `json:"dedup_key"`
	Errors   []string `json:"errors"`
}

// TestPagerDutyLifecycle drives /v2/enqueue as a PagerDuty integration would:
// trigger (no dedup_key: one is made and returned), acknowledge, resolve.
func TestPagerDutyLifecycle(t *testing.T) {
	const key = "0123456789abcdef0123456789abcdef"
	cfg, err := config.Parse("c.yml", []byte("sources:\n  - name: pd-prod\n    type: pagerduty\n    routing_key: "+key+"\n"), config.ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	a := mustApp(t, app.Options{Config: cfg})
	url := "http://" + a.Addr() + "/v2/enqueue"
	send := func(body string, wantCode int) pdAnswer {
		t.Helper()
		code, text := postWith(t, url, []byte(body))
		var ans pdAnswer
		if err := json.Unmarshal([]byte(text), &ans); err != nil {
			t.Fatalf("answer %q is not PagerDuty's JSON: %v", text, err)
		}
		if code != wantCode {
			t.Fatalf("%s: %d %s, want %d", body, code, text, wantCode)
		}
		return ans
	}
	c := &api.Client{BaseURL: "http://" + a.Addr()}
	only := func() api.Incident {
		t.Helper()
		list, err := c.ListIncidents(context.Background(), api.ListQuery{})
		if err != nil || len(list.Incidents) != 1 {
			t.Fatalf("incidents = %+v, %v; want one", list.Incidents, err)
		}
		return list.Incidents[0]
	}

	bad := send(`{"routing_key":"`+key+`","event_action":"trigger","payload":{"summary":"x"}}`, http.StatusBadRequest)
	if bad.Status != "invalid event" || len(bad.Errors) < 2 {
		t.Errorf("invalid trigger answer = %+v, want PagerDuty's invalid event with the missing fields", bad)
	}
	send(`{"routing_key":"ffffffffffffffffffffffffffffffff","event_action":"trigger","payload":{"summary":"x","source":"y","severity":"info"}}`, http.StatusBadRequest)

	ok := send(`{"routing_key":"`+key+`","event_action":"trigger","payload":{"summary":"Checkout 5xx above 5%","source":"checkout-1","severity":"critical"}}`, http.StatusAccepted)
	if ok.Status != "success" || ok.Message != "Event processed" || len(ok.DedupKey) == 0 {
		t.Fatalf("trigger answer = %+v", ok)
	}
	if inc := only(); inc.State != "open" || inc.Priority != "P1" || inc.Source != "pd-prod" {
		t.Fatalf("after trigger: %+v, want open P1 from pd-prod", inc)
	}
	send(`{"routing_key":"`+key+`","event_action":"acknowledge","dedup_key":"`+ok.DedupKey+`"}`, http.StatusAccepted)
	if inc := only(); inc.State != "acknowledged" {
		t.Fatalf("after acknowledge: %s", inc.State)
	}
	send(`{"routing_key":"`+key+`","event_action":"resolve","dedup_key":"`+ok.DedupKey+`"}`, http.StatusAccepted)
	if inc := only(); inc.State != "resolved" {
		t.Fatalf("after resolve: %s", inc.State)
	}
}

// TestOtherSourcesEndToEnd posts one captured-shape payload to each of the
// other new endpoints of an open daemon and checks what it stored.
func TestOtherSourcesEndToEnd(t *testing.T) {
	a := mustApp(t, app.Options{})
	read := func(path string) []byte {
		b, err := os.ReadFile(filepath.Join("..", "ingest", "testdata", path))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, p := range []struct{ endpoint, file string }{
		{"/ingest/grafana", "grafana/firing-group.json"},
		{"/ingest/events", "events/single-firing.json"},
		{"/ingest/changes", "changes/single-deploy.json"},
	} {
		if code, body := postWith(t, "http://"+a.Addr()+p.endpoint, read(p.file)); code != http.StatusOK {
			t.Fatalf("%s: %d %s", p.endpoint, code, body)
		}
	}
	c := &api.Client{BaseURL: "http://" + a.Addr()}
	list, err := c.ListIncidents(context.Background(), api.ListQuery{})
	if err != nil {
		t.Fatal(err)
	}
	sources := map[string]int{}
	for _, inc := range list.Incidents {
		sources[inc.Source]++
	}
	if sources["grafana"] == 0 || sources["events"] == 0 {
		t.Errorf("incidents by source = %v, want grafana and events", sources)
	}
	changes, err := c.Changes(context.Background(), "", "", 10)
	if err != nil || len(changes.Changes) != 1 {
		t.Errorf("changes = %+v, %v; want the one deploy", changes, err)
	}
}
