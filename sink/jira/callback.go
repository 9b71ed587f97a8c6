package jira

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/sink"
	"github.com/alertbridge/alertbridge/sink/message"
)

// account is a Jira user: Cloud names it by accountId, Data Center by
// name and key.
type account struct {
	AccountID    string `json:"accountId"`
	Name         string `json:"name"`
	Key          string `json:"key"`
	DisplayName  string `json:"displayName"`
	EmailAddress string `json:"emailAddress"`
}

// learnAccount asks Jira once which account the sink acts as, when it
// takes callbacks: the webhooks of its own transitions are skipped. A
// failure is not the delivery's: it is asked again next time.
func (s *Sink) learnAccount(ctx context.Context) {
	if s.o.WebhookSecret.IsZero() || s.me.Load() != nil {
		return
	}
	var me account
	if err := s.do(ctx, http.MethodGet, "/rest/api/2/myself", nil, nil, &me); err != nil {
		s.log.Debug("who am i in jira", "err", err)
		return
	}
	s.remember(&me)
}

// remember keeps the account the sink acts as (also learnt from the
// author of its comments).
func (s *Sink) remember(a *account) {
	if a != nil && (a.AccountID != "" || a.Key != "" || a.Name != "") {
		s.me.Store(a)
	}
}

// isMe reports whether a is the account the sink acts as.
func (s *Sink) isMe(a *account) bool {
	if a == nil {
		return false
	}
	if s.o.Username != "" && a.EmailAddress != "" && strings.EqualFold(a.EmailAddress, s.o.Username) {
		return true
	}
	me := s.me.Load()
	if me == nil {
		return false
	}
	return (me.AccountID != "" && a.AccountID == me.AccountID) || (me.Key != "" && a.Key == me.Key) ||
		(me.Name != "" && a.Name == me.Name)
}

// retryWindow is how late Jira delivers a webhook it retries (up to 30
// minutes after the event, by Atlassian's documentation), with a margin:
// the body's signed timestamp may be that old.
const retryWindow = 45 * time.Minute

// maxMessage bounds a comment taken onto the timeline.
const maxMessage = 8 << 10

// Callback authenticates a Jira webhook by its X-Hub-Signature (sha256=
// and the hex HMAC-SHA256 of the body under the webhook's secret, as Jira
// Cloud and Data Center send it), refuses one whose signed timestamp is
// more than the retry window old or MaxSkew ahead, and maps its event:
// jira:issue_updated moving an issue of the project to a done status
// resolves (to an in-progress status acknowledges, when an acknowledge
// transition is configured); comment_created comments, unless the comment
// is the sink's own. The nonce is Jira's X-Atlassian-Webhook-Identifier
// (the same on its retries), else the signature.
func (s *Sink) Callback(r *http.Request, body []byte, now time.Time) (sink.Callback, error) {
	if s.o.WebhookSecret.IsZero() {
		return sink.Callback{}, fmt.Errorf("%w: no webhook secret configured", sink.ErrUnauthenticated)
	}
	sig, err := verify([]byte(s.o.WebhookSecret.Reveal()), r.Header.Get("X-Hub-Signature"), body)
	if err != nil {
		return sink.Callback{}, err
	}
	p, err := decodeWebhook(body)
	if err != nil {
		return sink.Callback{}, err
	}
	skew := s.o.MaxSkew
	ts := p.time()
	switch {
	case ts.IsZero():
		return sink.Callback{}, fmt.Errorf("%w: webhook has no timestamp", sink.ErrUnauthenticated)
	case ts.Before(now.Add(-retryWindow-skew)) || ts.After(now.Add(skew)):
		return sink.Callback{}, fmt.Errorf("%w: webhook timestamp %s too far from now", sink.ErrUnauthenticated,
			ts.UTC().Format(time.RFC3339))
	}
	actions := s.actions(p)
	if len(actions) == 0 {
		return sink.Callback{}, nil
	}
	nonce := strings.TrimSpace(r.Header.Get("X-Atlassian-Webhook-Identifier"))
	if nonce == "" {
		nonce = "sha256=" + sig
	}
	// Remembered for as long as the timestamp is accepted.
	return sink.Callback{Nonce: nonce, Expires: ts.Add(retryWindow + 2*skew), Actions: actions}, nil
}

// verify checks a "sha256=<hex>" signature of body and returns its hex.
func verify(key []byte, header string, body []byte) (string, error) {
	header = strings.TrimSpace(header)
	if header == "" {
		return "", fmt.Errorf("%w: no X-Hub-Signature", sink.ErrUnauthenticated)
	}
	method, sig, ok := strings.Cut(header, "=")
	if !ok || !strings.EqualFold(method, "sha256") {
		return "", fmt.Errorf("%w: X-Hub-Signature is not sha256=<hex>", sink.ErrUnauthenticated)
	}
	got, err := hex.DecodeString(sig)
	if err != nil {
		return "", fmt.Errorf("%w: X-Hub-Signature is not hex", sink.ErrUnauthenticated)
	}
	m := hmac.New(sha256.New, key)
	m.Write(body)
	if !hmac.Equal(got, m.Sum(nil)) {
		return "", fmt.Errorf("%w: X-Hub-Signature does not match", sink.ErrUnauthenticated)
	}
	return strings.ToLower(sig), nil
}

// webhook is the part of a Jira webhook body the callback reads.
type webhook struct {
	Timestamp    flexInt  `json:"timestamp"`
	WebhookEvent string   `json:"webhookEvent"`
	User         *account `json:"user"`
	Issue        *struct {
		Key    string `json:"key"`
		Fields struct {
			Status  *status `json:"status"`
			Project *struct {
				Key string `json:"key"`
			} `json:"project"`
		} `json:"fields"`
	} `json:"issue"`
	Changelog *struct {
		Items []struct {
			Field   string `json:"field"`
			FieldID string `json:"fieldId"`
		} `json:"items"`
	} `json:"changelog"`
	Comment *struct {
		Body   json.RawMessage `json:"body"`
		Author *account        `json:"author"`
	} `json:"comment"`
}

// decodeWebhook reads a webhook body.
func decodeWebhook(body []byte) (*webhook, error) {
	var p webhook
	if err := json.Unmarshal(body, &p); err != nil {
		return nil, fmt.Errorf("decode jira webhook: %w", err)
	}
	return &p, nil
}

// time is the webhook's timestamp (Unix milliseconds).
func (p *webhook) time() time.Time {
	if p.Timestamp <= 0 {
		return time.Time{}
	}
	return time.UnixMilli(int64(p.Timestamp))
}

func (p *webhook) statusChanged() bool {
	if p.Changelog == nil {
		return false
	}
	for _, it := range p.Changelog.Items {
		if it.FieldID == "status" || strings.EqualFold(it.Field, "status") {
			return true
		}
	}
	return false
}

// ourProject reports whether the webhook's issue is in the sink's project.
func (s *Sink) ourProject(p *webhook) bool {
	if p.Issue == nil || p.Issue.Key == "" {
		return false
	}
	if pr := p.Issue.Fields.Project; pr != nil && pr.Key != "" {
		return strings.EqualFold(pr.Key, s.o.Project)
	}
	prefix, _, ok := strings.Cut(p.Issue.Key, "-")
	return ok && strings.EqualFold(prefix, s.o.Project)
}

// actions maps a webhook to what alertbridge acts on.
func (s *Sink) actions(p *webhook) []sink.Action {
	if !s.ourProject(p) {
		return nil
	}
	key := p.Issue.Key
	switch p.WebhookEvent {
	case "jira:issue_updated":
		st := p.Issue.Fields.Status
		if st == nil || !p.statusChanged() || s.isMe(p.User) {
			return nil
		}
		a := sink.Action{ExternalID: key, User: userName(p.User),
			Message: fmt.Sprintf("%s moved to %s in Jira", key, st.Name)}
		switch st.StatusCategory.Key {
		case categoryDone:
			a.Action = incident.ActionResolve
		case categoryInProgress:
			if s.o.AcknowledgeTransition == "" {
				return nil
			}
			a.Action = incident.ActionAcknowledge
		default:
			return nil
		}
		return []sink.Action{a}
	case "comment_created":
		c := p.Comment
		if c == nil || s.isMe(c.Author) {
			return nil
		}
		text := strings.TrimSpace(bodyText(c.Body))
		if text == "" || message.Noted(text) {
			return nil
		}
		if len(text) > maxMessage {
			text = strings.ToValidUTF8(text[:maxMessage], "") + "…"
		}
		return []sink.Action{{ExternalID: key, Action: incident.ActionComment, User: userName(c.Author), Message: text}}
	}
	return nil
}

// userName is how a Jira user is named on the timeline.
func userName(a *account) string {
	switch {
	case a == nil:
		return ""
	case a.DisplayName != "":
		return a.DisplayName
	case a.AccountID != "":
		return a.AccountID
	}
	return a.Name
}

// bodyText is a comment's body as text: REST API v2 and webhooks give
// wiki markup as a string; API v3 gives an Atlassian Document, whose text
// nodes are joined, a line per block.
func bodyText(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return ""
	}
	var s string
	if raw[0] == '"' {
		if json.Unmarshal(raw, &s) == nil {
			return s
		}
		return ""
	}
	var doc adfNode
	if json.Unmarshal(raw, &doc) != nil {
		return ""
	}
	var b strings.Builder
	doc.text(&b)
	return strings.TrimSpace(b.String())
}

// adfNode is a node of an Atlassian Document.
type adfNode struct {
	Type    string    `json:"type"`
	Text    string    `json:"text"`
	Content []adfNode `json:"content"`
}

func (n *adfNode) text(b *strings.Builder) {
	b.WriteString(n.Text)
	for i := range n.Content {
		n.Content[i].text(b)
	}
	switch n.Type {
	case "paragraph", "heading", "listItem", "codeBlock", "blockquote", "hardBreak":
		b.WriteByte('\n')
	}
}

// flexInt is a JSON number that may come as a string.
type flexInt int64

func (f *flexInt) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "" || s == "null" {
		*f = 0
		return nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		if fl, ferr := strconv.ParseFloat(s, 64); ferr == nil {
			*f = flexInt(fl)
			return nil
		}
		return errors.New("timestamp is not a number")
	}
	*f = flexInt(v)
	return nil
}
