package web

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/alertbridge/alertbridge/access"
)

// loginView is the sign-in page's data.
type loginView struct {
	Next, User string
}

// safeNext keeps a redirect after sign-in on this site: a path, never a
// URL to elsewhere ("//evil", "https://evil", "/\evil").
func safeNext(next string) string {
	u, err := url.Parse(next)
	if err != nil || next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") ||
		strings.HasPrefix(next, "/\\") || u.Host != "" || u.Scheme != "" {
		return "/incidents"
	}
	return next
}

// loginPage shows the sign-in form (anyone). It sets the CSRF cookie that
// the form echoes, as every form of the UI does.
func (u *UI) loginPage(w http.ResponseWriter, r *http.Request) {
	u.o.Guard.Page(access.RoleNone, access.PageOptions{Login: "/login", Deny: u.deny},
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			v := u.view(r, "login", "Sign in", loginView{Next: safeNext(r.URL.Query().Get("next"))})
			u.render(w, r, http.StatusOK, "login", v)
		})).ServeHTTP(w, r)
}

// login signs a configured identity in (anyone may try): the user name
// and password (or, for a token identity, the token) as the API takes
// them. A wrong pair answers 401 and says nothing of which part was wrong.
func (u *UI) login(w http.ResponseWriter, r *http.Request) {
	u.o.Guard.Page(access.RoleNone, access.PageOptions{Login: "/login", Deny: u.deny},
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			user, secret := strings.TrimSpace(r.PostFormValue("user")), r.PostFormValue("password")
			next := safeNext(r.PostFormValue("next"))
			id, err := u.o.Guard.SignIn(user, secret)
			if err != nil {
				if !errors.Is(err, access.ErrSignIn) {
					u.fail(w, r, err)
					return
				}
				u.log.Warn("sign-in refused", "user", user, "remote", r.RemoteAddr)
				v := u.view(r, "login", "Sign in", loginView{Next: next, User: user})
				v.Error = "Unknown user or wrong password."
				u.render(w, r, http.StatusUnauthorized, "login", v)
				return
			}
			u.o.Guard.StartSession(w, r, id)
			u.log.Info("signed in", "user", id.Name, "role", id.Role.String())
			http.Redirect(w, r, next, http.StatusSeeOther)
		})).ServeHTTP(w, r)
}

// logout ends the session (its own form's CSRF token required).
func (u *UI) logout(w http.ResponseWriter, r *http.Request) {
	u.o.Guard.Page(access.RoleNone, access.PageOptions{Login: "/login", Deny: u.deny},
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			u.o.Guard.EndSession(w, r)
			http.Redirect(w, r, "/login", http.StatusSeeOther)
		})).ServeHTTP(w, r)
}
