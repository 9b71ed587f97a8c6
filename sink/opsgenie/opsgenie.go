package opsgenie

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/internal/secret"
	"github.com/alertbridge/alertbridge/sink"
	"github.com/alertbridge/alertbridge/sink/internal/keyed"
	"github.com/alertbridge/alertbridge/sink/message"
)

// DefaultURL is Opsgenie's API; accounts in the EU use
// https://api.eu.opsgenie.com.
const DefaultURL = "https://api.opsgenie.com"

// Source is the source and the user of every request the sink makes: the
// callback knows the sink's own actions by it.
const Source = "alertbridge"

// RateLimitPause is how long the sink waits after a 429 that says nothing
// of when to come back: Opsgenie's limits are per minute.
const RateLimitPause = time.Minute

// Alias is the alias of incident id's alert, and the ExternalID of its
// ticket.
func Alias(id int64) string { return keyed.Key(id) }

// Options configures an Opsgenie sink.
type Options struct {
	// URL is the API's base URL (default DefaultURL).
	URL string
	// APIKey is the key of an API integration, sent as "GenieKey <key>".
	APIKey secret.Value
	// Message renders the alert's message (default "[P1] title"), cut to
	// Opsgenie's 130 characters.
	Message *message.Template
	// Tags are added to every alert.
	Tags []string
	// UserAgent names the daemon and its version.
	UserAgent string
	// Client makes the requests (default a client without a timeout: each
	// attempt's context bounds it).
	Client *http.Client
}

// Sink keeps one Opsgenie alert per incident (a new one after each
// reopen: Opsgenie does not reopen a closed alert).
type Sink struct{ o Options }

// New returns an Opsgenie sink.
func New(o Options) (*Sink, error) {
	if o.APIKey.IsZero() {
		return nil, errors.New("opsgenie: no api key")
	}
	o.URL = strings.TrimSuffix(o.URL, "/")
	if o.URL == "" {
		o.URL = DefaultURL
	}
	if o.Message == nil {
		o.Message = message.MustCompile("message", `[{{ .Incident.Priority }}] {{ .Incident.Title }}`)
	}
	if o.UserAgent == "" {
		o.UserAgent = "alertbridge"
	}
	if o.Client == nil {
		o.Client = &http.Client{}
	}
	return &Sink{o: o}, nil
}

// maxWorkaround bounds the workaround the ticket keeps for the
// description of a later alert (after a reopen).
const maxWorkaround = 2048

// Deliver makes the incident's Opsgenie alert match it, then adds what
// the notification tells (its timeline entries) as a note: on the create,
// the acknowledge or the close when one is sent, else on its own.
//
// An active incident is created when it opened, reopened or was released,
// or when the sink has made no alert of it yet (or closed it): Opsgenie
// dedupes the create by alias while the alert is open, so a create sent
// again after a lost answer makes no second alert. After a close, the same
// alias makes a new alert. An acknowledge, a priority update or a note
// that finds no alert (404: never created, or deleted in Opsgenie) creates
// it; a close that finds none is done. An incident that is over when the
// sink first hears of it is only closed: no alert is made for it.
func (s *Sink) Deliver(ctx context.Context, n sink.Notification) (*incident.Ticket, error) {
	want := keyed.StateOf(n.Incident)
	if want == keyed.StateNone {
		return nil, nil
	}
	alias := Alias(n.Incident.ID)
	prev, t := keyed.Start(n, alias, maxWorkaround)
	d := delivery{ctx: ctx, s: s, n: n, t: t, alias: alias, note: noteOf(n)}
	var err error
	if want == keyed.StateResolved {
		err = d.close(keyed.State(prev[keyed.DataState]))
	} else {
		err = d.converge(want, prev)
	}
	if err != nil {
		return nil, err
	}
	keyed.Synced(t, want, n.Incident.Priority)
	return t, nil
}

// delivery is one Deliver: the notification, the ticket it makes, and the
// note still to add ("" once added).
type delivery struct {
	ctx   context.Context
	s     *Sink
	n     sink.Notification
	t     *incident.Ticket
	alias string
	note  string
}

// converge brings an active incident's alert to want (open or
// acknowledged) and its priority, and adds the note.
func (d *delivery) converge(want keyed.State, prev map[string]string) error {
	was := keyed.State(prev[keyed.DataState])
	created := false
	if !was.Active() || recreates(d.n.Kind) {
		if err := d.create(); err != nil {
			return err
		}
		created = true
	}
	if want == keyed.StateAcknowledged && (created || was != want || d.n.Kind == incident.NotifyAcknowledged) {
		err := d.withNote(func(note string) error { return d.s.action(d.ctx, "acknowledge", d.alias, note) })
		if errors.Is(err, errNoAlert) {
			if err = d.create(); err == nil {
				err = d.s.action(d.ctx, "acknowledge", d.alias, "")
			}
		}
		if err != nil {
			return err
		}
	}
	p := d.n.Incident.Priority
	if !created && (d.n.Kind == incident.NotifyPriorityChanged || prev[keyed.DataPriority] != p.String()) {
		if err := d.orCreate(d.s.setPriority(d.ctx, d.alias, priorityOf(p))); err != nil {
			return err
		}
	}
	if d.note != "" {
		return d.orCreate(d.withNote(func(note string) error { return d.s.addNote(d.ctx, d.alias, note) }))
	}
	return nil
}

// orCreate creates the alert when err says it does not exist: the create
// carries the priority and the note.
func (d *delivery) orCreate(err error) error {
	if errors.Is(err, errNoAlert) {
		return d.create()
	}
	return err
}

// close closes the alert with the note; after a close, a later change of a
// resolved incident is only a note. Nothing to close is done.
func (d *delivery) close(was keyed.State) error {
	var err error
	switch {
	case was != keyed.StateResolved || d.n.Kind == incident.NotifyResolved || d.n.Kind == incident.NotifyMerged:
		err = d.withNote(func(note string) error { return d.s.action(d.ctx, "close", d.alias, note) })
	case d.note != "":
		err = d.withNote(func(note string) error { return d.s.addNote(d.ctx, d.alias, note) })
	}
	if errors.Is(err, errNoAlert) {
		return nil
	}
	return err
}

// withNote makes a request carrying the note; once one succeeds, the note
// is told.
func (d *delivery) withNote(req func(note string) error) error {
	err := req(d.note)
	if err == nil {
		d.note = ""
	}
	return err
}

// create posts the alert with the note.
func (d *delivery) create() error {
	return d.withNote(func(note string) error { return d.s.create(d.ctx, d.n, d.t, d.alias, note) })
}

// recreates reports whether a change of kind k posts the alert again: it
// (re)starts the incident's life in Opsgenie.
func recreates(k incident.NotifyKind) bool {
	return k == incident.NotifyOpened || k == incident.NotifyReopened || k == incident.NotifyReleased
}

// priorityOf is Opsgenie's priority of ours: the same names, P1..P5.
func priorityOf(p incident.Priority) string {
	if p < 1 || p > 5 {
		return "P3"
	}
	return p.String()
}
