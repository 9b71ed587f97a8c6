package jira

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/alertbridge/alertbridge/sink/internal/sinktest"
)

// The fake's credentials.
const (
	fakeUser  = "bot@example.com"
	fakeToken = "api-token-sekrit"
	fakePAT   = "pat-sekrit"
)

// fakeJira is a Jira site as REST API v2 documents it, keeping issues,
// their comments and a workflow, with failures injected per route.
type fakeJira struct {
	t   *testing.T
	srv *httptest.Server
	// cloud: basic auth, only /search/jql (the legacy /search answers
	// 410); else Data Center: bearer PAT, only /search.
	cloud bool

	faults *sinktest.Injector

	mu     sync.Mutex
	issues []*fakeIssue
	me     account
	// lagging: search does not list new issues, as Cloud's eventually
	// consistent search may not for some seconds.
	lagging bool
	// workflow: status ID → the transitions out of it.
	workflow map[string][]transition
}

type fakeIssue struct {
	id, key     string
	unindexed   bool
	fields      map[string]any
	status      status
	comments    []fakeComment
	transitions []string
	deleted     bool
}

type fakeComment struct {
	ID     string  `json:"id"`
	Body   string  `json:"body"`
	Author account `json:"author"`
}

var (
	stToDo       = status{ID: "1", Name: "To Do", StatusCategory: category{"new"}}
	stInProgress = status{ID: "3", Name: "In Progress", StatusCategory: category{"indeterminate"}}
	stDone       = status{ID: "10001", Name: "Done", StatusCategory: category{"done"}}
)

func defaultWorkflow() map[string][]transition {
	return map[string][]transition{
		stToDo.ID:       {{ID: "11", Name: "Start Progress", To: stInProgress}, {ID: "31", Name: "Done", To: stDone}},
		stInProgress.ID: {{ID: "21", Name: "Stop Progress", To: stToDo}, {ID: "31", Name: "Done", To: stDone}},
		stDone.ID:       {{ID: "41", Name: "Reopen", To: stToDo}},
	}
}

var fakePriorities = []string{"Highest", "High", "Medium", "Low", "Lowest"}

func newFakeJira(t *testing.T, cloud bool) *fakeJira {
	t.Helper()
	f := &fakeJira{t: t, cloud: cloud, workflow: defaultWorkflow(),
		me: account{AccountID: "557058:bot", DisplayName: "alertbridge bot", Name: "bot", Key: "JIRAUSER100"}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /rest/api/2/issue", f.route("create", f.create))
	mux.HandleFunc("GET /rest/api/2/search/jql", f.route("search", f.search(true)))
	mux.HandleFunc("GET /rest/api/2/search", f.route("search", f.search(false)))
	mux.HandleFunc("GET /rest/api/2/issue/{key}", f.route("get", f.issueHandler(f.get)))
	mux.HandleFunc("PUT /rest/api/2/issue/{key}", f.route("edit", f.issueHandler(f.edit)))
	mux.HandleFunc("GET /rest/api/2/issue/{key}/comment", f.route("comments", f.issueHandler(f.comments)))
	mux.HandleFunc("POST /rest/api/2/issue/{key}/comment", f.route("comment", f.issueHandler(f.addComment)))
	mux.HandleFunc("GET /rest/api/2/issue/{key}/transitions", f.route("transitions", f.issueHandler(f.getTransitions)))
	mux.HandleFunc("POST /rest/api/2/issue/{key}/transitions", f.route("transition", f.issueHandler(f.transition)))
	mux.HandleFunc("GET /rest/api/2/myself", f.route("myself", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, f.me)
	}))
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	f.faults = sinktest.New(t, jiraError)
	return f
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func jiraError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]any{"errorMessages": []string{msg}, "errors": map[string]string{}})
}

// route authenticates, counts and applies the injected faults of a route.
func (f *fakeJira) route(name string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !f.authorized(r) {
			jiraError(w, http.StatusUnauthorized, "You are not authenticated. Authentication required to perform this operation.")
			return
		}
		f.faults.Wrap(name, h)(w, r)
	}
}

func (f *fakeJira) authorized(r *http.Request) bool {
	if f.cloud {
		u, p, ok := r.BasicAuth()
		return ok && u == fakeUser && p == fakeToken
	}
	return r.Header.Get("Authorization") == "Bearer "+fakePAT
}

// issueHandler finds the {key} issue (404 when deleted or unknown).
func (f *fakeJira) issueHandler(h func(w http.ResponseWriter, r *http.Request, is *fakeIssue)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		is := f.byKey(r.PathValue("key"))
		if is == nil {
			jiraError(w, http.StatusNotFound, "Issue does not exist or you do not have permission to see it.")
			return
		}
		h(w, r, is)
	}
}

func (f *fakeJira) byKey(key string) *fakeIssue {
	for _, is := range f.issues {
		if is.key == key && !is.deleted {
			return is
		}
	}
	return nil
}

func (f *fakeJira) create(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Fields map[string]json.RawMessage `json:"fields"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		jiraError(w, http.StatusBadRequest, "bad json")
		return
	}
	fields := map[string]any{}
	for k, raw := range in.Fields {
		var v any
		_ = json.Unmarshal(raw, &v)
		fields[k] = v
	}
	errs := map[string]string{}
	if p, _ := fields["project"].(map[string]any); p == nil || p["key"] != "OPS" {
		errs["project"] = "valid project is required"
	}
	if it, _ := fields["issuetype"].(map[string]any); it == nil || it["name"] == "" {
		errs["issuetype"] = "valid issue type is required"
	}
	if s, _ := fields["summary"].(string); s == "" || strings.ContainsAny(s, "\r\n") || len([]rune(s)) > 255 {
		errs["summary"] = "summary is invalid"
	}
	if p, ok := fields["priority"].(map[string]any); ok && !slices.Contains(fakePriorities, fmt.Sprint(p["name"])) {
		errs["priority"] = "invalid priority name"
	}
	if len(errs) > 0 {
		writeJSON(w, http.StatusBadRequest, map[string]any{"errorMessages": []string{}, "errors": errs})
		return
	}
	f.mu.Lock()
	n := len(f.issues) + 1
	is := &fakeIssue{id: strconv.Itoa(10000 + n), key: "OPS-" + strconv.Itoa(n), fields: fields, status: stToDo,
		unindexed: f.lagging}
	f.issues = append(f.issues, is)
	f.mu.Unlock()
	writeJSON(w, http.StatusCreated, map[string]string{"id": is.id, "key": is.key, "self": f.srv.URL + "/rest/api/2/issue/" + is.id})
}

var (
	jqlLabel   = regexp.MustCompile(`labels = "([^"]+)"`)
	jqlProject = regexp.MustCompile(`project = "([^"]+)"`)
)

func (f *fakeJira) search(jql bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		switch {
		case jql && !f.cloud:
			jiraError(w, http.StatusNotFound, "null for uri: /rest/api/2/search/jql")
			return
		case !jql && f.cloud:
			jiraError(w, http.StatusGone, "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API.")
			return
		}
		q := r.URL.Query().Get("jql")
		lm, pm := jqlLabel.FindStringSubmatch(q), jqlProject.FindStringSubmatch(q)
		if lm == nil || pm == nil || !strings.Contains(q, "ORDER BY created ASC") {
			jiraError(w, http.StatusBadRequest, "unexpected jql "+q)
			return
		}
		max, _ := strconv.Atoi(r.URL.Query().Get("maxResults"))
		f.mu.Lock()
		defer f.mu.Unlock()
		out := []map[string]any{}
		for _, is := range f.issues {
			if is.deleted || is.unindexed || !strings.HasPrefix(is.key, pm[1]+"-") || !slices.Contains(labelsOf(is), lm[1]) {
				continue
			}
			if max > 0 && len(out) == max {
				break
			}
			out = append(out, map[string]any{"id": is.id, "key": is.key, "fields": map[string]any{"status": is.status}})
		}
		writeJSON(w, http.StatusOK, map[string]any{"issues": out, "isLast": true})
	}
}

func labelsOf(is *fakeIssue) []string {
	var out []string
	ls, _ := is.fields["labels"].([]any)
	for _, l := range ls {
		out = append(out, fmt.Sprint(l))
	}
	return out
}

func (f *fakeJira) get(w http.ResponseWriter, r *http.Request, is *fakeIssue) {
	out := map[string]any{"id": is.id, "key": is.key, "fields": map[string]any{"status": is.status}}
	if strings.Contains(r.URL.Query().Get("expand"), "transitions") {
		out["transitions"] = f.workflow[is.status.ID]
	}
	writeJSON(w, http.StatusOK, out)
}

func (f *fakeJira) edit(w http.ResponseWriter, r *http.Request, is *fakeIssue) {
	var in struct {
		Fields map[string]any `json:"fields"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		jiraError(w, http.StatusBadRequest, "bad json")
		return
	}
	if p, ok := in.Fields["priority"].(map[string]any); ok && !slices.Contains(fakePriorities, fmt.Sprint(p["name"])) {
		writeJSON(w, http.StatusBadRequest, map[string]any{"errors": map[string]string{"priority": "invalid priority name"}})
		return
	}
	for k, v := range in.Fields {
		is.fields[k] = v
	}
	w.WriteHeader(http.StatusNoContent)
}

func (f *fakeJira) comments(w http.ResponseWriter, r *http.Request, is *fakeIssue) {
	cs := slices.Clone(is.comments)
	if r.URL.Query().Get("orderBy") == "-created" {
		slices.Reverse(cs)
	}
	if m, _ := strconv.Atoi(r.URL.Query().Get("maxResults")); m > 0 && len(cs) > m {
		cs = cs[:m]
	}
	writeJSON(w, http.StatusOK, map[string]any{"comments": cs, "total": len(is.comments), "startAt": 0})
}

func (f *fakeJira) addComment(w http.ResponseWriter, r *http.Request, is *fakeIssue) {
	var in struct {
		Body string `json:"body"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.Body == "" {
		jiraError(w, http.StatusBadRequest, "Comment body can not be empty!")
		return
	}
	c := fakeComment{ID: strconv.Itoa(20000 + len(is.comments)), Body: in.Body, Author: f.me}
	is.comments = append(is.comments, c)
	writeJSON(w, http.StatusCreated, c)
}

func (f *fakeJira) getTransitions(w http.ResponseWriter, _ *http.Request, is *fakeIssue) {
	writeJSON(w, http.StatusOK, map[string]any{"transitions": f.workflow[is.status.ID]})
}

func (f *fakeJira) transition(w http.ResponseWriter, r *http.Request, is *fakeIssue) {
	var in struct {
		Transition struct {
			ID string `json:"id"`
		} `json:"transition"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		jiraError(w, http.StatusBadRequest, "bad json")
		return
	}
	for _, tr := range f.workflow[is.status.ID] {
		if tr.ID == in.Transition.ID {
			is.status = tr.To
			is.transitions = append(is.transitions, tr.Name)
			w.WriteHeader(http.StatusNoContent)
			return
		}
	}
	jiraError(w, http.StatusBadRequest, "Transition id '"+in.Transition.ID+"' is not valid for this issue.")
}

// live are the issues not deleted.
func (f *fakeJira) live() []*fakeIssue {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*fakeIssue
	for _, is := range f.issues {
		if !is.deleted {
			out = append(out, is)
		}
	}
	return out
}

// snapshot is an issue as the tests assert it.
type snapshot struct {
	Key, Status, Priority, Summary string
	Comments                       []string
	Transitions                    []string
	Labels                         []string
}

func (f *fakeJira) snapshot(key string) snapshot {
	f.mu.Lock()
	defer f.mu.Unlock()
	is := f.byKey(key)
	if is == nil {
		f.t.Fatalf("no issue %s", key)
	}
	s := snapshot{Key: is.key, Status: is.status.Name, Transitions: slices.Clone(is.transitions), Labels: labelsOf(is)}
	if p, ok := is.fields["priority"].(map[string]any); ok {
		s.Priority = fmt.Sprint(p["name"])
	}
	s.Summary, _ = is.fields["summary"].(string)
	for _, c := range is.comments {
		s.Comments = append(s.Comments, c.Body)
	}
	return s
}

// delete deletes an issue, as a Jira user may.
func (f *fakeJira) delete(key string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if is := f.byKey(key); is != nil {
		is.deleted = true
	}
}

// setStatus moves an issue as a responder in Jira would.
func (f *fakeJira) setStatus(key string, st status) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.byKey(key).status = st
}

func (f *fakeJira) count(route string) int { return f.faults.Count(route) }
