package app_test

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/alertbridge/alertbridge/app"
)

// TestStartPrimesStats checks that a daemon on SQLite reads the usual
// stats windows in the background after it starts (Store.PrimeStats),
// so that the first dashboard does not wait for them.
func TestStartPrimesStats(t *testing.T) {
	var logs lockedBuffer
	mustApp(t, app.Options{Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(logs.String(), `msg="stats primed"`) {
		if time.Now().After(deadline) {
			t.Fatalf("no \"stats primed\" within 10 s of the start; the log:\n%s", logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if strings.Contains(logs.String(), "priming the stats failed") {
		t.Errorf("priming failed:\n%s", logs.String())
	}
}
