package config_test

import (
	"strings"
	"testing"
	"time"

	"github.com/alertbridge/alertbridge/config"
	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/sink/message"
)

const sinksFull = `sinks:
  - name: hook
    timeout: 5s
    max_age: 2h
    concurrency: 8
    backoff: {initial: 2s, max: 1m}
    breaker: {failures: 3, timeout: 30s}
    webhook:
      url: https://hooks.example.com/ab
      secret_file: token
  - name: ops-slack
    slack:
      token_env: GRAFANA_PASSWORD
      channel: "#ops"
      signing_secret: slack-signing-0123
  - name: jira-cloud
    jira:
      url: https://example.atlassian.net/
      username: bot@example.com
      api_token: jira-token-0123
      project: OPS
      fields: {customfield_10010: "{{ .Incident.Service }}"}
      priorities: {P1: Highest}
      labels: [prod]
      transitions: {resolve: Resolved, reopen: Reopen}
  - name: jira-dc
    jira: {url: https://jira.example.com, personal_access_token: pat-0123, project: OPS}
  - name: snow
    servicenow: {url: https://x.service-now.com, username: u, password: p, assignment_group: SRE}
  - name: pd
    pagerduty: {routing_key: R0123456789012345678901234567890}
  - name: og
    opsgenie: {api_key: og-key, url: https://api.eu.opsgenie.com, tags: [prod]}
  - name: mail
    email: {smarthost: "smtp.example.com:587", from: ab@example.com, to: [oncall@example.com], username: ab, password: pw}
notifications:
  policies:
    - sinks: [pd]
      matchers: ['priority=~"P1|P2"']
      kinds: [opened, resolved]
      continue: true
    - sinks: [ops-slack, mail]
  max_pending: 500
  dead_letter_retention: 72h
`

func TestParseSinks(t *testing.T) {
	cfg, err := config.Parse("c.yml", []byte(sinksFull), opts())
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Sinks) != 8 {
		t.Fatalf("%d sinks", len(cfg.Sinks))
	}
	hook := cfg.Sinks[0]
	want := config.Delivery{MaxAge: 2 * time.Hour, Timeout: 5 * time.Second, Concurrency: 8, InitialBackoff: 2 * time.Second,
		MaxBackoff: time.Minute, BreakerFailures: 3, BreakerTimeout: 30 * time.Second}
	if hook.Type != config.SinkWebhook || hook.Delivery != want || hook.Webhook.Secret.Reveal() != "file-token-0123456789" ||
		hook.Webhook.Header != "X-Alertbridge-Signature" || hook.Webhook.Format != "alertbridge/v1" {
		t.Errorf("webhook sink: %+v %+v", hook, hook.Webhook)
	}
	if d := cfg.Sinks[1].Delivery; d.MaxAge != 24*time.Hour || d.Timeout != 10*time.Second || d.BreakerFailures != 5 {
		t.Errorf("default delivery: %+v", d)
	}
	sl := cfg.Sinks[1].Slack
	if sl.Token.Reveal() != "env-password-0123456789" || sl.APIURL != "https://slack.com/api/" || !sl.ThreadReplies ||
		!sl.Callback.Enabled() || sl.Callback.MaxSkew != 5*time.Minute {
		t.Errorf("slack: %+v", sl)
	}
	j := cfg.Sinks[2].Jira
	if j.URL != "https://example.atlassian.net" || j.IssueType != "Task" || j.ResolveTransition != "Resolved" ||
		j.ReopenTransition != "Reopen" || j.Priorities["P1"] != "Highest" || j.Fields["customfield_10010"] == nil || j.Callback.Enabled() {
		t.Errorf("jira: %+v", j)
	}
	if got, err := j.Summary.Render(sampleData()); err != nil || got != "[P2] sample" {
		t.Errorf("jira summary = %q, %v", got, err)
	}
	if dc := cfg.Sinks[3].Jira; dc.PersonalAccessToken.Reveal() != "pat-0123" || !dc.APIToken.IsZero() {
		t.Errorf("jira dc: %+v", dc)
	}
	if sn := cfg.Sinks[4].ServiceNow; sn.Table != "incident" || sn.CloseCode != "Solved (Permanently)" || sn.AssignmentGroup != "SRE" {
		t.Errorf("servicenow: %+v", sn)
	}
	if pd := cfg.Sinks[5].PagerDuty; pd.URL != "https://events.pagerduty.com/v2/enqueue" || pd.Callback != nil {
		t.Errorf("pagerduty: %+v", pd)
	}
	if og := cfg.Sinks[6].Opsgenie; og.URL != "https://api.eu.opsgenie.com" || og.Tags[0] != "prod" {
		t.Errorf("opsgenie: %+v", og)
	}
	if m := cfg.Sinks[7].Email; m.TLS != "starttls" || m.Hello != "localhost" || m.To[0] != "oncall@example.com" {
		t.Errorf("email: %+v", m)
	}
	n := cfg.Notifications
	if n.MaxPending != 500 || n.DeadLetterRetention != 72*time.Hour || len(n.Policies) != 2 ||
		!n.Policies[0].Continue || n.Policies[0].Kinds[1] != incident.NotifyResolved || n.Policies[0].Matchers[0].Name != "priority" {
		t.Errorf("notifications: %+v", n)
	}
}

func TestParseSinksErrors(t *testing.T) {
	tests := []struct {
		name, data string
		want       []string
	}{
		{"NoType", "sinks:\n  - name: a\n", []string{
			`c.yml:2:5: sink "a": set one of webhook, slack, jira, servicenow, pagerduty, opsgenie, email`}},
		{"TwoTypes", "sinks:\n  - name: a\n    webhook: {url: http://x}\n    pagerduty: {routing_key: k}\n", []string{
			`c.yml:2:5: sink "a": set only one of webhook, slack, jira, servicenow, pagerduty, opsgenie, email`}},
		{"BadName", "sinks:\n  - name: Ops Slack\n    webhook: {url: http://x}\n", []string{
			`c.yml:2:11: sink #1: name: "Ops Slack" must be 1 to 63 lower-case letters, digits, '_' or '-', starting with a letter or digit`}},
		{"Duplicate", "sinks:\n  - {name: a, webhook: {url: http://x}}\n  - {name: a, webhook: {url: http://y}}\n", []string{
			`c.yml:3:12: sink "a": duplicate name, first at line 2`}},
		{"BadURL", "sinks:\n  - name: a\n    webhook: {url: 'ftp://x'}\n", []string{
			`c.yml:3:20: sink "a": webhook: url: "ftp://x" must be an http or https URL`}},
		{"CredentialsInURL", "sinks:\n  - name: a\n    webhook: {url: 'https://u:s3cr3t-scalar-token@x'}\n", []string{
			`c.yml:3:20: sink "a": webhook: url: credentials do not belong in the URL; use the sink's secret settings`}},
		{"MissingURL", "sinks:\n  - name: a\n    webhook: {format: events}\n", []string{
			`c.yml:3:14: sink "a": webhook: url: required`}},
		{"BadDurations", "sinks:\n  - name: a\n    timeout: soon\n    max_age: 0s\n    webhook: {url: http://x}\n", []string{
			`c.yml:3:14: sink "a": timeout: not a valid duration string: "soon"`,
			`c.yml:4:14: sink "a": max_age: must be greater than 0`}},
		{"BackoffOrder", "sinks:\n  - name: a\n    backoff: {initial: 1m, max: 1s}\n    webhook: {url: http://x}\n", []string{
			`c.yml:3:33: sink "a": backoff: max: must be at least initial`}},
		{"SlackNeedsTokenAndChannel", "sinks:\n  - name: a\n    slack: {}\n", []string{
			`c.yml:3:12: sink "a": slack: token: required: set one of token, token_file or token_env`,
			`c.yml:3:12: sink "a": slack: channel: required`}},
		{"BadTemplate", "sinks:\n  - name: a\n    slack: {token: x, channel: c, title: '{{ .Incident.Nope }}'}\n", []string{
			`c.yml:3:42: sink "a": slack: title: `}},
		{"JiraBothTokens", "sinks:\n  - name: a\n    jira: {url: http://j, username: u, api_token: t, personal_access_token: p, project: X}\n", []string{
			`c.yml:3:11: sink "a": jira: set api_token (Jira Cloud, with username) or personal_access_token (Data Center), not both`}},
		{"JiraCloudNeedsUser", "sinks:\n  - name: a\n    jira: {url: http://j, api_token: t, project: X}\n", []string{
			`c.yml:3:11: sink "a": jira: username: required with api_token (the account's e-mail address)`}},
		{"JiraFieldOfItsOwn", "sinks:\n  - name: a\n    jira: {url: http://j, username: u, api_token: t, project: X, fields: {summary: x}}\n", []string{
			`c.yml:3:84: sink "a": jira: fields: "summary" is set by its own setting`}},
		{"EmailPlainPassword", "sinks:\n  - name: a\n    email: {smarthost: 'h:25', from: a@b, to: [c@d], username: u, password: p, tls: none}\n", []string{
			`c.yml:3:85: sink "a": email: tls: none would send the password in clear text; use starttls or tls`}},
		{"EmailBad", "sinks:\n  - name: a\n    email: {smarthost: h, to: [nobody]}\n", []string{
			`c.yml:3:24: sink "a": email: smarthost: "h" must be host:port`,
			`c.yml:3:12: sink "a": email: from: required`,
			`c.yml:3:32: sink "a": email: to: "nobody" is not an e-mail address`}},
		{"PolicyUnknownSinkAndKind", "sinks:\n  - {name: a, webhook: {url: http://x}}\nnotifications:\n  policies:\n    - sinks: [b]\n      kinds: [paged]\n      matchers: ['a=~(']\n", []string{
			`c.yml:5:15: notifications: policy #1: sinks: "b" is not a configured sink`,
			`c.yml:7:18: notifications: policy #1: matchers: `,
			`c.yml:6:15: notifications: policy #1: kinds: "paged" is not one of opened, acknowledged, resolved, reopened, priority_changed, sla_breached, problem_opened, known_error, comment, merged, released`}},
		{"PolicyNoSinks", "notifications:\n  policies:\n    - kinds: [opened]\n", []string{
			`c.yml:3:7: notifications: policy #1: sinks: required: at least one sink`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.Parse("c.yml", []byte(tt.data), opts())
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
			for _, s := range append(secrets, "s3cr3t") {
				if strings.Contains(err.Error(), s) {
					t.Errorf("error shows a secret: %v", err)
				}
			}
		})
	}
}

func sampleData() message.Data { return message.Sample }
