package web

// overviewRoutes are the overview page.
func (u *UI) overviewRoutes() []route { return nil }
