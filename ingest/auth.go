package ingest

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/internal/secret"
)

// This file authenticates ingest requests. Every comparison of a credential
// is constant-time over fixed-length SHA-256 digests, so neither the content
// nor the length of a configured secret leaks through timing, and every
// configured source of the endpoint is compared, so which one matched does
// not either. Nothing here logs or returns a credential.

// The HMAC defaults, as the config file documents them.
const (
	DefaultHMACHeader          = "X-Alertbridge-Signature"
	DefaultHMACTimestampHeader = "X-Alertbridge-Timestamp"
	DefaultHMACMaxSkew         = 5 * time.Minute
)

// replayCacheSize bounds the signatures remembered in memory per HMAC
// source. The cache only saves the store a look-up: every accepted
// signature is also recorded in the store, in the transaction of its
// request, and stays there for twice the source's max_skew.
const replayCacheSize = 1 << 16

// realm is the realm of the WWW-Authenticate challenges.
const realm = "alertbridge"

// Source is one configured sender. It authenticates with at most one of a
// bearer token (Bearer), basic auth (BasicUsername and BasicPassword) or an
// HMAC signature (HMACSecret); a pagerduty source is identified by its
// RoutingKey and may have one of them too. Secrets are secret.Values, so
// printing a Source shows none.
type Source struct {
	// Name becomes the Source of the events it sends and the source label
	// of the ingest metrics.
	Name string
	// Type is the endpoint it sends to: SourceAlertmanager, SourceGrafana,
	// SourcePagerDuty, SourceEvents or SourceChanges.
	Type string

	Bearer        secret.Value
	BasicUsername string
	BasicPassword secret.Value
	HMACSecret    secret.Value
	// HMACHeader, HMACTimestampHeader and HMACMaxSkew default to
	// DefaultHMACHeader, DefaultHMACTimestampHeader and DefaultHMACMaxSkew.
	HMACHeader          string
	HMACTimestampHeader string
	HMACMaxSkew         time.Duration

	// RoutingKey is the routing_key of a pagerduty source.
	RoutingKey secret.Value
	// RateLimit is zero when the source is not rate limited.
	RateLimit RateLimit
}

// digest is the SHA-256 of a credential: what is kept and compared.
type digest = [sha256.Size]byte

// source is a Source ready to authenticate. It keeps digests of its
// credentials, and the HMAC key, which cannot be a digest.
type source struct {
	name, typ  string
	bearer     *digest
	basicUser  *digest
	basicPass  *digest
	hmac       *hmacVerifier
	routingKey *digest
	limiter    *limiter // nil when not rate limited
}

// Format renders the source's name only, for every verb: its fields hold
// credentials, and fmt would print unexported fields raw.
func (s *source) Format(f fmt.State, _ rune) { _, _ = fmt.Fprintf(f, "source %q", s.name) }

// hasAuth reports whether the source requires credentials besides a
// routing key.
func (s *source) hasAuth() bool { return s.bearer != nil || s.basicUser != nil || s.hmac != nil }

func sum(s string) *digest {
	d := sha256.Sum256([]byte(s))
	return &d
}

func newSource(s Source) (*source, error) {
	if s.Name == "" {
		return nil, errors.New("source without a name")
	}
	if !knownType(s.Type) {
		return nil, fmt.Errorf("source %q: unknown type %q", s.Name, s.Type)
	}
	src := &source{name: s.Name, typ: s.Type}
	n := 0
	if !s.Bearer.IsZero() {
		n++
		src.bearer = sum(s.Bearer.Reveal())
	}
	if s.BasicUsername != "" || !s.BasicPassword.IsZero() {
		n++
		src.basicUser, src.basicPass = sum(s.BasicUsername), sum(s.BasicPassword.Reveal())
	}
	if !s.HMACSecret.IsZero() {
		n++
		v := &hmacVerifier{
			key:      []byte(s.HMACSecret.Reveal()),
			header:   s.HMACHeader,
			tsHeader: s.HMACTimestampHeader,
			maxSkew:  s.HMACMaxSkew,
		}
		if v.header == "" {
			v.header = DefaultHMACHeader
		}
		if v.tsHeader == "" {
			v.tsHeader = DefaultHMACTimestampHeader
		}
		if v.maxSkew <= 0 {
			v.maxSkew = DefaultHMACMaxSkew
		}
		v.seen = newReplayCache(replayCacheSize, 2*v.maxSkew)
		src.hmac = v
	}
	if n > 1 {
		return nil, fmt.Errorf("source %q: more than one of bearer, basic and hmac auth", s.Name)
	}
	switch {
	case s.Type == SourcePagerDuty && s.RoutingKey.IsZero():
		return nil, fmt.Errorf("source %q: a pagerduty source needs a routing key", s.Name)
	case s.Type == SourcePagerDuty:
		src.routingKey = sum(s.RoutingKey.Reveal())
	case !s.RoutingKey.IsZero():
		return nil, fmt.Errorf("source %q: only a pagerduty source has a routing key", s.Name)
	case n == 0:
		return nil, fmt.Errorf("source %q: no credentials", s.Name)
	}
	lim, err := newLimiter(s.RateLimit)
	if err != nil {
		return nil, fmt.Errorf("source %q: %w", s.Name, err)
	}
	src.limiter = lim
	return src, nil
}

// endpointAuth is what one endpoint's configured sources accept.
type endpointAuth struct {
	sources []*source
	// byHeader and bySignature say whether any source uses basic or bearer
	// auth, or an HMAC signature.
	byHeader, bySignature bool
	// challenges are the WWW-Authenticate values of a 401, one per
	// scheme the sources use (an HMAC signature has no standard one).
	challenges []string
}

func newEndpointAuth(srcs []*source) *endpointAuth {
	a := &endpointAuth{sources: srcs}
	var bearer, basic bool
	for _, s := range srcs {
		bearer = bearer || s.bearer != nil
		basic = basic || s.basicUser != nil
		a.bySignature = a.bySignature || s.hmac != nil
	}
	a.byHeader = bearer || basic
	if bearer {
		a.challenges = append(a.challenges, `Bearer realm="`+realm+`"`)
	}
	if basic {
		a.challenges = append(a.challenges, `Basic realm="`+realm+`", charset="UTF-8"`)
	}
	return a
}

// missing is the error for a request without usable credentials.
func (a *endpointAuth) missing() error {
	return &authError{missing: true, msg: "missing or malformed credentials", challenges: a.challenges}
}

// matchHeader matches the Authorization header against the bearer and
// basic sources of srcs. presented says the header carries credentials in a
// scheme one of them accepts, well-formed; when it does not, the request is
// treated as carrying none (401), when it does and none matches, as carrying
// wrong ones (403).
func matchHeader(srcs []*source, r *http.Request) (match *source, presented bool) {
	scheme, cred, ok := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " ")
	if !ok {
		return nil, false
	}
	cred = strings.TrimSpace(cred)
	switch {
	case strings.EqualFold(scheme, "Bearer"):
		if cred == "" || strings.ContainsAny(cred, " \t") {
			return nil, false
		}
		d := sum(cred)
		for _, s := range srcs {
			if s.bearer == nil {
				continue
			}
			presented = true
			if subtle.ConstantTimeCompare(d[:], s.bearer[:]) == 1 && match == nil {
				match = s
			}
		}
	case strings.EqualFold(scheme, "Basic"):
		raw, err := base64.StdEncoding.DecodeString(cred)
		if err != nil {
			return nil, false
		}
		user, pass, ok := strings.Cut(string(raw), ":")
		if !ok {
			return nil, false
		}
		du, dp := sum(user), sum(pass)
		for _, s := range srcs {
			if s.basicUser == nil {
				continue
			}
			presented = true
			u := subtle.ConstantTimeCompare(du[:], s.basicUser[:])
			p := subtle.ConstantTimeCompare(dp[:], s.basicPass[:])
			if u&p == 1 && match == nil {
				match = s
			}
		}
	}
	return match, presented
}

// matchRoutingKey returns the pagerduty source of srcs whose routing key
// is key, or nil.
func matchRoutingKey(srcs []*source, key string) *source {
	d := sum(key)
	var match *source
	for _, s := range srcs {
		if s.routingKey != nil && subtle.ConstantTimeCompare(d[:], s.routingKey[:]) == 1 && match == nil {
			match = s
		}
	}
	return match
}

// hmacVerifier checks HMAC-SHA256 signatures. The signed message is the
// timestamp header's value (Unix seconds, decimal), a ".", and the raw
// body; the signature header holds its hex digest, optionally prefixed with
// "sha256=".
type hmacVerifier struct {
	key              []byte
	header, tsHeader string
	maxSkew          time.Duration
	seen             *replayCache
}

// Format renders the verifier's headers only, never its key.
func (v *hmacVerifier) Format(f fmt.State, _ rune) {
	_, _ = fmt.Fprintf(f, "hmac(%s, %s)", v.header, v.tsHeader)
}

// signature is the HMAC-SHA256 under key of ts (the timestamp header's
// text), ".", and body.
func signature(key []byte, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// signed is a verified signature not seen before.
type signed struct {
	src *source
	key string // the raw signature
}

// nonce is the signature as the store remembers it: its SHA-256 rather
// than itself, so that the store holds nothing a request could present,
// until twice max_skew from now (when its timestamp is too old anyway).
func (s signed) nonce(now time.Time) *incident.Nonce {
	d := sha256.Sum256([]byte(s.key))
	return &incident.Nonce{Source: s.src.name, Value: hex.EncodeToString(d[:]), Expires: now.Add(2 * s.src.hmac.maxSkew)}
}

// remember adds the signature to the replay cache: its request committed.
func (s signed) remember(now time.Time) { s.src.hmac.seen.add(s.key, now) }

// matchSignature verifies the HMAC signature of the request against the
// HMAC sources of srcs. presented says the request carries both headers of
// one of them, well-formed. A signature that verifies but is outside the
// source's max_skew, or is in the replay cache, does not match; why says
// which. One the cache does not know may still be a replay: the store
// decides that when the request commits.
func matchSignature(srcs []*source, r *http.Request, body []byte, now time.Time) (match *signed, presented bool, why string) {
	why = "invalid signature"
	for _, s := range srcs {
		v := s.hmac
		if v == nil {
			continue
		}
		sig, ok := parseSignature(r.Header.Get(v.header))
		if !ok {
			continue
		}
		tsText := strings.TrimSpace(r.Header.Get(v.tsHeader))
		ts, err := strconv.ParseInt(tsText, 10, 64)
		if err != nil || ts < 0 || tsText != strconv.FormatInt(ts, 10) {
			continue
		}
		presented = true
		if !hmac.Equal(signature(v.key, tsText, body), sig) {
			continue
		}
		at := time.Unix(ts, 0)
		switch {
		case now.Sub(at) > v.maxSkew:
			why = "signature timestamp too old"
			continue
		case at.Sub(now) > v.maxSkew:
			why = "signature timestamp in the future"
			continue
		}
		key := string(sig)
		if v.seen.used(key, now) {
			why = errReplayed.msg
			continue
		}
		return &signed{src: s, key: key}, true, ""
	}
	return nil, presented, why
}

// parseSignature decodes a signature header: 64 hex digits, optionally
// prefixed with "sha256=" as GitHub and others send it.
func parseSignature(h string) ([]byte, bool) {
	h = strings.TrimSpace(h)
	if len(h) > 7 && strings.EqualFold(h[:7], "sha256=") {
		h = h[7:]
	}
	if len(h) != 2*sha256.Size {
		return nil, false
	}
	b, err := hex.DecodeString(h)
	return b, err == nil
}

// replayCache remembers committed signatures until they expire, in front
// of the store: a signature is acceptable while its timestamp is within
// max_skew of the clock, which lasts at most 2×max_skew from when it is
// first seen. It is bounded; when full, the oldest signature, the one
// closest to expiring, is forgotten, and the store still has it.
type replayCache struct {
	mu  sync.Mutex
	ttl time.Duration
	lru *simplelru.LRU[string, time.Time] // signature → when it expires
}

func newReplayCache(size int, ttl time.Duration) *replayCache {
	lru, _ := simplelru.NewLRU[string, time.Time](size, nil) // fails only for size <= 0
	return &replayCache{ttl: ttl, lru: lru}
}

// used reports whether key was added and has not expired by now.
func (c *replayCache) used(key string, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	exp, ok := c.lru.Peek(key)
	return ok && now.Before(exp)
}

// add records key as used from now.
func (c *replayCache) add(key string, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lru.Add(key, now.Add(c.ttl))
}
