//go:build race

package e2e

// raceEnabled says the tests run with -race; the crash test then builds the
// daemon with -race too, which reuses the test build's cached packages and
// makes a data race in the daemon fail the graceful-exit check (exit 66).
const raceEnabled = true
