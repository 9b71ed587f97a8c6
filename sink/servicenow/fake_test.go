package servicenow

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/alertbridge/alertbridge/sink/internal/sinktest"
)

// The fake's credentials.
const (
	fakeUser     = "alertbridge.integration"
	fakePassword = "pw-sekrit"
	fakeBearer   = "oauth-sekrit"
)

// fakeSN is a ServiceNow instance's Table API on the incident table, as
// documented: records with their state, impact, urgency and journal of
// work notes, the incident table's state codes, data policies on resolve
// and the error shape {"error": {"message", "detail"}, "status":
// "failure"}, with failures injected per route.
type fakeSN struct {
	t      *testing.T
	srv    *httptest.Server
	faults *sinktest.Injector

	mu      sync.Mutex
	records []*fakeRecord
}

type fakeRecord struct {
	fields    map[string]string
	workNotes []string
	deleted   bool
}

func newFakeSN(t *testing.T) *fakeSN {
	t.Helper()
	f := &fakeSN{t: t}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/now/table/incident", f.route("query", f.query))
	mux.HandleFunc("POST /api/now/table/incident", f.route("create", f.create))
	mux.HandleFunc("PATCH /api/now/table/incident/{sys_id}", f.route("update", f.update))
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	f.faults = sinktest.New(t, snError)
	return f
}

func snError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]any{"error": map[string]string{"message": msg, "detail": "detail of " + msg}, "status": "failure"})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func (f *fakeSN) route(name string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		u, p, basic := r.BasicAuth()
		basicOK := basic && u == fakeUser && p == fakePassword
		if !basicOK && r.Header.Get("Authorization") != "Bearer "+fakeBearer {
			snError(w, http.StatusUnauthorized, "User Not Authenticated")
			return
		}
		q := r.URL.Query()
		if q.Get("sysparm_exclude_reference_link") != "true" || q.Get("sysparm_fields") == "" {
			f.t.Errorf("%s %s: want sysparm_fields and sysparm_exclude_reference_link=true", r.Method, r.URL)
		}
		f.faults.Wrap(name, h)(w, r)
	}
}

// view is a record's fields that the request asked for.
func view(rec *fakeRecord, fields string) map[string]string {
	out := map[string]string{}
	for _, k := range strings.Split(fields, ",") {
		out[k] = rec.fields[k]
	}
	return out
}

var snQuery = regexp.MustCompile(`^correlation_id=([^^]+)\^ORDERBYsys_created_on$`)

func (f *fakeSN) query(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	m := snQuery.FindStringSubmatch(q.Get("sysparm_query"))
	if m == nil {
		snError(w, http.StatusBadRequest, "unexpected query "+q.Get("sysparm_query"))
		return
	}
	limit, _ := strconv.Atoi(q.Get("sysparm_limit"))
	f.mu.Lock()
	defer f.mu.Unlock()
	out := []map[string]string{}
	for _, rec := range f.records {
		if rec.deleted || rec.fields["correlation_id"] != m[1] || (limit > 0 && len(out) == limit) {
			continue
		}
		out = append(out, view(rec, q.Get("sysparm_fields")))
	}
	writeJSON(w, http.StatusOK, map[string]any{"result": out})
}

var levelCodes = map[string]bool{"1": true, "2": true, "3": true}

func (f *fakeSN) create(w http.ResponseWriter, r *http.Request) {
	var in map[string]string
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		snError(w, http.StatusBadRequest, "Exception while reading request")
		return
	}
	if in["short_description"] == "" || !levelCodes[in["impact"]] || !levelCodes[in["urgency"]] {
		snError(w, http.StatusBadRequest, "invalid record")
		return
	}
	f.mu.Lock()
	n := len(f.records) + 1
	rec := &fakeRecord{fields: map[string]string{"state": stateNew}}
	for k, v := range in {
		if k == "work_notes" {
			rec.workNotes = append(rec.workNotes, v)
			continue
		}
		rec.fields[k] = v
	}
	rec.fields["sys_id"] = fmt.Sprintf("%032x", n)
	rec.fields["number"] = fmt.Sprintf("INC%07d", 10000+n)
	f.records = append(f.records, rec)
	out := view(rec, r.URL.Query().Get("sysparm_fields"))
	f.mu.Unlock()
	writeJSON(w, http.StatusCreated, map[string]any{"result": out})
}

func (f *fakeSN) update(w http.ResponseWriter, r *http.Request) {
	var in map[string]string
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		snError(w, http.StatusBadRequest, "Exception while reading request")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	rec := f.bySysID(r.PathValue("sys_id"))
	if rec == nil {
		writeJSON(w, http.StatusNotFound, map[string]any{"error": map[string]string{"message": "No Record found",
			"detail": "Record doesn't exist or ACL restricts the record retrieval"}, "status": "failure"})
		return
	}
	if in["state"] == stateResolved && (in["close_code"] == "" || in["close_notes"] == "") &&
		(rec.fields["close_code"] == "" || rec.fields["close_notes"] == "") {
		snError(w, http.StatusForbidden, "Operation Failed: Data Policy Exception: Resolution code, Resolution notes are mandatory")
		return
	}
	for k, v := range in {
		switch {
		case k == "work_notes":
			rec.workNotes = append(rec.workNotes, v)
		case k == "state" && rec.fields["state"] == stateClosed:
			// A closed record is read-only: the write is dropped, as
			// an ACL drops it, and the answer says the state it has.
		default:
			rec.fields[k] = v
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"result": view(rec, r.URL.Query().Get("sysparm_fields"))})
}

func (f *fakeSN) bySysID(id string) *fakeRecord {
	for _, rec := range f.records {
		if rec.fields["sys_id"] == id && !rec.deleted {
			return rec
		}
	}
	return nil
}

func (f *fakeSN) live() []*fakeRecord {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*fakeRecord
	for _, rec := range f.records {
		if !rec.deleted {
			out = append(out, rec)
		}
	}
	return out
}

// snapshot is a record as the tests assert it.
type snapshot struct {
	State, Impact, Urgency, Short string
	CloseCode, CloseNotes         string
	WorkNotes                     []string
}

func (f *fakeSN) snapshot(sysID string) snapshot {
	f.mu.Lock()
	defer f.mu.Unlock()
	rec := f.bySysID(sysID)
	if rec == nil {
		f.t.Fatalf("no record %s", sysID)
	}
	return snapshot{State: rec.fields["state"], Impact: rec.fields["impact"], Urgency: rec.fields["urgency"],
		Short: rec.fields["short_description"], CloseCode: rec.fields["close_code"], CloseNotes: rec.fields["close_notes"],
		WorkNotes: append([]string(nil), rec.workNotes...)}
}

// set changes a record as a ServiceNow user would.
func (f *fakeSN) set(sysID, field, value string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.bySysID(sysID).fields[field] = value
}

func (f *fakeSN) delete(sysID string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if rec := f.bySysID(sysID); rec != nil {
		rec.deleted = true
	}
}
