package incident

// Report is an incident reported by hand: the service desk's front door
// (POST /api/v1/incidents, the UI's Report page, `alertbridge incidents
// create`). Its priority comes from Impact and Urgency by the same matrix
// as every incident's; Actor is who reported it.
type Report struct {
	Title       string
	Service     string
	Description string
	Impact      Level
	Urgency     Level
	// Actor is the authenticated identity; OnBehalfOf free text it gave.
	Actor      string
	OnBehalfOf string
}
