package app

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/alertbridge/alertbridge/pipeline"
)

func TestValidateAdmission(t *testing.T) {
	tests := []struct {
		name       string
		in         Options
		wantAlerts int
		wantWait   time.Duration
		wantErr    string
	}{
		{"OKDefaults", Options{}, pipeline.DefaultMaxQueuedAlerts, pipeline.DefaultMaxWait, ""},
		{"OKGiven", Options{MaxQueuedAlerts: 10, MaxWait: time.Second}, 10, time.Second, ""},
		{"ErrNegativeAlerts", Options{MaxQueuedAlerts: -1}, -1, pipeline.DefaultMaxWait, "must not be negative"},
		{"ErrNegativeWait", Options{MaxWait: -time.Second}, pipeline.DefaultMaxQueuedAlerts, -time.Second, "max wait must not be negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := tt.in
			err := o.Validate()
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("err = %v, want %q", err, tt.wantErr)
			}
			got := [2]any{o.MaxQueuedAlerts, o.MaxWait}
			if diff := cmp.Diff([2]any{tt.wantAlerts, tt.wantWait}, got); diff != "" {
				t.Errorf("max queued alerts, max wait (-want +got):\n%s", diff)
			}
		})
	}
}
