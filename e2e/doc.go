// Package e2e holds alertbridge's end-to-end tests. They drive the daemon the
// way production does: a real Prometheus Alertmanager (and Prometheus) sends
// webhooks to the app embedded on 127.0.0.1:0 with a temporary SQLite store,
// and the crash test builds the real binary, kills it with SIGKILL under load
// and checks on restart that every acknowledged webhook survived.
//
// The tests look the Alertmanager and Prometheus binaries up in PATH
// (Debian's prometheus-alertmanager and prometheus packages) and skip, naming
// the missing binary, when they are absent; with ALERTBRIDGE_REQUIRE_E2E=1 (CI)
// a missing binary fails the test instead. Everything listens on 127.0.0.1.
//
// The package has no non-test code and must not be imported.
package e2e
