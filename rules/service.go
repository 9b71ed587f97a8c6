package rules

import (
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/prometheus/alertmanager/pkg/labels"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/internal/yamlfile"
)

// Service is one entry of the service catalog: a service that alerts belong
// to, who owns it, how much its failure matters and what it depends on. It
// is immutable and safe for concurrent use; do not modify its slices or map.
type Service struct {
	// Name identifies the service; it is unique within a Set.
	Name string
	// Owner is the owning team or assignment group; "" if unset.
	Owner string
	// Impact is the impact of an incident on this service when the rule
	// does not set one; "" if unset.
	Impact incident.Level
	// DependsOn names the other catalog services this one depends on, in
	// the order written.
	DependsOn []string
	// Labels are free-form labels for the service, e.g. a tier or a
	// runbook URL; nil if unset.
	Labels map[string]string
	// Scope are the labels an alert of this service shares with an
	// incident of a service it depends on when it is a symptom of it: an
	// alert of api in cluster eu-1 is no symptom of a database incident in
	// us-1. DefaultScope unless the service says otherwise; empty: any.
	Scope []string
	// Pos is where the service is defined, for messages.
	Pos yamlfile.Pos

	namePos  yamlfile.Pos
	matchers labels.Matchers
}

// Matches reports whether all of the service's matchers match labels. A
// service without matchers matches no alert: such an entry exists to be
// depended on or looked up by name, and must not swallow every alert after
// it. A missing label has the value "".
func (s *Service) Matches(labels map[string]string) bool {
	return len(s.matchers) > 0 && matchAll(s.matchers, labels)
}

// serviceSpec is one entry of services as written.
type serviceSpec struct {
	Name      yamlfile.Value[string]   `yaml:"name"`
	Matchers  []yamlfile.Value[string] `yaml:"matchers"`
	Owner     yamlfile.Value[string]   `yaml:"owner"`
	Impact    yamlfile.Value[string]   `yaml:"impact"`
	DependsOn []yamlfile.Value[string] `yaml:"depends_on"`
	Labels    map[string]string        `yaml:"labels"`
	// Scope is written as a list; absent means DefaultScope.
	Scope yamlfile.Value[[]yamlfile.Value[string]] `yaml:"scope"`
}

// DefaultScope is the scope of a service that does not set one: symptoms
// and causes in the same cluster (an alert without a cluster label matches
// any).
var DefaultScope = []string{"cluster"}

var serviceNameRE = regexp.MustCompile(`^[a-zA-Z0-9_.-]+$`)

// compiledService is a service with what is needed to check its
// dependencies once all services are known.
type compiledService struct {
	svc    *Service
	spec   *serviceSpec
	prefix string
}

// compileServices checks and builds the services of all files: names unique
// across files, dependencies known, not on itself and without cycles.
func compileServices(files []*file, rep *reporter) ([]*Service, map[string]*Service) {
	var all []compiledService
	var out []*Service
	byName := make(map[string]*Service)
	for _, f := range files {
		for i := range f.Services {
			v := &f.Services[i]
			c := compileService(&v.V, v.Pos, i, rep)
			all = append(all, c)
			if c.svc.Name == "" {
				continue
			}
			if prev, ok := byName[c.svc.Name]; ok {
				rep.add(c.svc.namePos, c.prefix, "name: duplicate name, first defined at %s", prev.namePos)
				continue
			}
			byName[c.svc.Name] = c.svc
			out = append(out, c.svc)
		}
	}

	// edges are the valid dependencies of the services in byName, with
	// where each is written, for the cycle check.
	type edge struct {
		to  string
		pos yamlfile.Pos
	}
	edges := make(map[*Service][]edge)
	for _, c := range all {
		seen := make(map[string]bool)
		for _, dep := range c.spec.DependsOn {
			switch {
			case dep.V == "":
				rep.add(dep.Pos, c.prefix, "depends_on: empty service name")
			case dep.V == c.svc.Name:
				rep.add(dep.Pos, c.prefix, "depends_on: a service cannot depend on itself")
			case byName[dep.V] == nil:
				rep.add(dep.Pos, c.prefix, "depends_on: unknown service %q", dep.V)
			case seen[dep.V]:
				rep.add(dep.Pos, c.prefix, "depends_on: duplicate service %q", dep.V)
			default:
				seen[dep.V] = true
				c.svc.DependsOn = append(c.svc.DependsOn, dep.V)
				if byName[c.svc.Name] == c.svc {
					edges[c.svc] = append(edges[c.svc], edge{dep.V, dep.Pos})
				}
			}
		}
	}

	// A depth-first search in file order reports each cycle once, at the
	// depends_on entry that closes it: the edge back to a service still on
	// the path.
	const (
		unvisited = iota
		onPath
		done
	)
	state := make(map[*Service]int)
	var path []string
	var visit func(s *Service)
	visit = func(s *Service) {
		state[s] = onPath
		path = append(path, s.Name)
		for _, e := range edges[s] {
			to := byName[e.to]
			switch state[to] {
			case unvisited:
				visit(to)
			case onPath:
				cycle := append(slices.Clone(path[slices.Index(path, e.to):]), e.to)
				rep.add(e.pos, "service "+strconv.Quote(s.Name)+": ", "depends_on: cycle %s", strings.Join(cycle, " → "))
			}
		}
		path = path[:len(path)-1]
		state[s] = done
	}
	for _, s := range out {
		if state[s] == unvisited {
			visit(s)
		}
	}
	return out, byName
}

// compileService checks one service and builds it, all but its
// dependencies. The service's Name is empty when the name is missing or
// invalid.
func compileService(s *serviceSpec, pos yamlfile.Pos, index int, rep *reporter) compiledService {
	prefix := "service #" + strconv.Itoa(index+1) + ": "
	if s.Name.V != "" {
		prefix = "service " + strconv.Quote(s.Name.V) + ": "
	}
	svc := &Service{Name: s.Name.V, Owner: s.Owner.V, Labels: s.Labels, Pos: pos, namePos: s.Name.Pos}
	switch {
	case !s.Name.IsSet():
		rep.add(pos, prefix, "name: required")
	case s.Name.V == "":
		rep.add(s.Name.Pos, prefix, "name: must not be empty")
	case !serviceNameRE.MatchString(s.Name.V):
		rep.add(s.Name.Pos, prefix, "name: must consist of letters, digits, '_', '.' and '-'")
		svc.Name = ""
	}
	svc.matchers = compileMatchers(s.Matchers, prefix, rep)
	svc.Impact = parseLevel(s.Impact.V, s.Impact.Pos, "impact", prefix, rep)
	svc.Scope = DefaultScope
	if s.Scope.IsSet() {
		svc.Scope = []string{}
		seen := map[string]bool{}
		for _, l := range s.Scope.V {
			switch err := checkLabelName(l.V); {
			case err != nil:
				rep.add(l.Pos, prefix, "scope: %v", err)
			case seen[l.V]:
				rep.add(l.Pos, prefix, "scope: duplicate label %q", l.V)
			default:
				seen[l.V] = true
				svc.Scope = append(svc.Scope, l.V)
			}
		}
	}
	return compiledService{svc: svc, spec: s, prefix: prefix}
}
