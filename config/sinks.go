package config

import (
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/alertmanager/matcher/compat"
	"github.com/prometheus/alertmanager/pkg/labels"
	"github.com/prometheus/common/model"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/internal/secret"
	"github.com/alertbridge/alertbridge/internal/yamlfile"
	"github.com/alertbridge/alertbridge/sink/message"
)

// SinkType is the tool a sink delivers to.
type SinkType string

// The sink types: each is the key of its settings block in a sink.
const (
	SinkWebhook    SinkType = "webhook"
	SinkSlack      SinkType = "slack"
	SinkJira       SinkType = "jira"
	SinkServiceNow SinkType = "servicenow"
	SinkPagerDuty  SinkType = "pagerduty"
	SinkOpsgenie   SinkType = "opsgenie"
	SinkEmail      SinkType = "email"
)

// SinkTypes lists every sink type, in documentation order.
var SinkTypes = []SinkType{SinkWebhook, SinkSlack, SinkJira, SinkServiceNow, SinkPagerDuty, SinkOpsgenie, SinkEmail}

// Defaults of the sinks' settings.
const (
	DefaultSinkMaxAge          = 24 * time.Hour
	DefaultSinkTimeout         = 10 * time.Second
	DefaultSinkConcurrency     = 4
	DefaultSinkInitialBackoff  = time.Second
	DefaultSinkMaxBackoff      = 10 * time.Minute
	DefaultSinkBreakerFailures = 5
	DefaultSinkBreakerTimeout  = time.Minute
	DefaultMaxPending          = 10000
	DefaultDeadLetterRetention = 7 * 24 * time.Hour

	DefaultWebhookFormat      = "alertbridge/v1"
	DefaultSlackAPIURL        = "https://slack.com/api/"
	DefaultJiraIssueType      = "Task"
	DefaultJiraResolve        = "Done"
	DefaultServiceNowTable    = "incident"
	DefaultServiceNowClose    = "Solved (Permanently)"
	DefaultPagerDutyURL       = "https://events.pagerduty.com/v2/enqueue"
	DefaultOpsgenieURL        = "https://api.opsgenie.com"
	DefaultEmailTLS           = "starttls"
	DefaultCallbackMaxSkew    = 5 * time.Minute
	defaultSinkSubjectOrTitle = `[{{ .Incident.Priority }}] {{ .Incident.Title }}`
)

// Sink is one configured tool that hears of incidents.
type Sink struct {
	// Name identifies the sink: in notification policies, metrics, the
	// outbox and the callback path /ingest/callbacks/<name>.
	Name string
	Type SinkType
	// Delivery says how notifications are retried.
	Delivery Delivery
	// Exactly one of these is set, the one of Type.
	Webhook    *WebhookSink
	Slack      *SlackSink
	Jira       *JiraSink
	ServiceNow *ServiceNowSink
	PagerDuty  *PagerDutySink
	Opsgenie   *OpsgenieSink
	Email      *EmailSink
}

// Delivery is how one sink's notifications are delivered and retried.
type Delivery struct {
	// MaxAge is how long a notification is retried before it becomes a
	// dead letter.
	MaxAge time.Duration
	// Timeout bounds one attempt.
	Timeout time.Duration
	// Concurrency is how many incidents' notifications go out at once.
	Concurrency int
	// InitialBackoff and MaxBackoff bound the backoff between attempts.
	InitialBackoff, MaxBackoff time.Duration
	// BreakerFailures consecutive failures open the circuit breaker, which
	// lets one probe through after BreakerTimeout.
	BreakerFailures int
	BreakerTimeout  time.Duration
}

// Callback is how a tool's calls back are authenticated: a shared secret
// (a signing secret, a token), and how far a signed timestamp may be from
// the daemon's clock.
type Callback struct {
	Secret  secret.Value
	MaxSkew time.Duration
}

// Enabled reports whether callbacks are configured.
func (c *Callback) Enabled() bool { return c != nil && !c.Secret.IsZero() }

// WebhookSink posts a JSON body to a URL, signed as alertbridge's own HMAC
// sources verify.
type WebhookSink struct {
	URL string
	// Format is "alertbridge/v1" (docs/sinks.md) or "events", the body of
	// another alertbridge's /ingest/events, to chain two.
	Format string
	// Secret signs the body (HMAC-SHA256 over "<timestamp>.<body>"); zero:
	// unsigned.
	Secret                  secret.Value
	Header, TimestampHeader string
	// Bearer, when set, is sent as Authorization: Bearer.
	Bearer secret.Value
}

// SlackSink keeps one Slack message per incident.
type SlackSink struct {
	APIURL  string
	Token   secret.Value
	Channel string
	// ThreadReplies posts timeline events as replies in the message's thread.
	ThreadReplies bool
	Title         *message.Template
	// Callback verifies interactive requests (buttons) with the app's
	// signing secret; nil: no buttons.
	Callback *Callback
}

// JiraSink keeps one Jira issue per incident.
type JiraSink struct {
	URL string
	// Cloud: basic auth with Username (an e-mail) and APIToken. Data
	// Center: a personal access token as a bearer token.
	Username            string
	APIToken            secret.Value
	PersonalAccessToken secret.Value
	Project             string
	IssueType           string
	Summary             *message.Template
	Description         *message.Template
	// Fields are more fields to set on create, each a template rendering
	// the field's value as a string.
	Fields map[string]*message.Template
	// Priorities maps our priorities (P1…P5) to Jira priority names.
	Priorities map[string]string
	// Labels are added to the issue's label alertbridge-<incident id>.
	Labels []string
	// Transitions are the names of the workflow transitions to take;
	// "" skips that change.
	ResolveTransition, ReopenTransition, AcknowledgeTransition string
	// Callback verifies Jira's webhook (its secret); nil: none.
	Callback *Callback
}

// ServiceNowSink keeps one record per incident in a ServiceNow table.
type ServiceNowSink struct {
	URL      string
	Table    string
	Username string
	Password secret.Value
	// Bearer is an OAuth token sent instead of basic auth.
	Bearer          secret.Value
	AssignmentGroup string
	CallerID        string
	Category        string
	CloseCode       string
	ShortDesc       *message.Template
	Description     *message.Template
	CloseNotes      *message.Template
	// Callback verifies the business rule's calls (a shared token).
	Callback *Callback
}

// PagerDutySink sends PagerDuty Events API v2 events.
type PagerDutySink struct {
	URL        string
	RoutingKey secret.Value
	Summary    *message.Template
	// Callback verifies PagerDuty v3 webhook signatures.
	Callback *Callback
}

// OpsgenieSink manages Opsgenie alerts through the Alert API.
type OpsgenieSink struct {
	URL     string
	APIKey  secret.Value
	Message *message.Template
	// Tags are added to every alert.
	Tags []string
	// Callback verifies the webhook integration's calls (a shared token).
	Callback *Callback
}

// EmailSink sends one thread of e-mails per incident.
type EmailSink struct {
	// Smarthost is host:port of the SMTP server.
	Smarthost string
	From      string
	To        []string
	Hello     string
	Username  string
	Password  secret.Value
	// TLS is "starttls" (required), "starttls_optional", "tls" (implicit
	// TLS) or "none".
	TLS                string
	CAFile             string
	InsecureSkipVerify bool
	Subject, Text      *message.Template
	HTML               *message.Template
}

// Notifications is the notifications section: which changes go to which
// sinks, and how the outbox is bounded.
type Notifications struct {
	// Policies are tried in order; none sends every change to every sink.
	Policies []Policy
	// MaxPending bounds a sink's waiting notifications before updates that
	// only say an incident changed are folded into one already waiting.
	MaxPending int
	// DeadLetterRetention is how long dead letters are kept for replay.
	DeadLetterRetention time.Duration
}

// Policy sends some changes of some incidents to some sinks.
type Policy struct {
	Sinks    []string
	Matchers labels.Matchers
	Kinds    []incident.NotifyKind
	Continue bool
}

type sinkSpec struct {
	Name        yamlfile.Value[string]             `yaml:"name"`
	MaxAge      yamlfile.Value[string]             `yaml:"max_age"`
	Timeout     yamlfile.Value[string]             `yaml:"timeout"`
	Concurrency yamlfile.Value[*int]               `yaml:"concurrency"`
	Backoff     yamlfile.Value[*backoffSpec]       `yaml:"backoff"`
	Breaker     yamlfile.Value[*breakerSpec]       `yaml:"breaker"`
	Webhook     yamlfile.Value[*webhookSpec]       `yaml:"webhook"`
	Slack       yamlfile.Value[*slackSpec]         `yaml:"slack"`
	Jira        yamlfile.Value[*jiraSpec]          `yaml:"jira"`
	ServiceNow  yamlfile.Value[*serviceNowSpec]    `yaml:"servicenow"`
	PagerDuty   yamlfile.Value[*pagerDutySinkSpec] `yaml:"pagerduty"`
	Opsgenie    yamlfile.Value[*opsgenieSpec]      `yaml:"opsgenie"`
	Email       yamlfile.Value[*emailSpec]         `yaml:"email"`
}

type backoffSpec struct {
	Initial yamlfile.Value[string] `yaml:"initial"`
	Max     yamlfile.Value[string] `yaml:"max"`
}

type breakerSpec struct {
	Failures yamlfile.Value[*int]   `yaml:"failures"`
	Timeout  yamlfile.Value[string] `yaml:"timeout"`
}

// Each secret is inline, from a file (*_file) or from an environment
// variable (*_env); the key names differ per setting, so each spells them.
type webhookSpec struct {
	URL             yamlfile.Value[string] `yaml:"url"`
	Format          yamlfile.Value[string] `yaml:"format"`
	Secret          yamlfile.Value[string] `yaml:"secret"`
	SecretFile      yamlfile.Value[string] `yaml:"secret_file"`
	SecretEnv       yamlfile.Value[string] `yaml:"secret_env"`
	Header          yamlfile.Value[string] `yaml:"header"`
	TimestampHeader yamlfile.Value[string] `yaml:"timestamp_header"`
	Bearer          guarded[bearerSpec]    `yaml:"bearer"`
}

type slackSpec struct {
	APIURL            yamlfile.Value[string] `yaml:"api_url"`
	Token             yamlfile.Value[string] `yaml:"token"`
	TokenFile         yamlfile.Value[string] `yaml:"token_file"`
	TokenEnv          yamlfile.Value[string] `yaml:"token_env"`
	Channel           yamlfile.Value[string] `yaml:"channel"`
	ThreadReplies     yamlfile.Value[*bool]  `yaml:"thread_replies"`
	Title             yamlfile.Value[string] `yaml:"title"`
	SigningSecret     yamlfile.Value[string] `yaml:"signing_secret"`
	SigningSecretFile yamlfile.Value[string] `yaml:"signing_secret_file"`
	SigningSecretEnv  yamlfile.Value[string] `yaml:"signing_secret_env"`
}

type jiraSpec struct {
	URL                     yamlfile.Value[string]            `yaml:"url"`
	Username                yamlfile.Value[string]            `yaml:"username"`
	APIToken                yamlfile.Value[string]            `yaml:"api_token"`
	APITokenFile            yamlfile.Value[string]            `yaml:"api_token_file"`
	APITokenEnv             yamlfile.Value[string]            `yaml:"api_token_env"`
	PersonalAccessToken     yamlfile.Value[string]            `yaml:"personal_access_token"`
	PersonalAccessTokenFile yamlfile.Value[string]            `yaml:"personal_access_token_file"`
	PersonalAccessTokenEnv  yamlfile.Value[string]            `yaml:"personal_access_token_env"`
	Project                 yamlfile.Value[string]            `yaml:"project"`
	IssueType               yamlfile.Value[string]            `yaml:"issue_type"`
	Summary                 yamlfile.Value[string]            `yaml:"summary"`
	Description             yamlfile.Value[string]            `yaml:"description"`
	Fields                  map[string]yamlfile.Value[string] `yaml:"fields"`
	Priorities              map[string]yamlfile.Value[string] `yaml:"priorities"`
	Labels                  []yamlfile.Value[string]          `yaml:"labels"`
	Transitions             yamlfile.Value[*transitionsSpec]  `yaml:"transitions"`
	WebhookSecret           yamlfile.Value[string]            `yaml:"webhook_secret"`
	WebhookSecretFile       yamlfile.Value[string]            `yaml:"webhook_secret_file"`
	WebhookSecretEnv        yamlfile.Value[string]            `yaml:"webhook_secret_env"`
}

type transitionsSpec struct {
	Resolve     yamlfile.Value[*string] `yaml:"resolve"`
	Reopen      yamlfile.Value[*string] `yaml:"reopen"`
	Acknowledge yamlfile.Value[*string] `yaml:"acknowledge"`
}

type serviceNowSpec struct {
	URL               yamlfile.Value[string] `yaml:"url"`
	Table             yamlfile.Value[string] `yaml:"table"`
	Username          yamlfile.Value[string] `yaml:"username"`
	Password          yamlfile.Value[string] `yaml:"password"`
	PasswordFile      yamlfile.Value[string] `yaml:"password_file"`
	PasswordEnv       yamlfile.Value[string] `yaml:"password_env"`
	Bearer            guarded[bearerSpec]    `yaml:"bearer"`
	AssignmentGroup   yamlfile.Value[string] `yaml:"assignment_group"`
	CallerID          yamlfile.Value[string] `yaml:"caller_id"`
	Category          yamlfile.Value[string] `yaml:"category"`
	CloseCode         yamlfile.Value[string] `yaml:"close_code"`
	ShortDescription  yamlfile.Value[string] `yaml:"short_description"`
	Description       yamlfile.Value[string] `yaml:"description"`
	CloseNotes        yamlfile.Value[string] `yaml:"close_notes"`
	CallbackToken     yamlfile.Value[string] `yaml:"callback_token"`
	CallbackTokenFile yamlfile.Value[string] `yaml:"callback_token_file"`
	CallbackTokenEnv  yamlfile.Value[string] `yaml:"callback_token_env"`
}

type pagerDutySinkSpec struct {
	URL               yamlfile.Value[string] `yaml:"url"`
	RoutingKey        yamlfile.Value[string] `yaml:"routing_key"`
	RoutingKeyFile    yamlfile.Value[string] `yaml:"routing_key_file"`
	RoutingKeyEnv     yamlfile.Value[string] `yaml:"routing_key_env"`
	Summary           yamlfile.Value[string] `yaml:"summary"`
	WebhookSecret     yamlfile.Value[string] `yaml:"webhook_secret"`
	WebhookSecretFile yamlfile.Value[string] `yaml:"webhook_secret_file"`
	WebhookSecretEnv  yamlfile.Value[string] `yaml:"webhook_secret_env"`
}

type opsgenieSpec struct {
	URL               yamlfile.Value[string]   `yaml:"url"`
	APIKey            yamlfile.Value[string]   `yaml:"api_key"`
	APIKeyFile        yamlfile.Value[string]   `yaml:"api_key_file"`
	APIKeyEnv         yamlfile.Value[string]   `yaml:"api_key_env"`
	Message           yamlfile.Value[string]   `yaml:"message"`
	Tags              []yamlfile.Value[string] `yaml:"tags"`
	CallbackToken     yamlfile.Value[string]   `yaml:"callback_token"`
	CallbackTokenFile yamlfile.Value[string]   `yaml:"callback_token_file"`
	CallbackTokenEnv  yamlfile.Value[string]   `yaml:"callback_token_env"`
}

type emailSpec struct {
	Smarthost          yamlfile.Value[string]   `yaml:"smarthost"`
	From               yamlfile.Value[string]   `yaml:"from"`
	To                 []yamlfile.Value[string] `yaml:"to"`
	Hello              yamlfile.Value[string]   `yaml:"hello"`
	Username           yamlfile.Value[string]   `yaml:"username"`
	Password           yamlfile.Value[string]   `yaml:"password"`
	PasswordFile       yamlfile.Value[string]   `yaml:"password_file"`
	PasswordEnv        yamlfile.Value[string]   `yaml:"password_env"`
	TLS                yamlfile.Value[string]   `yaml:"tls"`
	CAFile             yamlfile.Value[string]   `yaml:"ca_file"`
	InsecureSkipVerify yamlfile.Value[bool]     `yaml:"insecure_skip_verify"`
	Subject            yamlfile.Value[string]   `yaml:"subject"`
	Text               yamlfile.Value[string]   `yaml:"text"`
	HTML               yamlfile.Value[string]   `yaml:"html"`
}

type notificationsSpec struct {
	Policies            []yamlfile.Value[policySpec] `yaml:"policies"`
	MaxPending          yamlfile.Value[*int]         `yaml:"max_pending"`
	DeadLetterRetention yamlfile.Value[string]       `yaml:"dead_letter_retention"`
}

type policySpec struct {
	Sinks    []yamlfile.Value[string] `yaml:"sinks"`
	Matchers []yamlfile.Value[string] `yaml:"matchers"`
	Kinds    []yamlfile.Value[string] `yaml:"kinds"`
	Continue yamlfile.Value[bool]     `yaml:"continue"`
}

// sinkNameRE is what a sink's name may be: it is a path segment of its
// callback URL and a metric label.
var sinkNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

var parsePolicyMatcher = compat.FallbackMatcherParser(slog.New(slog.DiscardHandler))

// sinks checks the sinks section and builds it.
func (v *validator) sinks(specs []yamlfile.Value[sinkSpec]) []Sink {
	var out []Sink
	names := map[string]yamlfile.Pos{}
	for i, sv := range specs {
		s := sv.V
		prefix := "sink #" + strconv.Itoa(i+1) + ": "
		var sk Sink
		switch {
		case s.Name.V == "":
			v.add(sv.Pos, "%sname: required", prefix)
		case !sinkNameRE.MatchString(s.Name.V):
			v.add(s.Name.Pos, "%sname: %q must be 1 to 63 lower-case letters, digits, '_' or '-', starting with a letter or digit", prefix, s.Name.V)
		default:
			if first, dup := names[s.Name.V]; dup {
				v.add(s.Name.Pos, "sink %q: duplicate name, first at line %d", s.Name.V, first.Line)
			}
			names[s.Name.V] = s.Name.Pos
			prefix = "sink " + strconv.Quote(s.Name.V) + ": "
			sk.Name = s.Name.V
		}
		sk.Delivery = v.delivery(&s, prefix)
		n := 0
		if b := s.Webhook; b.V != nil {
			n++
			sk.Type, sk.Webhook = SinkWebhook, v.webhook(b.V, b.Pos, prefix+"webhook: ")
		}
		if b := s.Slack; b.V != nil {
			n++
			sk.Type, sk.Slack = SinkSlack, v.slack(b.V, b.Pos, prefix+"slack: ")
		}
		if b := s.Jira; b.V != nil {
			n++
			sk.Type, sk.Jira = SinkJira, v.jira(b.V, b.Pos, prefix+"jira: ")
		}
		if b := s.ServiceNow; b.V != nil {
			n++
			sk.Type, sk.ServiceNow = SinkServiceNow, v.serviceNow(b.V, b.Pos, prefix+"servicenow: ")
		}
		if b := s.PagerDuty; b.V != nil {
			n++
			sk.Type, sk.PagerDuty = SinkPagerDuty, v.pagerDuty(b.V, b.Pos, prefix+"pagerduty: ")
		}
		if b := s.Opsgenie; b.V != nil {
			n++
			sk.Type, sk.Opsgenie = SinkOpsgenie, v.opsgenie(b.V, b.Pos, prefix+"opsgenie: ")
		}
		if b := s.Email; b.V != nil {
			n++
			sk.Type, sk.Email = SinkEmail, v.email(b.V, b.Pos, prefix+"email: ")
		}
		switch {
		case n == 0:
			v.add(sv.Pos, "%sset one of %s", prefix, sinkTypeList())
		case n > 1:
			v.add(sv.Pos, "%sset only one of %s", prefix, sinkTypeList())
		}
		out = append(out, sk)
	}
	return out
}

func sinkTypeList() string {
	s := make([]string, len(SinkTypes))
	for i, t := range SinkTypes {
		s[i] = string(t)
	}
	return strings.Join(s, ", ")
}

func (v *validator) delivery(s *sinkSpec, prefix string) Delivery {
	d := Delivery{
		MaxAge:          v.duration(s.MaxAge, prefix+"max_age", DefaultSinkMaxAge),
		Timeout:         v.duration(s.Timeout, prefix+"timeout", DefaultSinkTimeout),
		Concurrency:     DefaultSinkConcurrency,
		InitialBackoff:  DefaultSinkInitialBackoff,
		MaxBackoff:      DefaultSinkMaxBackoff,
		BreakerFailures: DefaultSinkBreakerFailures,
		BreakerTimeout:  DefaultSinkBreakerTimeout,
	}
	if c := s.Concurrency; c.V != nil {
		d.Concurrency = *c.V
		if *c.V < 1 || *c.V > 64 {
			v.add(c.Pos, "%sconcurrency: must be 1 to 64", prefix)
		}
	}
	if b := s.Backoff.V; b != nil {
		d.InitialBackoff = v.duration(b.Initial, prefix+"backoff: initial", DefaultSinkInitialBackoff)
		d.MaxBackoff = v.duration(b.Max, prefix+"backoff: max", DefaultSinkMaxBackoff)
		if d.MaxBackoff < d.InitialBackoff {
			v.add(b.Max.Pos, "%sbackoff: max: must be at least initial", prefix)
		}
	}
	if b := s.Breaker.V; b != nil {
		if f := b.Failures; f.V != nil {
			d.BreakerFailures = *f.V
			if *f.V < 1 {
				v.add(f.Pos, "%sbreaker: failures: must be at least 1", prefix)
			}
		}
		d.BreakerTimeout = v.duration(b.Timeout, prefix+"breaker: timeout", DefaultSinkBreakerTimeout)
	}
	return d
}

// duration parses an optional positive duration; def when not written.
func (v *validator) duration(val yamlfile.Value[string], what string, def time.Duration) time.Duration {
	if val.V == "" {
		if val.IsSet() {
			v.add(val.Pos, "%s: empty duration", what)
		}
		return def
	}
	d, err := model.ParseDuration(val.V)
	switch {
	case err != nil:
		v.add(val.Pos, "%s: %v", what, err)
		return def
	case d <= 0:
		v.add(val.Pos, "%s: must be greater than 0", what)
		return def
	}
	return time.Duration(d)
}

// httpURL checks a URL the daemon will call; def when not written and not
// required.
func (v *validator) httpURL(val yamlfile.Value[string], pos yamlfile.Pos, what, def string) string {
	s := val.V
	if s == "" {
		if def == "" {
			if val.IsSet() {
				pos = val.Pos
			}
			v.add(pos, "%s: required", what)
		}
		return def
	}
	u, err := url.Parse(s)
	switch {
	case err != nil:
		v.add(val.Pos, "%s: %v", what, err)
	case u.Scheme != "http" && u.Scheme != "https":
		v.add(val.Pos, "%s: %q must be an http or https URL", what, s)
	case u.Host == "":
		v.add(val.Pos, "%s: %q has no host", what, s)
	case u.User != nil:
		v.add(val.Pos, "%s: credentials do not belong in the URL; use the sink's secret settings", what)
	}
	return s
}

// optSecret reads a secret that may be absent: zero when none of its keys
// is written.
func (v *validator) optSecret(prefix string, pos yamlfile.Pos, key string, vals []yamlfile.Value[string]) secret.Value {
	if _, set := firstSet(vals); !set {
		return secret.Value{}
	}
	return v.secret(prefix, pos, key, vals)
}

// template compiles a message template; def when not written.
func (v *validator) template(val yamlfile.Value[string], what, name, def string) *message.Template {
	return v.compile(message.Compile, val, what, name, def)
}

// htmlTemplate is template for HTML output (an e-mail's HTML part): it
// runs under html/template, so values are escaped where they land.
func (v *validator) htmlTemplate(val yamlfile.Value[string], what, name, def string) *message.Template {
	return v.compile(message.CompileHTML, val, what, name, def)
}

func (v *validator) compile(compile func(name, text string) (*message.Template, error), val yamlfile.Value[string],
	what, name, def string,
) *message.Template {
	text := val.V
	if !val.IsSet() || strings.TrimSpace(text) == "" {
		if val.IsSet() {
			v.add(val.Pos, "%s: empty template", what)
		}
		if def == "" {
			return nil
		}
		t, err := compile(name, def)
		if err != nil {
			// A built-in default that does not compile is a bug that any
			// test loading a config finds.
			panic(fmt.Sprintf("default %s template: %v", name, err))
		}
		return t
	}
	t, err := compile(name, text)
	if err != nil {
		v.add(val.Pos, "%s: %v", what, err)
		return nil
	}
	return t
}

func (v *validator) callback(prefix string, pos yamlfile.Pos, key string, vals []yamlfile.Value[string]) *Callback {
	s := v.optSecret(prefix, pos, key, vals)
	if s.IsZero() {
		return nil
	}
	return &Callback{Secret: s, MaxSkew: DefaultCallbackMaxSkew}
}

func (v *validator) webhook(w *webhookSpec, pos yamlfile.Pos, prefix string) *WebhookSink {
	out := &WebhookSink{
		URL:    v.httpURL(w.URL, pos, prefix+"url", ""),
		Format: orDefault(w.Format.V, DefaultWebhookFormat),
		Secret: v.optSecret(prefix, pos, "secret", []yamlfile.Value[string]{w.Secret, w.SecretFile, w.SecretEnv}),
		Header: orDefault(w.Header.V, DefaultHMACHeader), TimestampHeader: orDefault(w.TimestampHeader.V, DefaultHMACTimestampHeader),
	}
	if out.Format != DefaultWebhookFormat && out.Format != "events" {
		v.add(w.Format.Pos, "%sformat: %q must be %s or events", prefix, out.Format, DefaultWebhookFormat)
	}
	for _, hd := range []struct {
		key string
		val yamlfile.Value[string]
	}{{"header", w.Header}, {"timestamp_header", w.TimestampHeader}} {
		if hd.val.V != "" && !validHeaderName(hd.val.V) {
			v.add(hd.val.Pos, "%s%s: %q is not a valid HTTP header name", prefix, hd.key, hd.val.V)
		}
	}
	if strings.EqualFold(out.Header, out.TimestampHeader) {
		v.add(w.TimestampHeader.Pos, "%stimestamp_header: must differ from header", prefix)
	}
	if b, _, ok := method(v, w.Bearer, prefix, "bearer", "token, token_file or token_env"); ok {
		out.Bearer = v.bearer(b, w.Bearer.Pos, prefix).Token
	}
	return out
}

func (v *validator) slack(s *slackSpec, pos yamlfile.Pos, prefix string) *SlackSink {
	out := &SlackSink{
		APIURL:        v.httpURL(s.APIURL, pos, prefix+"api_url", DefaultSlackAPIURL),
		Token:         v.secret(prefix, pos, "token", []yamlfile.Value[string]{s.Token, s.TokenFile, s.TokenEnv}),
		Channel:       s.Channel.V,
		ThreadReplies: true,
		Title:         v.template(s.Title, prefix+"title", "title", defaultSinkSubjectOrTitle),
		Callback: v.callback(prefix, pos, "signing_secret",
			[]yamlfile.Value[string]{s.SigningSecret, s.SigningSecretFile, s.SigningSecretEnv}),
	}
	if !strings.HasSuffix(out.APIURL, "/") {
		out.APIURL += "/"
	}
	if s.ThreadReplies.V != nil {
		out.ThreadReplies = *s.ThreadReplies.V
	}
	if out.Channel == "" {
		v.add(pos, "%schannel: required", prefix)
	}
	return out
}

// ourPriorities are the keys of jira.priorities.
var ourPriorities = []string{"P1", "P2", "P3", "P4", "P5"}

func (v *validator) jira(j *jiraSpec, pos yamlfile.Pos, prefix string) *JiraSink {
	out := &JiraSink{
		URL:       strings.TrimSuffix(v.httpURL(j.URL, pos, prefix+"url", ""), "/"),
		Username:  j.Username.V,
		Project:   j.Project.V,
		IssueType: orDefault(j.IssueType.V, DefaultJiraIssueType),
		Summary:   v.template(j.Summary, prefix+"summary", "summary", defaultSinkSubjectOrTitle),
		Description: v.template(j.Description, prefix+"description", "description",
			"{{ .Incident.Summary }}\n\nService: {{ .Incident.Service }}\nalertbridge incident #{{ .Incident.ID }} {{ .Incident.URL }}"),
		ResolveTransition: DefaultJiraResolve,
		Callback: v.callback(prefix, pos, "webhook_secret",
			[]yamlfile.Value[string]{j.WebhookSecret, j.WebhookSecretFile, j.WebhookSecretEnv}),
	}
	token := []yamlfile.Value[string]{j.APIToken, j.APITokenFile, j.APITokenEnv}
	pat := []yamlfile.Value[string]{j.PersonalAccessToken, j.PersonalAccessTokenFile, j.PersonalAccessTokenEnv}
	_, hasToken := firstSet(token)
	_, hasPAT := firstSet(pat)
	switch {
	case hasToken && hasPAT:
		v.add(pos, "%sset api_token (Jira Cloud, with username) or personal_access_token (Data Center), not both", prefix)
	case hasPAT:
		out.PersonalAccessToken = v.secret(prefix, pos, "personal_access_token", pat)
		if j.Username.V != "" {
			v.add(j.Username.Pos, "%susername: not used with personal_access_token", prefix)
		}
	default:
		out.APIToken = v.secret(prefix, pos, "api_token", token)
		if j.Username.V == "" {
			v.add(pos, "%susername: required with api_token (the account's e-mail address)", prefix)
		}
	}
	if out.Project == "" {
		v.add(pos, "%sproject: required", prefix)
	}
	if len(j.Fields) > 0 {
		out.Fields = map[string]*message.Template{}
		for k, val := range j.Fields {
			if k == "" || k == "project" || k == "issuetype" || k == "summary" || k == "description" || k == "labels" {
				v.add(val.Pos, "%sfields: %q is set by its own setting", prefix, k)
				continue
			}
			if t := v.template(val, prefix+"fields: "+k, k, ""); t != nil {
				out.Fields[k] = t
			}
		}
	}
	if len(j.Priorities) > 0 {
		out.Priorities = map[string]string{}
		for k, name := range j.Priorities {
			if !slices.Contains(ourPriorities, k) {
				v.add(name.Pos, "%spriorities: %q is not one of P1, P2, P3, P4, P5", prefix, k)
				continue
			}
			out.Priorities[k] = name.V
		}
	}
	for _, l := range j.Labels {
		if l.V == "" || strings.ContainsAny(l.V, " \t\n") {
			v.add(l.Pos, "%slabels: %q: a Jira label has no spaces", prefix, l.V)
			continue
		}
		out.Labels = append(out.Labels, l.V)
	}
	if t := j.Transitions.V; t != nil {
		if t.Resolve.V != nil {
			out.ResolveTransition = *t.Resolve.V
		}
		if t.Reopen.V != nil {
			out.ReopenTransition = *t.Reopen.V
		}
		if t.Acknowledge.V != nil {
			out.AcknowledgeTransition = *t.Acknowledge.V
		}
	}
	return out
}

func (v *validator) serviceNow(s *serviceNowSpec, pos yamlfile.Pos, prefix string) *ServiceNowSink {
	out := &ServiceNowSink{
		URL:             strings.TrimSuffix(v.httpURL(s.URL, pos, prefix+"url", ""), "/"),
		Table:           orDefault(s.Table.V, DefaultServiceNowTable),
		Username:        s.Username.V,
		AssignmentGroup: s.AssignmentGroup.V,
		CallerID:        s.CallerID.V,
		Category:        s.Category.V,
		CloseCode:       orDefault(s.CloseCode.V, DefaultServiceNowClose),
		ShortDesc:       v.template(s.ShortDescription, prefix+"short_description", "short_description", defaultSinkSubjectOrTitle),
		Description: v.template(s.Description, prefix+"description", "description",
			"{{ .Incident.Summary }}\n\nService: {{ .Incident.Service }}\nalertbridge incident #{{ .Incident.ID }} {{ .Incident.URL }}"),
		CloseNotes: v.template(s.CloseNotes, prefix+"close_notes", "close_notes",
			`Resolved in alertbridge{{ with .Entries }}{{ with index . 0 }}: {{ .Message }}{{ end }}{{ end }}`),
		Callback: v.callback(prefix, pos, "callback_token",
			[]yamlfile.Value[string]{s.CallbackToken, s.CallbackTokenFile, s.CallbackTokenEnv}),
	}
	if !regexp.MustCompile(`^[a-z0-9_]+$`).MatchString(out.Table) {
		v.add(s.Table.Pos, "%stable: %q is not a table name", prefix, out.Table)
	}
	pw := []yamlfile.Value[string]{s.Password, s.PasswordFile, s.PasswordEnv}
	_, hasPW := firstSet(pw)
	b, hasBearer, ok := method(v, s.Bearer, prefix, "bearer", "token, token_file or token_env")
	switch {
	case hasPW && hasBearer:
		v.add(pos, "%sset username and password, or bearer, not both", prefix)
	case hasBearer:
		if ok {
			out.Bearer = v.bearer(b, s.Bearer.Pos, prefix).Token
		}
	default:
		out.Password = v.secret(prefix, pos, "password", pw)
		if out.Username == "" {
			v.add(pos, "%susername: required with password", prefix)
		}
	}
	return out
}

func (v *validator) pagerDuty(p *pagerDutySinkSpec, pos yamlfile.Pos, prefix string) *PagerDutySink {
	return &PagerDutySink{
		URL:        v.httpURL(p.URL, pos, prefix+"url", DefaultPagerDutyURL),
		RoutingKey: v.secret(prefix, pos, "routing_key", []yamlfile.Value[string]{p.RoutingKey, p.RoutingKeyFile, p.RoutingKeyEnv}),
		Summary:    v.template(p.Summary, prefix+"summary", "summary", defaultSinkSubjectOrTitle),
		Callback: v.callback(prefix, pos, "webhook_secret",
			[]yamlfile.Value[string]{p.WebhookSecret, p.WebhookSecretFile, p.WebhookSecretEnv}),
	}
}

func (v *validator) opsgenie(o *opsgenieSpec, pos yamlfile.Pos, prefix string) *OpsgenieSink {
	out := &OpsgenieSink{
		URL:     strings.TrimSuffix(v.httpURL(o.URL, pos, prefix+"url", DefaultOpsgenieURL), "/"),
		APIKey:  v.secret(prefix, pos, "api_key", []yamlfile.Value[string]{o.APIKey, o.APIKeyFile, o.APIKeyEnv}),
		Message: v.template(o.Message, prefix+"message", "message", defaultSinkSubjectOrTitle),
		Callback: v.callback(prefix, pos, "callback_token",
			[]yamlfile.Value[string]{o.CallbackToken, o.CallbackTokenFile, o.CallbackTokenEnv}),
	}
	for _, t := range o.Tags {
		if t.V == "" {
			v.add(t.Pos, "%stags: empty tag", prefix)
			continue
		}
		out.Tags = append(out.Tags, t.V)
	}
	return out
}

// The e-mail sink's TLS modes.
var emailTLSModes = []string{"starttls", "starttls_optional", "tls", "none"}

func (v *validator) email(e *emailSpec, pos yamlfile.Pos, prefix string) *EmailSink {
	out := &EmailSink{
		Smarthost: e.Smarthost.V, From: e.From.V, Hello: orDefault(e.Hello.V, "localhost"),
		Username: e.Username.V, TLS: orDefault(e.TLS.V, DefaultEmailTLS), InsecureSkipVerify: e.InsecureSkipVerify.V,
		Subject: v.template(e.Subject, prefix+"subject", "subject",
			`[{{ .Incident.Priority }}] #{{ .Incident.ID }} {{ .Incident.Title }}`),
		Text: v.template(e.Text, prefix+"text", "text", defaultEmailText),
		HTML: v.htmlTemplate(e.HTML, prefix+"html", "html", defaultEmailHTML),
	}
	if _, _, err := net.SplitHostPort(out.Smarthost); err != nil {
		if out.Smarthost == "" {
			v.add(pos, "%ssmarthost: required (host:port)", prefix)
		} else {
			v.add(e.Smarthost.Pos, "%ssmarthost: %q must be host:port", prefix, out.Smarthost)
		}
	}
	if out.From == "" {
		v.add(pos, "%sfrom: required", prefix)
	}
	for _, t := range e.To {
		if t.V == "" || !strings.Contains(t.V, "@") {
			v.add(t.Pos, "%sto: %q is not an e-mail address", prefix, t.V)
			continue
		}
		out.To = append(out.To, t.V)
	}
	if len(e.To) == 0 {
		v.add(pos, "%sto: required: at least one address", prefix)
	}
	if !slices.Contains(emailTLSModes, out.TLS) {
		v.add(e.TLS.Pos, "%stls: %q must be one of %s", prefix, out.TLS, strings.Join(emailTLSModes, ", "))
	}
	if e.CAFile.V != "" {
		out.CAFile = v.path(e.CAFile.V)
	}
	pw := []yamlfile.Value[string]{e.Password, e.PasswordFile, e.PasswordEnv}
	if out.Username != "" {
		out.Password = v.secret(prefix, pos, "password", pw)
		if out.TLS == "none" {
			v.add(e.TLS.Pos, "%stls: none would send the password in clear text; use starttls or tls", prefix)
		}
	} else if p, set := firstSet(pw); set {
		v.add(p.Pos, "%spassword: set username too", prefix)
	}
	return out
}

// The e-mail defaults put a known error's workaround and a merge's target
// first: that is what the reader of the mail must act on.
const defaultEmailText = `{{ .Incident.Priority }} {{ .Incident.State }}: {{ .Incident.Title }}
{{ if eq .Kind "known_error" }}
Known error. Workaround:
{{ range .Entries }}{{ .Message }}
{{ end }}{{ end }}{{ with .MergedInto }}
Merged into #{{ .ID }} {{ .Title }}{{ with .URL }} {{ . }}{{ end }}
{{ end }}{{ range .Entries }}
{{ .At.Format "2006-01-02 15:04:05 MST" }} {{ .Kind }} by {{ .Actor }}{{ with .Message }}: {{ . }}{{ end }}{{ end }}

Service:  {{ .Incident.Service }}
Opened:   {{ .Incident.OpenedAt.Format "2006-01-02 15:04:05 MST" }}
{{ with .Incident.Summary }}
{{ . }}
{{ end }}
Alerts ({{ .AlertCount }}):
{{ range .Alerts }}- [{{ .Status }}] {{ .Labels.alertname }} {{ .Labels.instance }}
{{ end }}
{{ with .Incident.URL }}{{ . }}{{ end }}`

const defaultEmailHTML = `<p><strong>{{ .Incident.Priority }} {{ .Incident.State }}</strong>: {{ .Incident.Title }}</p>
{{ if eq .Kind "known_error" }}<p><strong>Known error. Workaround:</strong></p>
{{ range .Entries }}<blockquote style="white-space:pre-wrap">{{ .Message }}</blockquote>{{ end }}{{ end }}
{{ with .MergedInto }}<p><strong>Merged into</strong> {{ if .URL }}<a href="{{ .URL }}">#{{ .ID }} {{ .Title }}</a>{{ else }}#{{ .ID }} {{ .Title }}{{ end }}</p>{{ end }}
<ul>{{ range .Entries }}<li>{{ .At.Format "2006-01-02 15:04:05 MST" }} {{ .Kind }} by {{ .Actor }}{{ with .Message }}: <span style="white-space:pre-wrap">{{ . }}</span>{{ end }}</li>{{ end }}</ul>
<p>Service: {{ .Incident.Service }}<br>Opened: {{ .Incident.OpenedAt.Format "2006-01-02 15:04:05 MST" }}</p>
{{ with .Incident.Summary }}<p style="white-space:pre-wrap">{{ . }}</p>{{ end }}
<p>Alerts ({{ .AlertCount }}):</p>
<ul>{{ range .Alerts }}<li>[{{ .Status }}] {{ .Labels.alertname }} {{ .Labels.instance }}</li>{{ end }}</ul>
{{ with .Incident.URL }}<p><a href="{{ . }}">{{ . }}</a></p>{{ end }}`

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// notifications checks the notifications section against the sinks.
func (v *validator) notifications(n *notificationsSpec, sinks []Sink) Notifications {
	out := Notifications{MaxPending: DefaultMaxPending, DeadLetterRetention: DefaultDeadLetterRetention}
	if n == nil {
		return out
	}
	if m := n.MaxPending; m.V != nil {
		out.MaxPending = *m.V
		if *m.V < 1 {
			v.add(m.Pos, "notifications: max_pending: must be at least 1")
		}
	}
	out.DeadLetterRetention = v.duration(n.DeadLetterRetention, "notifications: dead_letter_retention", DefaultDeadLetterRetention)
	known := map[string]bool{}
	for _, s := range sinks {
		known[s.Name] = true
	}
	for i, pv := range n.Policies {
		p := pv.V
		prefix := "notifications: policy #" + strconv.Itoa(i+1) + ": "
		pol := Policy{Continue: p.Continue.V}
		if len(p.Sinks) == 0 {
			v.add(pv.Pos, "%ssinks: required: at least one sink", prefix)
		}
		for _, s := range p.Sinks {
			if !known[s.V] {
				v.add(s.Pos, "%ssinks: %q is not a configured sink", prefix, s.V)
				continue
			}
			pol.Sinks = append(pol.Sinks, s.V)
		}
		for _, m := range p.Matchers {
			if m.V == "" {
				v.add(m.Pos, "%smatchers: empty matcher", prefix)
				continue
			}
			pm, err := parsePolicyMatcher(m.V, "config file")
			if err != nil {
				v.add(m.Pos, "%smatchers: %v", prefix, err)
				continue
			}
			pol.Matchers = append(pol.Matchers, pm)
		}
		for _, k := range p.Kinds {
			if !slices.Contains(incident.NotifyKinds, incident.NotifyKind(k.V)) {
				v.add(k.Pos, "%skinds: %q is not one of %s", prefix, k.V, kindList())
				continue
			}
			pol.Kinds = append(pol.Kinds, incident.NotifyKind(k.V))
		}
		out.Policies = append(out.Policies, pol)
	}
	return out
}

func kindList() string {
	s := make([]string, len(incident.NotifyKinds))
	for i, k := range incident.NotifyKinds {
		s[i] = string(k)
	}
	return strings.Join(s, ", ")
}
