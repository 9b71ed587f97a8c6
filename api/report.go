package api

import (
	"fmt"
	"net/http"

	"github.com/alertbridge/alertbridge/incident"
)

// report serves POST /api/v1/incidents (responder): it opens an incident
// by hand with the caller's identity as its reporter, and answers 201 with
// the incident and its Location. A body with an unknown field, a missing
// title or a level that is not one answers 400 naming the field, and
// changes nothing.
func (h *Handler) report(w http.ResponseWriter, r *http.Request) {
	var req ReportRequest
	if err := decodeBody(r, &req, true); err != nil {
		h.fail(w, r, err)
		return
	}
	inc, err := h.o.Executor.Report(r.Context(), incident.Report{
		Title: req.Title, Service: req.Service, Description: req.Description,
		Impact: incident.Level(req.Impact), Urgency: incident.Level(req.Urgency),
		Actor: actor(r), OnBehalfOf: req.OnBehalfOf,
	})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out, err := h.detail(r.Context(), inc.ID, firstDetailPage)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Location", fmt.Sprintf("/api/v1/incidents/%d", inc.ID))
	writeJSON(w, http.StatusCreated, out)
}
