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
	"github.com/alertbridge/alertbridge/sink/opsgenie"
	"github.com/alertbridge/alertbridge/sink/pagerduty"
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
