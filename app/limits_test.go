package app_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/alertbridge/alertbridge/app"
	"github.com/alertbridge/alertbridge/config"
	"github.com/alertbridge/alertbridge/ingest"
)

// TestConfigDefaultsMatchIngest: config and ingest each state the defaults
// of the limits (config may not import ingest); they must agree.
func TestConfigDefaultsMatchIngest(t *testing.T) {
	pairs := []struct {
		name         string
		config, edge int64
	}{
		{"max_body_bytes", config.DefaultMaxBodyBytes, ingest.DefaultMaxBodyBytes},
		{"max_labels_per_alert", config.DefaultMaxLabelsPerAlert, ingest.DefaultMaxLabelsPerAlert},
		{"max_label_name_length", config.DefaultMaxLabelNameLength, ingest.DefaultMaxLabelNameLength},
		{"max_label_value_length", config.DefaultMaxLabelValueLength, ingest.DefaultMaxLabelValueLength},
		{"max_annotation_bytes", config.DefaultMaxAnnotationBytes, ingest.DefaultMaxAnnotationBytes},
		{"max_json_depth", config.DefaultMaxJSONDepth, ingest.DefaultMaxJSONDepth},
		{"max_fingerprint_length", config.DefaultMaxFingerprintLength, ingest.DefaultMaxFingerprintLength},
		{"max_url_length", config.DefaultMaxURLLength, ingest.DefaultMaxURLLength},
		{"max_string_length", config.DefaultMaxStringLength, ingest.DefaultMaxStringLength},
		{"max_inflight_body_bytes", config.DefaultMaxInflightBodyBytes, ingest.DefaultMaxInflightBodyBytes},
		{"body_read_timeout", int64(config.DefaultBodyReadTimeout), int64(ingest.DefaultBodyReadTimeout)},
	}
	for _, p := range pairs {
		if p.config != p.edge {
			t.Errorf("%s: config says %d, ingest %d", p.name, p.config, p.edge)
		}
	}
	// The least budget config accepts is one ingest accepts, and no less.
	const body = 10 << 20
	if _, err := ingest.New(ingest.Options{Limits: ingest.Limits{MaxBodyBytes: body, MaxInflightBodyBytes: config.MinInflightBodyBytes(body)}}); err != nil {
		t.Errorf("config's least max_inflight_body_bytes: %v", err)
	}
	if _, err := ingest.New(ingest.Options{Limits: ingest.Limits{MaxBodyBytes: body, MaxInflightBodyBytes: config.MinInflightBodyBytes(body) - 1}}); err == nil {
		t.Error("one byte less than config's least max_inflight_body_bytes is accepted by ingest")
	}
}

// TestStormWithDefaults: with no config file, a notification of more alerts
// than the old default of max_alerts_per_request (1,000), shaped like a
// captured one, opens its incident; the old default refused it with 422 on
// every retry. (ingest's TestStormAccepted sends 3,000 to the handler; the
// whole pipeline takes a while longer over each.)
func TestStormWithDefaults(t *testing.T) {
	var msg map[string]json.RawMessage
	raw := fixture(t, "firing-group")
	if err := json.Unmarshal(raw, &msg); err != nil {
		t.Fatal(err)
	}
	var alerts []json.RawMessage
	if err := json.Unmarshal(msg["alerts"], &alerts); err != nil {
		t.Fatal(err)
	}
	storm := make([]string, 1001)
	for i := range storm {
		storm[i] = strings.NewReplacer("web-1:8080", fmt.Sprintf("web-%d:8080", i), "e4210d8b9b3c7cf4", fmt.Sprintf("%016x", i)).Replace(string(alerts[0]))
	}
	msg["alerts"] = json.RawMessage("[" + strings.Join(storm, ",") + "]")
	body, err := json.Marshal(msg)
	if err != nil {
		t.Fatal(err)
	}
	a := mustApp(t, app.Options{})
	if code, resp := post(t, a, "/ingest/alertmanager", body); code != http.StatusOK {
		t.Fatalf("%d %.300s, want 200", code, resp)
	}
}

// TestConfigLimitsReachTheEdge: the limits of the config file are the ones
// the endpoints apply, body_read_timeout included, and the server's own
// ReadTimeout does not cut a slow body before it (the answer is a 408, not
// a closed connection).
func TestConfigLimitsReachTheEdge(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "alertbridge.yml")
	writeFile(t, cfg, "limits:\n  max_alerts_per_request: 2\n  max_url_length: 40\n  body_read_timeout: 300ms\n")
	a := mustApp(t, app.Options{ConfigFile: cfg})
	url := "http://" + a.Addr() + "/ingest/alertmanager"

	one := `{"status":"firing","labels":{"a":"1"},"annotations":{},"startsAt":"2026-11-28T20:13:05Z","endsAt":"0001-01-01T00:00:00Z","generatorURL":"","fingerprint":"f"}`
	three := []byte(`{"version":"4","alerts":[` + one + "," + one + "," + one + `]}`)
	if code, body := post(t, a, "/ingest/alertmanager", three); code != 422 || !strings.Contains(body, `"where":"alerts"`) {
		t.Errorf("3 alerts over max_alerts_per_request 2: %d %s", code, body)
	}
	if code, body := post(t, a, "/ingest/alertmanager", fixture(t, "truncated")); code != 422 || !strings.Contains(body, `"where":"alerts[0].generatorURL"`) {
		t.Errorf("a generatorURL over max_url_length 40: %d %s", code, body)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write([]byte(`{"version":"4","alerts":[]}`))
	_ = zw.Close()
	if code, body := postWith(t, url, gz.Bytes(), "Content-Encoding", "gzip"); code != 400 || !strings.Contains(body, "no alerts") {
		t.Errorf("a gzip body: %d %s, want it decoded (400 no alerts)", code, body)
	}

	conn, err := net.Dial("tcp", a.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /ingest/alertmanager HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"version\":")
	if err := conn.SetReadDeadline(time.Now().Add(time.Minute)); err != nil { // a bug fails instead of hanging
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer to a stalled body: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusRequestTimeout || !strings.Contains(string(b), "request body not received within 300ms") {
		t.Errorf("stalled body: %d %s, want 408", resp.StatusCode, b)
	}
}
