package app

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/alertbridge/alertbridge/config"
	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/sink"
	"github.com/alertbridge/alertbridge/sink/email"
	"github.com/alertbridge/alertbridge/sink/jira"
	"github.com/alertbridge/alertbridge/sink/opsgenie"
	"github.com/alertbridge/alertbridge/sink/pagerduty"
	"github.com/alertbridge/alertbridge/sink/servicenow"
	"github.com/alertbridge/alertbridge/sink/slack"
	"github.com/alertbridge/alertbridge/sink/webhook"
)

// builtSink is one configured sink, built.
type builtSink struct {
	cfg      config.Sink
	sink     sink.Sink
	callback sink.Callbacks // nil: the tool does not call back
}

// buildSinks builds every configured sink. A sink's HTTP requests are
// bounded by the attempt's context (delivery timeout), never by the
// client.
func buildSinks(o Options) ([]builtSink, error) {
	var out []builtSink
	for _, c := range o.Config.Sinks {
		b, err := buildSink(c, o)
		if err != nil {
			return nil, fmt.Errorf("sink %s: %w", c.Name, err)
		}
		out = append(out, b)
	}
	return out, nil
}

func buildSink(c config.Sink, o Options) (builtSink, error) {
	b := builtSink{cfg: c}
	client := &http.Client{}
	ua := "alertbridge/" + o.Version
	var err error
	switch c.Type {
	case config.SinkWebhook:
		w := c.Webhook
		b.sink, err = webhook.New(webhook.Options{URL: w.URL, Format: w.Format, Secret: w.Secret, Header: w.Header,
			TimestampHeader: w.TimestampHeader, Bearer: w.Bearer, UserAgent: ua, Client: client, Now: o.Now})
	case config.SinkEmail:
		// E-mail has no callbacks: a reply to the thread is not read.
		e := c.Email
		b.sink, err = email.New(email.Options{Smarthost: e.Smarthost, From: e.From, To: e.To, Hello: e.Hello,
			Username: e.Username, Password: e.Password, TLS: email.TLSMode(e.TLS), CAFile: e.CAFile,
			InsecureSkipVerify: e.InsecureSkipVerify, Subject: e.Subject, Text: e.Text, HTML: e.HTML, Now: o.Now})
	case config.SinkSlack:
		sl := c.Slack
		so := slack.Options{Name: c.Name, APIURL: sl.APIURL, Token: sl.Token, Channel: sl.Channel,
			ThreadReplies: sl.ThreadReplies, Title: sl.Title, UserAgent: ua, Client: client, Logger: o.Logger}
		if sl.Callback.Enabled() {
			so.SigningSecret, so.MaxSkew = sl.Callback.Secret, sl.Callback.MaxSkew
		}
		var s *slack.Sink
		if s, err = slack.New(so); err == nil {
			b.sink = s
			if sl.Callback.Enabled() {
				b.callback = s
			}
		}
	case config.SinkJira:
		b.sink, b.callback, err = buildJira(c, o, client, ua)
	case config.SinkServiceNow:
		b.sink, b.callback, err = buildServiceNow(c, o, client, ua)
	case config.SinkPagerDuty:
		p := c.PagerDuty
		b.sink, err = pagerduty.New(pagerduty.Options{URL: p.URL, RoutingKey: p.RoutingKey, Summary: p.Summary,
			UserAgent: ua, Client: client})
		if err == nil && p.Callback.Enabled() {
			b.callback, err = callbackOf(pagerduty.NewCallback(pagerduty.CallbackOptions{Secret: p.Callback.Secret,
				MaxSkew: p.Callback.MaxSkew, Logger: o.Logger.With("sink", c.Name)}))
		}
	case config.SinkOpsgenie:
		g := c.Opsgenie
		b.sink, err = opsgenie.New(opsgenie.Options{URL: g.URL, APIKey: g.APIKey, Message: g.Message, Tags: g.Tags,
			UserAgent: ua, Client: client})
		if err == nil && g.Callback.Enabled() {
			b.callback, err = callbackOf(opsgenie.NewCallback(opsgenie.CallbackOptions{Token: g.Callback.Secret,
				Logger: o.Logger.With("sink", c.Name)}))
		}
	default:
		err = fmt.Errorf("sink type %q is not built in", c.Type)
	}
	return b, err
}

// buildJira builds a Jira sink, and its callback when the config has the
// webhook's secret.
func buildJira(c config.Sink, o Options, client *http.Client, ua string) (sink.Sink, sink.Callbacks, error) {
	j := c.Jira
	opts := jira.Options{URL: j.URL, Username: j.Username, APIToken: j.APIToken,
		PersonalAccessToken: j.PersonalAccessToken, Project: j.Project, IssueType: j.IssueType, Summary: j.Summary,
		Description: j.Description, Fields: j.Fields, Priorities: j.Priorities, Labels: j.Labels,
		ResolveTransition: j.ResolveTransition, ReopenTransition: j.ReopenTransition,
		AcknowledgeTransition: j.AcknowledgeTransition, UserAgent: ua, Client: client,
		Logger: o.Logger.With("sink", c.Name)}
	if j.Callback.Enabled() {
		opts.WebhookSecret, opts.MaxSkew = j.Callback.Secret, j.Callback.MaxSkew
	}
	s, err := jira.New(opts)
	if err != nil {
		return nil, nil, err
	}
	if j.Callback.Enabled() {
		return s, s, nil
	}
	return s, nil, nil
}

// buildServiceNow builds a ServiceNow sink, and its callback when the
// config has the business rule's token.
func buildServiceNow(c config.Sink, o Options, client *http.Client, ua string) (sink.Sink, sink.Callbacks, error) {
	sn := c.ServiceNow
	opts := servicenow.Options{URL: sn.URL, Table: sn.Table, Username: sn.Username, Password: sn.Password,
		Bearer: sn.Bearer, AssignmentGroup: sn.AssignmentGroup, CallerID: sn.CallerID, Category: sn.Category,
		CloseCode: sn.CloseCode, ShortDesc: sn.ShortDesc, Description: sn.Description, CloseNotes: sn.CloseNotes,
		UserAgent: ua, Client: client, Logger: o.Logger.With("sink", c.Name)}
	if sn.Callback.Enabled() {
		opts.CallbackToken, opts.MaxSkew = sn.Callback.Secret, sn.Callback.MaxSkew
	}
	s, err := servicenow.New(opts)
	if err != nil {
		return nil, nil, err
	}
	if sn.Callback.Enabled() {
		return s, s, nil
	}
	return s, nil, nil
}

// callbackOf is a sink's built callback, never a typed nil: the handler
// takes callbacks only for the sinks whose callback is not nil.
func callbackOf[C sink.Callbacks](c C, err error) (sink.Callbacks, error) {
	if err != nil {
		return nil, err
	}
	return c, nil
}

// dispatchConfigs are the dispatcher's view of the sinks.
func dispatchConfigs(sinks []builtSink) []sink.Config {
	out := make([]sink.Config, len(sinks))
	for i, s := range sinks {
		d := s.cfg.Delivery
		out[i] = sink.Config{Name: s.cfg.Name, Sink: s.sink, MaxAge: d.MaxAge, Timeout: d.Timeout,
			Concurrency: d.Concurrency, InitialBackoff: d.InitialBackoff, MaxBackoff: d.MaxBackoff,
			BreakerFailures: uint32(max(d.BreakerFailures, 1)), BreakerTimeout: d.BreakerTimeout}
	}
	return out
}

// router is the notification policies over the built sinks.
func router(n config.Notifications, sinks []builtSink) incident.Route {
	if len(sinks) == 0 {
		return nil
	}
	names := make([]string, len(sinks))
	for i, s := range sinks {
		names[i] = s.cfg.Name
	}
	pols := make([]sink.Policy, len(n.Policies))
	for i, p := range n.Policies {
		pols[i] = sink.Policy{Sinks: p.Sinks, Matchers: p.Matchers, Kinds: p.Kinds, Continue: p.Continue}
	}
	return sink.NewRouter(pols, names).Route
}

// incidentURL links to an incident under --web.external-url; nil without
// one.
func incidentURL(external string) func(int64) string {
	if external == "" {
		return nil
	}
	base := strings.TrimSuffix(external, "/")
	return func(id int64) string { return base + "/incidents/" + strconv.FormatInt(id, 10) }
}

// validExternalURL checks --web.external-url.
func validExternalURL(s string) error {
	if s == "" {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("external url: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("external url %q: want an absolute http or https URL", s)
	}
	return nil
}
