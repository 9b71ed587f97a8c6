package rules

import (
	"fmt"
	"slices"
	"strconv"
	"text/template"
	"time"

	"github.com/prometheus/alertmanager/pkg/labels"
	"github.com/prometheus/common/model"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/internal/yamlfile"
)

// Heartbeat is one compiled heartbeat rule: something that must keep
// beating, one instance per value of its by labels. A beat is an alert
// its matchers match, from any source (Alertmanager's always-firing
// Watchdog), or a POST to /ingest/heartbeats/{name}. When an instance has
// not beaten for Interval plus Grace, the daemon opens an incident; its
// next beat resolves it. It is immutable and safe for concurrent use.
type Heartbeat struct {
	// Name identifies the heartbeat; it is unique among the Set's
	// heartbeats.
	Name string
	// By lists the labels whose values tell the heartbeat's instances
	// apart (one per cluster's Alertmanager); empty means one instance.
	By []string
	// Interval is how often the sender beats; Grace how much later than
	// that a beat may come before it counts as missed (0 by default).
	Interval, Grace time.Duration
	// Service is the catalog service of its incidents; "" if none.
	Service string
	// Pos is where the heartbeat is defined, for messages.
	Pos yamlfile.Pos

	matchers        labels.Matchers
	impact, urgency level
	title           *template.Template
}

// Matches reports whether an alert with labels is a beat of h: h has
// matchers and they all match. A heartbeat without matchers is beaten
// only through its endpoint.
func (h *Heartbeat) Matches(labels map[string]string) bool {
	return len(h.matchers) > 0 && matchAll(h.matchers, labels)
}

// Instance returns the key and the by labels of the instance of h that a
// beat with labels belongs to: the name followed by the by labels in
// Alertmanager's label set form, watchdog{cluster="eu-1"}. A missing by
// label counts as "".
func (h *Heartbeat) Instance(labels map[string]string) (key string, by map[string]string) {
	by = make(map[string]string, len(h.By))
	for _, l := range h.By {
		by[l] = labels[l]
	}
	return h.Name + incident.FormatLabels(by), by
}

// Levels returns the impact and urgency of an instance's incident, ""
// where the rule sets none (the incident then takes medium impact and
// high urgency: nobody is told of anything while the heartbeat is
// missing).
func (h *Heartbeat) Levels(by map[string]string) (impact, urgency incident.Level) {
	return h.impact.of(by), h.urgency.of(by)
}

// Title renders the rule's title for an instance: the template sees the
// by labels as .Labels, and .Annotations.heartbeat (the name),
// .Annotations.overdue (how long since the last beat, as a Prometheus
// duration: 6m, 1d2h),
// .Annotations.interval and .Annotations.grace. Without a title it is "no
// heartbeat from <instance> for <overdue>".
func (h *Heartbeat) Title(by map[string]string, overdue time.Duration) (string, error) {
	key := h.Name + incident.FormatLabels(by)
	if h.title == nil {
		return fmt.Sprintf("no heartbeat from %s for %s", key, model.Duration(overdue)), nil
	}
	ev := incident.Event{Status: incident.StatusFiring, Labels: by, Annotations: map[string]string{
		"heartbeat": h.Name, "overdue": model.Duration(overdue).String(), "interval": model.Duration(h.Interval).String(),
		"grace": model.Duration(h.Grace).String(),
	}}
	s, err := execTemplate(h.title, alertOf(ev))
	if err != nil {
		return "", fmt.Errorf("heartbeat %q: %s: %w", h.Name, tmplTitle, cleanTemplateError(err))
	}
	return s, nil
}

// Heartbeats returns the heartbeat rules in file order, then list order.
func (s *Set) Heartbeats() []*Heartbeat {
	if s == nil {
		return nil
	}
	return slices.Clone(s.heartbeats)
}

// Heartbeat returns the heartbeat rule called name, or nil.
func (s *Set) Heartbeat(name string) *Heartbeat {
	if s == nil {
		return nil
	}
	for _, h := range s.heartbeats {
		if h.Name == name {
			return h
		}
	}
	return nil
}

// BeatOf returns the first heartbeat rule that an alert with labels beats,
// or nil. Heartbeats are matched before correlation rules: a beat never
// opens an incident and is never dropped as noise.
func (s *Set) BeatOf(labels map[string]string) *Heartbeat {
	if s == nil {
		return nil
	}
	for _, h := range s.heartbeats {
		if h.Matches(labels) {
			return h
		}
	}
	return nil
}

// heartbeatSpec is one entry of heartbeats as written.
type heartbeatSpec struct {
	Name     yamlfile.Value[string]    `yaml:"name"`
	Matchers []yamlfile.Value[string]  `yaml:"matchers"`
	By       []yamlfile.Value[string]  `yaml:"by"`
	Interval yamlfile.Value[string]    `yaml:"interval"`
	Grace    yamlfile.Value[string]    `yaml:"grace"`
	Impact   yamlfile.Value[levelSpec] `yaml:"impact"`
	Urgency  yamlfile.Value[levelSpec] `yaml:"urgency"`
	Title    yamlfile.Value[string]    `yaml:"title"`
	Service  yamlfile.Value[string]    `yaml:"service"`
}

// minHeartbeatInterval is the shortest interval a heartbeat may have:
// beats of an instance that is up are written at most once a second
// (incident.BeatDebounce).
const minHeartbeatInterval = time.Second

// compileHeartbeats checks and builds the heartbeat rules of all files:
// names unique across files, services from the catalog.
func compileHeartbeats(files []*file, services map[string]*Service, rep *reporter) []*Heartbeat {
	var out []*Heartbeat
	seen := newNames("heartbeat")
	for _, f := range files {
		for i := range f.Heartbeats {
			v := &f.Heartbeats[i]
			if h, ok := v.V.compile(v.Pos, i, services, rep); ok && seen.first(h.Name, v.V.Name.Pos, rep) {
				out = append(out, h)
			}
		}
	}
	return out
}

// compile checks one heartbeat rule and builds it; ok is false when its
// name is missing or invalid.
func (s *heartbeatSpec) compile(pos yamlfile.Pos, index int, services map[string]*Service, rep *reporter) (h *Heartbeat, ok bool) {
	prefix := "heartbeat #" + strconv.Itoa(index+1) + ": "
	if s.Name.V != "" {
		prefix = "heartbeat " + strconv.Quote(s.Name.V) + ": "
	}
	h = &Heartbeat{Name: s.Name.V, Pos: pos}
	switch {
	case required(s.Name, s.Name.V == "", pos, "name", prefix, rep):
	case !nameRE.MatchString(s.Name.V):
		rep.add(s.Name.Pos, prefix, "name: must consist of letters, digits, '_' and '-'")
	default:
		ok = true
	}
	h.matchers = compileMatchers(s.Matchers, prefix, rep)
	if len(s.Matchers) > 0 && len(h.matchers) == len(s.Matchers) && matchAll(h.matchers, nil) {
		// Every alert that lacks the matched labels would be a beat: a
		// heartbeat that swallows ordinary alerts hides real incidents.
		rep.add(s.Matchers[0].Pos, prefix, "matchers: match an alert without labels, so almost any alert would be a beat: add an equality matcher such as alertname=\"Watchdog\"")
	}
	h.By = compileBy(s.By, prefix, rep)
	h.Interval = requiredDuration(s.Interval, pos, "interval", prefix, rep)
	if h.Interval > 0 && h.Interval < minHeartbeatInterval {
		rep.add(s.Interval.Pos, prefix, "interval: must be at least %s", minHeartbeatInterval)
	}
	if s.Grace.V != "" && s.Grace.V != "0" && s.Grace.V != "0s" {
		h.Grace = positiveDuration(s.Grace, "grace", prefix, rep)
	}
	h.impact = compileLevel(s.Impact, fImpact, prefix, rep)
	h.urgency = compileLevel(s.Urgency, fUrgency, prefix, rep)
	h.title = compileTemplateField(s.Title, tmplTitle, prefix, rep)
	if s.Service.IsSet() {
		switch name := s.Service.V; {
		case name == "":
			rep.add(s.Service.Pos, prefix, "service: must not be empty")
		case services[name] == nil:
			rep.add(s.Service.Pos, prefix, "service: unknown service %q: want a name from services", name)
		default:
			h.Service = name
		}
	}
	return h, ok
}
