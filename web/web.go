// Package web is the server-rendered web UI: html/template pages and their
// static files, embedded in the binary, served at / by the daemon. Every
// page reads through the small interfaces it declares here; every change
// goes through the same Executor as the API, with the signed-in identity as
// the actor.
package web

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/alertbridge/alertbridge/access"
	"github.com/alertbridge/alertbridge/incident"
)

//go:embed templates/*.html static/*
var files embed.FS

// Reader is what the pages read; the SQLite store implements it.
type Reader interface {
	Incident(ctx context.Context, id int64) (incident.Incident, error)
	Incidents(ctx context.Context, f incident.IncidentFilter) ([]incident.Incident, error)
	// IncidentCounts counts what f matches by state, ignoring f.States.
	IncidentCounts(ctx context.Context, f incident.IncidentFilter) (map[incident.State]int, error)
	// IncidentsVersion changes whenever an incident is created or changes.
	IncidentsVersion(ctx context.Context) (string, error)
	Alerts(ctx context.Context, incidentID int64) ([]incident.Alert, error)
	// AlertHistory is the latest firings (at most perAlert each) of the
	// alerts an incident holds.
	AlertHistory(ctx context.Context, incidentID int64, perAlert int) ([]incident.Episode, error)
	Timeline(ctx context.Context, incidentID int64) ([]incident.TimelineEntry, error)
	IncidentChanges(ctx context.Context, incidentID int64) ([]incident.ChangeLink, error)
	Tickets(ctx context.Context, incidentID int64) ([]incident.Ticket, error)
	Changes(ctx context.Context, f incident.ChangeFilter) ([]incident.Change, error)
	// ChangeSuspects returns the incidents that suspect each of the
	// changes, at most perChange (the newest) of each, with their count.
	ChangeSuspects(ctx context.Context, changeIDs []int64, perChange int) ([]incident.Suspect, error)
	Problem(ctx context.Context, id int64) (incident.Problem, error)
	Problems(ctx context.Context, f incident.ProblemFilter) ([]incident.Problem, error)
	ProblemIncidents(ctx context.Context, id int64) ([]incident.Incident, error)
	ProblemTimeline(ctx context.Context, id int64) ([]incident.ProblemEntry, error)
	// ProblemFigures returns each problem's worst incident priority and
	// total downtime at now; a problem without incidents is absent.
	ProblemFigures(ctx context.Context, ids []int64, now time.Time) (map[int64]incident.ProblemFigures, error)
	Stats(ctx context.Context, f incident.StatsFilter, now time.Time) (incident.StatsFigures, error)
}

// Executor carries out what the pages' forms ask; the pipeline implements
// it.
type Executor interface {
	Execute(ctx context.Context, cmd incident.Command) (incident.Incident, error)
	ExecuteProblem(ctx context.Context, cmd incident.ProblemCommand) (incident.Problem, error)
}

// Options configures the UI.
type Options struct {
	Reader   Reader
	Executor Executor
	Guard    *access.Guard
	Logger   *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Version is shown in the footer.
	Version string
	// Rules describes the loaded rule set and explains labels (the Rules
	// page); nil leaves the page saying no rules are loaded.
	Rules RulesInfo
	// Reporter opens incidents by hand (the Report page); nil hides it.
	Reporter Reporter
	// Poll is how often the live list asks for changes (default 5s).
	Poll time.Duration
}

// UI serves the web UI.
type UI struct {
	o     Options
	log   *slog.Logger
	pages map[string]*template.Template
}

// New parses the templates and returns the UI.
func New(o Options) (*UI, error) {
	if o.Reader == nil || o.Guard == nil {
		return nil, errors.New("web: a Reader and a Guard are required")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Poll <= 0 {
		o.Poll = 5 * time.Second
	}
	u := &UI{o: o, log: o.Logger.With("component", "web"), pages: map[string]*template.Template{}}
	names, err := fs.Glob(files, "templates/*.html")
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		base := path.Base(n)
		if base == "layout.html" || strings.HasPrefix(base, "_") {
			continue
		}
		t, err := template.New(base).Funcs(funcs).ParseFS(files, "templates/layout.html", "templates/_*.html", n)
		if err != nil {
			return nil, fmt.Errorf("web: template %s: %w", base, err)
		}
		u.pages[strings.TrimSuffix(base, ".html")] = t
	}
	return u, nil
}

// Register mounts the UI on mux. Who may call what: the static files, the
// sign-in page and sign-out are anyone's; every page is a viewer's; each
// form needs the role of the API call it makes (acknowledge: responder;
// merge: admin; …) and the page's CSRF token. Without identities the
// API's anonymous rules apply: reads open, changes from loopback only.
func (u *UI) Register(mux *http.ServeMux) {
	mux.Handle("GET /static/", http.StripPrefix("/static/", u.static()))
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/incidents", http.StatusSeeOther)
	})
	mux.HandleFunc("GET /login", u.loginPage)
	mux.HandleFunc("POST /login", u.login)
	mux.HandleFunc("POST /logout", u.logout)
	u.page(mux, "GET /incidents", access.RoleViewer, u.incidents)
	for _, r := range u.routes() {
		u.page(mux, r.pattern, r.role, r.h)
	}
}

// route is a page or form of the UI and the role it needs.
type route struct {
	pattern string
	role    access.Role
	h       http.HandlerFunc
}

func (u *UI) page(mux *http.ServeMux, pattern string, role access.Role, h http.HandlerFunc) {
	mux.Handle(pattern, u.o.Guard.Page(role, access.PageOptions{Login: "/login", Deny: u.deny}, h))
}

// static serves the embedded files, cached for a day: their URLs carry no
// version, and a day is short enough for an upgrade.
func (u *UI) static() http.Handler {
	sub, _ := fs.Sub(files, "static")
	fsrv := http.FileServerFS(sub)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=86400")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		fsrv.ServeHTTP(w, r)
	})
}

// view is what every page's template gets.
type view struct {
	Title string
	// Nav is the navigation entry to mark current.
	Nav string
	// User is who is signed in (or the anonymous identity), and Can* what
	// the role lets them do.
	User                      access.Identity
	SignedIn, CanSignIn       bool
	CanRespond, CanAdmin      bool
	CSRF                      string
	Notice, Error             string
	Path                      string
	Version                   string
	Now                       time.Time
	Poll                      int // live list poll, milliseconds
	Data                      any
	Reporting, RulesAvailable bool
}

func (u *UI) view(r *http.Request, nav, title string, data any) view {
	id, _ := access.FromContext(r.Context())
	v := view{Title: title, Nav: nav, User: id, SignedIn: !id.Anonymous(), CanSignIn: u.o.Guard.HasIdentities(),
		CanRespond: id.Role.Allows(access.RoleResponder), CanAdmin: id.Role.Allows(access.RoleAdmin),
		CSRF: access.CSRFToken(r), Path: r.URL.RequestURI(), Version: u.o.Version, Now: u.o.Now(),
		Poll: int(u.o.Poll / time.Millisecond), Data: data, Reporting: u.o.Reporter != nil,
		RulesAvailable: u.o.Rules != nil}
	if id.Anonymous() && !u.o.Guard.HasIdentities() {
		// Without identities the anonymous rules decide what a form may
		// do: show the buttons the daemon would accept from this client.
		v.CanRespond, v.CanAdmin = u.o.Guard.AnonymousMay(r, access.RoleResponder), u.o.Guard.AnonymousMay(r, access.RoleAdmin)
	}
	q := r.URL.Query()
	v.Notice, v.Error = q.Get("notice"), q.Get("error")
	return v
}

// render executes a page into a buffer first, so that a template error
// becomes a clean 500 and never half a page.
func (u *UI) render(w http.ResponseWriter, r *http.Request, code int, name string, v view) {
	t := u.pages[name]
	if t == nil {
		u.fail(w, r, fmt.Errorf("no page %q", name))
		return
	}
	var b bytes.Buffer
	if err := t.ExecuteTemplate(&b, "layout", v); err != nil {
		u.fail(w, r, err)
		return
	}
	writeHTML(w, code, b.Bytes())
}

// renderPart executes one named template of a page alone (the live list's
// table) into w.
func (u *UI) renderPart(w http.ResponseWriter, r *http.Request, name, part string, v view) {
	var b bytes.Buffer
	if err := u.pages[name].ExecuteTemplate(&b, part, v); err != nil {
		u.fail(w, r, err)
		return
	}
	writeHTML(w, http.StatusOK, b.Bytes())
}

func writeHTML(w http.ResponseWriter, code int, b []byte) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; form-action 'self'; frame-ancestors 'none'")
	w.WriteHeader(code)
	_, _ = w.Write(b)
}

// errorView is the data of the error page.
type errorView struct {
	Code    int
	Message string
}

// deny answers a refused request with the error page.
func (u *UI) deny(w http.ResponseWriter, r *http.Request, code int, msg string) {
	u.render(w, r, code, "error", u.view(r, "", http.StatusText(code), errorView{Code: code, Message: msg}))
}

// fail answers an error of a handler: the domain's errors as the API maps
// them, anything else as a 500 without details.
func (u *UI) fail(w http.ResponseWriter, r *http.Request, err error) {
	code, msg := http.StatusInternalServerError, "internal error"
	switch {
	case errors.Is(err, incident.ErrNotFound):
		code, msg = http.StatusNotFound, "not found"
	case errors.Is(err, incident.ErrConflict), errors.Is(err, incident.ErrInvalid):
		code, msg = http.StatusBadRequest, err.Error()
	case errors.Is(err, incident.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		code, msg = http.StatusServiceUnavailable, "temporarily unavailable: try again"
		w.Header().Set("Retry-After", "5")
	case errors.Is(err, context.Canceled) && errors.Is(r.Context().Err(), context.Canceled):
		// The client went away (a closed tab, a new navigation): not the
		// daemon's failure, and nobody reads the page.
		u.log.Debug("page abandoned by the client", "err", err, "path", r.URL.Path)
		return
	default:
		u.log.Error("page failed", "err", err, "path", r.URL.Path)
	}
	var b bytes.Buffer
	t := u.pages["error"]
	if t == nil || t.ExecuteTemplate(&b, "layout", u.view(r, "", http.StatusText(code), errorView{Code: code, Message: msg})) != nil {
		http.Error(w, msg, code)
		return
	}
	writeHTML(w, code, b.Bytes())
}

// back redirects after a form (post/redirect/get) to target with a notice
// or an error for the page to show.
func back(w http.ResponseWriter, r *http.Request, target, notice string, err error) {
	q := url.Values{}
	if err != nil {
		q.Set("error", err.Error())
	} else if notice != "" {
		q.Set("notice", notice)
	}
	if len(q) > 0 {
		target += "?" + q.Encode()
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// actor is the signed-in identity's name: the actor of what a form does.
func actor(r *http.Request) string {
	id, _ := access.FromContext(r.Context())
	return id.Name
}
