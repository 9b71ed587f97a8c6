package config_test

import (
	"strings"
	"testing"
	"time"

	"github.com/alertbridge/alertbridge/config"
)

func TestStorage(t *testing.T) {
	env := map[string]string{"PGPW": "s3cret-pw"}
	opts := config.ParseOptions{Dir: "/etc/alertbridge",
		LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok },
		ReadFile:  func(string) ([]byte, error) { return []byte("file-pw\n"), nil }}
	tests := []struct {
		name, data    string
		path, dsn, pw string
		err           string
	}{
		{"Default", "", "", "", "", ""},
		{"SQLitePath", "storage: {path: data}", "/etc/alertbridge/data", "", "", ""},
		{"DSN", "storage: {dsn: 'postgres://ab@db:5432/ab?sslmode=verify-full'}", "", "postgres://ab@db:5432/ab?sslmode=verify-full", "", ""},
		{"DSNPasswordEnv", "storage: {dsn: 'postgresql://ab@db/ab', password_env: PGPW}", "", "postgresql://ab@db/ab", "s3cret-pw", ""},
		{"DSNPasswordFile", "storage: {dsn: 'postgres://ab@db/ab', password_file: pw}", "", "postgres://ab@db/ab", "file-pw", ""},
		{"ErrBoth", "storage: {path: data, dsn: 'postgres://db/ab'}", "", "", "", "c.yml:1:28: storage: set path (SQLite) or dsn (PostgreSQL), not both"},
		{"ErrScheme", "storage: {dsn: 'mysql://db/ab'}", "", "", "", `c.yml:1:16: storage: dsn: scheme "mysql": only postgres:// (or postgresql://) is supported`},
		{"ErrPasswordTwice", "storage: {dsn: 'postgres://ab:x@db/ab', password_env: PGPW}", "", "", "", "c.yml:1:55: storage: the dsn already has a password: remove one of them"},
		{"ErrPasswordWithoutDSN", "storage: {password_env: PGPW}", "", "", "", "c.yml:1:25: storage: a password needs a dsn"},
		{"ErrPasswordEnvUnset", "storage: {dsn: 'postgres://db/ab', password_env: NOPE}", "", "", "", "storage: password_env: "},
		{"ErrTwoPasswords", "storage: {dsn: 'postgres://db/ab', password: a, password_env: PGPW}", "", "", "", "storage: password: set only one of password, password_file or password_env"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := config.Parse("c.yml", []byte(tt.data), opts)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				if strings.Contains(err.Error(), "s3cret-pw") {
					t.Error("the error shows the password")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			s := cfg.Storage
			if s.Path != tt.path || s.DSN != tt.dsn || s.Password.Reveal() != tt.pw {
				t.Errorf("storage = %q %q %q, want %q %q %q", s.Path, s.DSN, s.Password.Reveal(), tt.path, tt.dsn, tt.pw)
			}
		})
	}
}

func TestRetentionAndCloseAfter(t *testing.T) {
	tests := []struct {
		name, data            string
		retention, closeAfter time.Duration
		err                   string
	}{
		{"OKDefaults", "", config.DefaultRetention, config.DefaultCloseAfter, ""},
		{"OKDays", "storage: {retention: 30d}\nincidents: {close_after: 1d}", 30 * 24 * time.Hour, 24 * time.Hour, ""},
		{"OKOff", "storage: {retention: 0s}\nincidents: {close_after: 0s}", 0, 0, ""},
		{"ErrRetention", "storage: {retention: soon}", 0, 0, `c.yml:1:22: storage: retention: not a valid duration string: "soon"`},
		{"ErrCloseAfter", "incidents:\n  close_after: -1d", 0, 0, `c.yml:2:16: incidents: close_after: not a valid duration string: "-1d"`},
		{"ErrUnknownKey", "incidents: {close_afte: 1d}", 0, 0, "c.yml:1:13:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := config.Parse("c.yml", []byte(tt.data), config.ParseOptions{Dir: "/etc/alertbridge"})
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Storage.Retention != tt.retention || cfg.Incidents.CloseAfter != tt.closeAfter {
				t.Errorf("retention, close_after = %s, %s; want %s, %s", cfg.Storage.Retention, cfg.Incidents.CloseAfter, tt.retention, tt.closeAfter)
			}
		})
	}
}
