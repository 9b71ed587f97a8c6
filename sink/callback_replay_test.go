package sink_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/sink"
)

// nonceCallbacks names every request's body as its nonce and asks to
// acknowledge incident 1.
type nonceCallbacks struct{}

func (nonceCallbacks) Callback(_ *http.Request, body []byte, now time.Time) (sink.Callback, error) {
	return sink.Callback{Nonce: string(body), Expires: now.Add(time.Minute),
		Actions: []sink.Action{{IncidentID: 1, Action: incident.ActionAcknowledge, User: "alice"}}}, nil
}

// onceExecutor uses up nonces as the pipeline does: a nonce seen before is
// incident.ErrReplay (which is a conflict), and acknowledging twice is a
// conflict.
type onceExecutor struct {
	mu     sync.Mutex
	nonces map[string]bool
	acked  bool
}

func (e *onceExecutor) ExecuteOnce(_ context.Context, cmd incident.Command, n *incident.Nonce) (incident.Incident, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if n != nil && e.nonces[n.Value] {
		return incident.Incident{}, fmt.Errorf("nonce of source %s: %w", n.Source, incident.ErrReplay)
	}
	if e.acked {
		return incident.Incident{}, fmt.Errorf("incident %d is acknowledged: %w", cmd.IncidentID, incident.ErrConflict)
	}
	if n != nil {
		e.nonces[n.Value] = true
	}
	e.acked = true
	return incident.Incident{ID: cmd.IncidentID, State: incident.StateAcknowledged}, nil
}

// TestCallbackReplayRefused: the same request again is refused (401), which
// is not the same as a new request finding the incident already so (200,
// "unchanged"), though incident.ErrReplay is a conflict too.
func TestCallbackReplayRefused(t *testing.T) {
	t.Parallel()
	h := sink.NewCallbackHandler(sink.CallbackOptions{Sinks: map[string]sink.Callbacks{"tool": nonceCallbacks{}},
		Exec: &onceExecutor{nonces: map[string]bool{}}})
	mux := http.NewServeMux()
	mux.Handle("/ingest/callbacks/{sink}", h)
	steps := []struct {
		name, body string
		code       int
		want       string
	}{
		{"First", "request-1", http.StatusOK, `"outcome":"done"`},
		{"SameRequestAgain", "request-1", http.StatusUnauthorized, "already used"},
		{"NewRequestAlreadySo", "request-2", http.StatusOK, `"outcome":"unchanged"`},
	}
	for _, st := range steps {
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/ingest/callbacks/tool", strings.NewReader(st.body)))
		if w.Code != st.code || !strings.Contains(w.Body.String(), st.want) {
			t.Errorf("%s: %d %s, want %d with %s", st.name, w.Code, w.Body, st.code, st.want)
		}
	}
}
