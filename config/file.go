package config

import (
	"errors"
	"io/fs"
	"math"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"

	"github.com/alertbridge/alertbridge/internal/secret"
	"github.com/alertbridge/alertbridge/internal/yamlfile"
)

// The file as written, with positions. Fields that hold credentials, and
// the mappings around them, are ScalarOrMapping: yamlfile quotes a scalar
// found where a mapping belongs ("expected a mapping, found \"s3cr3t\""),
// and `bearer: s3cr3t` is an easy slip, so those scalars are taken in and
// reported without their text.
type fileSpec struct {
	Sources       []yamlfile.Value[sourceSpec]       `yaml:"sources"`
	Limits        yamlfile.Value[*limitsSpec]        `yaml:"limits"`
	Storage       yamlfile.Value[*storageSpec]       `yaml:"storage"`
	RuleFiles     []yamlfile.Value[string]           `yaml:"rule_files"`
	API           yamlfile.Value[*apiSpec]           `yaml:"api"`
	Sinks         []yamlfile.Value[sinkSpec]         `yaml:"sinks"`
	Notifications yamlfile.Value[*notificationsSpec] `yaml:"notifications"`
	Incidents     yamlfile.Value[*incidentsSpec]     `yaml:"incidents"`
}

type incidentsSpec struct {
	CloseAfter yamlfile.Value[string] `yaml:"close_after"`
}

type guarded[M any] = yamlfile.Value[yamlfile.ScalarOrMapping[string, M]]

type sourceSpec struct {
	Name           yamlfile.Value[string]           `yaml:"name"`
	Type           yamlfile.Value[string]           `yaml:"type"`
	Auth           guarded[authSpec]                `yaml:"auth"`
	RoutingKey     yamlfile.Value[string]           `yaml:"routing_key"`
	RoutingKeyFile yamlfile.Value[string]           `yaml:"routing_key_file"`
	RoutingKeyEnv  yamlfile.Value[string]           `yaml:"routing_key_env"`
	RateLimit      yamlfile.Value[*rateLimitSpec]   `yaml:"rate_limit"`
	AntiEntropy    yamlfile.Value[*antiEntropySpec] `yaml:"anti_entropy"`
	// ExpectTrafficWithin opens an incident when the source sends nothing
	// for that long.
	ExpectTrafficWithin yamlfile.Value[string] `yaml:"expect_traffic_within"`
	// ResolveTimeout resolves the source's firing alerts that are not
	// repeated for that long; 0s never.
	ResolveTimeout yamlfile.Value[string] `yaml:"resolve_timeout"`
}

// antiEntropySpec is an alertmanager source's poller of Alertmanager's API.
type antiEntropySpec struct {
	URLs      []yamlfile.Value[string] `yaml:"urls"`
	Interval  yamlfile.Value[string]   `yaml:"interval"`
	Grace     yamlfile.Value[string]   `yaml:"grace"`
	GroupBy   []yamlfile.Value[string] `yaml:"group_by"`
	Receivers []yamlfile.Value[string] `yaml:"receivers"`
	Bearer    guarded[bearerSpec]      `yaml:"bearer"`
	Basic     guarded[basicSpec]       `yaml:"basic"`
}

type authSpec struct {
	Bearer guarded[bearerSpec] `yaml:"bearer"`
	Basic  guarded[basicSpec]  `yaml:"basic"`
	HMAC   guarded[hmacSpec]   `yaml:"hmac"`
}

type bearerSpec struct {
	Token     yamlfile.Value[string] `yaml:"token"`
	TokenFile yamlfile.Value[string] `yaml:"token_file"`
	TokenEnv  yamlfile.Value[string] `yaml:"token_env"`
}

type basicSpec struct {
	Username     yamlfile.Value[string] `yaml:"username"`
	Password     yamlfile.Value[string] `yaml:"password"`
	PasswordFile yamlfile.Value[string] `yaml:"password_file"`
	PasswordEnv  yamlfile.Value[string] `yaml:"password_env"`
	Retention    yamlfile.Value[string] `yaml:"retention"`
}

type hmacSpec struct {
	Secret          yamlfile.Value[string] `yaml:"secret"`
	SecretFile      yamlfile.Value[string] `yaml:"secret_file"`
	SecretEnv       yamlfile.Value[string] `yaml:"secret_env"`
	Header          yamlfile.Value[string] `yaml:"header"`
	TimestampHeader yamlfile.Value[string] `yaml:"timestamp_header"`
	MaxSkew         yamlfile.Value[string] `yaml:"max_skew"`
}

type rateLimitSpec struct {
	RequestsPerSecond yamlfile.Value[*float64] `yaml:"requests_per_second"`
	Burst             yamlfile.Value[*int]     `yaml:"burst"`
}

type limitsSpec struct {
	MaxBodyBytes         yamlfile.Value[*int64] `yaml:"max_body_bytes"`
	MaxAlertsPerRequest  yamlfile.Value[*int]   `yaml:"max_alerts_per_request"`
	MaxLabelsPerAlert    yamlfile.Value[*int]   `yaml:"max_labels_per_alert"`
	MaxLabelNameLength   yamlfile.Value[*int]   `yaml:"max_label_name_length"`
	MaxLabelValueLength  yamlfile.Value[*int]   `yaml:"max_label_value_length"`
	MaxAnnotationBytes   yamlfile.Value[*int]   `yaml:"max_annotation_bytes"`
	MaxJSONDepth         yamlfile.Value[*int]   `yaml:"max_json_depth"`
	MaxFingerprintLength yamlfile.Value[*int]   `yaml:"max_fingerprint_length"`
	MaxURLLength         yamlfile.Value[*int]   `yaml:"max_url_length"`
	MaxStringLength      yamlfile.Value[*int]   `yaml:"max_string_length"`
	MaxInflightBodyBytes yamlfile.Value[*int64] `yaml:"max_inflight_body_bytes"`
	BodyReadTimeout      yamlfile.Value[string] `yaml:"body_read_timeout"`
}

type storageSpec struct {
	Path         yamlfile.Value[string] `yaml:"path"`
	DSN          yamlfile.Value[string] `yaml:"dsn"`
	Password     yamlfile.Value[string] `yaml:"password"`
	PasswordFile yamlfile.Value[string] `yaml:"password_file"`
	PasswordEnv  yamlfile.Value[string] `yaml:"password_env"`
	Retention    yamlfile.Value[string] `yaml:"retention"`
}

// decode is the first pass: strict decoding with positions.
func decode(name string, data []byte) (*fileSpec, yamlfile.Errors) {
	f := &fileSpec{}
	var errs yamlfile.Errors
	errs.Append(yamlfile.Decode(name, data, f))
	return f, errs
}

// applyDefaults is the second pass: every key that has a default and is not
// written gets it, so that validate sees the effective values. A default
// has no position. max_alerts_per_request and max_inflight_body_bytes are
// left unset when not written: their defaults derive from the effective
// body limit, which --ingest.max-body-bytes may set instead of the file, so
// ingest derives them (Limits says how).
func (f *fileSpec) applyDefaults() {
	if f.Limits.V == nil {
		f.Limits.V = &limitsSpec{}
	}
	l := f.Limits.V
	setDefault(&l.MaxBodyBytes, DefaultMaxBodyBytes)
	setDefault(&l.MaxLabelsPerAlert, DefaultMaxLabelsPerAlert)
	setDefault(&l.MaxLabelNameLength, DefaultMaxLabelNameLength)
	setDefault(&l.MaxLabelValueLength, DefaultMaxLabelValueLength)
	setDefault(&l.MaxAnnotationBytes, DefaultMaxAnnotationBytes)
	setDefault(&l.MaxJSONDepth, DefaultMaxJSONDepth)
	setDefault(&l.MaxFingerprintLength, DefaultMaxFingerprintLength)
	setDefault(&l.MaxURLLength, DefaultMaxURLLength)
	setDefault(&l.MaxStringLength, DefaultMaxStringLength)
	if l.BodyReadTimeout.V == "" {
		l.BodyReadTimeout.V = model.Duration(DefaultBodyReadTimeout).String()
	}
	if f.Storage.V == nil {
		f.Storage.V = &storageSpec{}
	}
	if f.Storage.V.Retention.V == "" {
		f.Storage.V.Retention.V = model.Duration(DefaultRetention).String()
	}
	if f.Incidents.V == nil {
		f.Incidents.V = &incidentsSpec{}
	}
	if f.Incidents.V.CloseAfter.V == "" {
		f.Incidents.V.CloseAfter.V = model.Duration(DefaultCloseAfter).String()
	}
	for i := range f.Sources {
		s := &f.Sources[i].V
		if h := &s.Auth.V.Mapping.HMAC.V.Mapping; s.Auth.V.IsMapping && s.Auth.V.Mapping.HMAC.V.IsMapping {
			if h.Header.V == "" {
				h.Header.V = DefaultHMACHeader
			}
			if h.TimestampHeader.V == "" {
				h.TimestampHeader.V = DefaultHMACTimestampHeader
			}
			if h.MaxSkew.V == "" {
				h.MaxSkew.V = model.Duration(DefaultHMACMaxSkew).String()
			}
		}
		if r := s.RateLimit.V; r != nil && r.Burst.V == nil && r.RequestsPerSecond.V != nil {
			// One second's worth of requests, and at least one.
			b := int(math.Max(1, math.Ceil(math.Min(*r.RequestsPerSecond.V, math.MaxInt32))))
			r.Burst.V = &b
		}
	}
}

func setDefault[T any](v *yamlfile.Value[*T], def T) {
	if v.V == nil {
		v.V = &def
	}
}

// nameRE is what a source name may be: it is a metric label value and the
// source of incidents, so it stays plain.
var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

// validator collects the problems of the third pass. A position where
// decoding already reported a problem gets no second, consequential one.
type validator struct {
	o     ParseOptions
	errs  yamlfile.Errors
	taken map[yamlfile.Pos]bool
}

func (v *validator) add(pos yamlfile.Pos, format string, args ...any) {
	if v.taken[pos] {
		return
	}
	v.errs.Add(pos, format, args...)
}

// validate is the third pass: it checks the effective values, reads the
// secrets and builds the Config. Messages name keys and source names, never
// a secret's value.
func (f *fileSpec) validate(o ParseOptions, decodeErrs yamlfile.Errors) (*Config, yamlfile.Errors) {
	v := &validator{o: o, taken: make(map[yamlfile.Pos]bool)}
	for _, e := range decodeErrs {
		v.taken[e.Pos] = true
	}
	cfg := &Config{Limits: v.limits(f.Limits.V)}
	names := make(map[string]yamlfile.Pos)
	for i, s := range f.Sources {
		src, ok := v.source(i, s)
		if !ok {
			continue
		}
		if first, dup := names[src.Name]; dup {
			v.add(s.V.Name.Pos, "source %q: duplicate name, first at line %d", src.Name, first.Line)
			continue
		}
		names[src.Name] = s.V.Name.Pos
		cfg.Sources = append(cfg.Sources, src)
	}
	v.distinctCredentials(f, cfg.Sources)
	if f.API.V != nil {
		cfg.API = v.api(f.API.V, cfg.Sources)
	} else {
		cfg.API = v.api(&apiSpec{}, nil)
	}
	cfg.Sinks = v.sinks(f.Sinks)
	cfg.Notifications = v.notifications(f.Notifications.V, cfg.Sinks)
	cfg.Storage = v.storage(f.Storage.V)
	cfg.Storage.Retention = v.offDuration("storage: retention", f.Storage.V.Retention)
	cfg.Incidents.CloseAfter = v.offDuration("incidents: close_after", f.Incidents.V.CloseAfter)
	for _, rf := range f.RuleFiles {
		switch {
		case rf.V == "":
			v.add(rf.Pos, "rule_files: empty pattern")
			continue
		case !validPattern(rf.V):
			v.add(rf.Pos, "rule_files: bad pattern %q", rf.V)
			continue
		}
		cfg.RuleFiles = append(cfg.RuleFiles, v.path(rf.V))
	}
	return cfg, v.errs
}

func validPattern(p string) bool {
	_, err := filepath.Match(p, "")
	return err == nil
}

// path joins a relative path to the config file's directory.
func (v *validator) path(p string) string {
	if filepath.IsAbs(p) || v.o.Dir == "" {
		return p
	}
	return filepath.Join(v.o.Dir, p)
}

func (v *validator) limits(l *limitsSpec) Limits {
	positive := func(val yamlfile.Value[*int], key string, min int) int {
		if *val.V < min {
			v.add(val.Pos, "limits: %s: must be at least %d", key, min)
		}
		return *val.V
	}
	out := Limits{
		MaxBodyBytes:         *l.MaxBodyBytes.V,
		MaxLabelsPerAlert:    positive(l.MaxLabelsPerAlert, "max_labels_per_alert", 1),
		MaxLabelNameLength:   positive(l.MaxLabelNameLength, "max_label_name_length", 1),
		MaxLabelValueLength:  positive(l.MaxLabelValueLength, "max_label_value_length", 1),
		MaxAnnotationBytes:   positive(l.MaxAnnotationBytes, "max_annotation_bytes", 1),
		MaxJSONDepth:         positive(l.MaxJSONDepth, "max_json_depth", minMaxJSONDepth),
		MaxFingerprintLength: positive(l.MaxFingerprintLength, "max_fingerprint_length", 1),
		MaxURLLength:         positive(l.MaxURLLength, "max_url_length", 1),
		MaxStringLength:      positive(l.MaxStringLength, "max_string_length", 1),
	}
	if l.MaxAlertsPerRequest.V != nil {
		out.MaxAlertsPerRequest = positive(l.MaxAlertsPerRequest, "max_alerts_per_request", 1)
	}
	if out.MaxBodyBytes < minMaxBodyBytes {
		v.add(l.MaxBodyBytes.Pos, "limits: max_body_bytes: must be at least %d", minMaxBodyBytes)
	}
	if m := l.MaxInflightBodyBytes; m.V != nil {
		out.MaxInflightBodyBytes = *m.V
		if need := MinInflightBodyBytes(out.MaxBodyBytes); *m.V < need {
			v.add(m.Pos, "limits: max_inflight_body_bytes: must be at least %d, room for one compressed body of max_body_bytes", need)
		}
	}
	switch d, err := model.ParseDuration(l.BodyReadTimeout.V); {
	case err != nil:
		v.add(l.BodyReadTimeout.Pos, "limits: body_read_timeout: %v", err)
	case d <= 0:
		v.add(l.BodyReadTimeout.Pos, "limits: body_read_timeout: must be greater than 0")
	default:
		out.BodyReadTimeout = time.Duration(d)
	}
	return out
}

// source checks one source and builds it; ok is false when it has no
// usable name or type, so nothing else can be said about it.
func (v *validator) source(i int, sv yamlfile.Value[sourceSpec]) (src Source, ok bool) {
	s := sv.V
	prefix := "source #" + strconv.Itoa(i+1) + ": "
	switch {
	case !s.Name.IsSet() || s.Name.V == "":
		v.add(sv.Pos, "%sname: required", prefix)
	case !nameRE.MatchString(s.Name.V):
		v.add(s.Name.Pos, "%sname: %q must be 1 to 64 letters, digits, '_', '.' or '-', starting with a letter or digit", prefix, s.Name.V)
	default:
		prefix = "source " + strconv.Quote(s.Name.V) + ": "
		src.Name = s.Name.V
	}
	typ := SourceType(s.Type.V)
	switch {
	case !s.Type.IsSet() || s.Type.V == "":
		v.add(sv.Pos, "%stype: required, one of %s", prefix, typeList())
	case !validType(typ):
		v.add(s.Type.Pos, "%stype: unknown type %q, want one of %s", prefix, s.Type.V, typeList())
	default:
		src.Type = typ
	}
	if src.Name == "" || src.Type == "" {
		return src, false
	}

	src.Auth = v.auth(s.Auth, prefix)
	if src.Auth.IsZero() && src.Type != TypePagerDuty && !s.Auth.IsSet() {
		v.add(sv.Pos, "%sauth: required for a source of type %s (only a pagerduty source may go without, its routing_key identifies it)", prefix, src.Type)
	}

	rk := []yamlfile.Value[string]{s.RoutingKey, s.RoutingKeyFile, s.RoutingKeyEnv}
	if src.Type == TypePagerDuty {
		src.RoutingKey = v.secret(prefix, sv.Pos, "routing_key", rk)
	} else if p, set := firstSet(rk); set {
		v.add(p.Pos, "%srouting_key: only a pagerduty source has one", prefix)
	}

	if r := s.RateLimit.V; r != nil {
		rl := &RateLimit{}
		switch {
		case r.RequestsPerSecond.V == nil:
			v.add(s.RateLimit.Pos, "%srate_limit: requests_per_second: required", prefix)
		case !(*r.RequestsPerSecond.V > 0) || math.IsInf(*r.RequestsPerSecond.V, 0):
			v.add(r.RequestsPerSecond.Pos, "%srate_limit: requests_per_second: must be greater than 0", prefix)
		default:
			rl.RequestsPerSecond = *r.RequestsPerSecond.V
		}
		if r.Burst.V != nil {
			if rl.Burst = *r.Burst.V; rl.Burst < 1 {
				v.add(r.Burst.Pos, "%srate_limit: burst: must be at least 1", prefix)
			}
		}
		src.RateLimit = rl
	}
	src.ResolveTimeout = DefaultResolveTimeout(src.Type)
	if s.ResolveTimeout.IsSet() {
		switch d, err := model.ParseDuration(s.ResolveTimeout.V); {
		case src.Type == TypeChanges || src.Type == TypeHeartbeats:
			v.add(s.ResolveTimeout.Pos, "%sresolve_timeout: a %s source sends no alerts", prefix, src.Type)
		case err != nil:
			v.add(s.ResolveTimeout.Pos, "%sresolve_timeout: %v", prefix, err)
		default:
			src.ResolveTimeout = time.Duration(d)
		}
	}
	if s.ExpectTrafficWithin.IsSet() {
		if src.Type == TypeChanges {
			// Deploys come when they come: silence is no failure.
			v.add(s.ExpectTrafficWithin.Pos, "%sexpect_traffic_within: a changes source is not expected to send regularly", prefix)
		} else if d, ok := v.positiveDuration(s.ExpectTrafficWithin, prefix+"expect_traffic_within"); ok {
			src.ExpectTrafficWithin = d
		}
	}
	if a := s.AntiEntropy.V; a != nil {
		if src.Type != TypeAlertmanager {
			v.add(s.AntiEntropy.Pos, "%santi_entropy: only an alertmanager source has one", prefix)
		} else {
			src.AntiEntropy = v.antiEntropy(a, s.AntiEntropy.Pos, prefix+"anti_entropy: ")
		}
	}
	return src, true
}

// positiveDuration parses a duration that must be greater than 0; ok is
// false when val is empty or wrong (and then reported as field).
func (v *validator) positiveDuration(val yamlfile.Value[string], field string) (time.Duration, bool) {
	if val.V == "" {
		return 0, false
	}
	switch md, err := model.ParseDuration(val.V); {
	case err != nil:
		v.add(val.Pos, "%s: %v", field, err)
	case md <= 0:
		v.add(val.Pos, "%s: must be greater than 0", field)
	default:
		return time.Duration(md), true
	}
	return 0, false
}

func (v *validator) antiEntropy(a *antiEntropySpec, pos yamlfile.Pos, prefix string) *AntiEntropy {
	out := &AntiEntropy{Interval: DefaultAntiEntropyInterval, Grace: DefaultAntiEntropyGrace}
	if len(a.URLs) == 0 {
		v.add(pos, "%surls: required: the Alertmanager base URLs to poll, e.g. http://alertmanager:9093", prefix)
	}
	for _, u := range a.URLs {
		pu, err := url.Parse(u.V)
		if err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
			v.add(u.Pos, "%surls: %q is not an http(s) URL with a host", prefix, u.V)
			continue
		}
		out.URLs = append(out.URLs, u.V)
	}
	for _, d := range []struct {
		key string
		val yamlfile.Value[string]
		dst *time.Duration
	}{{"interval", a.Interval, &out.Interval}, {"grace", a.Grace, &out.Grace}} {
		if md, ok := v.positiveDuration(d.val, prefix+d.key); ok {
			*d.dst = md
		}
	}
	for _, g := range a.GroupBy {
		out.GroupBy = append(out.GroupBy, g.V)
	}
	for _, r := range a.Receivers {
		out.Receivers = append(out.Receivers, r.V)
	}
	if b, _, ok := method(v, a.Bearer, prefix, "bearer", "token, token_file or token_env"); ok {
		out.Bearer = v.bearer(b, a.Bearer.Pos, prefix)
	}
	if b, _, ok := method(v, a.Basic, prefix, "basic", "username and password, password_file or password_env"); ok {
		out.Basic = v.basic(b, a.Basic.Pos, prefix)
	}
	if out.Bearer != nil && out.Basic != nil {
		v.add(pos, "%sbearer and basic: choose one", prefix)
	}
	return out
}

func validType(t SourceType) bool {
	for _, k := range SourceTypes {
		if t == k {
			return true
		}
	}
	return false
}

func typeList() string {
	s := make([]string, len(SourceTypes))
	for i, t := range SourceTypes {
		s[i] = string(t)
	}
	return strings.Join(s, ", ")
}

// auth checks the auth block: at most one method, and that one complete.
func (v *validator) auth(a guarded[authSpec], prefix string) Auth {
	if !a.IsSet() {
		return Auth{}
	}
	if !a.V.IsMapping {
		v.add(a.Pos, "%sauth: expected a mapping with one of bearer, basic or hmac", prefix)
		return Auth{}
	}
	m := a.V.Mapping
	var out Auth
	n := 0
	if b, present, ok := method(v, m.Bearer, prefix, "bearer", "token, token_file or token_env"); ok {
		out.Bearer = v.bearer(b, m.Bearer.Pos, prefix)
		n++
	} else if present {
		n++
	}
	if b, present, ok := method(v, m.Basic, prefix, "basic", "username and a password, password_file or password_env"); ok {
		out.Basic = v.basic(b, m.Basic.Pos, prefix)
		n++
	} else if present {
		n++
	}
	if h, present, ok := method(v, m.HMAC, prefix, "hmac", "secret, secret_file or secret_env"); ok {
		out.HMAC = v.hmac(h, m.HMAC.Pos, prefix)
		n++
	} else if present {
		n++
	}
	if n == 0 {
		v.add(a.Pos, "%sauth: set one of bearer, basic or hmac", prefix)
	} else if n > 1 {
		v.add(a.Pos, "%sauth: set only one of bearer, basic or hmac", prefix)
	}
	return out
}

// method returns the mapping of one auth method when it is written as one.
// present says it is written at all (not absent or null), so that a method
// written wrongly is reported once, and not also as missing.
func method[M any](v *validator, g guarded[M], prefix, key, want string) (m M, present, ok bool) {
	switch {
	case !g.IsSet() || (!g.V.IsMapping && g.V.Scalar == ""):
		return m, false, false
	case !g.V.IsMapping:
		v.add(g.Pos, "%s%s: expected a mapping with %s", prefix, key, want)
		return m, true, false
	}
	return g.V.Mapping, true, true
}

func (v *validator) bearer(b bearerSpec, pos yamlfile.Pos, prefix string) *BearerAuth {
	vals := []yamlfile.Value[string]{b.Token, b.TokenFile, b.TokenEnv}
	out := &BearerAuth{Token: v.secret(prefix+"bearer: ", pos, "token", vals)}
	if t := out.Token.Reveal(); t != "" && !validToken(t) {
		v.add(firstSetPos(vals...), "%sbearer: token: must not contain spaces or control characters", prefix)
	}
	return out
}

func (v *validator) basic(b basicSpec, pos yamlfile.Pos, prefix string) *BasicAuth {
	out := &BasicAuth{Username: b.Username.V}
	switch {
	case b.Username.V == "":
		v.add(pos, "%sbasic: username: required", prefix)
	case strings.ContainsRune(b.Username.V, ':'):
		// RFC 7617: the user-id cannot contain a colon.
		v.add(b.Username.Pos, "%sbasic: username: must not contain ':'", prefix)
	}
	out.Password = v.secret(prefix+"basic: ", pos, "password",
		[]yamlfile.Value[string]{b.Password, b.PasswordFile, b.PasswordEnv})
	return out
}

func (v *validator) hmac(h hmacSpec, pos yamlfile.Pos, prefix string) *HMACAuth {
	out := &HMACAuth{
		Secret: v.secret(prefix+"hmac: ", pos, "secret",
			[]yamlfile.Value[string]{h.Secret, h.SecretFile, h.SecretEnv}),
		Header:          h.Header.V,
		TimestampHeader: h.TimestampHeader.V,
	}
	for _, hd := range []struct {
		key string
		val yamlfile.Value[string]
	}{{"header", h.Header}, {"timestamp_header", h.TimestampHeader}} {
		if !validHeaderName(hd.val.V) {
			v.add(hd.val.Pos, "%shmac: %s: %q is not a valid HTTP header name", prefix, hd.key, hd.val.V)
		}
	}
	if strings.EqualFold(out.Header, out.TimestampHeader) {
		v.add(h.TimestampHeader.Pos, "%shmac: timestamp_header: must differ from header", prefix)
	}
	switch d, err := model.ParseDuration(h.MaxSkew.V); {
	case err != nil:
		v.add(h.MaxSkew.Pos, "%shmac: max_skew: %v", prefix, err)
	case d <= 0:
		v.add(h.MaxSkew.Pos, "%shmac: max_skew: must be greater than 0", prefix)
	default:
		out.MaxSkew = time.Duration(d)
	}
	return out
}

// offDuration reads a duration that may be 0 (off), in Prometheus's
// syntax (90d, 1w, 12h30m).
func (v *validator) offDuration(key string, d yamlfile.Value[string]) time.Duration {
	md, err := model.ParseDuration(d.V)
	if err != nil {
		v.add(d.Pos, "%s: %v", key, err)
	}
	return time.Duration(md)
}

// storage reads where the records live: a SQLite directory (path) or a
// PostgreSQL server (dsn, with its password inline, from a file or from the
// environment, or none for trust or PGPASSWORD).
func (v *validator) storage(s *storageSpec) Storage {
	var out Storage
	if s.Path.V != "" {
		out.Path = v.path(s.Path.V)
	}
	pw := []yamlfile.Value[string]{s.Password, s.PasswordFile, s.PasswordEnv}
	if s.DSN.V == "" {
		if p, set := firstSet(pw); set {
			v.add(p.Pos, "storage: a password needs a dsn")
		}
		return out
	}
	if s.Path.V != "" {
		v.add(s.DSN.Pos, "storage: set path (SQLite) or dsn (PostgreSQL), not both")
	}
	u, err := url.Parse(s.DSN.V)
	switch {
	case err != nil:
		v.add(s.DSN.Pos, "storage: dsn: not a URL such as postgres://alertbridge@db.example:5432/alertbridge?sslmode=verify-full")
		return out
	case u.Scheme != "postgres" && u.Scheme != "postgresql":
		v.add(s.DSN.Pos, "storage: dsn: scheme %q: only postgres:// (or postgresql://) is supported", u.Scheme)
		return out
	}
	if _, inDSN := u.User.Password(); inDSN {
		if p, set := firstSet(pw); set {
			v.add(p.Pos, "storage: the dsn already has a password: remove one of them")
		}
	}
	out.DSN = s.DSN.V
	if _, set := firstSet(pw); set {
		out.Password = v.secret("storage: ", s.DSN.Pos, "password", pw)
	}
	return out
}

// secret reads a secret given inline (vals[0]), from a file (vals[1]) or
// from an environment variable (vals[2]); exactly one must be set. pos is
// where to report a missing secret; key is the inline key's name.
func (v *validator) secret(prefix string, pos yamlfile.Pos, key string, vals []yamlfile.Value[string]) secret.Value {
	inline, file, env := vals[0], vals[1], vals[2]
	n := 0
	for _, x := range vals {
		if x.V != "" {
			n++
		}
	}
	keys := key + ", " + key + "_file or " + key + "_env"
	switch {
	case n == 0:
		if p, set := firstSet(vals); set {
			pos = p.Pos // written, but empty
		}
		v.add(pos, "%s%s: required: set one of %s", prefix, key, keys)
		return secret.Value{}
	case n > 1:
		p, _ := firstSet(vals)
		v.add(p.Pos, "%s%s: set only one of %s", prefix, key, keys)
		return secret.Value{}
	}
	switch {
	case inline.V != "":
		return secret.New(inline.V)
	case file.V != "":
		path := v.path(file.V)
		data, err := v.o.ReadFile(path)
		if err != nil {
			var pe *fs.PathError
			if errors.As(err, &pe) {
				err = pe.Err
			}
			v.add(file.Pos, "%s%s_file: read %s: %v", prefix, key, path, err)
			return secret.Value{}
		}
		s := trimNewline(string(data))
		if s == "" {
			v.add(file.Pos, "%s%s_file: %s is empty", prefix, key, path)
		}
		return secret.New(s)
	default:
		s, ok := v.o.LookupEnv(env.V)
		switch {
		case !ok:
			v.add(env.Pos, "%s%s_env: environment variable %s is not set", prefix, key, env.V)
		case s == "":
			v.add(env.Pos, "%s%s_env: environment variable %s is empty", prefix, key, env.V)
		}
		return secret.New(s)
	}
}

// trimNewline removes one trailing newline ("\n" or "\r\n"), which editors
// and `echo` add to a secret file; any other whitespace is part of the
// secret.
func trimNewline(s string) string {
	if t, ok := strings.CutSuffix(s, "\n"); ok {
		return strings.TrimSuffix(t, "\r")
	}
	return s
}

// firstSet returns the first of vals written with a non-empty value, or
// else the first written at all.
func firstSet(vals []yamlfile.Value[string]) (yamlfile.Value[string], bool) {
	for _, x := range vals {
		if x.V != "" {
			return x, true
		}
	}
	for _, x := range vals {
		if x.IsSet() {
			return x, true
		}
	}
	return yamlfile.Value[string]{}, false
}

func firstSetPos(vals ...yamlfile.Value[string]) yamlfile.Pos {
	p, _ := firstSet(vals)
	return p.Pos
}

// validToken reports whether a bearer token can travel in an Authorization
// header as one word.
func validToken(t string) bool {
	for _, r := range t {
		if r <= ' ' || r == 0x7f {
			return false
		}
	}
	return true
}

// validHeaderName reports whether s is an HTTP field name (RFC 9110 token).
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0 {
			continue
		}
		return false
	}
	return true
}

// distinctCredentials reports two sources of one type that the daemon could
// not tell apart: the same routing key, token, or username and password. The
// messages name the sources, not the credentials.
func (v *validator) distinctCredentials(f *fileSpec, srcs []Source) {
	pos := make(map[string]yamlfile.Pos, len(f.Sources))
	for _, s := range f.Sources {
		pos[s.V.Name.V] = s.V.Name.Pos
	}
	type key struct {
		typ  SourceType
		kind string
		cred string
	}
	seen := make(map[key]string)
	check := func(s Source, kind, cred string) {
		if cred == "" {
			return
		}
		k := key{s.Type, kind, cred}
		if first, dup := seen[k]; dup {
			v.add(pos[s.Name], "source %q: same %s as source %q: the two could not be told apart", s.Name, kind, first)
			return
		}
		seen[k] = s.Name
	}
	for _, s := range srcs {
		check(s, "routing_key", s.RoutingKey.Reveal())
		if s.Auth.Bearer != nil {
			check(s, "bearer token", s.Auth.Bearer.Token.Reveal())
		}
		if s.Auth.Basic != nil && !s.Auth.Basic.Password.IsZero() {
			check(s, "basic auth username and password", s.Auth.Basic.Username+"\x00"+s.Auth.Basic.Password.Reveal())
		}
		if s.Auth.HMAC != nil {
			check(s, "hmac secret", s.Auth.HMAC.Secret.Reveal())
		}
	}
}
