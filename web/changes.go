package web

// changeRoutes are the changes page.
func (u *UI) changeRoutes() []route { return nil }
