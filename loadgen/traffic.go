package loadgen

import (
	"fmt"
	"math/rand/v2"
	"net/url"
	"time"

	"github.com/prometheus/alertmanager/template"
	"github.com/prometheus/common/model"
)

// message is the body Alertmanager's webhook notifier POSTs. It mirrors
// webhook.Message from github.com/prometheus/alertmanager/notify/webhook
// field for field, tags and order included (TestMessageRoundTrip checks it
// against a captured body). That package is not imported because it pulls
// Alertmanager's whole notification stack (cluster, Kafka, OpenTelemetry,
// gRPC) into the alertbridge binary, for three fields.
type message struct {
	*template.Data

	// Version is the protocol version, always "4".
	Version         string `json:"version"`
	GroupKey        string `json:"groupKey"`
	TruncatedAlerts uint64 `json:"truncatedAlerts"`
}

// The values Alertmanager v0.35.0 puts in notification_reason.
const (
	reasonFirst    = "first notification"
	reasonAdded    = "new alerts added"
	reasonResolved = "all alerts resolved"
	reasonRepeat   = "repeat interval elapsed"
)

const (
	receiver    = "bench"
	externalURL = "http://127.0.0.1:9093"
)

// profile is what an alertname implies about its alerts.
type profile struct {
	alertname string
	job       string
	instance  string // a fmt verb taking the 1-based instance number
	summary   string
	expr      string
}

var profiles = []profile{
	{"HighRequestLatency", "api-server", "web-%d:8080", "p99 latency above 500ms", `histogram_quantile(0.99, rate(http_request_duration_seconds_bucket[5m])) > 0.5`},
	{"DiskAlmostFull", "node-exporter", "db-%d:9100", "disk usage above 90%", `node_filesystem_avail_bytes / node_filesystem_size_bytes < 0.1`},
	{"HighErrorRate", "api-gateway", "gw-%d:8080", "5xx ratio above 5%", `rate(http_requests_total{code=~"5.."}[5m]) / rate(http_requests_total[5m]) > 0.05`},
	{"QueueBacklog", "queue-worker", "worker-%d:9000", "queue backlog above 10000 messages", `queue_depth > 10000`},
	{"CertificateExpiring", "blackbox", "lb-%d:443", "TLS certificate expires within 14 days", `probe_ssl_earliest_cert_expiry - time() < 14 * 86400`},
	{"PodCrashLooping", "kube-state-metrics", "pod-%d", "container restarted more than 5 times in 15m", `increase(kube_pod_container_status_restarts_total[15m]) > 5`},
	{"HighMemoryUsage", "node-exporter", "node-%d:9100", "memory usage above 90%", `node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes < 0.1`},
	{"TargetDown", "prometheus", "target-%d:9090", "scrape target is down", `up == 0`},
}

var regions = []string{"eu-west", "us-east", "ap-south", "us-west", "eu-central"}

var severities = []string{"critical", "warning", "info"}

// groupLabels returns the alertname and cluster of group g. The pair is
// unique per g: alertname cycles fastest, then the region, then the number.
func groupLabels(g int) (profile, string) {
	p := profiles[g%len(profiles)]
	n := g / len(profiles)
	return p, fmt.Sprintf("%s-%d", regions[n%len(regions)], n/len(regions)+1)
}

// fingerprint is Alertmanager's fingerprint of a label set: the
// prometheus/common FNV-1a hash, as 16 hex digits.
func fingerprint(labels template.KV) string {
	ls := make(model.LabelSet, len(labels))
	for k, v := range labels {
		ls[model.LabelName(k)] = model.LabelValue(v)
	}
	return ls.Fingerprint().String()
}

// alert is one alert of a group's current episode.
type alert struct {
	labels      template.KV
	annotations template.KV
	generator   string
	fingerprint string
	startsAt    time.Time
}

// group is one alert group as the simulated Alertmanager sees it.
type group struct {
	prof        profile
	cluster     string
	groupLabels template.KV
	groupKey    string
	alerts      []alert
	// instances is how many instances have ever been created, so that an added
	// alert always gets a new instance, and a refire reuses the first ones.
	instances int
	firing    bool
	endsAt    time.Time
}

func newGroup(g int) *group { return newGroupIn(g, "") }

// newGroupIn returns group g; a non-empty run is part of its cluster label,
// so that the group is new to a server that saw g in an earlier run.
func newGroupIn(g int, run string) *group {
	p, cluster := groupLabels(g)
	if run != "" {
		cluster += "-" + run
	}
	gl := template.KV{"alertname": p.alertname, "cluster": cluster}
	ls := model.LabelSet{"alertname": model.LabelValue(p.alertname), "cluster": model.LabelValue(cluster)}
	return &group{
		prof:        p,
		cluster:     cluster,
		groupLabels: gl,
		// The root route's key is "{}"; model.LabelSet.String is how
		// Alertmanager renders the group labels.
		groupKey: "{}:" + ls.String(),
	}
}

// newAlert returns the alert on instance number i (1-based).
func (g *group) newAlert(i int, startsAt time.Time) alert {
	inst := fmt.Sprintf(g.prof.instance, i)
	labels := template.KV{
		"alertname": g.prof.alertname,
		"cluster":   g.cluster,
		"instance":  inst,
		"job":       g.prof.job,
		"severity":  severities[(i-1)%len(severities)],
	}
	return alert{
		labels: labels,
		annotations: template.KV{
			"summary":     g.prof.summary,
			"description": fmt.Sprintf("%s on %s in %s", g.prof.alertname, inst, g.cluster),
			"runbook_url": "https://runbooks.example.invalid/" + g.prof.alertname,
		},
		generator:   "http://prometheus.example.invalid:9090/graph?g0.expr=" + url.QueryEscape(g.prof.expr) + "&g0.tab=1",
		fingerprint: fingerprint(labels),
		startsAt:    startsAt,
	}
}

// fire starts a new episode of n alerts at now. A refire starts strictly
// after the previous endsAt, so that a server ordering by the alerts' own
// timestamps never mistakes it for a late duplicate.
func (g *group) fire(n int, now time.Time) {
	if !now.After(g.endsAt) {
		now = g.endsAt.Add(time.Millisecond)
	}
	g.alerts = g.alerts[:0]
	for i := 1; i <= n; i++ {
		g.alerts = append(g.alerts, g.newAlert(i, now))
	}
	g.instances = max(g.instances, n)
	g.firing = true
	g.endsAt = time.Time{}
}

// add adds an alert on a new instance.
func (g *group) add(now time.Time) {
	g.instances++
	g.alerts = append(g.alerts, g.newAlert(g.instances, now))
}

// resolve ends the episode at now.
func (g *group) resolve(now time.Time) {
	for _, a := range g.alerts {
		if !now.After(a.startsAt) {
			now = a.startsAt.Add(time.Millisecond)
		}
	}
	g.firing = false
	g.endsAt = now
}

// message renders the group's current state the way Alertmanager's webhook
// notifier does.
func (g *group) message(reason string) *message {
	status, endsAt := "firing", time.Time{}
	if !g.firing {
		status, endsAt = "resolved", g.endsAt
	}
	d := &template.Data{
		Receiver:           receiver,
		Status:             status,
		Alerts:             make(template.Alerts, 0, len(g.alerts)),
		NotificationReason: reason,
		GroupLabels:        copyKV(g.groupLabels),
		CommonLabels:       template.KV{},
		CommonAnnotations:  template.KV{},
		RouteLabels:        template.KV{},
		ExternalURL:        externalURL,
	}
	for _, a := range g.alerts {
		d.Alerts = append(d.Alerts, template.Alert{
			Status:       status,
			Labels:       copyKV(a.labels),
			Annotations:  copyKV(a.annotations),
			StartsAt:     a.startsAt,
			EndsAt:       endsAt,
			GeneratorURL: a.generator,
			Fingerprint:  a.fingerprint,
		})
	}
	if len(g.alerts) > 0 {
		d.CommonLabels = common(g.alerts, func(a alert) template.KV { return a.labels })
		d.CommonAnnotations = common(g.alerts, func(a alert) template.KV { return a.annotations })
	}
	return &message{Data: d, Version: "4", GroupKey: g.groupKey}
}

// common returns the pairs identical across all alerts, as Alertmanager
// computes commonLabels and commonAnnotations.
func common(alerts []alert, kv func(alert) template.KV) template.KV {
	out := copyKV(kv(alerts[0]))
	for _, a := range alerts[1:] {
		m := kv(a)
		for k, v := range out {
			if m[k] != v {
				delete(out, k)
			}
		}
	}
	return out
}

func copyKV(kv template.KV) template.KV {
	out := make(template.KV, len(kv))
	for k, v := range kv {
		out[k] = v
	}
	return out
}

// traffic is one worker's deterministic stream of notifications over the
// groups it owns.
type traffic struct {
	rng      *rand.Rand
	mix      Mix
	perGroup int
	maxAlert int // a group's size limit
	groups   []*group
	firing   indexSet
	resolved indexSet
	now      func() time.Time

	// fresh numbers the groups Mix.New and Mix.Churn make: group
	// total+w+n*fresh, so that no two workers make the same one.
	w, n, total, fresh int
	run                string
}

// newTraffic returns the stream of worker w of n over groups groups. All of
// its groups start firing at now().
func newTraffic(seed int64, w, n, groups, perGroup int, mix Mix, now func() time.Time) *traffic {
	t := &traffic{
		// PCG's output is specified, so a seed means the same traffic on every
		// Go release; the worker number makes the workers' streams differ.
		rng:      rand.New(rand.NewPCG(uint64(seed), uint64(w))),
		mix:      mix,
		perGroup: perGroup,
		maxAlert: max(2*perGroup, perGroup+1),
		now:      func() time.Time { return now().UTC() },
		w:        w, n: n, total: groups,
	}
	start := t.now()
	for g := w; g < groups; g += n {
		grp := newGroup(g)
		grp.fire(perGroup, start)
		t.groups = append(t.groups, grp)
	}
	t.firing.init(len(t.groups))
	t.resolved.init(len(t.groups))
	for i := range t.groups {
		t.firing.add(i)
	}
	return t
}

// warmup returns the first notification of every group.
func (t *traffic) warmup() []*message {
	out := make([]*message, 0, len(t.groups))
	for _, g := range t.groups {
		out = append(out, g.message(reasonFirst))
	}
	return out
}

// next advances the simulation by one action and returns the notification it
// causes.
func (t *traffic) next() *message {
	r := t.rng.IntN(t.mix.total())
	switch {
	case r < t.mix.Repeat:
		if i, ok := t.firing.pick(t.rng); ok {
			return t.groups[i].message(reasonRepeat)
		}
		return t.refire()
	case r < t.mix.Repeat+t.mix.AddAlert:
		i, ok := t.firing.pick(t.rng)
		if !ok {
			return t.refire()
		}
		g := t.groups[i]
		if len(g.alerts) >= t.maxAlert {
			return g.message(reasonRepeat)
		}
		g.add(t.now())
		return g.message(reasonAdded)
	case r < t.mix.Repeat+t.mix.AddAlert+t.mix.ResolveRefire:
		i := t.rng.IntN(len(t.groups))
		if t.groups[i].firing {
			return t.resolveGroup(i)
		}
		return t.refireGroup(i)
	case r < t.mix.Repeat+t.mix.AddAlert+t.mix.ResolveRefire+t.mix.New:
		g := t.freshGroup()
		g.fire(t.perGroup, t.now())
		return g.message(reasonFirst)
	default:
		i := t.rng.IntN(len(t.groups))
		if t.groups[i].firing {
			return t.resolveGroup(i)
		}
		t.groups[i] = t.freshGroup()
		return t.refireGroup(i)
	}
}

// freshGroup returns a group no earlier notification of the run had.
func (t *traffic) freshGroup() *group {
	g := newGroupIn(t.total+t.w+t.n*t.fresh, t.run)
	t.fresh++
	return g
}

func (t *traffic) resolveGroup(i int) *message {
	g := t.groups[i]
	g.resolve(t.now())
	t.firing.remove(i)
	t.resolved.add(i)
	return g.message(reasonResolved)
}

// refire refires a resolved group; it is only called when none fire.
func (t *traffic) refire() *message {
	i, _ := t.resolved.pick(t.rng)
	return t.refireGroup(i)
}

func (t *traffic) refireGroup(i int) *message {
	g := t.groups[i]
	g.fire(t.perGroup, t.now())
	t.resolved.remove(i)
	t.firing.add(i)
	return g.message(reasonFirst)
}

// indexSet is a set of small ints with O(1) add, remove and uniform pick.
type indexSet struct {
	items []int
	pos   []int // pos[i] is i's index in items, or -1
}

// init empties s and sizes it for the elements 0..n-1.
func (s *indexSet) init(n int) {
	s.items = make([]int, 0, n)
	s.pos = make([]int, n)
	for i := range s.pos {
		s.pos[i] = -1
	}
}

func (s *indexSet) add(i int) {
	if s.pos[i] >= 0 {
		return
	}
	s.pos[i] = len(s.items)
	s.items = append(s.items, i)
}

func (s *indexSet) remove(i int) {
	j := s.pos[i]
	if j < 0 {
		return
	}
	last := s.items[len(s.items)-1]
	s.items[j] = last
	s.pos[last] = j
	s.items = s.items[:len(s.items)-1]
	s.pos[i] = -1
}

func (s *indexSet) pick(rng *rand.Rand) (int, bool) {
	if len(s.items) == 0 {
		return 0, false
	}
	return s.items[rng.IntN(len(s.items))], true
}
