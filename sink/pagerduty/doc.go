// Package pagerduty is the PagerDuty sink: each incident is one PagerDuty
// alert, kept through the Events API v2 with the dedup_key
// alertbridge-<incident id> (so that PagerDuty itself dedupes a trigger
// sent twice), and its callback, which turns PagerDuty's v3 webhooks
// (acknowledged, resolved, a note added) into the same actions as the API.
//
// It imports sink, sink/message and incident; never the store, the
// pipeline or app.
package pagerduty
