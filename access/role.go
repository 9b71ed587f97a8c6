package access

import "fmt"

// Role is what an identity may do. Roles are ordered: each may do what the
// ones below it may.
type Role int

// The roles.
const (
	// RoleNone is the role of an anonymous caller that may do nothing.
	RoleNone Role = iota
	// RoleViewer may read: every GET of the API.
	RoleViewer
	// RoleResponder may work incidents: acknowledge, resolve, comment, and
	// record a known error on a problem.
	RoleResponder
	// RoleAdmin may also reshape records and configuration: merge, unlink,
	// resolve and close problems, reload the rules.
	RoleAdmin
)

// RoleNames lists the roles an identity can be given, lowest first.
var RoleNames = []string{"viewer", "responder", "admin"}

// ParseRole parses a role name: viewer, responder or admin.
func ParseRole(s string) (Role, error) {
	switch s {
	case "viewer":
		return RoleViewer, nil
	case "responder":
		return RoleResponder, nil
	case "admin":
		return RoleAdmin, nil
	}
	return RoleNone, fmt.Errorf("role %q: want viewer, responder or admin", s)
}

// String returns the role's name.
func (r Role) String() string {
	switch r {
	case RoleViewer:
		return "viewer"
	case RoleResponder:
		return "responder"
	case RoleAdmin:
		return "admin"
	}
	return "none"
}

// Allows reports whether an identity of role r may do what needs role need.
func (r Role) Allows(need Role) bool { return r >= need }
