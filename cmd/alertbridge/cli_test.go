package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// The credentials of the secured daemon's api.users.
const (
	ritaToken    = "rita-responder-token-0123456789"
	valPassword  = "val-viewer-password"
	wrongToken   = "not-a-token-of-anyone-0123456789"
	secretInYAML = "s3cr3t-written-in-the-wrong-place"
)

// TestClientSecuredDaemon reaches a daemon that serves TLS and requires an
// api.users identity through --http.config.file files in Prometheus'
// http_config format: a bearer token, basic auth with a password file, and
// files that fall short, each answered with what to configure. The cases
// run in order: the acknowledgement changes the incident.
func TestClientSecuredDaemon(t *testing.T) {
	hash, err := bcrypt.GenerateFromPassword([]byte(valPassword), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	d := mustDaemon(t, daemonOptions{tls: true, config: `api:
  users:
    - {name: rita, role: responder, bearer: {token: ` + ritaToken + `}}
    - {name: val, role: viewer, basic: {password_hash: '` + string(hash) + `'}}
`})
	d.mustNotify(t, []string{"alertname"}, labelSet("alertname", "HighRequestLatency", "instance", "web-1:8080"))

	// http_config files next to the daemon's certificate (cert.pem):
	// relative paths in them are relative to the file.
	httpConfig := func(name, content string) string {
		path := filepath.Join(d.dir, name)
		mustWriteFile(t, path, content)
		return path
	}
	token := httpConfig("token.yml", "authorization:\n  credentials: "+ritaToken+"\ntls_config:\n  ca_file: cert.pem\n")
	mustWriteFile(t, filepath.Join(d.dir, "val.password"), valPassword+"\n")
	basic := httpConfig("basic.yml", "basic_auth:\n  username: val\n  password_file: val.password\ntls_config:\n  ca_file: cert.pem\n")
	tlsOnly := httpConfig("tls-only.yml", "tls_config:\n  ca_file: cert.pem\n")
	wrong := httpConfig("wrong.yml", "authorization:\n  credentials: "+wrongToken+"\ntls_config:\n  ca_file: cert.pem\n")
	unknownKey := httpConfig("unknown-key.yml", "tls_config:\n  ca_file: cert.pem\n  ca_fiel: cert.pem\n")
	secretAsScalar := httpConfig("scalar.yml", "authorization: "+secretInYAML+"\n")
	plainURL := "http://" + strings.TrimPrefix(d.url, "https://")

	tests := []struct {
		name     string
		args     []string
		wantCode int
		want     string // in stdout, or in stderr when the exit status is not 0
	}{
		{"OKToken", []string{"incidents", "list", "--http.config.file", token}, 0, "HighRequestLatency"},
		{"OKBasicAuthPasswordFile", []string{"--http.config.file=" + basic, "incidents", "show", "1"}, 0, "#1 HighRequestLatency"},
		{"ErrNoCredentials", []string{"incidents", "list", "--http.config.file", tlsOnly}, 1,
			"alertbridge incidents list: " + d.url + " answered 401 Unauthorized: credentials required: send the bearer token or basic auth of a user in api.users; " +
				"pass the credentials of an api.users identity with --http.config.file (docs/api.md#the-cli)\n"},
		{"ErrWrongToken", []string{"incidents", "list", "--http.config.file", wrong}, 1,
			"alertbridge incidents list: " + d.url + " answered 401 Unauthorized: invalid credentials; " +
				"the credentials in --http.config.file " + wrong + " are not those of an api.users identity (docs/api.md#the-cli)\n"},
		{"ErrRoleTooLow", []string{"incidents", "ack", "1", "--http.config.file", basic}, 1,
			"alertbridge incidents ack: " + d.url + " answered 403 Forbidden: val has the viewer role; this needs responder; " +
				"the identity's role is too low for this: use an api.users identity with that role (docs/config.md#what-each-role-may-do)\n"},
		{"OKAckOnBehalfOf", []string{"incidents", "ack", "1", "--actor", "alice", "--http.config.file", token}, 0, "rita for alice"},
		{"ErrUnknownCA", []string{"incidents", "list"}, 1,
			"certificate signed by unknown authority; set tls_config.ca_file in --http.config.file to the CA that signed the server's certificate (docs/api.md#the-cli)\n"},
		{"ErrPlainHTTPToTLS", []string{"incidents", "list", "--url", plainURL, "--http.config.file", token}, 1,
			plainURL + " answered 400 Bad Request: Client sent an HTTP request to an HTTPS server; the server speaks TLS: use --url https://"},
		{"ErrHTTPConfigUnknownKey", []string{"incidents", "list", "--http.config.file", unknownKey}, 2,
			"alertbridge incidents list: --http.config.file " + unknownKey + ": yaml: unmarshal errors:\n  line 3: field ca_fiel not found"},
		{"ErrHTTPConfigMissing", []string{"incidents", "list", "--http.config.file", filepath.Join(d.dir, "nope.yml")}, 2,
			"nope.yml: no such file or directory\n"},
		{"ErrHTTPConfigSecretNotShown", []string{"incidents", "list", "--http.config.file", secretAsScalar}, 2,
			"cannot unmarshal !!str (value hidden) into config.Authorization\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"--url", d.url}, tt.args...)
			code, stdout, stderr := runCLI(context.Background(), args...)
			out := stdout
			if tt.wantCode != 0 {
				out = stderr
			}
			if code != tt.wantCode || !strings.Contains(out, tt.want) {
				t.Errorf("exit %d, stdout:\n%s\nstderr:\n%s\nwant exit %d and %q", code, stdout, stderr, tt.wantCode, tt.want)
			}
			for _, secret := range []string{ritaToken, valPassword, wrongToken, secretInYAML} {
				if strings.Contains(stdout+stderr, secret) {
					t.Errorf("the output shows the secret %q", secret)
				}
			}
		})
	}
}
