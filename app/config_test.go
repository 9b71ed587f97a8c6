package app_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/alertbridge/alertbridge/api"
	"github.com/alertbridge/alertbridge/app"
	"github.com/alertbridge/alertbridge/internal/yamlfile"
)

const sourcesConfig = `sources:
  - name: prod-alertmanager
    type: alertmanager
    auth:
      bearer:
        token_file: token
rule_files: [rules.yml]
`

// postWith posts body as JSON with the header pairs hdr.
func postWith(t *testing.T, url string, body []byte, hdr ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestConfigFileSources runs the daemon on a config file with one
// authenticated source: its endpoint requires the token, the incident shows
// the source's name, the rule file named relative to the config file is
// loaded, and an endpoint of a type with no source refuses everything.
func TestConfigFileSources(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "token"), "s3cr3t-token-for-app\n")
	writeFile(t, filepath.Join(dir, "rules.yml"), goodRules)
	cfg := filepath.Join(dir, "alertbridge.yml")
	writeFile(t, cfg, sourcesConfig)
	a := mustApp(t, app.Options{ConfigFile: cfg})
	base := "http://" + a.Addr()
	body := fixture(t, "firing-group")

	if code, b := postWith(t, base+"/ingest/alertmanager", body); code != http.StatusUnauthorized {
		t.Errorf("no token: %d %s, want 401", code, b)
	}
	if code, b := postWith(t, base+"/ingest/alertmanager", body, "Authorization", "Bearer wrong"); code != http.StatusForbidden {
		t.Errorf("wrong token: %d %s, want 403", code, b)
	}
	if code, b := postWith(t, base+"/ingest/grafana", body, "Authorization", "Bearer s3cr3t-token-for-app"); code != http.StatusForbidden {
		t.Errorf("grafana with no grafana source: %d %s, want 403", code, b)
	}
	c := &api.Client{BaseURL: base}
	if list, err := c.ListIncidents(context.Background(), api.ListQuery{}); err != nil || len(list.Incidents) != 0 {
		t.Fatalf("after rejected requests: %d incidents (%v), want 0", len(list.Incidents), err)
	}
	if code, b := postWith(t, base+"/ingest/alertmanager", body, "Authorization", "Bearer s3cr3t-token-for-app"); code != http.StatusOK {
		t.Fatalf("right token: %d %s", code, b)
	}
	list, err := c.ListIncidents(context.Background(), api.ListQuery{})
	if err != nil || len(list.Incidents) != 1 {
		t.Fatalf("incidents = %+v, %v", list, err)
	}
	if inc := list.Incidents[0]; inc.Source != "prod-alertmanager" || inc.Rule != "latency" {
		t.Errorf("incident source %q rule %q, want prod-alertmanager and latency (from rule_files)", inc.Source, inc.Rule)
	}
	for _, l := range []map[string]string{
		{"reason": "unauthorized", "source": "alertmanager"},
		{"reason": "forbidden", "source": "alertmanager"},
		{"reason": "forbidden", "source": "grafana"},
	} {
		if got := metric(t, a.Registry(), "alertbridge_ingest_rejected_total", l); got != 1 {
			t.Errorf("rejected_total%v = %v, want 1", l, got)
		}
	}
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	m, _ := io.ReadAll(resp.Body)
	if strings.Contains(string(m), "s3cr3t-token-for-app") {
		t.Error("/metrics shows the token")
	}
	if !strings.Contains(string(m), `alertbridge_ingest_events_total{outcome="accepted",source="prod-alertmanager"} 3`) {
		t.Error("/metrics lacks the accepted events of the source")
	}
}

// TestRefusesToStartOnInvalidConfig checks that every problem of the config
// file is reported with its position, and no secret with it.
func TestRefusesToStartOnInvalidConfig(t *testing.T) {
	path := filepath.Join(t.TempDir(), "alertbridge.yml")
	writeFile(t, path, `sources:
  - name: am
    type: alertmanager
    auth:
      bearer: inline-s3cr3t
  - name: gf
    type: grafana
    auth: {basic: {username: u, password_file: missing}}
limits:
  max_alerts_per_request: 0
colour: red
`)
	_, err := app.New(context.Background(), app.Options{ListenAddress: "127.0.0.1:0", StoragePath: t.TempDir(), ConfigFile: path})
	var list yamlfile.Errors
	if !errors.As(err, &list) {
		t.Fatalf("New: %v, want the config file's positioned errors", err)
	}
	want := []string{
		path + `:5:15: source "am": bearer: expected a mapping with token, token_file or token_env`,
		path + `:8:48: source "gf": basic: password_file: read ` + filepath.Join(filepath.Dir(path), "missing") + `: no such file or directory`,
		path + `:10:27: limits: max_alerts_per_request: must be at least 1`,
		path + `:11:1: unknown field "colour"`,
	}
	if got := strings.Split(err.Error(), "\n"); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("errors:\n%s\nwant:\n%s", err, strings.Join(want, "\n"))
	}
	if strings.Contains(err.Error(), "inline-s3cr3t") {
		t.Error("the error shows the secret")
	}
}

// TestFlagsOverrideConfig: a value given as a flag (an Option) wins over the
// config file's; what no flag sets comes from the file.
func TestFlagsOverrideConfig(t *testing.T) {
	dir := t.TempDir()
	fromFile, fromFlag := filepath.Join(dir, "from-file"), filepath.Join(dir, "from-flag")
	cfg := filepath.Join(dir, "alertbridge.yml")
	writeFile(t, cfg, "storage: {path: from-file}\nlimits: {max_body_bytes: 2048}\n")

	a := mustApp(t, app.Options{ConfigFile: cfg, StoragePath: fromFlag})
	if _, err := os.Stat(filepath.Join(fromFlag, "alertbridge.db")); err != nil {
		t.Errorf("the flag's storage path is not used: %v", err)
	}
	if _, err := os.Stat(fromFile); err == nil {
		t.Error("the config file's storage path was used although the flag was given")
	}
	big := append([]byte(`{"version":"4","alerts":[`), bytes.Repeat([]byte(" "), 3000)...)
	if code, _ := postWith(t, "http://"+a.Addr()+"/ingest/alertmanager", append(big, "]}"...)); code != http.StatusRequestEntityTooLarge {
		t.Errorf("body over the file's max_body_bytes: %d, want 413", code)
	}

	b := mustApp(t, app.Options{ConfigFile: cfg, MaxBodyBytes: 1 << 20})
	if code, _ := postWith(t, "http://"+b.Addr()+"/ingest/alertmanager", append(big, "]}"...)); code != http.StatusBadRequest {
		t.Errorf("body under the flag's limit: %d, want 400 (no alerts), not 413", code)
	}
}

// TestStoragePathFromConfig: with no flag, the file's storage path is used,
// relative to the file.
func TestStoragePathFromConfig(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "alertbridge.yml")
	writeFile(t, cfg, "storage: {path: data}\n")
	a, err := app.New(context.Background(), app.Options{ListenAddress: "127.0.0.1:0", ConfigFile: cfg})
	if err != nil {
		t.Fatal(err)
	}
	a.Start()
	t.Cleanup(func() {
		if err := a.Stop(context.Background()); err != nil {
			t.Error(err)
		}
	})
	if _, err := os.Stat(filepath.Join(dir, "data", "alertbridge.db")); err != nil {
		t.Errorf("storage.path of the file is not used: %v", err)
	}
}

// mustSelfSigned writes a self-signed certificate for 127.0.0.1 and its key
// into dir and returns the certificate.
func mustSelfSigned(t *testing.T, dir string) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "alertbridge test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "cert.pem"), string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})))
	writeFile(t, filepath.Join(dir, "key.pem"), string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})))
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

func TestWebConfigBasicAuth(t *testing.T) {
	dir := t.TempDir()
	hash, err := bcrypt.GenerateFromPassword([]byte("web-password"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	webCfg := filepath.Join(dir, "web.yml")
	writeFile(t, webCfg, "basic_auth_users:\n  admin: "+string(hash)+"\n")
	a := mustApp(t, app.Options{WebConfigFile: webCfg})
	get := func(user, pass string) int {
		req, _ := http.NewRequest(http.MethodGet, "http://"+a.Addr()+"/metrics", nil)
		if user != "" {
			req.SetBasicAuth(user, pass)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := get("", ""); code != http.StatusUnauthorized {
		t.Errorf("/metrics without credentials: %d, want 401", code)
	}
	if code := get("admin", "wrong"); code != http.StatusUnauthorized {
		t.Errorf("/metrics with a wrong password: %d, want 401", code)
	}
	if code := get("admin", "web-password"); code != http.StatusOK {
		t.Errorf("/metrics with the password: %d, want 200", code)
	}
}

func TestWebConfigTLS(t *testing.T) {
	dir := t.TempDir()
	cert := mustSelfSigned(t, dir)
	webCfg := filepath.Join(dir, "web.yml")
	// Relative paths are relative to the web config file, as in Prometheus.
	writeFile(t, webCfg, "tls_server_config:\n  cert_file: cert.pem\n  key_file: key.pem\n")
	a := mustApp(t, app.Options{WebConfigFile: webCfg})
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := client.Get("https://" + a.Addr() + "/-/healthy")
	if err != nil {
		t.Fatalf("HTTPS: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.TLS == nil {
		t.Errorf("HTTPS /-/healthy: %d (TLS %v), want 200 over TLS", resp.StatusCode, resp.TLS != nil)
	}
	resp, err = http.Get("http://" + a.Addr() + "/-/healthy")
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("plain HTTP to the TLS listener: %d, want it refused", resp.StatusCode)
		}
	}
}

func TestRefusesToStartOnInvalidWebConfig(t *testing.T) {
	dir := t.TempDir()
	webCfg := filepath.Join(dir, "web.yml")
	writeFile(t, webCfg, "tls_server_config:\n  cert_file: missing.pem\n  key_file: missing.pem\n")
	_, err := app.New(context.Background(), app.Options{ListenAddress: "127.0.0.1:0", StoragePath: t.TempDir(), WebConfigFile: webCfg})
	if err == nil || !strings.Contains(err.Error(), "web config file "+webCfg) {
		t.Errorf("New: %v, want a web config error", err)
	}
}
