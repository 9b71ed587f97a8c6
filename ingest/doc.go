// Package ingest is the HTTP edge where monitoring signals enter alertbridge.
// It owns one decoder per source (Alertmanager first), payload validation with
// errors that say where the problem is, request size limits, and the
// http.Handler that answers the sender. It emits []incident.Event to a Sink.
//
// The handler acknowledges a request with 2xx only after the Sink reports the
// events committed; anything else the sender can retry gets a 503 with
// Retry-After, because Alertmanager drops a notification on any 4xx.
//
// It imports incident and nothing else of alertbridge: in particular not
// dedupe, correlate, rules, pipeline, any store, api or app. The Sink interface
// is declared here, and *pipeline.Pipeline satisfies it.
package ingest
