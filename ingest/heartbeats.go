package ingest

import (
	"errors"
	"net/http"
	"regexp"
	"time"

	"github.com/alertbridge/alertbridge/incident"
)

// SourceHeartbeats is the source type of the heartbeat endpoints:
// POST /ingest/heartbeats/{name} (a beat: "the job succeeded") and POST
// /ingest/heartbeats/{name}/fail (the job failed: an incident opens at
// once). {name} is a heartbeat rule of the rule files.
const SourceHeartbeats = "heartbeats"

// hbLabels is the one member of a heartbeat's optional body.
const hbLabels = "labels"

// heartbeatNameRE is what the rule files accept as a heartbeat's name.
var heartbeatNameRE = regexp.MustCompile(`^[a-zA-Z0-9_-]+$`)

// notFoundError is a request for something the rules do not have (an
// unknown heartbeat): 404, so that a cron job's curl --fail says so.
type notFoundError struct{ msg, where string }

func (e *notFoundError) Error() string { return e.where + ": " + e.msg }

// acceptHeartbeat returns the accept function of a heartbeat endpoint;
// failed marks /fail.
func acceptHeartbeat(failed bool) func(*Handler, *request) int {
	return func(h *Handler, q *request) int {
		ev, err := decodeHeartbeat(q.r.PathValue("name"), q.body, q.now)
		if err != nil {
			return h.reject(q, 1, err)
		}
		ev.HeartbeatFailed = failed
		events := []incident.Event{ev}
		if err := h.limits.checkEvents(events, func() locator { return heartbeatLocator }); err != nil {
			return h.reject(q, 1, err)
		}
		q.stamp(events)
		if err := h.ingest(q, incident.Submission{Events: events}); err != nil {
			if errors.Is(err, incident.ErrNotFound) {
				return h.reject(q, 1, &notFoundError{where: "path", msg: "no heartbeat rule named " + ev.Heartbeat + " in the rule files"})
			}
			return h.notCommitted(q, 1, err)
		}
		h.accepted(q, 1)
		writeJSON(q.w, http.StatusOK, heartbeatOKBody{Status: "success", Heartbeat: ev.Heartbeat, Failed: failed})
		return http.StatusOK
	}
}

type heartbeatOKBody struct {
	Status    string `json:"status"`
	Heartbeat string `json:"heartbeat"`
	Failed    bool   `json:"failed"`
}

// heartbeatLocator locates a limit problem in a heartbeat's body: its
// labels are the event's.
var heartbeatLocator = itemsLocator("", false)

// decodeHeartbeat decodes a beat of the heartbeat called name: the body
// is empty, or a JSON object with an optional "labels" object of strings
// (the values of the heartbeat's by labels).
func decodeHeartbeat(name string, body []byte, now time.Time) (incident.Event, error) {
	if !heartbeatNameRE.MatchString(name) {
		return incident.Event{}, inputErr("path", "heartbeat name %q: must consist of letters, digits, '_' and '-'", truncate(name, maxEchoed))
	}
	ev := incident.Event{Source: SourceHeartbeats, Fingerprint: name, Status: incident.StatusFiring, StartsAt: now,
		Heartbeat: name, Labels: map[string]string{}}
	if len(body) == 0 {
		return ev, nil
	}
	raw, ierr := parseBody(body)
	if ierr != nil {
		return ev, ierr
	}
	o, ierr := parseObject(raw, nil)
	if ierr != nil {
		return ev, ierr
	}
	if ierr := o.unknown(hbLabels); ierr != nil {
		return ev, ierr
	}
	labels, ierr := o.stringMap(hbLabels)
	if ierr != nil {
		return ev, ierr
	}
	if labels != nil {
		ev.Labels = labels
	}
	return ev, nil
}
