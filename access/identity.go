package access

import "context"

// How an identity authenticated.
const (
	ViaToken     = "token"      // a bearer token of api.users
	ViaPassword  = "password"   // basic auth of api.users
	ViaWebConfig = "web_config" // basic auth of the web config's basic_auth_users
	ViaAnonymous = "anonymous"  // no credentials, let in by the anonymous rules
)

// AnonymousName is the actor recorded for a write no identity made (only
// possible without identities configured, from loopback or with
// --web.api.anonymous-writes=any).
const AnonymousName = "anonymous"

// Identity is who made a request, as authenticated.
type Identity struct {
	// Name is the user's name: the actor on every timeline entry it causes.
	Name string
	Role Role
	// Via says how it authenticated (ViaToken, ViaPassword, ViaWebConfig or
	// ViaAnonymous).
	Via string
}

// Anonymous reports whether the request carried no credentials.
func (i Identity) Anonymous() bool { return i.Via == ViaAnonymous }

type ctxKey struct{}

// NewContext returns ctx carrying id.
func NewContext(ctx context.Context, id Identity) context.Context {
	return context.WithValue(ctx, ctxKey{}, id)
}

// FromContext returns the identity a Guard put in ctx. Without one (a
// handler reached without a Guard, as in some tests) it returns the
// anonymous identity and false.
func FromContext(ctx context.Context) (Identity, bool) {
	id, ok := ctx.Value(ctxKey{}).(Identity)
	if !ok {
		return Identity{Name: AnonymousName, Via: ViaAnonymous}, false
	}
	return id, true
}
