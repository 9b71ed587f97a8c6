// Package ingest is the HTTP edge where monitoring signals enter alertbridge.
// It owns one decoder per source (Alertmanager, Grafana, PagerDuty Events API
// v2, generic events, changes), payload validation with errors that say
// where the problem is, and the http.Handler that answers the sender: it
// authenticates the configured sources (bearer, basic, HMAC signature,
// PagerDuty routing key), enforces the request limits and per-source rate
// limits, and emits each request as one incident.Submission to a Sink: its
// events or changes and, for a signed request, the signature as a nonce
// that the Sink uses up in the same transaction, so that a replay is
// refused after a restart and by every daemon on the same database.
//
// The handler acknowledges a request with 2xx only after the Sink reports it
// committed; anything the sender can retry gets a 503 with Retry-After
// (429 on the PagerDuty-compatible endpoint, whose clients retry that),
// because Alertmanager drops a notification on any 4xx. A rejected request
// changes nothing. errorStatus is the one place that maps an error to what
// the sender sees.
//
// It imports incident and internal/secret and nothing else of alertbridge:
// in particular not config, dedupe, correlate, rules, pipeline, any store,
// api or app. The Sink interface is declared here, and *pipeline.Pipeline
// satisfies it; app turns the config file's sources into Options.Sources.
package ingest
