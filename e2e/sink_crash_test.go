package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/alertbridge/alertbridge/api"
)

// jiraSite is as much of Jira's REST API v2 as the jira sink uses (search
// by label, create, read with transitions, transition, comments, field
// updates), with two ways to stall: holding every search, or creating an
// issue and then holding the answer. A held request ends when its client
// goes away (the daemon is killed).
type jiraSite struct {
	mu     sync.Mutex
	issues []*jiraIssue
	// holdSearch and hangAfterCreate say how to stall; held is closed when
	// a request is first held.
	holdSearch, hangAfterCreate bool
	held                        chan struct{}
}

type jiraIssue struct {
	key, status string // status: "To Do" or "Done"
	labels      []string
	comments    []string
}

var jqlLabel = regexp.MustCompile(`labels = "([^"]+)"`)

func (j *jiraSite) hold(r *http.Request) {
	j.mu.Lock()
	if j.held != nil {
		close(j.held)
		j.held = nil
	}
	j.mu.Unlock()
	<-r.Context().Done()
}

func (j *jiraSite) stall(holdSearch, hangAfterCreate bool) chan struct{} {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.holdSearch, j.hangAfterCreate, j.held = holdSearch, hangAfterCreate, make(chan struct{})
	return j.held
}

func (j *jiraSite) find(key string) *jiraIssue {
	for _, is := range j.issues {
		if is.key == key {
			return is
		}
	}
	return nil
}

func (j *jiraSite) serve(t *testing.T) string {
	mux := http.NewServeMux()
	reply := func(w http.ResponseWriter, code int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		if v != nil {
			_ = json.NewEncoder(w).Encode(v)
		}
	}
	statusOf := func(s string) map[string]any {
		cat := "new"
		if s == "Done" {
			cat = "done"
		}
		return map[string]any{"id": s, "name": s, "statusCategory": map[string]string{"key": cat}}
	}
	mux.HandleFunc("GET /rest/api/2/search/jql", func(w http.ResponseWriter, r *http.Request) {
		j.mu.Lock()
		hold := j.holdSearch
		j.mu.Unlock()
		if hold {
			j.hold(r)
			return
		}
		m := jqlLabel.FindStringSubmatch(r.URL.Query().Get("jql"))
		found := []map[string]string{}
		j.mu.Lock()
		for _, is := range j.issues {
			if m != nil && slices.Contains(is.labels, m[1]) {
				found = append(found, map[string]string{"id": is.key, "key": is.key})
			}
		}
		j.mu.Unlock()
		reply(w, http.StatusOK, map[string]any{"issues": found})
	})
	mux.HandleFunc("POST /rest/api/2/issue", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Fields struct {
				Labels []string `json:"labels"`
			} `json:"fields"`
		}
		_ = json.NewDecoder(r.Body).Decode(&in)
		j.mu.Lock()
		is := &jiraIssue{key: "OPS-" + strconv.Itoa(len(j.issues)+1), status: "To Do", labels: in.Fields.Labels}
		j.issues = append(j.issues, is)
		hang := j.hangAfterCreate
		j.mu.Unlock()
		if hang {
			j.hold(r) // created; the answer never leaves
			return
		}
		reply(w, http.StatusCreated, map[string]string{"id": is.key, "key": is.key})
	})
	mux.HandleFunc("PUT /rest/api/2/issue/{key}", func(w http.ResponseWriter, _ *http.Request) {
		reply(w, http.StatusNoContent, nil)
	})
	mux.HandleFunc("GET /rest/api/2/issue/{key}", func(w http.ResponseWriter, r *http.Request) {
		j.mu.Lock()
		defer j.mu.Unlock()
		is := j.find(r.PathValue("key"))
		if is == nil {
			reply(w, http.StatusNotFound, map[string]any{"errorMessages": []string{"Issue does not exist"}})
			return
		}
		trs := []map[string]any{{"id": "31", "name": "Done", "to": statusOf("Done")}}
		if is.status == "Done" {
			trs = []map[string]any{{"id": "11", "name": "Reopen", "to": statusOf("To Do")}}
		}
		reply(w, http.StatusOK, map[string]any{"key": is.key, "fields": map[string]any{"status": statusOf(is.status)}, "transitions": trs})
	})
	mux.HandleFunc("POST /rest/api/2/issue/{key}/transitions", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Transition struct {
				ID string `json:"id"`
			} `json:"transition"`
		}
		_ = json.NewDecoder(r.Body).Decode(&in)
		j.mu.Lock()
		defer j.mu.Unlock()
		is := j.find(r.PathValue("key"))
		switch {
		case is == nil:
			reply(w, http.StatusNotFound, nil)
		case in.Transition.ID == "31" && is.status != "Done":
			is.status = "Done"
			reply(w, http.StatusNoContent, nil)
		case in.Transition.ID == "11" && is.status == "Done":
			is.status = "To Do"
			reply(w, http.StatusNoContent, nil)
		default:
			reply(w, http.StatusBadRequest, map[string]any{"errorMessages": []string{"transition not valid"}})
		}
	})
	mux.HandleFunc("GET /rest/api/2/issue/{key}/comment", func(w http.ResponseWriter, r *http.Request) {
		j.mu.Lock()
		defer j.mu.Unlock()
		cs := []map[string]string{}
		if is := j.find(r.PathValue("key")); is != nil {
			for _, c := range is.comments {
				cs = append(cs, map[string]string{"body": c})
			}
		}
		reply(w, http.StatusOK, map[string]any{"comments": cs})
	})
	mux.HandleFunc("POST /rest/api/2/issue/{key}/comment", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Body string `json:"body"`
		}
		_ = json.NewDecoder(r.Body).Decode(&in)
		j.mu.Lock()
		defer j.mu.Unlock()
		is := j.find(r.PathValue("key"))
		if is == nil {
			reply(w, http.StatusNotFound, nil)
			return
		}
		is.comments = append(is.comments, in.Body)
		reply(w, http.StatusCreated, map[string]any{"body": in.Body})
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL
}

// issuesLabelled lists the issues with a label, as "KEY status".
func (j *jiraSite) issuesLabelled(label string) []string {
	j.mu.Lock()
	defer j.mu.Unlock()
	var out []string
	for _, is := range j.issues {
		if slices.Contains(is.labels, label) {
			out = append(out, is.key+" "+is.status)
		}
	}
	return out
}

// TestSinkSurvivesSIGKILL kills the daemon between the commit of an
// incident and the delivery of its notification, and again between the
// delivery (Jira made the issue) and its recording; after each restart the
// notification is delivered again, and each incident has exactly one
// issue, in the incident's state.
func TestSinkSurvivesSIGKILL(t *testing.T) {
	t.Parallel()
	bin := mustBuildDaemon(t)
	jira := &jiraSite{}
	jiraURL := jira.serve(t)
	dir := t.TempDir()
	cfg := mustWriteFile(t, dir, "alertbridge.yml", `sinks:
  - name: jira
    backoff: {initial: 100ms, max: 1s}
    jira:
      url: `+jiraURL+`
      username: bot@example.com
      api_token: jira-api-token
      project: OPS
`)
	data := filepath.Join(dir, "data")
	addr := mustFreeAddr(t)
	start := func() *proc {
		p := mustStart(t, "alertbridge", bin, "serve", "--config.file="+cfg, "--web.listen-address="+addr,
			"--storage.path="+data, "--log.level=debug")
		mustWaitReady(t, p, "http://"+addr+"/-/ready")
		return p
	}
	kill := func(p *proc) {
		t.Helper()
		if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatalf("SIGKILL: %v", err)
		}
		<-p.done
		if strings.Contains(p.out.String(), "WARNING: DATA RACE") {
			t.Error("the race detector reported a data race in the daemon")
		}
	}
	event := func(name, status string) {
		t.Helper()
		body := fmt.Sprintf(`{"labels": {"alertname": %q, "service": "shop"}, "status": %q}`, name, status)
		resp, err := http.Post("http://"+addr+"/ingest/events", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("ingest %s %s: %d", name, status, resp.StatusCode)
		}
	}

	// Killed between commit and delivery: the incident is committed, its
	// notification is on its way (the lookup is held), nothing is made.
	held := jira.stall(true, false)
	d := start()
	event("DiskFull", "firing") // incident 1
	<-held
	kill(d)
	if got := jira.issuesLabelled("alertbridge-1"); len(got) != 0 {
		t.Fatalf("issues before any delivery: %v", got)
	}

	// Killed between delivery and recording: Jira makes the issue, and the
	// answer never reaches the daemon.
	held = jira.stall(false, true)
	d = start()
	<-held
	kill(d)
	if got := jira.issuesLabelled("alertbridge-1"); len(got) != 1 {
		t.Fatalf("issues after the create whose answer was lost: %v, want 1", got)
	}

	// Back to normal: the redelivery finds the issue by its label.
	jira.stall(false, false)
	d = start()
	c := &api.Client{BaseURL: "http://" + addr, HTTP: &http.Client{Timeout: 30 * time.Second}}
	ctx := context.Background()
	event("Latency", "firing") // incident 2, delivered in one go
	event("DiskFull", "resolved")
	eventually(t, 60*time.Second, func() error {
		for label, want := range map[string]string{"alertbridge-1": "OPS-1 Done", "alertbridge-2": "OPS-2 To Do"} {
			if got := jira.issuesLabelled(label); !slices.Equal(got, []string{want}) {
				return fmt.Errorf("issues labelled %s: %v, want [%s]", label, got, want)
			}
		}
		list, err := c.ListIncidents(ctx, api.ListQuery{})
		if err != nil {
			return err
		}
		if len(list.Incidents) != 2 {
			return fmt.Errorf("%d incidents, want 2", len(list.Incidents))
		}
		return nil
	})
	inc, err := c.Incident(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(inc.Tickets) != 1 || inc.Tickets[0].ExternalID != "OPS-1" || inc.State != "resolved" {
		t.Errorf("incident 1: state %s, tickets %+v; want resolved with OPS-1", inc.State, inc.Tickets)
	}
	eventually(t, 30*time.Second, func() error {
		resp, err := http.Get("http://" + addr + "/api/v1/outbox")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		var out api.OutboxList
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			return err
		}
		if len(out.Entries) != 0 {
			return fmt.Errorf("outbox still holds %+v", out.Entries)
		}
		return nil
	})
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-d.done
	if d.err != nil {
		t.Errorf("after SIGTERM: %v, want exit status 0", d.err)
	}
}
