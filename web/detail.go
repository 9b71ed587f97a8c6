package web

// incidentRoutes are the incident detail page and its forms.
func (u *UI) incidentRoutes() []route { return nil }
