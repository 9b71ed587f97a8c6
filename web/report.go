package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/alertbridge/alertbridge/access"
	"github.com/alertbridge/alertbridge/incident"
)

// Reporter opens an incident by hand (the Report page).
type Reporter interface {
	// Report returns an *incident.FieldError (incident.ErrInvalid) naming
	// the field at fault, or incident.ErrUnavailable.
	Report(ctx context.Context, r incident.Report) (incident.Incident, error)
}

// reportRoutes are the report form: both need the responder role, the
// role that may report (the form is no use to anyone else), and the POST
// the page's CSRF token. Without a Reporter there is no page.
func (u *UI) reportRoutes() []route {
	if u.o.Reporter == nil {
		return nil
	}
	return []route{
		{"GET /report", access.RoleResponder, u.reportPage}, // responder
		{"POST /report", access.RoleResponder, u.report},    // responder + CSRF
	}
}

// reportForm is what the form holds, as the person typed it.
type reportForm struct {
	Title, Service, Impact, Urgency, Description, OnBehalfOf string
}

// levelOption is a choice of impact or urgency, and what it means.
type levelOption struct {
	Value, Label string
}

// matrixRow is one impact's priorities by urgency (high, medium, low).
type matrixRow struct {
	Impact     incident.Level
	Priorities []incident.Priority
}

// reportView is the Report page's data.
type reportView struct {
	Form reportForm
	// Field is the field at fault after a refused submission ("" if none),
	// and Message what is wrong with it.
	Field, Message     string
	Impacts, Urgencies []levelOption
	Levels             []incident.Level
	Matrix             []matrixRow
	// Max are the fields' limits, for maxlength.
	MaxTitle, MaxService, MaxDescription, MaxOnBehalfOf int
}

// Invalid reports whether field is the one the last submission got wrong.
func (v reportView) Invalid(field string) bool { return v.Field == field }

// ErrorOf is what is wrong with field, "" if nothing.
func (v reportView) ErrorOf(field string) string {
	if v.Field != field {
		return ""
	}
	return v.Message
}

var levels = []incident.Level{incident.LevelHigh, incident.LevelMedium, incident.LevelLow}

func newReportView(f reportForm, field, msg string) reportView {
	v := reportView{Form: f, Field: field, Message: msg, Levels: levels,
		Impacts: []levelOption{
			{"high", "High: a whole service, or many users, cannot work"},
			{"medium", "Medium: part of a service, or some users, affected"},
			{"low", "Low: one user or a minor function; a workaround exists"},
		},
		Urgencies: []levelOption{
			{"high", "High: the damage grows by the minute; fix now"},
			{"medium", "Medium: must be fixed within hours"},
			{"low", "Low: can wait for normal working hours"},
		},
		MaxTitle: incident.MaxReportTitle, MaxService: incident.MaxReportService,
		MaxDescription: incident.MaxReportDescription, MaxOnBehalfOf: incident.MaxReportOnBehalfOf,
	}
	// The help shows the matrix every incident's priority comes from.
	for _, i := range levels {
		row := matrixRow{Impact: i}
		for _, ur := range levels {
			row.Priorities = append(row.Priorities, incident.PriorityOf(i, ur))
		}
		v.Matrix = append(v.Matrix, row)
	}
	return v
}

// reportPage serves the empty form (responder).
func (u *UI) reportPage(w http.ResponseWriter, r *http.Request) {
	u.render(w, r, http.StatusOK, "report", u.view(r, "report", "Report an incident", newReportView(reportForm{}, "", "")))
}

// report opens the incident (responder, CSRF checked by the Guard) with
// the signed-in identity as its reporter, and shows it; a refused report
// shows the form again with what was typed and what is wrong.
func (u *UI) report(w http.ResponseWriter, r *http.Request) {
	f := reportForm{Title: r.PostFormValue("title"), Service: r.PostFormValue("service"),
		Impact: r.PostFormValue("impact"), Urgency: r.PostFormValue("urgency"),
		Description: r.PostFormValue("description"), OnBehalfOf: r.PostFormValue("on_behalf_of")}
	inc, err := u.o.Reporter.Report(r.Context(), incident.Report{Title: f.Title, Service: f.Service,
		Description: f.Description, Impact: incident.Level(f.Impact), Urgency: incident.Level(f.Urgency),
		Actor: actor(r), OnBehalfOf: f.OnBehalfOf})
	if err == nil {
		back(w, r, fmt.Sprintf("/incidents/%d", inc.ID), fmt.Sprintf("Incident #%d reported as %s.", inc.ID, inc.Priority), nil)
		return
	}
	code, field, msg := http.StatusInternalServerError, "", "internal error: the incident was not opened"
	var fe *incident.FieldError
	switch {
	case errors.As(err, &fe):
		code, field, msg = http.StatusBadRequest, fe.Field, fe.Msg
	case errors.Is(err, incident.ErrInvalid):
		code, msg = http.StatusBadRequest, err.Error()
	case errors.Is(err, incident.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		code, msg = http.StatusServiceUnavailable, "temporarily unavailable: the incident was not opened; try again"
		w.Header().Set("Retry-After", "5")
	default:
		u.log.Error("report failed", "err", err)
	}
	v := u.view(r, "report", "Report an incident", newReportView(f, field, msg))
	v.Notice, v.Error = "", msg
	if field != "" {
		v.Error = fieldLabel(field) + ": " + msg
	}
	u.render(w, r, code, "report", v)
}

// fieldLabel is a report field's label on the form.
func fieldLabel(field string) string {
	if field == "on_behalf_of" {
		return "Reported for"
	}
	return strings.ToUpper(field[:1]) + field[1:]
}
