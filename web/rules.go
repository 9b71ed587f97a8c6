package web

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/alertmanager/matcher/compat"
	"github.com/prometheus/alertmanager/pkg/labels"

	"github.com/alertbridge/alertbridge/access"
	"github.com/alertbridge/alertbridge/incident"
)

// RulesInfo describes the loaded rule set and explains labels against it
// (the Rules page); the daemon implements it with the code of `alertbridge
// rules explain` (pipeline.Placement).
type RulesInfo interface {
	// RuleSet describes the running rule set and the last reload.
	RuleSet() RuleSet
	// Explain says what the running rules make of a firing alert with
	// these labels now, and which incident it would join.
	Explain(ctx context.Context, labels map[string]string) (Explanation, error)
}

// RuleSet is the running rule set as the Rules page shows it.
type RuleSet struct {
	Files    []string
	Rules    []RuleSummary
	Services int
	// LoadedAt is when the running set was loaded; Reload is the last
	// reload's outcome (zero At: none since start).
	LoadedAt time.Time
	Reload   ReloadResult
}

// RuleSummary is one correlation rule.
type RuleSummary struct {
	Name, Pos string
	Matchers  []string
	By        []string
	Drop      bool
}

// ReloadResult is how a reload went.
type ReloadResult struct {
	At  time.Time
	Err string
}

// Explanation is what the rules make of an alert.
type Explanation struct {
	Labels   map[string]string
	Service  string
	Rule     string // "" when no rule matches: the defaults apply
	RulePos  string
	Key      string
	Drop     bool
	Impact   incident.Level
	Urgency  incident.Level
	Priority incident.Priority
	Title    string
	// Outcome says in words what a firing would do now; IncidentID is the
	// incident it would join or reopen (0: a new one).
	Outcome    string
	IncidentID int64
}

// rulesView is the Rules page's data.
type rulesView struct {
	Set RuleSet
	// Input is the explain form's text, Explained its answer.
	Input     string
	Explained *Explanation
}

// maxExplainInput bounds the explain form's labels.
const maxExplainInput = 16 << 10

// rulesRoutes are the rules page and its explain form. Who may call them: a
// viewer (explaining reads the rules and the store and changes nothing, so
// it is a GET whose labels are in the URL and can be shared).
func (u *UI) rulesRoutes() []route {
	return []route{{"GET /rules", access.RoleViewer, u.rules}}
}

// rules serves the Rules page; ?labels= explains a label set.
func (u *UI) rules(w http.ResponseWriter, r *http.Request) {
	if u.o.Rules == nil {
		u.deny(w, r, http.StatusNotFound, "This daemon shows no rules.")
		return
	}
	rv := rulesView{Set: u.o.Rules.RuleSet(), Input: r.URL.Query().Get("labels")}
	v := u.view(r, "rules", "Rules", rv)
	if strings.TrimSpace(rv.Input) == "" {
		u.render(w, r, http.StatusOK, "rules", v)
		return
	}
	lset, err := parseLabelSet(rv.Input)
	if err != nil {
		v.Error = "labels: " + err.Error()
		u.render(w, r, http.StatusBadRequest, "rules", v)
		return
	}
	x, err := u.o.Rules.Explain(r.Context(), lset)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	rv.Explained = &x
	v.Data = rv
	u.render(w, r, http.StatusOK, "rules", v)
}

// parseMatchers reads labels the way Alertmanager reads matchers, as
// `rules explain --alert` does.
var parseMatchers = compat.FallbackMatchersParser(slog.New(slog.DiscardHandler))

// parseLabelSet reads a label set: Alertmanager's syntax with or without
// braces, or one name=value per line.
func parseLabelSet(s string) (map[string]string, error) {
	if len(s) > maxExplainInput {
		return nil, fmt.Errorf("at most %d bytes", maxExplainInput)
	}
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, "{") && strings.Contains(s, "\n") {
		var parts []string
		for _, line := range strings.Split(s, "\n") {
			if line = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(line), ",")); line != "" {
				parts = append(parts, line)
			}
		}
		s = strings.Join(parts, ", ")
	}
	ms, err := parseMatchers(s, "web")
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(ms))
	for _, m := range ms {
		if m.Type != labels.MatchEqual {
			return nil, fmt.Errorf("%s: only = is allowed, not %s: an alert has label values, not patterns", m.Name, m.Type)
		}
		if _, dup := out[m.Name]; dup {
			return nil, fmt.Errorf("duplicate label %q", m.Name)
		}
		if m.Value != "" {
			out[m.Name] = m.Value
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no labels: write at least one, e.g. alertname=\"DiskFull\"")
	}
	return out, nil
}
