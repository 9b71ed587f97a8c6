package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/alertbridge/alertbridge/app"
	"github.com/alertbridge/alertbridge/config"
)

// testNow is the clock of the daemons the client tests run: everything
// happens then, so tables and timelines are the same on every run.
var testNow = time.Date(2026, 11, 28, 20, 13, 6, 0, time.UTC)

// daemonOptions describe a daemon for the client tests.
type daemonOptions struct {
	rules  string // a rule file's contents; "": the built-in defaults
	config string // the config file's contents; "": none
	// tls serves HTTPS with a self-signed certificate for 127.0.0.1.
	tls bool
}

// testDaemon is a real alertbridge embedded with app.New on 127.0.0.1:0
// with a temporary SQLite database.
type testDaemon struct {
	url string
	dir string
	// caFile is the PEM certificate the daemon serves (TLS only); hc trusts
	// it.
	caFile string
	hc     *http.Client
}

func mustDaemon(t *testing.T, o daemonOptions) *testDaemon {
	t.Helper()
	dir := t.TempDir()
	d := &testDaemon{dir: dir, hc: &http.Client{Timeout: 10 * time.Second}}
	opts := app.Options{ListenAddress: "127.0.0.1:0", StoragePath: filepath.Join(dir, "data"),
		Now: func() time.Time { return testNow }}
	if o.rules != "" {
		path := filepath.Join(dir, "rules.yml")
		mustWriteFile(t, path, o.rules)
		opts.RuleFiles = []string{path}
	}
	if o.config != "" {
		path := filepath.Join(dir, "alertbridge.yml")
		mustWriteFile(t, path, o.config)
		cfg, err := config.Load(path)
		if err != nil {
			t.Fatal(err)
		}
		opts.Config = cfg
	}
	scheme := "http"
	if o.tls {
		scheme = "https"
		d.caFile = mustSelfSigned(t, dir)
		opts.WebConfigFile = filepath.Join(dir, "web.yml")
		mustWriteFile(t, opts.WebConfigFile, "tls_server_config:\n  cert_file: cert.pem\n  key_file: key.pem\n")
		pool := x509.NewCertPool()
		pem, err := os.ReadFile(d.caFile)
		if err != nil {
			t.Fatal(err)
		}
		pool.AppendCertsFromPEM(pem)
		d.hc.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	}
	a, err := app.New(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	a.Start()
	t.Cleanup(func() {
		if err := a.Stop(context.Background()); err != nil {
			t.Error(err)
		}
	})
	d.url = scheme + "://" + a.Addr()
	return d
}

// mustSelfSigned writes cert.pem and key.pem for 127.0.0.1 into dir and
// returns the certificate's path.
func mustSelfSigned(t *testing.T, dir string) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "alertbridge test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:         true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile := filepath.Join(dir, "cert.pem")
	mustWriteFile(t, certFile, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})))
	mustWriteFile(t, filepath.Join(dir, "key.pem"), string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})))
	return certFile
}

// mustNotify posts an Alertmanager webhook of one group, the group labels
// being the given names' values in the first alert. An alert whose labels
// hold "status": "resolved" is sent resolved.
func (d *testDaemon) mustNotify(t *testing.T, groupBy []string, alerts ...map[string]string) {
	t.Helper()
	type amAlert struct {
		Status      string            `json:"status"`
		Labels      map[string]string `json:"labels"`
		Annotations map[string]string `json:"annotations"`
		StartsAt    time.Time         `json:"startsAt"`
		EndsAt      time.Time         `json:"endsAt"`
	}
	group := map[string]string{}
	for _, k := range groupBy {
		group[k] = alerts[0][k]
	}
	keys := make([]string, 0, len(group))
	for k, v := range group {
		keys = append(keys, k+"="+v)
	}
	sort.Strings(keys)
	payload := map[string]any{"version": "4", "receiver": "alertbridge", "status": "firing",
		"groupLabels": group, "groupKey": "{}:{" + strings.Join(keys, ",") + "}"}
	var list []amAlert
	for _, l := range alerts {
		a := amAlert{Status: "firing", Labels: map[string]string{}, StartsAt: testNow.Add(-time.Second),
			Annotations: map[string]string{}}
		if i := l["instance"]; i != "" {
			a.Annotations["summary"] = l["alertname"] + " on " + i
		}
		for k, v := range l {
			if k == "status" {
				a.Status, a.EndsAt = v, testNow
				continue
			}
			a.Labels[k] = v
		}
		list = append(list, a)
	}
	payload["alerts"] = list
	body, err := json.Marshal(payload)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := d.hc.Post(d.url+"/ingest/alertmanager", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if b, _ := io.ReadAll(resp.Body); resp.StatusCode != http.StatusOK {
		t.Fatalf("ingest: %s: %s", resp.Status, b)
	}
}

// mustGet returns the body of a GET of the API.
func (d *testDaemon) mustGet(t *testing.T, path string) []byte {
	t.Helper()
	resp, err := d.hc.Get(d.url + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s %v: %s", path, resp.Status, err, b)
	}
	return b
}

// labelSet builds a label set from name-value pairs.
func labelSet(kv ...string) map[string]string {
	m := make(map[string]string, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

// runCLI runs the binary's run function with args and returns its exit
// status, stdout and stderr.
func runCLI(ctx context.Context, args ...string) (code int, stdout, stderr string) {
	var out, errOut strings.Builder
	code = run(ctx, args, &out, &errOut)
	return code, out.String(), errOut.String()
}
