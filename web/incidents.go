package web

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/alertbridge/alertbridge/incident"
)

// listLimit is a page of the incident list.
const listLimit = 50

// listView is the incident list's data.
type listView struct {
	Filter listFilter
	// Incidents are the page's incidents, newest first; Next is the
	// cursor of the next page ("" on the last).
	Incidents []incident.Incident
	Next      string
	// Counts are by state, under the filter but its state; Total sums
	// them.
	Counts     map[incident.State]int
	Total      int
	States     []incident.State
	Priorities []string
	// ETag is the live list's: the store's incidents version and the
	// filter. The page carries it so that the first poll answers 304 and
	// the table the user is about to click is not replaced for nothing.
	ETag string
}

// listFilter is the list's filter as the URL carries it, so that a view
// can be shared and survives a reload.
type listFilter struct {
	State, Priority, Service, Q string
	// Active: no state given means open, acknowledged and pending.
	Cursor string
}

func (f listFilter) incidentFilter() (incident.IncidentFilter, error) {
	out := incident.IncidentFilter{Service: f.Service, Query: f.Q, Limit: listLimit + 1}
	switch f.State {
	case "":
		out.States = []incident.State{incident.StatePending, incident.StateOpen, incident.StateAcknowledged}
	case "all":
	default:
		st, err := incident.ParseState(f.State)
		if err != nil {
			return out, fmt.Errorf("state: %w", err)
		}
		out.States = []incident.State{st}
	}
	if f.Priority != "" {
		p, err := incident.ParsePriority(f.Priority)
		if err != nil {
			return out, fmt.Errorf("priority: %w", err)
		}
		out.Priority = p
	}
	if f.Cursor != "" {
		id, err := strconv.ParseInt(f.Cursor, 10, 64)
		if err != nil || id <= 0 {
			return out, fmt.Errorf("cursor %q: not a page of this list", f.Cursor)
		}
		out.AfterID = id
	}
	return out, nil
}

func filterOf(q url.Values) listFilter {
	return listFilter{State: q.Get("state"), Priority: q.Get("priority"), Service: strings.TrimSpace(q.Get("service")),
		Q: strings.TrimSpace(q.Get("q")), Cursor: q.Get("cursor")}
}

// incidents serves the incident list (viewer). With ?part=rows it
// answers only the table, for the live list's poll, and with the ETag of
// the store's incidents version and the filter, 304 when nothing changed.
func (u *UI) incidents(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	version, err := u.o.Reader.IncidentsVersion(ctx)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	query := r.URL.Query()
	part := query.Get("part") == "rows"
	// The ETag covers the data and the filter (the query without part, in
	// key order, so the page and its polls agree); the relative times in
	// the table are kept current by the page's script. Only the rows carry
	// it as a header: the whole page is never answered with 304.
	query.Del("part")
	sum := sha256.Sum256([]byte(version + "\x00" + query.Encode()))
	etag := `"` + base64.RawURLEncoding.EncodeToString(sum[:12]) + `"`
	w.Header().Set("Cache-Control", "no-cache")
	if part {
		w.Header().Set("ETag", etag)
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
	}
	f := filterOf(r.URL.Query())
	inf, err := f.incidentFilter()
	if err != nil {
		v := u.view(r, "incidents", "Incidents", listView{Filter: f, States: listStates, Priorities: priorities})
		v.Error = err.Error()
		u.render(w, r, http.StatusBadRequest, "incidents", v)
		return
	}
	list, err := u.o.Reader.Incidents(ctx, inf)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	counts, err := u.o.Reader.IncidentCounts(ctx, inf)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	lv := listView{Filter: f, Counts: counts, States: listStates, Priorities: priorities, ETag: etag}
	for _, n := range counts {
		lv.Total += n
	}
	if len(list) > listLimit {
		list = list[:listLimit]
		lv.Next = strconv.FormatInt(list[len(list)-1].ID, 10)
	}
	lv.Incidents = list
	v := u.view(r, "incidents", "Incidents", lv)
	if part {
		v.Path = setQuery(v.Path, "part", "") // the table's links are the page's
		u.renderPart(w, r, "incidents", "rows", v)
		return
	}
	u.render(w, r, http.StatusOK, "incidents", v)
}

// listStates are the states the list filters by, in lifecycle order.
var listStates = incident.States

// priorities are the list's priority choices.
var priorities = []string{"P1", "P2", "P3", "P4", "P5"}
