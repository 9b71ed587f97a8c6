package pagerduty

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/internal/secret"
	"github.com/alertbridge/alertbridge/sink"
	"github.com/alertbridge/alertbridge/sink/internal/keyed"
)

// SignatureHeader carries a v3 webhook's signatures.
const SignatureHeader = "X-PagerDuty-Signature"

// DefaultMaxSkew is how far in the future a webhook's occurred_at may be.
const DefaultMaxSkew = 5 * time.Minute

// MaxAge is how old a webhook may be, by its signed occurred_at; its
// event id is remembered for as long (plus MaxSkew), so that a captured
// webhook cannot be replayed once the id is forgotten. PagerDuty retries a
// webhook for about 20 minutes and queues behind one that fails.
const MaxAge = 48 * time.Hour

// CallbackOptions configures the PagerDuty callback.
type CallbackOptions struct {
	// Secret is the webhook subscription's signing secret.
	Secret secret.Value
	// MaxSkew bounds how far in the future occurred_at may be (default
	// DefaultMaxSkew).
	MaxSkew time.Duration
	Logger  *slog.Logger
}

// Callback verifies PagerDuty v3 webhooks (the HMAC-SHA256 signatures of
// X-PagerDuty-Signature) and turns a responder's acknowledge, resolve or
// note on an incident of ours into an Action.
type Callback struct {
	o   CallbackOptions
	log *slog.Logger
}

// NewCallback returns the callback of a PagerDuty sink.
func NewCallback(o CallbackOptions) (*Callback, error) {
	if o.Secret.IsZero() {
		return nil, errors.New("pagerduty: no webhook signing secret")
	}
	if o.MaxSkew <= 0 {
		o.MaxSkew = DefaultMaxSkew
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Callback{o: o, log: o.Logger.With("component", "pagerduty_callback")}, nil
}

// webhook is a v3 webhook's body: one event.
type webhook struct {
	Event struct {
		ID         string          `json:"id"`
		EventType  string          `json:"event_type"`
		OccurredAt string          `json:"occurred_at"`
		Agent      *reference      `json:"agent"`
		Data       json.RawMessage `json:"data"`
	} `json:"event"`
}

type reference struct {
	ID      string `json:"id"`
	Type    string `json:"type"`
	Summary string `json:"summary"`
}

// eventData is what the sink reads of event.data: an incident (for
// incident.acknowledged and incident.resolved), which carries the
// incident_key (the dedup_key of the alert that opened it), or an
// incident_note (incident.annotated), whose incident reference carries
// none in PagerDuty's documented payload.
type eventData struct {
	IncidentKey string `json:"incident_key"`
	Content     string `json:"content"`
	Incident    *struct {
		IncidentKey string `json:"incident_key"`
	} `json:"incident"`
}

// actions are the event types the sink acts on.
var actions = map[string]incident.Action{
	"incident.acknowledged": incident.ActionAcknowledge,
	"incident.resolved":     incident.ActionResolve,
	"incident.annotated":    incident.ActionComment,
}

// Callback authenticates a webhook and says what it asks for. Only users'
// actions count (agent type user_reference): PagerDuty also reports what
// the sink's own events did (agent: the integration), and acting on a late
// "resolved" of the sink's own resolve would resolve an incident that
// reopened since.
func (c *Callback) Callback(r *http.Request, body []byte, now time.Time) (sink.Callback, error) {
	if err := c.verify(r.Header.Values(SignatureHeader), body); err != nil {
		return sink.Callback{}, err
	}
	var w webhook
	if err := json.Unmarshal(body, &w); err != nil {
		return sink.Callback{}, fmt.Errorf("decode webhook: %w", err)
	}
	ev := w.Event
	at, err := time.Parse(time.RFC3339Nano, ev.OccurredAt)
	if err != nil {
		return sink.Callback{}, fmt.Errorf("event.occurred_at: %w", err)
	}
	switch {
	case now.Sub(at) > MaxAge:
		return sink.Callback{}, fmt.Errorf("%w: webhook occurred at %s, more than %s ago", sink.ErrUnauthenticated,
			at.UTC().Format(time.RFC3339), MaxAge)
	case at.Sub(now) > c.o.MaxSkew:
		return sink.Callback{}, fmt.Errorf("%w: webhook occurred at %s, ahead of the clock", sink.ErrUnauthenticated,
			at.UTC().Format(time.RFC3339))
	}
	cb := sink.Callback{Nonce: ev.ID, Expires: now.Add(MaxAge + c.o.MaxSkew)}
	if cb.Nonce == "" {
		sum := sha256.Sum256(body)
		cb.Nonce = hex.EncodeToString(sum[:])
	}
	act, ok := actions[ev.EventType]
	if !ok {
		return cb, nil
	}
	if ev.Agent == nil || ev.Agent.Type != "user_reference" {
		c.log.Debug("callback ignored: not a user's action", "event_type", ev.EventType, "event_id", ev.ID)
		return cb, nil
	}
	var d eventData
	if err := json.Unmarshal(ev.Data, &d); err != nil {
		return sink.Callback{}, fmt.Errorf("decode event.data: %w", err)
	}
	key := d.IncidentKey
	if key == "" && d.Incident != nil {
		key = d.Incident.IncidentKey
	}
	if key == "" {
		c.log.Debug("callback ignored: no incident key", "event_type", ev.EventType, "event_id", ev.ID)
		return cb, nil
	}
	a := sink.Action{Action: act, User: ev.Agent.Summary}
	if a.User == "" {
		a.User = ev.Agent.ID
	}
	keyed.Name(&a, key)
	if act == incident.ActionComment {
		if a.Message = strings.TrimSpace(d.Content); a.Message == "" {
			return cb, nil
		}
	}
	cb.Actions = []sink.Action{a}
	return cb, nil
}

// verify checks the signatures of X-PagerDuty-Signature ("v1=<hex>",
// comma-separated, one per signing secret while PagerDuty rotates it): one
// must be the HMAC-SHA256 of the raw body under the secret.
func (c *Callback) verify(headers []string, body []byte) error {
	m := hmac.New(sha256.New, []byte(c.o.Secret.Reveal()))
	m.Write(body)
	want := m.Sum(nil)
	seen := false
	for _, h := range headers {
		for _, sig := range strings.Split(h, ",") {
			v, ok := strings.CutPrefix(strings.TrimSpace(sig), "v1=")
			if !ok {
				continue
			}
			seen = true
			if got, err := hex.DecodeString(v); err == nil && hmac.Equal(got, want) {
				return nil
			}
		}
	}
	if !seen {
		return fmt.Errorf("%w: no v1 signature in %s", sink.ErrUnauthenticated, SignatureHeader)
	}
	return fmt.Errorf("%w: %s does not sign the body", sink.ErrUnauthenticated, SignatureHeader)
}
