// Package slack is the Slack sink: one message per incident in one
// channel, posted with chat.postMessage and edited with chat.update so that
// it always shows the incident as it is now (Block Kit: priority, state,
// service, owner, SLA clock, links, alerts, a known error's workaround),
// with the timeline's entries as replies in its thread, and Acknowledge and
// Resolve buttons whose presses come back as signed interactivity requests
// (Callback).
//
// Every message carries metadata naming the sink and the incident
// (EventIncident), and every reply the timeline entry (EventEntry): before
// posting a message it has no ticket for, the sink looks back in the
// channel's history for one a lost answer hid, and before replying it
// reads the thread, so that a redelivery posts nothing twice.
//
// It imports sink, sink/message and incident; never the store, the
// pipeline or app.
package slack
