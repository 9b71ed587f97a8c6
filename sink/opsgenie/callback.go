package opsgenie

import (
	"crypto/sha256"
	"crypto/subtle"
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

// TokenHeader carries the shared token when the webhook cannot send it as
// Authorization: Bearer.
const TokenHeader = "X-Alertbridge-Token"

// NonceTTL is how long a webhook call is remembered against replays.
// Opsgenie signs nothing and sends no delivery id or timestamp the sink
// could check, so the window is a day: a redelivery comes well within it.
const NonceTTL = 24 * time.Hour

// CallbackOptions configures the Opsgenie callback.
type CallbackOptions struct {
	// Token is the shared token the Webhook integration sends in a custom
	// header.
	Token  secret.Value
	Logger *slog.Logger
}

// Callback authenticates the calls of Opsgenie's outgoing Webhook
// integration by a shared token (Authorization: Bearer <token>, or
// X-Alertbridge-Token) and turns a responder's acknowledge, close or note
// on an alert of ours into an Action.
type Callback struct {
	o   CallbackOptions
	log *slog.Logger
}

// NewCallback returns the callback of an Opsgenie sink.
func NewCallback(o CallbackOptions) (*Callback, error) {
	if o.Token.IsZero() {
		return nil, errors.New("opsgenie: no callback token")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Callback{o: o, log: o.Logger.With("component", "opsgenie_callback")}, nil
}

// webhook is the body of the Webhook integration's call: the action, a
// subset of the alert's fields, and where the action came from.
type webhook struct {
	Action string `json:"action"`
	Alert  struct {
		AlertID   string          `json:"alertId"`
		Alias     string          `json:"alias"`
		Username  string          `json:"username"`
		UserID    string          `json:"userId"`
		Note      string          `json:"note"`
		UpdatedAt json.RawMessage `json:"updatedAt"`
	} `json:"alert"`
	Source struct {
		Name string `json:"name"`
		Type string `json:"type"`
	} `json:"source"`
}

// actions are the alert actions the sink acts on.
var actions = map[string]incident.Action{
	"Acknowledge": incident.ActionAcknowledge,
	"Close":       incident.ActionResolve,
	"AddNote":     incident.ActionComment,
}

// Callback authenticates a call and says what it asks for. The sink's own
// requests carry the user and source "alertbridge", and Opsgenie reports
// them to the webhook too: they are not acted on, so that a late "Close"
// of the sink's own close cannot resolve an incident that reopened since.
func (c *Callback) Callback(r *http.Request, body []byte, now time.Time) (sink.Callback, error) {
	if err := c.authenticate(r.Header); err != nil {
		return sink.Callback{}, err
	}
	var w webhook
	if err := json.Unmarshal(body, &w); err != nil {
		return sink.Callback{}, fmt.Errorf("decode webhook: %w", err)
	}
	cb := sink.Callback{Nonce: nonce(w, body), Expires: now.Add(NonceTTL)}
	act, ok := actions[w.Action]
	if !ok {
		return cb, nil
	}
	if strings.EqualFold(w.Alert.Username, Source) || strings.EqualFold(w.Source.Name, Source) {
		c.log.Debug("callback ignored: the sink's own action", "action", w.Action, "alias", w.Alert.Alias)
		return cb, nil
	}
	if w.Alert.Alias == "" {
		c.log.Debug("callback ignored: no alias", "action", w.Action)
		return cb, nil
	}
	a := sink.Action{Action: act, User: w.Alert.Username, Message: strings.TrimSpace(w.Alert.Note)}
	if a.User == "" {
		a.User = w.Alert.UserID
	}
	keyed.Name(&a, w.Alert.Alias)
	if act == incident.ActionComment && a.Message == "" {
		return cb, nil
	}
	cb.Actions = []sink.Action{a}
	return cb, nil
}

// nonce identifies a call: the alert, the action, the alert's updatedAt
// and the whole body, so that the same call sent again is known and two
// notes added in one instant are not.
func nonce(w webhook, body []byte) string {
	h := sha256.New()
	for _, s := range []string{w.Alert.AlertID, w.Action, string(w.Alert.UpdatedAt)} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

// authenticate checks the shared token, in constant time: comparing the
// tokens' SHA-256 sums hides their lengths too.
func (c *Callback) authenticate(h http.Header) error {
	var got []string
	if v, ok := cutPrefixFold(h.Get("Authorization"), "Bearer "); ok {
		got = append(got, v)
	}
	if v := h.Get(TokenHeader); v != "" {
		got = append(got, v)
	}
	if len(got) == 0 {
		return fmt.Errorf("%w: no token (Authorization: Bearer, or %s)", sink.ErrUnauthenticated, TokenHeader)
	}
	want := sha256.Sum256([]byte(c.o.Token.Reveal()))
	for _, g := range got {
		sum := sha256.Sum256([]byte(strings.TrimSpace(g)))
		if subtle.ConstantTimeCompare(sum[:], want[:]) == 1 {
			return nil
		}
	}
	return fmt.Errorf("%w: wrong token", sink.ErrUnauthenticated)
}

// cutPrefixFold is strings.CutPrefix with the prefix in any case.
func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) < len(prefix) || !strings.EqualFold(s[:len(prefix)], prefix) {
		return "", false
	}
	return s[len(prefix):], true
}
