package email_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/alertbridge/alertbridge/internal/secret"
	"github.com/alertbridge/alertbridge/sink/email"
)

func TestNew(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ca, _ := mustCert(t, dir)
	notPEM := filepath.Join(dir, "not.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	valid := func() email.Options {
		return email.Options{Smarthost: "smtp.example.com:587", From: "ab@example.com", To: []string{"a@example.com"},
			Username: user, Password: secret.New(password), CAFile: ca, Subject: subjectT, Text: textT, HTML: htmlT}
	}
	tests := []struct {
		name string
		mod  func(*email.Options)
		want string // "": no error
	}{
		{"OK", func(*email.Options) {}, ""},
		{"OKNoHTML", func(o *email.Options) { o.HTML = nil }, ""},
		{"ErrSmarthost", func(o *email.Options) { o.Smarthost = "smtp.example.com" }, `smarthost "smtp.example.com": want host:port`},
		{"ErrFrom", func(o *email.Options) { o.From = "not an address" }, `from "not an address"`},
		{"ErrNoTo", func(o *email.Options) { o.To = nil }, "no recipients"},
		{"ErrTo", func(o *email.Options) { o.To = []string{"a@example.com", "b@"} }, `to "b@"`},
		{"ErrHello", func(o *email.Options) { o.Hello = "a\r\nRCPT TO:<x@y>" }, "want a host name"},
		{"ErrTLSMode", func(o *email.Options) { o.TLS = "ssl" }, `unknown tls mode "ssl"`},
		{"ErrPasswordInClear", func(o *email.Options) { o.TLS = email.TLSNone }, "clear text"},
		{"ErrNoText", func(o *email.Options) { o.Text = nil }, "templates are required"},
		{"ErrHTMLNotEscaping", func(o *email.Options) { o.HTML = textT }, "must escape for HTML"},
		{"ErrCAFileMissing", func(o *email.Options) { o.CAFile = filepath.Join(dir, "missing.pem") }, "ca_file"},
		{"ErrCAFileNotPEM", func(o *email.Options) { o.CAFile = notPEM }, "no PEM certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := valid()
			tt.mod(&o)
			_, err := email.New(o)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("New: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("New error %v, want one containing %q", err, tt.want)
			case err != nil && strings.Contains(err.Error(), password):
				t.Fatalf("the error shows the password: %v", err)
			}
		})
	}
}
