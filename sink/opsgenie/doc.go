// Package opsgenie is the Opsgenie sink: each incident is an Opsgenie
// alert, kept through the Alert API v2 with the alias
// alertbridge-<incident id> (Opsgenie dedupes a create by alias while the
// alert is open), and its callback, which turns the outgoing Webhook
// integration's calls (acknowledge, close, a note added) into the same
// actions as the API.
//
// It imports sink, sink/message and incident; never the store, the
// pipeline or app.
package opsgenie
