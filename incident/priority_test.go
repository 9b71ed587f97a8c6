package incident

import (
	"testing"
	"time"
)

func TestPriorityOf(t *testing.T) {
	tests := []struct {
		impact, urgency Level
		want            Priority
	}{
		{LevelHigh, LevelHigh, 1},
		{LevelHigh, LevelMedium, 2},
		{LevelMedium, LevelHigh, 2},
		{LevelHigh, LevelLow, 3},
		{LevelMedium, LevelMedium, 3},
		{LevelLow, LevelHigh, 3},
		{LevelMedium, LevelLow, 4},
		{LevelLow, LevelMedium, 4},
		{LevelLow, LevelLow, 5},
	}
	for _, tt := range tests {
		t.Run(string(tt.impact)+"/"+string(tt.urgency), func(t *testing.T) {
			if got := PriorityOf(tt.impact, tt.urgency); got != tt.want {
				t.Errorf("PriorityOf(%s, %s) = %s, want %s", tt.impact, tt.urgency, got, tt.want)
			}
		})
	}
}

func TestSeverityLevels(t *testing.T) {
	tests := []struct {
		severity string
		want     Priority
	}{
		{"critical", 1},
		{"error", 3},
		{"warning", 3},
		{"info", 5},
		{"", 4},
		{"page", 4},
	}
	for _, tt := range tests {
		t.Run("severity="+tt.severity, func(t *testing.T) {
			if got := PriorityOf(SeverityLevels(tt.severity)); got != tt.want {
				t.Errorf("severity %q → %s, want %s", tt.severity, got, tt.want)
			}
		})
	}
}

func TestParsePriority(t *testing.T) {
	tests := []struct {
		in      string
		want    Priority
		wantErr bool
	}{
		{"P1", 1, false}, {"p5", 5, false}, {"P0", 0, true}, {"P6", 0, true}, {"1", 0, true}, {"", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParsePriority(tt.in)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("ParsePriority(%q) = %v, %v; want %v, err=%v", tt.in, got, err, tt.want, tt.wantErr)
			}
			if err == nil && got.String() != "P"+tt.in[1:] {
				t.Errorf("String() = %s", got)
			}
		})
	}
}

func TestCanTransition(t *testing.T) {
	all := []State{StateOpen, StateAcknowledged, StateResolved}
	allowed := map[[2]State]bool{
		{StateOpen, StateAcknowledged}:     true,
		{StateOpen, StateResolved}:         true,
		{StateAcknowledged, StateResolved}: true,
		{StateResolved, StateOpen}:         true,
	}
	for _, from := range all {
		for _, to := range all {
			if got := CanTransition(from, to); got != allowed[[2]State{from, to}] {
				t.Errorf("CanTransition(%s, %s) = %v", from, to, got)
			}
		}
	}
}

func TestFormatLabelsAndFingerprint(t *testing.T) {
	a := map[string]string{"b": "2", "a": `x"y`}
	if got, want := FormatLabels(a), `{a="x\"y", b="2"}`; got != want {
		t.Errorf("FormatLabels = %s, want %s", got, want)
	}
	b := map[string]string{"a": `x"y`, "b": "2"}
	if LabelFingerprint(a) != LabelFingerprint(b) {
		t.Error("fingerprint depends on map order")
	}
	// Label boundaries matter: {a="bc"} and {ab="c"} must differ.
	if LabelFingerprint(map[string]string{"a": "bc"}) == LabelFingerprint(map[string]string{"ab": "c"}) {
		t.Error("fingerprint ignores label boundaries")
	}
	// The fingerprint Alertmanager v0.35.0 sent for web-1 in
	// shared/fixtures/alertmanager/firing-group.json.
	web1 := map[string]string{"alertname": "HighRequestLatency", "cluster": "eu-west-1",
		"instance": "web-1:8080", "job": "api-server", "severity": "warning"}
	if got, want := LabelFingerprint(web1), "e4210d8b9b3c7cf4"; got != want {
		t.Errorf("LabelFingerprint(web-1) = %s, want Alertmanager's %s", got, want)
	}
	if got, want := LabelFingerprint(nil), "cbf29ce484222325"; got != want {
		t.Errorf("LabelFingerprint(empty) = %s, want %s (FNV-1a offset basis)", got, want)
	}
}

func TestRoundDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		45 * time.Second: "45s", 6*time.Minute + 20*time.Second: "6m", time.Hour: "1h", 65 * time.Minute: "1h5m",
	} {
		if got := roundDuration(d); got != want {
			t.Errorf("roundDuration(%s) = %s, want %s", d, got, want)
		}
	}
}

// TestParsePriorityChange reads back the message a priority change writes,
// which rules test's priorities expectation relies on, and nothing else.
func TestParsePriorityChange(t *testing.T) {
	tests := []struct {
		name     string
		msg      string
		from, to Priority
		ok       bool
	}{
		{"OK", priorityChangedMessage(3, 1, "DiskFull on a"), 3, 1, true},
		{"OKNameWithArrow", priorityChangedMessage(4, 2, "A → B"), 4, 2, true},
		{"ErrOtherEntry", "DiskFull firing", 0, 0, false},
		{"ErrNoArrow", "priority P3 to P1 by x", 0, 0, false},
		{"ErrBadPriority", "priority P9 → P1 by x", 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			from, to, ok := ParsePriorityChange(tt.msg)
			if from != tt.from || to != tt.to || ok != tt.ok {
				t.Errorf("ParsePriorityChange(%q) = %v, %v, %v; want %v, %v, %v", tt.msg, from, to, ok, tt.from, tt.to, tt.ok)
			}
		})
	}
}
