// Package antientropy repairs what Alertmanager's webhooks lost. A Poller
// reads one or more Alertmanager API v2 alert listings (GET /api/v2/alerts)
// on an interval, compares them with the alerts alertbridge holds as firing
// for the same source, and submits the missing events through the normal
// ingest path (the pipeline): a firing event for an alert that fires in
// Alertmanager but never reached us, and a resolved event for an alert we
// hold as firing that Alertmanager no longer lists. Alertmanager drops a
// notification on any 4xx and gives up after its retry budget, so without
// this a lost resolve would leave an incident, and its tickets, open forever.
//
// A repair needs consecutive successful polls spanning a grace period, so
// that a webhook in flight wins and a restarted Alertmanager (which keeps no
// alerts across restarts until Prometheus re-sends them) resolves nothing. A
// failed poll changes nothing and restarts that count.
//
// It owns the small decoder of Alertmanager's API v2 alert JSON and declares
// the two interfaces it consumes, Firing (the store's read side) and Sink
// (*pipeline.Pipeline). It imports incident and nothing else of alertbridge:
// not pipeline, any store, api or app.
package antientropy
