package sinktest

import (
	"context"
	"testing"
	"time"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/sink"
)

// T0 is when a Harness's incident opened.
var T0 = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

// Harness delivers the notifications of one incident to a sink as the
// dispatcher does: the ticket a delivery returns is passed to the next
// notification, and a failed delivery returns none.
type Harness struct {
	T    testing.TB
	Sink sink.Sink
	// Inc is the incident; a test changes it before each notification.
	Inc    incident.Incident
	Ticket *incident.Ticket
	id     int64
	entry  int64
}

// NewHarness returns a harness of an open P2 incident #42.
func NewHarness(t testing.TB, s sink.Sink) *Harness {
	return &Harness{T: t, Sink: s, Inc: incident.Incident{ID: 42, State: incident.StateOpen, Priority: 2,
		Impact: incident.LevelHigh, Urgency: incident.LevelMedium, Title: "disk full on db-1", Summary: "/var is 99% full",
		Service: "db", OpenedAt: T0}}
}

// Entry is a new timeline entry of the incident: IDs count from 1.
func (h *Harness) Entry(kind incident.TimelineKind, actor, msg string) incident.TimelineEntry {
	h.entry++
	return incident.TimelineEntry{ID: h.entry, IncidentID: h.Inc.ID, At: T0.Add(time.Duration(h.entry) * time.Minute),
		Kind: kind, Actor: actor, Message: msg}
}

// Notification is a new notification of kind about the incident as it is,
// with the ticket as it stands.
func (h *Harness) Notification(kind incident.NotifyKind, entries ...incident.TimelineEntry) sink.Notification {
	h.id++
	n := sink.Notification{ID: h.id, Kind: kind, Incident: h.Inc, Entries: entries, Ticket: h.Ticket}
	if len(entries) > 0 {
		n.Entry = entries[0]
	}
	return n
}

// Deliver delivers n and keeps the ticket, as the dispatcher records it.
func (h *Harness) Deliver(n sink.Notification) error {
	h.T.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	t, err := h.Sink.Deliver(ctx, n)
	if t != nil {
		h.Ticket = t // kept with an error too, as the dispatcher keeps it
	}
	return err
}

// MustDeliver delivers n and fails the test on an error.
func (h *Harness) MustDeliver(n sink.Notification) {
	h.T.Helper()
	if err := h.Deliver(n); err != nil {
		h.T.Fatalf("deliver %s: %v", n.Kind, err)
	}
}
