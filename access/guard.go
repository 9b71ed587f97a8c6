package access

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/crypto/bcrypt"

	"github.com/alertbridge/alertbridge/internal/promreg"
	"github.com/alertbridge/alertbridge/internal/secret"
)

// AnonymousWrites says who may write without credentials when no identity is
// configured at all (--web.api.anonymous-writes).
type AnonymousWrites string

// The anonymous write modes.
const (
	// WritesLoopback accepts anonymous writes from loopback clients only:
	// the quick start works on the daemon's own machine, nobody else can
	// act. The default.
	WritesLoopback AnonymousWrites = "loopback"
	// WritesAny accepts anonymous writes from anywhere (an explicit opt-in
	// for a trusted network).
	WritesAny AnonymousWrites = "any"
	// WritesNone refuses every anonymous write.
	WritesNone AnonymousWrites = "none"
)

// ParseAnonymousWrites parses a mode name.
func ParseAnonymousWrites(s string) (AnonymousWrites, error) {
	switch m := AnonymousWrites(s); m {
	case WritesLoopback, WritesAny, WritesNone:
		return m, nil
	}
	return "", fmt.Errorf("anonymous writes %q: want loopback, any or none", s)
}

// User is one API identity from the config file: a bearer token or a bcrypt
// password hash for basic auth (exactly one).
type User struct {
	Name string
	Role Role
	// Token is the bearer token; zero for a basic-auth user.
	Token secret.Value
	// PasswordHash is the bcrypt hash of a basic-auth user's password.
	PasswordHash secret.Value
}

// Options configure a Guard.
type Options struct {
	Users []User
	// AnonymousReads lets GETs through without credentials even when
	// identities are configured. Without identities reads are always open.
	AnonymousReads bool
	// AnonymousWrites applies when no identity is configured (no Users and
	// no basic_auth_users in the web config); "" means WritesLoopback.
	AnonymousWrites AnonymousWrites
	// WebConfigFile is --web.config.file; its basic_auth_users are API
	// identities with WebConfigRole (RoleNone means RoleAdmin: in every
	// Prometheus component those users may do everything).
	WebConfigFile string
	WebConfigRole Role
	// WebConfig, when set, is the watcher of WebConfigFile to share (the
	// server reads the same file for TLS).
	WebConfig  *WebConfigFile
	Logger     *slog.Logger
	Registerer prometheus.Registerer
	// Now is the clock of the UI's sessions (default time.Now).
	Now func() time.Time
}

// Guard authenticates and authorizes requests to the API and the
// operational endpoints.
type Guard struct {
	o       Options
	log     *slog.Logger
	tokens  []tokenUser
	byName  map[string]*User // basic-auth users of the config file
	web     *WebConfigFile
	csrf    *http.CrossOriginProtection
	checked *lru.Cache[[sha256.Size]byte, bool]
	bcrypts chan struct{}
	denied  *prometheus.CounterVec
	// sessions are the web UI's signed-in identities.
	sessions sessions
}

type tokenUser struct {
	digest [sha256.Size]byte
	user   *User
}

// The reasons of alertbridge_access_denied_total.
const (
	reasonUnauthenticated = "unauthenticated"
	reasonForbidden       = "forbidden"
	reasonCrossOrigin     = "cross_origin"
	reasonWebConfig       = "web_config_error"
)

// New returns a Guard. It fails on a user without a name, a role or
// credentials, or with both kinds, and on two users sharing a name or a
// token; config validates these first, so that is a programming error there.
func New(o Options) (*Guard, error) {
	if o.AnonymousWrites == "" {
		o.AnonymousWrites = WritesLoopback
	}
	if o.WebConfigRole == RoleNone {
		o.WebConfigRole = RoleAdmin
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	g := &Guard{
		o:        o,
		log:      o.Logger.With("component", "access"),
		byName:   make(map[string]*User),
		web:      o.WebConfig,
		csrf:     http.NewCrossOriginProtection(),
		bcrypts:  make(chan struct{}, 2),
		sessions: sessions{m: map[[sha256.Size]byte]*session{}, now: o.Now},
	}
	if g.web == nil {
		g.web = NewWebConfigFile(o.WebConfigFile)
	}
	g.checked, _ = lru.New[[sha256.Size]byte, bool](1024) // fails only for a size <= 0
	seen := make(map[string]bool)
	for i := range o.Users {
		u := &o.Users[i]
		switch {
		case u.Name == "":
			return nil, errors.New("api user without a name")
		case seen[u.Name]:
			return nil, fmt.Errorf("api user %q: duplicate name", u.Name)
		case u.Role == RoleNone:
			return nil, fmt.Errorf("api user %q: no role", u.Name)
		case u.Token.IsZero() == u.PasswordHash.IsZero():
			return nil, fmt.Errorf("api user %q: want exactly one of a token and a password hash", u.Name)
		}
		seen[u.Name] = true
		if !u.Token.IsZero() {
			d := sha256.Sum256([]byte(u.Token.Reveal()))
			for _, t := range g.tokens {
				if t.digest == d {
					return nil, fmt.Errorf("api user %q: same token as api user %q", u.Name, t.user.Name)
				}
			}
			g.tokens = append(g.tokens, tokenUser{digest: d, user: u})
			continue
		}
		if _, err := bcrypt.Cost([]byte(u.PasswordHash.Reveal())); err != nil {
			return nil, fmt.Errorf("api user %q: password hash: %w", u.Name, err)
		}
		g.byName[u.Name] = u
	}
	g.denied = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "alertbridge_access_denied_total",
		Help: "API and operational requests refused by reason (unauthenticated, forbidden, cross_origin, web_config_error).",
	}, []string{"reason"})
	if o.Registerer != nil {
		g.denied = promreg.Register(o.Registerer, g.denied)
	}
	for _, r := range []string{reasonUnauthenticated, reasonForbidden, reasonCrossOrigin, reasonWebConfig} {
		g.denied.WithLabelValues(r)
	}
	// The same answer for a cross-site write as for every other refusal.
	g.csrf.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		g.deny(w, http.StatusForbidden, reasonCrossOrigin, "origin",
			"cross-origin request refused: state-changing calls are not accepted from another site's page")
	}))
	return g, nil
}

// LogMode logs, once at start, which access mode is in force: a WARN when
// anyone other than a configured identity may write.
func (g *Guard) LogMode() {
	web, err := g.web.users()
	if err != nil {
		g.log.Error("web config unreadable: every API request will fail", "err", err)
		return
	}
	if len(g.o.Users) > 0 || len(web) > 0 {
		g.log.Info("API requires an identity", "api_users", len(g.o.Users), "web_config_users", len(web),
			"anonymous_reads", g.o.AnonymousReads)
		if g.o.AnonymousWrites != WritesLoopback {
			g.log.Warn("--web.api.anonymous-writes is ignored: identities are configured", "mode", g.o.AnonymousWrites)
		}
		return
	}
	switch g.o.AnonymousWrites {
	case WritesLoopback:
		g.log.Warn("no API identities configured: reads are open, writes only from loopback clients; configure api.users (docs/config.md#security-model)",
			"mode", g.o.AnonymousWrites)
	case WritesAny:
		g.log.Warn("no API identities configured and anonymous writes allowed from anywhere: anyone on the network can acknowledge, resolve and merge incidents",
			"mode", g.o.AnonymousWrites)
	default:
		g.log.Info("no API identities configured: reads are open, writes refused", "mode", g.o.AnonymousWrites)
	}
}

// Require wraps h so that it runs only for an identity allowed need, with
// the Identity in the request context. A write (any method but GET, HEAD
// and OPTIONS) from another site's page is refused first.
func (g *Guard) Require(need Role, h http.Handler) http.Handler {
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		web, ok := g.webUsers(w)
		if !ok {
			return
		}
		id, ok := g.authenticate(w, r, web)
		if !ok {
			return
		}
		if id.Anonymous() {
			if !g.anonymousAllowed(w, r, need, web) {
				return
			}
			id.Role = need // what the anonymous rules let it do here, no more
		}
		if !id.Role.Allows(need) {
			g.deny(w, http.StatusForbidden, reasonForbidden, "authorization",
				fmt.Sprintf("%s has the %s role; this needs %s", id.Name, id.Role, need))
			return
		}
		h.ServeHTTP(w, r.WithContext(NewContext(r.Context(), id)))
	})
	return g.csrf.Handler(inner)
}

// Public wraps an endpoint every Prometheus component leaves open
// (/metrics, /-/healthy, /-/ready): open, unless the web config has
// basic_auth_users, which then protect it as they would in Prometheus.
func (g *Guard) Public(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		web, ok := g.webUsers(w)
		if !ok {
			return
		}
		if len(web) == 0 {
			h.ServeHTTP(w, r)
			return
		}
		id, ok := g.authenticate(w, r, web)
		if !ok {
			return
		}
		if id.Anonymous() {
			g.unauthenticated(w, web, "credentials required: the web config protects this endpoint")
			return
		}
		h.ServeHTTP(w, r.WithContext(NewContext(r.Context(), id)))
	})
}

// WebUsersOnly wraps an ingest endpoint that has no source configured to
// authenticate it: as in every Prometheus component, the web config's
// basic_auth_users then protect it (and only they, never an api.users
// token). Without basic_auth_users it stays open. Once sources are
// configured, ingest takes source credentials only and this is not used.
func (g *Guard) WebUsersOnly(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		web, ok := g.webUsers(w)
		if !ok {
			return
		}
		if len(web) == 0 {
			h.ServeHTTP(w, r)
			return
		}
		user, pass, ok := r.BasicAuth()
		if ok {
			if hash, known := web[user]; known && g.checkPassword(user, pass, hash) {
				h.ServeHTTP(w, r)
				return
			}
		}
		g.unauthenticated(w, web, "credentials required: the web config's basic_auth_users protect ingest while no sources are configured")
	})
}

// webUsers returns the web config's basic_auth_users as the file is now;
// when it cannot be read, it answers 500 (ok false), as every Prometheus
// component does: a broken file must not open anything.
func (g *Guard) webUsers(w http.ResponseWriter) (map[string]string, bool) {
	web, err := g.web.users()
	if err != nil {
		g.log.Error("web config unreadable", "err", err)
		g.deny(w, http.StatusInternalServerError, reasonWebConfig, "", "internal error")
		return nil, false
	}
	return web, true
}

// authenticate returns the request's identity: a token or basic-auth user,
// or the anonymous identity when it carries no Authorization header. Wrong
// or malformed credentials are answered 401 here (ok false).
func (g *Guard) authenticate(w http.ResponseWriter, r *http.Request, web map[string]string) (Identity, bool) {
	h := strings.TrimSpace(r.Header.Get("Authorization"))
	if h == "" {
		return Identity{Name: AnonymousName, Role: RoleNone, Via: ViaAnonymous}, true
	}
	scheme, cred, _ := strings.Cut(h, " ")
	cred = strings.TrimSpace(cred)
	switch {
	case strings.EqualFold(scheme, "Bearer") && cred != "":
		d := sha256.Sum256([]byte(cred))
		var match *User
		for _, t := range g.tokens { // compare all: which one matched does not leak
			if subtle.ConstantTimeCompare(d[:], t.digest[:]) == 1 && match == nil {
				match = t.user
			}
		}
		if match != nil {
			return Identity{Name: match.Name, Role: match.Role, Via: ViaToken}, true
		}
	case strings.EqualFold(scheme, "Basic"):
		raw, err := base64.StdEncoding.DecodeString(cred)
		user, pass, ok := strings.Cut(string(raw), ":")
		if err != nil || !ok {
			break
		}
		if u := g.byName[user]; u != nil {
			if g.checkPassword(user, pass, u.PasswordHash.Reveal()) {
				return Identity{Name: u.Name, Role: u.Role, Via: ViaPassword}, true
			}
			break
		}
		if hash, known := web[user]; known {
			if g.checkPassword(user, pass, hash) {
				return Identity{Name: user, Role: g.o.WebConfigRole, Via: ViaWebConfig}, true
			}
			break
		}
		// Spend a bcrypt's time on an unknown user too, so response times do
		// not tell which user names exist.
		g.checkPassword(user, pass, dummyHash())
	}
	g.unauthenticated(w, web, "invalid credentials")
	return Identity{}, false
}

// anonymousAllowed applies the anonymous rules to a request without
// credentials that needs role need, answering it when refused.
func (g *Guard) anonymousAllowed(w http.ResponseWriter, r *http.Request, need Role, web map[string]string) bool {
	if len(g.o.Users) > 0 || len(web) > 0 {
		if need == RoleViewer && g.o.AnonymousReads {
			return true
		}
		g.unauthenticated(w, web, "credentials required: send the bearer token or basic auth of a user in api.users")
		return false
	}
	if need == RoleViewer {
		return true // reads are open without identities, as in Prometheus
	}
	switch g.o.AnonymousWrites {
	case WritesAny:
		return true
	case WritesLoopback:
		if loopback(r.RemoteAddr) {
			return true
		}
		g.unauthenticated(w, web, "anonymous writes are accepted only from the daemon's own machine (loopback); "+
			"configure api.users in the config file (docs/config.md#security-model) or start the daemon with --web.api.anonymous-writes=any")
		return false
	}
	g.unauthenticated(w, web, "anonymous writes are refused (--web.api.anonymous-writes=none); configure api.users in the config file")
	return false
}

// checkPassword compares a basic-auth password with a bcrypt hash. bcrypt is
// slow on purpose; a verified (user, password, hash) is remembered so a
// client polling the API does not pay it on every request, and at most two
// comparisons run at once so wrong passwords cannot take every core.
func (g *Guard) checkPassword(user, pass, hash string) bool {
	key := sha256.Sum256([]byte(user + "\x00" + pass + "\x00" + hash))
	if ok, hit := g.checked.Get(key); hit {
		return ok
	}
	g.bcrypts <- struct{}{}
	err := bcrypt.CompareHashAndPassword([]byte(hash), []byte(pass))
	<-g.bcrypts
	ok := err == nil
	if ok {
		g.checked.Add(key, true) // only successes: a failure is not worth a slot
	}
	return ok
}

// dummyHash is a bcrypt hash at the default cost, made on first use (not
// at start: every CLI run would pay for it).
var dummyHash = sync.OnceValue(func() string {
	h, _ := bcrypt.GenerateFromPassword([]byte("alertbridge-no-such-user"), bcrypt.DefaultCost)
	return string(h)
})

func (g *Guard) unauthenticated(w http.ResponseWriter, web map[string]string, msg string) {
	if len(g.tokens) > 0 {
		w.Header().Add("WWW-Authenticate", `Bearer realm="alertbridge"`)
	}
	if len(g.byName) > 0 || len(web) > 0 || len(g.tokens) == 0 {
		w.Header().Add("WWW-Authenticate", `Basic realm="alertbridge", charset="UTF-8"`)
	}
	g.deny(w, http.StatusUnauthorized, reasonUnauthenticated, "authorization", msg)
}

// deny answers a refused request with the API's error body.
func (g *Guard) deny(w http.ResponseWriter, code int, reason, where, msg string) {
	g.denied.WithLabelValues(reason).Inc()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(struct {
		Error string `json:"error"`
		Where string `json:"where"`
	}{msg, where}) // the client may be gone; there is no one left to tell
}

// loopback reports whether a remote address is a loopback address. It looks
// at the connection's own address only: X-Forwarded-For and the like are
// never trusted for this.
func loopback(remoteAddr string) bool {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}
