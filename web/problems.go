package web

// problemRoutes are the problem pages and their forms.
func (u *UI) problemRoutes() []route { return nil }
