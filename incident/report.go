package incident

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Report is an incident reported by hand: the service desk's front door
// (POST /api/v1/incidents, the UI's Report page, `alertbridge incidents
// create`). Its priority comes from Impact and Urgency by the same matrix
// as every incident's; Actor is who reported it.
type Report struct {
	Title       string
	Service     string
	Description string
	Impact      Level
	Urgency     Level
	// Actor is the authenticated identity; OnBehalfOf free text it gave.
	Actor      string
	OnBehalfOf string
}

// SourceManual is the source of incidents reported by hand.
const SourceManual = "manual"

// The longest fields of a report, in characters. A title is one line that
// fits a ticket's summary field in every sink; a description is a few
// paragraphs, well within the API's body limit.
const (
	MaxReportTitle       = 200
	MaxReportService     = 100
	MaxReportOnBehalfOf  = 200
	MaxReportDescription = 10_000
)

// FieldError is input whose Field is wrong: Field is the field's name as
// the API's JSON and the UI's form spell it ("title", "impact"). It wraps
// ErrInvalid.
type FieldError struct {
	Field string
	Msg   string
}

// Error says which field and what is wrong with it.
func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

// Unwrap makes the error an ErrInvalid.
func (e *FieldError) Unwrap() error { return ErrInvalid }

// Normalize returns the report with its text fields trimmed of surrounding
// white space and its levels lower-cased, as Validate checks and Open
// records them.
func (r Report) Normalize() Report {
	r.Title, r.Service = strings.TrimSpace(r.Title), strings.TrimSpace(r.Service)
	r.Description, r.OnBehalfOf = strings.TrimSpace(r.Description), strings.TrimSpace(r.OnBehalfOf)
	r.Impact = Level(strings.ToLower(strings.TrimSpace(string(r.Impact))))
	r.Urgency = Level(strings.ToLower(strings.TrimSpace(string(r.Urgency))))
	return r
}

// Validate checks a normalized report and returns a *FieldError for the
// first field, in form order (title, service, impact, urgency, description,
// on_behalf_of), that is wrong: a missing title, a field too long, a line
// break in a one-line field, an impact or urgency that is not high, medium
// or low.
func (r Report) Validate() error {
	if r.Title == "" {
		return &FieldError{Field: "title", Msg: "required: say in one line what is wrong"}
	}
	text := func(name, value string, max int, multiline bool) error {
		if msg := checkText(value, max, multiline); msg != "" {
			return &FieldError{Field: name, Msg: msg}
		}
		return nil
	}
	level := func(name string, l Level) error {
		switch {
		case l == "":
			return &FieldError{Field: name, Msg: "required: high, medium or low"}
		case l != LevelHigh && l != LevelMedium && l != LevelLow:
			return &FieldError{Field: name, Msg: fmt.Sprintf("%q is not a level: want high, medium or low", l)}
		}
		return nil
	}
	for _, err := range []error{
		text("title", r.Title, MaxReportTitle, false),
		text("service", r.Service, MaxReportService, false),
		level("impact", r.Impact),
		level("urgency", r.Urgency),
		text("description", r.Description, MaxReportDescription, true),
		text("on_behalf_of", r.OnBehalfOf, MaxReportOnBehalfOf, false),
	} {
		if err != nil {
			return err
		}
	}
	return nil
}

// checkText says what is wrong with a text field, "" if nothing.
func checkText(s string, max int, multiline bool) string {
	if !utf8.ValidString(s) {
		return "not valid UTF-8 text"
	}
	if n := utf8.RuneCountInString(s); n > max {
		return fmt.Sprintf("%d characters, at most %d", n, max)
	}
	for _, c := range s {
		if multiline && (c == '\n' || c == '\r' || c == '\t') {
			continue
		}
		if unicode.IsControl(c) {
			if c == '\n' || c == '\r' {
				return "one line only: no line breaks"
			}
			return fmt.Sprintf("control character %U not allowed", c)
		}
	}
	return ""
}

// OpenOptions is what opening a reported incident takes besides the report.
type OpenOptions struct {
	// Key is the new incident's correlation key. It must be one no alert
	// ever gets, so that an alert joins the incident only when a person
	// merges it in ("manual/<random>").
	Key string
	// Owner is the catalog service's owner, "" if none.
	Owner string
	// SLA gives the incident its targets, as for an incident an alert
	// opens; nil: none.
	SLA SLATargets
}

// Open opens the incident a person reported, in tx: open at once with the
// priority of the impact × urgency matrix, source SourceManual, and
// ResolveManual, since nothing but a person can tell that a reported
// problem is over (alerts merged into it later do not resolve it). Its
// timeline says who reported it, for whom, and what they said. It returns
// a *FieldError (ErrInvalid) for a report Validate refuses; the report is
// normalized first.
func Open(ctx context.Context, tx Tx, r Report, now time.Time, o OpenOptions) (Incident, error) {
	r = r.Normalize()
	if err := r.Validate(); err != nil {
		return Incident{}, err
	}
	if o.Key == "" {
		return Incident{}, fmt.Errorf("open reported incident: no correlation key")
	}
	actor := strings.TrimSpace(r.Actor)
	if actor == "" {
		actor = "anonymous"
	}
	inc := Incident{
		State: StateOpen, Impact: r.Impact, Urgency: r.Urgency, Priority: PriorityOf(r.Impact, r.Urgency),
		Title: r.Title, Summary: r.Description, Service: r.Service, Owner: o.Owner, CorrelationKey: o.Key,
		Source: SourceManual, OpenedAt: now, UpdatedAt: now, LastEventAt: now, ImpactStartedAt: now, RuleSnapshot: RuleSnapshot{ResolveMode: ResolveManual, MinAlerts: 1},
	}
	setSLA(&inc, o.SLA)
	if err := tx.CreateIncident(ctx, &inc); err != nil {
		return inc, fmt.Errorf("open reported incident: %w", err)
	}
	msg := "reported by " + actor
	if r.OnBehalfOf != "" && r.OnBehalfOf != actor {
		msg += " (on behalf of " + r.OnBehalfOf + ")"
	}
	msg += fmt.Sprintf(" as %s (impact %s, urgency %s)", inc.Priority, inc.Impact, inc.Urgency)
	if r.Description != "" {
		msg += ": " + r.Description
	}
	e := TimelineEntry{IncidentID: inc.ID, At: now, Kind: TimelineOpened, Actor: actor, OnBehalfOf: r.OnBehalfOf, Message: msg}
	if err := tx.AddTimeline(ctx, &e); err != nil {
		return inc, err
	}
	return inc, nil
}
