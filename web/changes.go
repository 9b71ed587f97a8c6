package web

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/alertbridge/alertbridge/access"
	"github.com/alertbridge/alertbridge/incident"
)

// changeLimit is a page of the changes list.
const changeLimit = 50

// suspectsShown is how many of the incidents suspecting a change the list
// shows; it counts the others.
const suspectsShown = 5

// changePeriods are the periods the list offers, by their URL value, and
// defaultChangePeriod the one it shows without one.
var (
	changePeriods = []changePeriod{
		{"24h", "last 24 hours", 24 * time.Hour},
		{"7d", "last 7 days", 7 * 24 * time.Hour},
		{"30d", "last 30 days", 30 * 24 * time.Hour},
		{"90d", "last 90 days", 90 * 24 * time.Hour},
		{"all", "any time", 0},
	}
	defaultChangePeriod = "7d"
)

// changePeriod is a period of the changes list: the changes that started
// within d before now (0: any time).
type changePeriod struct {
	Value, Label string
	d            time.Duration
}

// changeRoutes are the changes page.
func (u *UI) changeRoutes() []route {
	return []route{
		// Recent changes and the incidents they are suspected in: a
		// viewer's.
		{"GET /changes", access.RoleViewer, u.changes},
	}
}

// changesView is the changes page's data.
type changesView struct {
	// Service and Period are the filter as the URL carries it.
	Service, Period string
	Periods         []changePeriod
	// Rows are the page's changes, the most recently recorded first (by
	// ID, as the store pages them); Next is the cursor of the
	// next page ("" on the last).
	Rows []changeRow
	Next string
}

// changeRow is a change with the incidents that suspect it.
type changeRow struct {
	incident.Change
	// Suspects are the newest incidents that suspect it (at most
	// suspectsShown), of Total.
	Suspects []incident.Suspect
	Total    int
}

// More is how many suspecting incidents the row does not show.
func (r changeRow) More() int { return r.Total - len(r.Suspects) }

// changeFilter reads the list's filter from the URL at now.
func changeFilter(service, period, cursor string, now time.Time) (incident.ChangeFilter, error) {
	f := incident.ChangeFilter{Service: service, Limit: changeLimit + 1}
	found := false
	for _, p := range changePeriods {
		if p.Value == period {
			found = true
			if p.d > 0 {
				f.Since = now.Add(-p.d)
			}
		}
	}
	if !found {
		return f, fmt.Errorf("period %q: want 24h, 7d, 30d, 90d or all", period)
	}
	if cursor != "" {
		id, err := strconv.ParseInt(cursor, 10, 64)
		if err != nil || id <= 0 {
			return f, fmt.Errorf("cursor %q: not a page of this list", cursor)
		}
		f.AfterID = id
	}
	return f, nil
}

// changes serves the changes list (viewer): the changes of the period
// (and service), the most recently recorded first, each with the
// incidents that suspect it.
func (u *UI) changes(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q := r.URL.Query()
	cv := changesView{Service: strings.TrimSpace(q.Get("service")), Period: q.Get("period"), Periods: changePeriods}
	if cv.Period == "" {
		cv.Period = defaultChangePeriod
	}
	f, err := changeFilter(cv.Service, cv.Period, q.Get("cursor"), u.o.Now())
	if err != nil {
		v := u.view(r, "changes", "Changes", cv)
		v.Error = err.Error()
		u.render(w, r, http.StatusBadRequest, "changes", v)
		return
	}
	list, err := u.o.Reader.Changes(ctx, f)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	if len(list) > changeLimit {
		list = list[:changeLimit]
		cv.Next = strconv.FormatInt(list[len(list)-1].ID, 10)
	}
	ids := make([]int64, len(list))
	for i, c := range list {
		ids[i] = c.ID
	}
	suspects, err := u.o.Reader.ChangeSuspects(ctx, ids, suspectsShown)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	byChange := make(map[int64][]incident.Suspect, len(list))
	for _, s := range suspects {
		byChange[s.ChangeID] = append(byChange[s.ChangeID], s)
	}
	cv.Rows = make([]changeRow, len(list))
	for i, c := range list {
		row := changeRow{Change: c, Suspects: byChange[c.ID]}
		if len(row.Suspects) > 0 {
			row.Total = row.Suspects[0].Total
		}
		cv.Rows[i] = row
	}
	u.render(w, r, http.StatusOK, "changes", u.view(r, "changes", "Changes", cv))
}
