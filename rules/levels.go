package rules

import (
	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/internal/yamlfile"
)

// levelSpec is an impact or urgency as written: a level (`impact: high`) or
// a table that maps a label's value to a level.
type levelSpec = yamlfile.ScalarOrMapping[string, levelTableSpec]

// levelTableSpec is the mapping form of an impact or urgency:
//
//	impact: {label: severity, map: {critical: high, warning: medium}, default: low}
type levelTableSpec struct {
	Label   yamlfile.Value[string]                            `yaml:"label"`
	Map     yamlfile.Value[map[string]yamlfile.Value[string]] `yaml:"map"`
	Default yamlfile.Value[string]                            `yaml:"default"`
}

// levelWritten reports whether an impact or urgency is set: any mapping, or
// a non-empty scalar.
func levelWritten(v levelSpec) bool { return v.IsMapping || v.Scalar != "" }

// level is a compiled impact or urgency. The zero level determines nothing.
type level struct {
	fixed incident.Level
	// label is "" for a fixed level; otherwise the level is table's entry
	// for the label's value, or def when there is none.
	label string
	table map[string]incident.Level
	def   incident.Level
}

// of returns the level for an alert's labels, "" when l does not determine
// one. A missing label has the value "".
func (l level) of(labels map[string]string) incident.Level {
	if l.label == "" {
		return l.fixed
	}
	if v, ok := l.table[labels[l.label]]; ok {
		return v
	}
	return l.def
}

// compileLevel checks an impact or urgency (field says which) and builds
// it.
func compileLevel(v yamlfile.Value[levelSpec], field, prefix string, rep *reporter) level {
	if !v.V.IsMapping {
		return level{fixed: parseLevel(v.V.Scalar, v.Pos, field, prefix, rep)}
	}
	t := v.V.Mapping
	l := level{label: t.Label.V, table: make(map[string]incident.Level, len(t.Map.V))}
	if !t.Label.IsSet() {
		rep.add(v.Pos, prefix, "%s: label: required", field)
	} else if err := checkLabelName(t.Label.V); err != nil {
		rep.add(t.Label.Pos, prefix, "%s: label: %v", field, err)
	}
	switch {
	case !t.Map.IsSet():
		rep.add(v.Pos, prefix, "%s: map: required", field)
	case len(t.Map.V) == 0:
		rep.add(t.Map.Pos, prefix, "%s: map: must not be empty", field)
	}
	for value, e := range t.Map.V {
		lv, err := incident.ParseLevel(e.V)
		if err != nil {
			rep.add(e.Pos, prefix, "%s: map: %q: %v", field, value, err)
		}
		l.table[value] = lv
	}
	l.def = parseLevel(t.Default.V, t.Default.Pos, field+": default", prefix, rep)
	return l
}

// parseLevel parses a level; "" (not set) gives "".
func parseLevel(s string, pos yamlfile.Pos, field, prefix string, rep *reporter) incident.Level {
	if s == "" {
		return ""
	}
	l, err := incident.ParseLevel(s)
	if err != nil {
		rep.add(pos, prefix, "%s: %v", field, err)
	}
	return l
}
