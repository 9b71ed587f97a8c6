package config_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/alertbridge/alertbridge/access"
	"github.com/alertbridge/alertbridge/config"
	"github.com/alertbridge/alertbridge/internal/secret"
	"github.com/alertbridge/alertbridge/internal/yamlfile"
)

// aliceHash is bcrypt("alice-password-0123") at cost 4.
const aliceHash = "$2a$04$a2xBo4F0htCCmgG5Yu43.e.8pIQfofs1PrqPflwO5TWOsaVSIv876"

func TestParseAPI(t *testing.T) {
	data := "sources:\n  - {name: am, type: alertmanager, auth: {bearer: {token: am-token-0123456789}}}\n" +
		"api:\n  anonymous_reads: true\n  web_config_role: viewer\n  users:\n" +
		"    - {name: alice, role: responder, basic: {password_hash: '" + aliceHash + "'}}\n" +
		"    - {name: ops-bot@example.com, role: admin, bearer: {token_file: token}}\n" +
		"    - {name: grafana, role: viewer, bearer: {token_env: GRAFANA_PASSWORD}}\n"
	got, err := config.Parse("c.yml", []byte(data), opts())
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	want := config.API{
		AnonymousReads: true,
		WebConfigRole:  access.RoleViewer,
		Users: []config.APIUser{
			{Name: "alice", Role: access.RoleResponder, PasswordHash: secret.New(aliceHash)},
			{Name: "ops-bot@example.com", Role: access.RoleAdmin, Token: secret.New("file-token-0123456789")},
			{Name: "grafana", Role: access.RoleViewer, Token: secret.New("env-password-0123456789")},
		},
	}
	if diff := cmp.Diff(want, got.API, cmpSecret); diff != "" {
		t.Errorf("api (-want +got):\n%s", diff)
	}
	if _, err := access.New(access.Options{Users: got.API.AccessUsers()}); err != nil {
		t.Errorf("access.New on a valid config: %v", err)
	}
}

func TestParseAPIErrors(t *testing.T) {
	tests := []struct {
		name string
		data string
		want []string
	}{
		{"ErrNameRole", "api:\n  users:\n    - {bearer: {token: x}}\n    - {name: 'a b', role: root, bearer: {token: y}}\n    - {name: c, bearer: {token: z}}\n", []string{
			"c.yml:3:7: api: user #1: name: required",
			`c.yml:4:14: api: user #2: name: "a b" must be 1 to 128 letters, digits, '_', '.', '@', '+' or '-', starting with a letter or digit`,
			`c.yml:5:7: api: user "c": role: required, one of viewer, responder or admin`,
		}},
		{"ErrBadRole", "api:\n  web_config_role: boss\n  users:\n    - {name: a, role: root, bearer: {token: x}}\n", []string{
			`c.yml:2:20: api: web_config_role: role "boss": want viewer, responder or admin`,
			`c.yml:4:23: api: user "a": role: role "root": want viewer, responder or admin`,
		}},
		{"ErrCredentials", "api:\n  users:\n    - {name: a, role: viewer}\n    - {name: b, role: viewer, bearer: {token: x}, basic: {password_hash: '" + aliceHash + "'}}\n", []string{
			`c.yml:3:7: api: user "a": set one of bearer or basic`,
			`c.yml:4:7: api: user "b": set only one of bearer or basic`,
		}},
		{"ErrNotBcrypt", "api:\n  users:\n    - {name: a, role: viewer, basic: {password_hash: s3cr3t-scalar-token}}\n", []string{
			`c.yml:3:54: api: user "a": basic: password_hash: not a bcrypt hash (make one with: htpasswd -nBC 10 "" | tr -d ':\n')`,
		}},
		{"ErrDuplicates", "api:\n  users:\n    - {name: a, role: viewer, bearer: {token: am-token-0123456789}}\n    - {name: a, role: admin, bearer: {token: y}}\n    - {name: b, role: admin, bearer: {token: am-token-0123456789}}\n", []string{
			`c.yml:4:14: api: user "a": duplicate name, first at line 3`,
			`c.yml:5:38: api: user "b": bearer: same token as api user "a"`,
		}},
		{"ErrSourceToken", "sources:\n  - {name: am, type: alertmanager, auth: {bearer: {token: am-token-0123456789}}}\n" +
			"api:\n  users:\n    - {name: a, role: admin, bearer: {token: am-token-0123456789}}\n", []string{
			`c.yml:5:38: api: user "a": bearer: same token as source "am": ingest and API credentials must differ`,
		}},
		{"ErrUnknownKey", "api:\n  users:\n    - {name: a, role: admin, password: x}\n", []string{
			`c.yml:3:7: api: user "a": set one of bearer or basic`,
			`c.yml:3:30: unknown field "password"`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.Parse("c.yml", []byte(tt.data), opts())
			var list yamlfile.Errors
			if !errors.As(err, &list) {
				t.Fatalf("error %T is not a yamlfile.Errors: %v", err, err)
			}
			if diff := cmp.Diff(tt.want, strings.Split(err.Error(), "\n")); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
			assertNoSecret(t, err.Error())
		})
	}
}
