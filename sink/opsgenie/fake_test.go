package opsgenie

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// fakeOG follows Opsgenie's Alert API v2 as documented: Authorization:
// GenieKey; POST /v2/alerts creates an alert, or, while an alert with the
// alias is open, counts one more occurrence of it (Opsgenie's
// de-duplication); acknowledge, close, notes and priority name the alert
// by alias (identifierType=alias) and answer 404 when none has it; a
// closed alert stays, and a create with its alias makes a new one. Every
// accepted request is answered 202 {"result":"Request will be
// processed"}, after it was applied (the real API applies it a moment
// later). It also fails as a test scripts.
type fakeOG struct {
	t      *testing.T
	key    string
	srv    *httptest.Server
	closed chan struct{}

	mu       sync.Mutex
	alerts   []*ogAlert
	requests []string
	script   []failure
}

// ogAlert is one alert as Opsgenie keeps it.
type ogAlert struct {
	ID, Alias, Message, Description, Priority, Entity, Source string
	Status                                                    string // open or closed
	Acknowledged                                              bool
	Count                                                     int
	Tags                                                      []string
	Details                                                   map[string]string
	Notes                                                     []string
}

// failure is what the fake does with the next request instead of
// answering it: an error answer, applying it and then dropping the
// connection (the answer is lost), or hanging until the client gives up.
type failure struct {
	status int
	header map[string]string
	body   string
	lose   bool
	hang   bool
}

func newFakeOG(t *testing.T) *fakeOG {
	t.Helper()
	f := &fakeOG{t: t, key: "0f6c5b9e-8d1a-4c2b-9e3f-6a7b8c9d0e1f", closed: make(chan struct{})}
	f.srv = httptest.NewServer(f)
	t.Cleanup(func() {
		close(f.closed)
		f.srv.Close()
	})
	return f
}

func (f *fakeOG) fail(fs ...failure) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.script = append(f.script, fs...)
}

func reply(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func (f *fakeOG) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	var fl *failure
	if len(f.script) > 0 {
		fl = &f.script[0]
		f.script = f.script[1:]
	}
	f.mu.Unlock()
	switch {
	case fl != nil && fl.hang:
		_, _ = io.Copy(io.Discard, r.Body) // the server notices a hang-up once the body is read
		select {
		case <-r.Context().Done():
		case <-f.closed:
		}
		return
	case fl != nil && fl.status != 0:
		for k, v := range fl.header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(fl.status)
		_, _ = w.Write([]byte(fl.body))
		return
	}
	if r.Header.Get("Authorization") != "GenieKey "+f.key {
		reply(w, http.StatusUnauthorized, map[string]any{"message": "Could not authenticate", "took": 0.0})
		return
	}
	code, msg := f.apply(r)
	if code != http.StatusAccepted {
		reply(w, code, map[string]any{"message": msg, "took": 0.001, "requestId": "req"})
		return
	}
	if fl != nil && fl.lose {
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			f.t.Errorf("hijack: %v", err)
			return
		}
		_ = conn.Close() // applied, but the answer never arrives
		return
	}
	reply(w, http.StatusAccepted, map[string]any{"result": "Request will be processed", "took": 0.002,
		"requestId": "43a29c5c-3dbf-4fa4-9c26-f4f71023e120"})
}

// apply validates and applies a request; it returns the status and, for
// an error, its message.
func (f *fakeOG) apply(r *http.Request) (int, string) {
	var body struct {
		createRequest
		Priority string `json:"priority"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		return http.StatusBadRequest, "body is not JSON"
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.Method == http.MethodPost && r.URL.Path == "/v2/alerts" {
		return f.create(body.createRequest, body.Priority)
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/v2/alerts/")
	alias, verb, ok2 := strings.Cut(rest, "/")
	if !ok || !ok2 {
		return http.StatusNotFound, "no such endpoint"
	}
	if r.URL.Query().Get("identifierType") != "alias" {
		return http.StatusNotFound, fmt.Sprintf("Alert with id [%s] does not exist", alias)
	}
	a := f.byAlias(alias)
	if a == nil {
		return http.StatusNotFound, fmt.Sprintf("Alert with alias [%s] does not exist", alias)
	}
	switch {
	case r.Method == http.MethodPost && verb == "acknowledge":
		if a.Status == "open" {
			a.Acknowledged = true
		}
	case r.Method == http.MethodPost && verb == "close":
		a.Status = "closed"
	case r.Method == http.MethodPost && verb == "notes":
		if body.Note == "" {
			return http.StatusUnprocessableEntity, "note: must not be empty"
		}
	case r.Method == http.MethodPut && verb == "priority":
		if !validPriority(body.Priority) {
			return http.StatusUnprocessableEntity, "priority: must be P1..P5"
		}
		a.Priority = body.Priority
	default:
		return http.StatusNotFound, "no such endpoint"
	}
	if body.Note != "" {
		a.Notes = append(a.Notes, body.Note)
	}
	f.requests = append(f.requests, verb)
	return http.StatusAccepted, ""
}

func (f *fakeOG) create(c createRequest, priority string) (int, string) {
	switch {
	case c.Message == "" || len([]rune(c.Message)) > maxMessage:
		return http.StatusUnprocessableEntity, "message: required, at most 130 characters"
	case len(c.Alias) > 512:
		return http.StatusUnprocessableEntity, "alias: at most 512 characters"
	case !validPriority(priority):
		return http.StatusUnprocessableEntity, "priority: must be P1..P5"
	}
	f.requests = append(f.requests, "create")
	for _, a := range f.alerts {
		if a.Alias == c.Alias && a.Status == "open" {
			a.Count++ // de-duplicated: the open alert counts one more
			if c.Note != "" {
				a.Notes = append(a.Notes, c.Note)
			}
			return http.StatusAccepted, ""
		}
	}
	a := &ogAlert{ID: fmt.Sprintf("alert-%d", len(f.alerts)+1), Alias: c.Alias, Message: c.Message,
		Description: c.Description, Priority: priority, Entity: c.Entity, Source: c.Source, Status: "open", Count: 1,
		Tags: c.Tags, Details: c.Details}
	if c.Note != "" {
		a.Notes = append(a.Notes, c.Note)
	}
	f.alerts = append(f.alerts, a)
	return http.StatusAccepted, ""
}

func validPriority(p string) bool {
	switch p {
	case "P1", "P2", "P3", "P4", "P5":
		return true
	}
	return false
}

// byAlias is the alert an alias names: the open one, else the latest.
func (f *fakeOG) byAlias(alias string) *ogAlert {
	var last *ogAlert
	for _, a := range f.alerts {
		if a.Alias != alias {
			continue
		}
		if a.Status == "open" {
			return a
		}
		last = a
	}
	return last
}

// snapshot returns copies of the alerts and the requests applied.
func (f *fakeOG) snapshot() ([]ogAlert, []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	as := make([]ogAlert, len(f.alerts))
	for i, a := range f.alerts {
		as[i] = *a
		as[i].Notes = append([]string(nil), a.Notes...)
	}
	return as, append([]string{}, f.requests...)
}

// reset forgets the requests applied (not the alerts).
func (f *fakeOG) reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = nil
}

// deleteAll deletes every alert, as a user may in Opsgenie.
func (f *fakeOG) deleteAll() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.alerts = nil
}
