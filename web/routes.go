package web

import "slices"

// routes are the pages and forms besides the incident list, each area's
// from its own file.
func (u *UI) routes() []route {
	return slices.Concat(u.incidentRoutes(), u.problemRoutes(), u.changeRoutes(), u.overviewRoutes(),
		u.rulesRoutes(), u.reportRoutes())
}
