package sqlite

import (
	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/store/internal/incidentrow"
)

// The incident's row is incidentrow's, which both backends share.
var (
	incidentColumns = incidentrow.Columns
	qInsertIncident = incidentrow.Insert
	qUpdateIncident = incidentrow.Update
)

func scanIncident(row scanner) (incident.Incident, error) { return incidentrow.Scan(row) }
