package api_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/alertbridge/alertbridge/incident"
)

// TestUnlinkNamesTheSource: an alert is (source, fingerprint). Incident 1
// holds alertmanager's alert F, pd-prod's alert with the same fingerprint F
// (same group, so the same default key), and alertmanager's G. An unlink of
// F must then name the source; once only one source's F is left, the
// fingerprint alone will do.
func TestUnlinkNamesTheSource(t *testing.T) {
	s := mustServer(t, 1)
	ctx := context.Background()
	first, err := s.client.Incident(ctx, 1)
	if err != nil || len(first.Alerts) != 1 {
		t.Fatalf("incident 1 = %+v, %v; want one alert", first, err)
	}
	f := first.Alerts[0]
	pd := incident.Event{Source: "pd-prod", Fingerprint: f.Fingerprint, Status: incident.StatusFiring, Labels: f.Labels,
		StartsAt: t0, GroupLabels: map[string]string{"cluster": f.Labels["cluster"]}}
	gLabels := map[string]string{"alertname": "DiskFull", "cluster": f.Labels["cluster"], "instance": "g", "service": "db"}
	g := incident.Event{Source: "alertmanager", Fingerprint: incident.LabelFingerprint(gLabels), Status: incident.StatusFiring,
		Labels: gLabels, StartsAt: t0, GroupLabels: pd.GroupLabels}
	if err := s.p.Submit(ctx, []incident.Event{pd, g}); err != nil {
		t.Fatal(err)
	}
	inc, err := s.client.Incident(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, a := range inc.Alerts {
		if a.Fingerprint == f.Fingerprint {
			ids = append(ids, a.Source)
		}
	}
	if diff := cmp.Diff([]string{"alertmanager", "pd-prod"}, ids); diff != "" {
		t.Fatalf("sources of alert %s on incident 1 (-want +got):\n%s", f.Fingerprint, diff)
	}

	type answer struct {
		Error, Where string
		Alerts       []struct{ Source, Fingerprint string }
		Source       string
	}
	unlink := func(t *testing.T, body string) (int, answer) {
		t.Helper()
		resp, err := http.Post(s.url+"/api/v1/incidents/1/unlink", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var a answer
		if err := json.Unmarshal(b, &a); err != nil {
			t.Fatalf("answer %s: %v", b, err)
		}
		return resp.StatusCode, a
	}
	fp := f.Fingerprint
	tests := []struct { // in order: each unlink changes incident 1
		name      string
		body      string
		code      int
		where     string
		errHas    []string
		wantMoved string // source/fingerprint of the alert the new incident holds
	}{
		{name: "ErrAmbiguousFingerprint", body: `{"fingerprint":"` + fp + `"}`, code: 400, where: "source",
			errHas: []string{fp, "alertmanager", "pd-prod"}},
		{name: "ErrUnknownSource", body: `{"fingerprint":"` + fp + `","source":"grafana"}`, code: 404, where: "id"},
		{name: "OKWithSource", body: `{"fingerprint":"` + fp + `","source":"pd-prod","actor":"bob"}`, code: 201,
			wantMoved: "pd-prod/" + fp},
		// Only alertmanager's F is left: the fingerprint alone names it.
		{name: "OKUnambiguousWithoutSource", body: `{"fingerprint":"` + fp + `"}`, code: 201,
			wantMoved: "alertmanager/" + fp},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, a := unlink(t, tt.body)
			if code != tt.code || a.Where != tt.where {
				t.Fatalf("unlink %s = %d %+v, want %d where=%q", tt.body, code, a, tt.code, tt.where)
			}
			for _, s := range tt.errHas {
				if !strings.Contains(a.Error, s) {
					t.Errorf("error %q does not name %s", a.Error, s)
				}
			}
			if tt.wantMoved == "" {
				return
			}
			if len(a.Alerts) != 1 || a.Alerts[0].Source+"/"+a.Alerts[0].Fingerprint != tt.wantMoved {
				t.Errorf("new incident's alerts = %+v, want only %s", a.Alerts, tt.wantMoved)
			}
			if want, _, _ := strings.Cut(tt.wantMoved, "/"); a.Source != want {
				t.Errorf("new incident's source = %q, want %q (its alert's)", a.Source, want)
			}
		})
	}
	left, err := s.client.Incident(ctx, 1)
	if err != nil || len(left.Alerts) != 1 || left.Alerts[0].Fingerprint != g.Fingerprint {
		t.Errorf("incident 1 after the unlinks = %+v, %v; want only G", left.Alerts, err)
	}
}
