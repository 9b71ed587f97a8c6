package email_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// python is a python3 that imports aiosmtpd, or "": $ALERTBRIDGE_PYTHON,
// python3 on PATH, then /usr/bin/python3 (where Debian's python3-aiosmtpd
// lives; a pyenv or venv python3 first on PATH does not see it).
var python = sync.OnceValue(func() string {
	cands := []string{os.Getenv("ALERTBRIDGE_PYTHON")}
	if p, err := exec.LookPath("python3"); err == nil {
		cands = append(cands, p)
	}
	cands = append(cands, "/usr/bin/python3")
	for _, c := range cands {
		if c != "" && exec.Command(c, "-c", "import aiosmtpd").Run() == nil {
			return c
		}
	}
	return ""
})

// needSMTPD skips a test that needs the real SMTP server when aiosmtpd is
// missing, unless CI requires the end-to-end tests (then it fails).
func needSMTPD(t *testing.T) string {
	t.Helper()
	py := python()
	if py != "" {
		return py
	}
	if os.Getenv("ALERTBRIDGE_REQUIRE_E2E") != "" {
		t.Fatal("no python3 with aiosmtpd, and ALERTBRIDGE_REQUIRE_E2E is set: apt-get install python3-aiosmtpd")
	}
	t.Skip("skipping the real-SMTP test: no python3 with aiosmtpd (apt-get install python3-aiosmtpd; CI sets ALERTBRIDGE_REQUIRE_E2E)")
	return ""
}

// smtpdOptions configure testdata/smtpd.py.
type smtpdOptions struct {
	TLS            string // starttls, implicit or none
	User, Password string // "": no AUTH
	ExcludeAuth    []string
}

// smtpd is a running testdata/smtpd.py.
type smtpd struct {
	Addr string
	// CAFile is the PEM of the server's self-signed certificate.
	CAFile string
	out    string
}

// startSMTPD runs testdata/smtpd.py until the test ends.
func startSMTPD(t *testing.T, o smtpdOptions) *smtpd {
	t.Helper()
	py := needSMTPD(t)
	dir := t.TempDir()
	s := &smtpd{out: filepath.Join(dir, "mail")}
	if err := os.Mkdir(s.out, 0o755); err != nil {
		t.Fatal(err)
	}
	var key string
	s.CAFile, key = mustCert(t, dir)
	args := []string{"testdata/smtpd.py", "--outdir", s.out, "--tls", o.TLS, "--cert", s.CAFile, "--key", key}
	if o.User != "" {
		args = append(args, "--user", o.User, "--password", o.Password)
	}
	for _, m := range o.ExcludeAuth {
		args = append(args, "--exclude-auth", m)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, py, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Closing its stdin stops it; a server that hangs is killed.
		_ = stdin.Close()
		kill := time.AfterFunc(10*time.Second, cancel)
		defer kill.Stop()
		_ = cmd.Wait()
		cancel()
	})
	type line struct {
		s   string
		err error
	}
	ready := make(chan line, 1)
	go func() {
		s, err := bufio.NewReader(stdout).ReadString('\n')
		ready <- line{s, err}
	}()
	select {
	case l := <-ready:
		if l.err != nil {
			_ = cmd.Wait()
			t.Fatalf("smtpd.py did not start: %v\n%s", l.err, stderr.String())
		}
		s.Addr = net.JoinHostPort("127.0.0.1", strings.TrimSpace(l.s))
	case <-time.After(time.Minute):
		t.Fatal("smtpd.py did not say its port within a minute")
	}
	return s
}

// received is one mail the server accepted.
type received struct {
	MailFrom  string   `json:"mail_from"`
	RcptTos   []string `json:"rcpt_tos"`
	TLS       bool     `json:"tls"`
	Login     *string  `json:"login"`
	Mechanism *string  `json:"mechanism"`
	Raw       []byte   `json:"-"`
}

// Message parses the mail.
func (r received) Message(t *testing.T) *mail.Message {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(r.Raw))
	if err != nil {
		t.Fatalf("parse mail: %v\n%s", err, r.Raw)
	}
	return m
}

// mails are the mails the server accepted so far, in order.
func (s *smtpd) mails(t *testing.T) []received {
	t.Helper()
	metas, err := filepath.Glob(filepath.Join(s.out, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	out := make([]received, 0, len(metas))
	for _, m := range metas { // Glob sorts: NNNN is the order of arrival
		var r received
		b, err := os.ReadFile(m)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatal(err)
		}
		if r.Raw, err = os.ReadFile(strings.TrimSuffix(m, ".json") + ".eml"); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

// mustCert writes a self-signed certificate for 127.0.0.1 and its key.
func mustCert(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "smtpd.test"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	pk, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	for _, f := range []struct {
		name, typ string
		der       []byte
	}{{certFile, "CERTIFICATE", der}, {keyFile, "PRIVATE KEY", pk}} {
		if err := os.WriteFile(f.name, pem.EncodeToMemory(&pem.Block{Type: f.typ, Bytes: f.der}), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return certFile, keyFile
}
