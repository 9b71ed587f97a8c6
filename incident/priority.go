package incident

import (
	"fmt"
	"strings"
)

// Level is an impact or urgency level.
type Level string

// The three levels of the ITIL matrix.
const (
	LevelHigh   Level = "high"
	LevelMedium Level = "medium"
	LevelLow    Level = "low"
)

// ParseLevel parses "high", "medium" or "low".
func ParseLevel(s string) (Level, error) {
	switch l := Level(s); l {
	case LevelHigh, LevelMedium, LevelLow:
		return l, nil
	}
	return "", fmt.Errorf("level %q: want high, medium or low", s)
}

func (l Level) rank() int {
	switch l {
	case LevelHigh:
		return 0
	case LevelMedium:
		return 1
	case LevelLow:
		return 2
	}
	return 1
}

// Priority is P1 (most urgent) to P5.
type Priority int

// String renders the priority as "P1".."P5".
func (p Priority) String() string { return fmt.Sprintf("P%d", int(p)) }

// ParsePriority parses "P1".."P5" (case-insensitive).
func ParsePriority(s string) (Priority, error) {
	if len(s) == 2 && (s[0] == 'P' || s[0] == 'p') && s[1] >= '1' && s[1] <= '5' {
		return Priority(s[1] - '0'), nil
	}
	return 0, fmt.Errorf("priority %q: want P1..P5", s)
}

// PriorityOf applies the ITIL impact x urgency matrix:
// H/H=P1; H/M, M/H=P2; H/L, M/M, L/H=P3; M/L, L/M=P4; L/L=P5.
func PriorityOf(impact, urgency Level) Priority {
	return Priority(1 + impact.rank() + urgency.rank())
}

// SeverityLevels maps the conventional `severity` label to impact and urgency,
// used when no rule sets them:
//
//	critical        → high / high     (P1)
//	error, warning  → medium / medium (P3)
//	info            → low / low       (P5)
//	missing/other   → medium / low    (P4)
func SeverityLevels(severity string) (impact, urgency Level) {
	switch severity {
	case "critical":
		return LevelHigh, LevelHigh
	case "error", "warning":
		return LevelMedium, LevelMedium
	case "info":
		return LevelLow, LevelLow
	}
	return LevelMedium, LevelLow
}

// priorityChangedMessage is the message of a priority_changed timeline
// entry: "priority P3 → P1 by DiskFull". ParsePriorityChange reads it.
func priorityChangedMessage(from, to Priority, by string) string {
	return fmt.Sprintf("priority %s → %s by %s", from, to, by)
}

// ParsePriorityChange reads the priorities of a priority_changed timeline
// entry's message; ok is false for any other message.
func ParsePriorityChange(msg string) (from, to Priority, ok bool) {
	rest, found := strings.CutPrefix(msg, "priority ")
	if !found {
		return 0, 0, false
	}
	f, rest, found := strings.Cut(rest, " → ")
	if !found {
		return 0, 0, false
	}
	t, _, _ := strings.Cut(rest, " ")
	var err error
	if from, err = ParsePriority(f); err != nil {
		return 0, 0, false
	}
	if to, err = ParsePriority(t); err != nil {
		return 0, 0, false
	}
	return from, to, true
}
