// Package access decides who may call which HTTP endpoint that is not an
// ingest endpoint: it authenticates API identities (bearer tokens and
// bcrypt basic-auth users from the config file, and the basic_auth_users of
// the Prometheus web config), gives each a role (viewer, responder, admin),
// applies the anonymous rules (reads open, writes from loopback only, unless
// configured otherwise), refuses cross-site browser writes, and hands the
// authenticated Identity to the handler through the request context.
//
// Ingest endpoints are not its business: sources authenticate there with
// their own credentials (package ingest), and an API credential never opens
// them. It must not import the store, pipeline, api or app packages.
package access
