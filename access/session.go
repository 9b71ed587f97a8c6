package access

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// The web UI's cookies.
const (
	// SessionCookie carries a signed-in identity's session.
	SessionCookie = "alertbridge_session"
	// CSRFCookie carries the CSRF token of a browser without a session
	// (no identities configured): forms echo it (double submit).
	CSRFCookie = "alertbridge_csrf"
	// CSRFField is the form field every UI form sends the token in.
	CSRFField = "csrf"
)

// Session lifetimes: a session ends after SessionIdle without a request, or
// SessionMax after sign-in, whichever comes first.
const (
	SessionIdle = 12 * time.Hour
	SessionMax  = 7 * 24 * time.Hour
	// maxSessions bounds the sessions kept; the oldest go first.
	maxSessions = 10000
)

// ErrSignIn is a sign-in with an unknown user or a wrong secret. It does
// not say which.
var ErrSignIn = errors.New("unknown user or wrong password")

type session struct {
	id            Identity
	csrf          string
	created, seen time.Time
}

// sessions keeps the web UI's signed-in identities in memory: a restart
// signs everyone out. Keys are the SHA-256 of the cookie's value, so the
// map holds nothing a request could present.
type sessions struct {
	mu  sync.Mutex
	m   map[[sha256.Size]byte]*session
	now func() time.Time
}

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return base64.RawURLEncoding.EncodeToString(b)
}

// SignIn checks a user name and secret the way the API checks them: an
// api.users basic-auth user's password, an api.users token user's token,
// or a web config basic_auth_users password. It returns ErrSignIn for
// anything else, in the same time whether the user exists or not.
func (g *Guard) SignIn(user, secret string) (Identity, error) {
	web, err := g.web.users()
	if err != nil {
		return Identity{}, err
	}
	if u := g.byName[user]; u != nil {
		if g.checkPassword(user, secret, u.PasswordHash.Reveal()) {
			return Identity{Name: u.Name, Role: u.Role, Via: ViaPassword}, nil
		}
		return Identity{}, ErrSignIn
	}
	d := sha256.Sum256([]byte(secret))
	var match *User
	for _, t := range g.tokens {
		if subtle.ConstantTimeCompare(d[:], t.digest[:]) == 1 && match == nil {
			match = t.user
		}
	}
	if match != nil {
		if match.Name == user {
			return Identity{Name: match.Name, Role: match.Role, Via: ViaToken}, nil
		}
		return Identity{}, ErrSignIn
	}
	if hash, known := web[user]; known {
		if g.checkPassword(user, secret, hash) {
			return Identity{Name: user, Role: g.o.WebConfigRole, Via: ViaWebConfig}, nil
		}
		return Identity{}, ErrSignIn
	}
	g.checkPassword(user, secret, dummyHash()) // as long as a known user takes
	return Identity{}, ErrSignIn
}

// HasIdentities reports whether any identity is configured (api.users or
// the web config's basic_auth_users): then the UI needs a sign-in.
func (g *Guard) HasIdentities() bool {
	web, err := g.web.users()
	return len(g.o.Users) > 0 || len(web) > 0 || err != nil
}

// StartSession signs id in: it sets the session cookie (HttpOnly,
// SameSite=Strict, Secure under TLS) and returns the session's CSRF token.
func (g *Guard) StartSession(w http.ResponseWriter, r *http.Request, id Identity) string {
	token, csrf := randomToken(), randomToken()
	now := g.sessions.now()
	key := sha256.Sum256([]byte(token))
	g.sessions.mu.Lock()
	if len(g.sessions.m) >= maxSessions {
		var oldest [sha256.Size]byte
		first := true
		for k, s := range g.sessions.m {
			if first || s.seen.Before(g.sessions.m[oldest].seen) {
				oldest, first = k, false
			}
		}
		delete(g.sessions.m, oldest)
	}
	g.sessions.m[key] = &session{id: id, csrf: csrf, created: now, seen: now}
	g.sessions.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: token, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil, MaxAge: int(SessionMax / time.Second)})
	return csrf
}

// EndSession signs the request's session out and clears its cookie.
func (g *Guard) EndSession(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(SessionCookie); err == nil {
		key := sha256.Sum256([]byte(c.Value))
		g.sessions.mu.Lock()
		delete(g.sessions.m, key)
		g.sessions.mu.Unlock()
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil, MaxAge: -1})
}

// session returns the live session of the request's cookie.
func (g *Guard) session(r *http.Request) (*session, bool) {
	c, err := r.Cookie(SessionCookie)
	if err != nil || c.Value == "" {
		return nil, false
	}
	key := sha256.Sum256([]byte(c.Value))
	now := g.sessions.now()
	g.sessions.mu.Lock()
	defer g.sessions.mu.Unlock()
	s, ok := g.sessions.m[key]
	if !ok {
		return nil, false
	}
	if now.Sub(s.seen) > SessionIdle || now.Sub(s.created) > SessionMax {
		delete(g.sessions.m, key)
		return nil, false
	}
	s.seen = now
	cp := *s
	return &cp, true
}

// PageOptions say how a UI page answers who may not see it.
type PageOptions struct {
	// Login is the sign-in page's path; a GET without an identity where
	// one is needed is redirected there with ?next=.
	Login string
	// Deny answers a refused request (code 401, 403) in the UI's own
	// form; msg says why.
	Deny func(w http.ResponseWriter, r *http.Request, code int, msg string)
}

type csrfKey struct{}

// CSRFToken is the token the page's forms must send in CSRFField.
func CSRFToken(r *http.Request) string {
	s, _ := r.Context().Value(csrfKey{}).(string)
	return s
}

// Page wraps a web UI handler so that it runs only for an identity allowed
// need (RoleNone: anyone, the sign-in page): a session cookie, else an Authorization header as the API takes it,
// else the anonymous rules (without identities: reads open, writes from
// loopback, as --web.api.anonymous-writes says). A POST must come from our
// own pages (Sec-Fetch-Site/Origin) and carry the CSRF token of its session
// (or, without one, of the CSRF cookie) in CSRFField; refused otherwise
// (403), changing nothing. The identity and the token are in the request's
// context (FromContext, CSRFToken).
func (g *Guard) Page(need Role, o PageOptions, h http.Handler) http.Handler {
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		web, err := g.web.users()
		if err != nil {
			g.log.Error("web config unreadable", "err", err)
			g.denied.WithLabelValues(reasonWebConfig).Inc()
			o.Deny(w, r, http.StatusInternalServerError, "internal error")
			return
		}
		var id Identity
		var csrf string
		if s, ok := g.session(r); ok {
			id, csrf = s.id, s.csrf
		} else {
			id, ok = g.pageIdentity(r, web)
			if !ok { // counted by authenticate
				o.Deny(w, r, http.StatusUnauthorized, "invalid credentials")
				return
			}
			csrf = g.anonymousCSRF(w, r)
		}
		if id.Anonymous() && need > RoleNone {
			msg, ok := g.anonymousPage(r, need, web)
			if !ok {
				g.denied.WithLabelValues(reasonUnauthenticated).Inc()
				if r.Method == http.MethodGet && (len(g.o.Users) > 0 || len(web) > 0) {
					http.Redirect(w, r, o.Login+"?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
					return
				}
				o.Deny(w, r, http.StatusUnauthorized, msg)
				return
			}
			id.Role = need
		}
		if !id.Role.Allows(need) {
			g.denied.WithLabelValues(reasonForbidden).Inc()
			o.Deny(w, r, http.StatusForbidden, id.Name+" has the "+id.Role.String()+" role; this needs "+need.String())
			return
		}
		if r.Method == http.MethodPost {
			got := r.PostFormValue(CSRFField)
			if csrf == "" || subtle.ConstantTimeCompare([]byte(got), []byte(csrf)) != 1 {
				g.denied.WithLabelValues(reasonCrossOrigin).Inc()
				o.Deny(w, r, http.StatusForbidden, "the form's CSRF token is missing or wrong: reload the page and try again")
				return
			}
		}
		ctx := NewContext(r.Context(), id)
		h.ServeHTTP(w, r.WithContext(context.WithValue(ctx, csrfKey{}, csrf)))
	})
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.denied.WithLabelValues(reasonCrossOrigin).Inc()
		o.Deny(w, r, http.StatusForbidden, "cross-origin request refused")
	}))
	return cop.Handler(inner)
}

// pageIdentity is the identity of an Authorization header (a browser's
// basic-auth prompt, a script), or the anonymous one without a header.
func (g *Guard) pageIdentity(r *http.Request, web map[string]string) (Identity, bool) {
	h := strings.TrimSpace(r.Header.Get("Authorization"))
	if h == "" {
		return Identity{Name: AnonymousName, Role: RoleNone, Via: ViaAnonymous}, true
	}
	rec := discard{header: http.Header{}}
	return g.authenticate(&rec, r, web)
}

// anonymousPage applies the anonymous rules to a UI request without an
// identity; msg says why when it is refused.
func (g *Guard) anonymousPage(r *http.Request, need Role, web map[string]string) (string, bool) {
	if len(g.o.Users) > 0 || len(web) > 0 {
		if need == RoleViewer && g.o.AnonymousReads {
			return "", true
		}
		return "sign in", false
	}
	if need == RoleViewer {
		return "", true
	}
	switch g.o.AnonymousWrites {
	case WritesAny:
		return "", true
	case WritesLoopback:
		if loopback(r.RemoteAddr) {
			return "", true
		}
		return "without identities, changes are accepted only from the daemon's own machine; configure api.users (docs/config.md#security-model)", false
	}
	return "anonymous changes are refused (--web.api.anonymous-writes=none); configure api.users", false
}

// anonymousCSRF returns the CSRF cookie's token, setting a new one when the
// browser has none.
func (g *Guard) anonymousCSRF(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(CSRFCookie); err == nil && len(c.Value) >= 32 {
		return c.Value
	}
	if r.Method == http.MethodPost {
		return "" // a form without the cookie never had a page of ours
	}
	t := randomToken()
	http.SetCookie(w, &http.Cookie{Name: CSRFCookie, Value: t, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
	return t
}

// discard is a ResponseWriter that drops what authenticate writes on a
// failure: a page answers in its own form.
type discard struct{ header http.Header }

func (d *discard) Header() http.Header         { return d.header }
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(int)             {}

// AnonymousMay reports whether a request without credentials may do what
// need allows: for the UI, which shows only the buttons the daemon would
// accept.
func (g *Guard) AnonymousMay(r *http.Request, need Role) bool {
	web, err := g.web.users()
	if err != nil {
		return false
	}
	_, ok := g.anonymousPage(r, need, web)
	return ok
}
