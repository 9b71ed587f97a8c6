package app

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alertbridge/alertbridge/api"
)

// ticketingTool is the least of Jira and ServiceNow that the daemon's
// sinks need to make one record: an empty search, a create.
type ticketingTool struct {
	mu      sync.Mutex
	created []string // Jira labels, ServiceNow correlation_ids
}

func (tt *ticketingTool) serve(t *testing.T) *httptest.Server {
	mux := http.NewServeMux()
	reply := func(w http.ResponseWriter, code int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(v)
	}
	mux.HandleFunc("GET /rest/api/2/myself", func(w http.ResponseWriter, _ *http.Request) {
		reply(w, http.StatusOK, map[string]string{"accountId": "bot"})
	})
	mux.HandleFunc("GET /rest/api/2/search/jql", func(w http.ResponseWriter, _ *http.Request) {
		reply(w, http.StatusOK, map[string]any{"issues": []any{}})
	})
	mux.HandleFunc("POST /rest/api/2/issue", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Fields struct {
				Labels []string `json:"labels"`
			} `json:"fields"`
		}
		_ = json.NewDecoder(r.Body).Decode(&in)
		tt.mu.Lock()
		tt.created = append(tt.created, strings.Join(in.Fields.Labels, ","))
		tt.mu.Unlock()
		reply(w, http.StatusCreated, map[string]string{"id": "10001", "key": "OPS-1"})
	})
	mux.HandleFunc("GET /api/now/table/incident", func(w http.ResponseWriter, _ *http.Request) {
		reply(w, http.StatusOK, map[string]any{"result": []any{}})
	})
	mux.HandleFunc("POST /api/now/table/incident", func(w http.ResponseWriter, r *http.Request) {
		var in map[string]string
		_ = json.NewDecoder(r.Body).Decode(&in)
		tt.mu.Lock()
		tt.created = append(tt.created, in["correlation_id"])
		tt.mu.Unlock()
		reply(w, http.StatusCreated, map[string]any{"result": map[string]string{"sys_id": "5ab1", "number": "INC0010001", "state": "1"}})
	})
	mux.HandleFunc("PATCH /api/now/table/incident/{sys_id}", func(w http.ResponseWriter, r *http.Request) {
		reply(w, http.StatusOK, map[string]any{"result": map[string]string{"sys_id": r.PathValue("sys_id"), "number": "INC0010001"}})
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func (tt *ticketingTool) records() []string {
	tt.mu.Lock()
	defer tt.mu.Unlock()
	return append([]string(nil), tt.created...)
}

// TestTicketingSinksRoundTrip runs the daemon with a Jira and a
// ServiceNow sink: an incident makes an issue and a record, a signed Jira
// webhook resolves the incident as the Jira user, and the business rule's
// work note comments on it; a callback without the sink's secret is
// refused.
func TestTicketingSinksRoundTrip(t *testing.T) {
	tool := &ticketingTool{}
	srv := tool.serve(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "alertbridge.yml")
	conf := fmt.Sprintf(`sinks:
  - name: jira
    jira:
      url: %[1]s
      username: bot@example.com
      api_token: jira-api-token
      project: OPS
      webhook_secret: jira-webhook-secret
  - name: snow
    servicenow:
      url: %[1]s
      username: alertbridge.integration
      password: snow-password
      callback_token: snow-callback-token
`, srv.URL)
	if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	a := mustStartedApp(t, Options{ConfigFile: cfg})
	if code, body := a.mustPostGroup(t, 1); code != http.StatusOK {
		t.Fatalf("post alert: %d %s", code, body)
	}
	c := &api.Client{BaseURL: "http://" + a.Addr()}
	list, err := c.ListIncidents(context.Background(), api.ListQuery{})
	if err != nil || len(list.Incidents) != 1 {
		t.Fatalf("incidents %+v, %v", list, err)
	}
	id := list.Incidents[0].ID
	label := "alertbridge-" + strconv.FormatInt(id, 10)
	eventually(t, "an issue and a record made", func() error {
		got := tool.records()
		slices.Sort(got)
		if want := []string{"alertbridge," + label, label}; !slices.Equal(got, want) {
			return fmt.Errorf("created %q, want %q: the issue labelled, the record correlated", got, want)
		}
		return nil
	})

	hook := []byte(fmt.Sprintf(`{"timestamp": %d, "webhookEvent": "jira:issue_updated",
		"user": {"accountId": "5b10", "displayName": "Alice"},
		"issue": {"id": "10001", "key": "OPS-1", "fields": {"status": {"id": "10001", "name": "Done", "statusCategory": {"key": "done"}}}},
		"changelog": {"items": [{"field": "status", "fieldId": "status"}]}}`, time.Now().UnixMilli()))
	m := hmac.New(sha256.New, []byte("jira-webhook-secret"))
	m.Write(hook)
	sig := "sha256=" + hex.EncodeToString(m.Sum(nil))
	if code, body := a.postCallback(t, "jira", hook, "X-Hub-Signature", "sha256=00"); code != http.StatusUnauthorized {
		t.Errorf("wrong signature: %d %s, want 401", code, body)
	}
	// The ticket is recorded just after the issue is made.
	eventually(t, "the Jira webhook resolves", func() error {
		code, body := a.postCallback(t, "jira", hook, "X-Hub-Signature", sig, "X-Atlassian-Webhook-Identifier", "wh-1")
		if code != http.StatusOK || !strings.Contains(body, `"outcome":"done"`) {
			return fmt.Errorf("%d %s", code, body)
		}
		return nil
	})
	note := []byte(fmt.Sprintf(`{"correlation_id": %q, "sys_id": "5ab1", "number": "INC0010001", "work_note": "disk swapped",
		"user": "jdoe", "sys_updated_on": %q}`, label, time.Now().UTC().Format(time.DateTime)))
	if code, body := a.postCallback(t, "snow", note, "Authorization", "Bearer wrong"); code != http.StatusUnauthorized {
		t.Errorf("wrong token: %d %s, want 401", code, body)
	}
	eventually(t, "the ServiceNow work note comments", func() error {
		code, body := a.postCallback(t, "snow", note, "Authorization", "Bearer snow-callback-token")
		if code != http.StatusOK || !strings.Contains(body, `"outcome":"done"`) {
			return fmt.Errorf("%d %s", code, body)
		}
		return nil
	})
	inc, err := c.Incident(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if inc.State != "resolved" {
		t.Errorf("incident %s, want resolved from Jira", inc.State)
	}
	var actors []string
	for _, e := range inc.Timeline {
		actors = append(actors, e.Kind+":"+e.Actor)
	}
	for _, want := range []string{"resolved:jira:Alice", "comment:snow:jdoe"} {
		if !strings.Contains(strings.Join(actors, " "), want) {
			t.Errorf("timeline %q lacks %s", actors, want)
		}
	}
}

func (a *App) postCallback(t *testing.T, sinkName string, body []byte, hdr ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, "http://"+a.Addr()+"/ingest/callbacks/"+sinkName, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
