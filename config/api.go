package config

import (
	"regexp"
	"strconv"

	"golang.org/x/crypto/bcrypt"

	"github.com/alertbridge/alertbridge/access"
	"github.com/alertbridge/alertbridge/internal/secret"
	"github.com/alertbridge/alertbridge/internal/yamlfile"
)

// API is the api section: who may use the REST API (and, later, the UI),
// and with which role.
type API struct {
	// Users are the API identities. With none (and no basic_auth_users in
	// the web config) reads are open and anonymous writes follow
	// --web.api.anonymous-writes.
	Users []APIUser
	// AnonymousReads lets GETs through without credentials even when
	// identities are configured.
	AnonymousReads bool
	// WebConfigRole is the role of the web config's basic_auth_users.
	WebConfigRole access.Role
}

// APIUser is one API identity: a bearer token or a bcrypt password hash for
// basic auth, never both.
type APIUser struct {
	// Name is the identity: the actor on every timeline entry it causes,
	// and the basic-auth username.
	Name         string
	Role         access.Role
	Token        secret.Value
	PasswordHash secret.Value
}

// DefaultWebConfigRole is the role of the web config's basic_auth_users when
// api.web_config_role is not set: every Prometheus component lets them do
// everything.
const DefaultWebConfigRole = "admin"

type apiSpec struct {
	Users          []yamlfile.Value[apiUserSpec] `yaml:"users"`
	AnonymousReads yamlfile.Value[bool]          `yaml:"anonymous_reads"`
	WebConfigRole  yamlfile.Value[string]        `yaml:"web_config_role"`
}

type apiUserSpec struct {
	Name   yamlfile.Value[string]   `yaml:"name"`
	Role   yamlfile.Value[string]   `yaml:"role"`
	Bearer guarded[bearerSpec]      `yaml:"bearer"`
	Basic  guarded[apiPasswordSpec] `yaml:"basic"`
}

// apiPasswordSpec is an API user's basic auth: a bcrypt hash, as in the
// exporter-toolkit web config's basic_auth_users, never the password.
type apiPasswordSpec struct {
	PasswordHash     yamlfile.Value[string] `yaml:"password_hash"`
	PasswordHashFile yamlfile.Value[string] `yaml:"password_hash_file"`
	PasswordHashEnv  yamlfile.Value[string] `yaml:"password_hash_env"`
}

// userNameRE is what an API user's name may be: it is the actor on the
// timeline and a basic-auth username, so it stays plain (an e-mail address
// fits).
var userNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.@+-]{0,127}$`)

// api checks the api section and builds it. Tokens must differ from every
// source's token: ingest and API credentials are separate.
func (v *validator) api(a *apiSpec, sources []Source) API {
	out := API{AnonymousReads: a.AnonymousReads.V}
	role := a.WebConfigRole.V
	if role == "" {
		role = DefaultWebConfigRole
	}
	r, err := access.ParseRole(role)
	if err != nil {
		v.add(a.WebConfigRole.Pos, "api: web_config_role: %v", err)
	}
	out.WebConfigRole = r

	sourceTokens := make(map[string]string)
	for _, s := range sources {
		if s.Auth.Bearer != nil {
			sourceTokens[s.Auth.Bearer.Token.Reveal()] = s.Name
		}
	}
	names := make(map[string]yamlfile.Pos)
	tokens := make(map[string]string)
	for i, uv := range a.Users {
		u := uv.V
		prefix := "api: user #" + strconv.Itoa(i+1) + ": "
		var user APIUser
		switch {
		case u.Name.V == "":
			v.add(uv.Pos, "%sname: required", prefix)
			continue
		case !userNameRE.MatchString(u.Name.V):
			v.add(u.Name.Pos, "%sname: %q must be 1 to 128 letters, digits, '_', '.', '@', '+' or '-', starting with a letter or digit", prefix, u.Name.V)
			continue
		}
		prefix = "api: user " + strconv.Quote(u.Name.V) + ": "
		if first, dup := names[u.Name.V]; dup {
			v.add(u.Name.Pos, "%sduplicate name, first at line %d", prefix, first.Line)
			continue
		}
		names[u.Name.V] = u.Name.Pos
		user.Name = u.Name.V
		switch r, err := access.ParseRole(u.Role.V); {
		case u.Role.V == "":
			v.add(uv.Pos, "%srole: required, one of viewer, responder or admin", prefix)
		case err != nil:
			v.add(u.Role.Pos, "%srole: %v", prefix, err)
		default:
			user.Role = r
		}
		n := 0
		if b, present, ok := method(v, u.Bearer, prefix, "bearer", "token, token_file or token_env"); ok {
			n++
			user.Token = v.bearer(b, u.Bearer.Pos, prefix).Token
			if t := user.Token.Reveal(); t != "" {
				if src, clash := sourceTokens[t]; clash {
					v.add(u.Bearer.Pos, "%sbearer: same token as source %q: ingest and API credentials must differ", prefix, src)
				} else if other, clash := tokens[t]; clash {
					v.add(u.Bearer.Pos, "%sbearer: same token as api user %q", prefix, other)
				}
				tokens[t] = user.Name
			}
		} else if present {
			n++
		}
		if b, present, ok := method(v, u.Basic, prefix, "basic", "password_hash, password_hash_file or password_hash_env"); ok {
			n++
			vals := []yamlfile.Value[string]{b.PasswordHash, b.PasswordHashFile, b.PasswordHashEnv}
			user.PasswordHash = v.secret(prefix+"basic: ", u.Basic.Pos, "password_hash", vals)
			if h := user.PasswordHash.Reveal(); h != "" {
				if _, err := bcrypt.Cost([]byte(h)); err != nil {
					v.add(firstSetPos(vals...), "%sbasic: password_hash: not a bcrypt hash (make one with: htpasswd -nBC 10 \"\" | tr -d ':\\n')", prefix)
				}
			}
		} else if present {
			n++
		}
		switch {
		case n == 0:
			v.add(uv.Pos, "%sset one of bearer or basic", prefix)
		case n > 1:
			v.add(uv.Pos, "%sset only one of bearer or basic", prefix)
		}
		out.Users = append(out.Users, user)
	}
	return out
}

// AccessUsers returns the api users as the access package takes them.
func (a API) AccessUsers() []access.User {
	out := make([]access.User, 0, len(a.Users))
	for _, u := range a.Users {
		out = append(out, access.User{Name: u.Name, Role: u.Role, Token: u.Token, PasswordHash: u.PasswordHash})
	}
	return out
}
