package web

import (
	"context"

	"github.com/alertbridge/alertbridge/incident"
)

// Reporter opens an incident by hand (the Report page).
type Reporter interface {
	Report(ctx context.Context, r incident.Report) (incident.Incident, error)
}

// reportRoutes are the report form.
func (u *UI) reportRoutes() []route { return nil }
