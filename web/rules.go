package web

import "context"

// RulesInfo describes the loaded rule set and explains labels against it
// (the Rules page).
type RulesInfo interface {
	// Explain says what the rules make of an alert with labels.
	Explain(ctx context.Context, labels map[string]string) (any, error)
}

// rulesRoutes are the rules page and its explain form.
func (u *UI) rulesRoutes() []route { return nil }
