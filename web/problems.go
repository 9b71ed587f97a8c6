package web

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/alertbridge/alertbridge/access"
	"github.com/alertbridge/alertbridge/incident"
)

// problemLimit is a page of the problem list.
const problemLimit = 50

// problemIncidentRows is how many linked incidents a problem's page lists;
// its chart counts them all.
const problemIncidentRows = 100

// maxFormText bounds each text field of a problem form, as the API bounds
// its body.
const maxFormText = 16 << 10

// problemRoutes are the problem pages and their forms.
func (u *UI) problemRoutes() []route {
	return []route{
		// The list and a problem's page: a viewer's.
		{"GET /problems", access.RoleViewer, u.problems},
		{"GET /problems/{id}", access.RoleViewer, u.problem},
		// The forms need the roles of the API's problem actions: a
		// responder records a known error; resolving and closing are
		// problem management's decisions, an admin's.
		{"POST /problems/{id}/known-error", access.RoleResponder, u.problemAction(incident.ProblemActionKnownError)},
		{"POST /problems/{id}/resolve", access.RoleAdmin, u.problemAction(incident.ProblemActionResolve)},
		{"POST /problems/{id}/close", access.RoleAdmin, u.problemAction(incident.ProblemActionClose)},
	}
}

// problemListView is the problem list's data.
type problemListView struct {
	// State is the state filter as the URL carries it: "" (active: open
	// and known error), "all" or a state.
	State  string
	States []incident.ProblemState
	// Rows are the page's problems, newest first; Next is the cursor of
	// the next page ("" on the last).
	Rows []problemRow
	Next string
}

// problemRow is a problem as the list shows it.
type problemRow struct {
	incident.Problem
	// Priority is the highest of its incidents' (0 without any).
	Priority incident.Priority
}

// problemStates are the list's state choices, in lifecycle order.
var problemStates = []incident.ProblemState{incident.ProblemOpen, incident.ProblemKnownError, incident.ProblemResolved,
	incident.ProblemClosed}

// problemFilter reads the list's filter from the URL.
func problemFilter(q url.Values) (incident.ProblemFilter, error) {
	f := incident.ProblemFilter{Limit: problemLimit + 1}
	switch s := q.Get("state"); s {
	case "":
		f.States = []incident.ProblemState{incident.ProblemOpen, incident.ProblemKnownError}
	case "all":
	default:
		st, err := incident.ParseProblemState(s)
		if err != nil {
			return f, err
		}
		f.States = []incident.ProblemState{st}
	}
	if c := q.Get("cursor"); c != "" {
		id, err := strconv.ParseInt(c, 10, 64)
		if err != nil || id <= 0 {
			return f, fmt.Errorf("cursor %q: not a page of this list", c)
		}
		f.AfterID = id
	}
	return f, nil
}

// problems serves the problem list (viewer): newest first, active ones
// unless the URL asks for another state.
func (u *UI) problems(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	lv := problemListView{State: r.URL.Query().Get("state"), States: problemStates}
	f, err := problemFilter(r.URL.Query())
	if err != nil {
		v := u.view(r, "problems", "Problems", lv)
		v.Error = err.Error()
		u.render(w, r, http.StatusBadRequest, "problems", v)
		return
	}
	list, err := u.o.Reader.Problems(ctx, f)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	if len(list) > problemLimit {
		list = list[:problemLimit]
		lv.Next = strconv.FormatInt(list[len(list)-1].ID, 10)
	}
	ids := make([]int64, len(list))
	for i, p := range list {
		ids[i] = p.ID
	}
	figs, err := u.o.Reader.ProblemFigures(ctx, ids, u.o.Now())
	if err != nil {
		u.fail(w, r, err)
		return
	}
	lv.Rows = make([]problemRow, len(list))
	for i, p := range list {
		lv.Rows[i] = problemRow{Problem: p, Priority: figs[p.ID].Priority}
	}
	u.render(w, r, http.StatusOK, "problems", u.view(r, "problems", "Problems", lv))
}

// problemView is a problem's page's data.
type problemView struct {
	Problem incident.Problem
	// Incidents are the newest linked incidents (at most
	// problemIncidentRows), newest first, of IncidentCount in all.
	Incidents     []incident.Incident
	IncidentCount int
	Chart         problemChart
	Timeline      []incident.ProblemEntry
	// Form refills the known-error form after it was refused.
	Form problemForm
}

// problemForm is what a problem form was sent with.
type problemForm struct {
	RootCause, Workaround, Message string
}

// problemID reads the {id} of a problem URL; ok is false (and a 404 page
// sent) when it is no problem's ID.
func (u *UI) problemID(w http.ResponseWriter, r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		u.fail(w, r, fmt.Errorf("problem %q: %w", r.PathValue("id"), incident.ErrNotFound))
		return 0, false
	}
	return id, true
}

// problem serves a problem's page (viewer), with the forms the viewer's
// role allows.
func (u *UI) problem(w http.ResponseWriter, r *http.Request) {
	id, ok := u.problemID(w, r)
	if !ok {
		return
	}
	u.renderProblem(w, r, http.StatusOK, id, problemForm{}, "")
}

// renderProblem renders problem id's page with code, refilling the
// known-error form with form and showing msg as the error.
func (u *UI) renderProblem(w http.ResponseWriter, r *http.Request, code int, id int64, form problemForm, msg string) {
	ctx := r.Context()
	p, err := u.o.Reader.Problem(ctx, id)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	incs, err := u.o.Reader.ProblemIncidents(ctx, id)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	tl, err := u.o.Reader.ProblemTimeline(ctx, id)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	pv := problemView{Problem: p, IncidentCount: len(incs), Timeline: tl, Form: form,
		Chart: chartOf(p, incs, u.o.Now())}
	newest := slices.Clone(incs)
	slices.Reverse(newest) // the store gives them oldest first
	if len(newest) > problemIncidentRows {
		newest = newest[:problemIncidentRows]
	}
	pv.Incidents = newest
	v := u.view(r, "problems", fmt.Sprintf("Problem #%d", p.ID), pv)
	if msg != "" {
		v.Error, v.Notice = msg, ""
	}
	u.render(w, r, code, "problem", v)
}

// problemAction carries out a problem form as the signed-in identity,
// through the same command as the API's action, and goes back to the
// problem's page. A refused form (no workaround, a transition the
// lifecycle does not allow) answers 400 with the page and what was typed,
// having changed nothing.
func (u *UI) problemAction(a incident.ProblemAction) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, ok := u.problemID(w, r)
		if !ok {
			return
		}
		form := problemForm{RootCause: strings.TrimSpace(r.PostFormValue("root_cause")),
			Workaround: strings.TrimSpace(r.PostFormValue("workaround")), Message: strings.TrimSpace(r.PostFormValue("message"))}
		for _, f := range []struct{ name, v string }{{"root cause", form.RootCause}, {"workaround", form.Workaround}, {"note", form.Message}} {
			if utf8.RuneCountInString(f.v) > maxFormText {
				u.renderProblem(w, r, http.StatusBadRequest, id, form, fmt.Sprintf("The %s is too long: at most %d characters.", f.name, maxFormText))
				return
			}
		}
		if a == incident.ProblemActionKnownError && form.Workaround == "" {
			u.renderProblem(w, r, http.StatusBadRequest, id, form, "A known error needs a workaround: say what responders can do until the root cause is fixed.")
			return
		}
		if u.o.Executor == nil {
			u.fail(w, r, fmt.Errorf("problem forms without an executor: %w", incident.ErrUnavailable))
			return
		}
		_, err := u.o.Executor.ExecuteProblem(r.Context(), incident.ProblemCommand{ProblemID: id, Action: a, Actor: actor(r),
			Message: form.Message, RootCause: form.RootCause, Workaround: form.Workaround})
		target := "/problems/" + strconv.FormatInt(id, 10)
		switch {
		case err == nil:
			back(w, r, target, problemNotices[a], nil)
		case errors.Is(err, incident.ErrConflict), errors.Is(err, incident.ErrInvalid):
			u.renderProblem(w, r, http.StatusBadRequest, id, form, refusal(a, err))
		default:
			u.fail(w, r, err)
		}
	}
}

// problemNotices say what each action did.
var problemNotices = map[incident.ProblemAction]string{
	incident.ProblemActionKnownError: "Recorded as a known error: its open incidents and every new one get the workaround.",
	incident.ProblemActionResolve:    "Problem resolved.",
	incident.ProblemActionClose:      "Problem closed.",
}

// refusal says why the lifecycle refused an action.
func refusal(a incident.ProblemAction, err error) string {
	if errors.Is(err, incident.ErrConflict) {
		switch a {
		case incident.ProblemActionKnownError:
			return "Only an open problem can become a known error (it changed meanwhile?): " + err.Error()
		case incident.ProblemActionResolve:
			return "Only an open problem or a known error can be resolved: " + err.Error()
		case incident.ProblemActionClose:
			return "Only a resolved problem can be closed: " + err.Error()
		}
	}
	return err.Error()
}
