package incident

import (
	"fmt"
	"hash/fnv"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Status is an alert's or event's status as senders report it.
type Status string

// The statuses an event can carry.
const (
	StatusFiring   Status = "firing"
	StatusResolved Status = "resolved"
)

// Valid reports whether s is one of the known statuses.
func (s Status) Valid() bool { return s == StatusFiring || s == StatusResolved }

// Event is one normalised signal about one alert, as emitted by a source decoder.
type Event struct {
	// Source names the configured source the event came in through.
	Source string
	// Fingerprint identifies the alert across notifications.
	Fingerprint string
	Status      Status
	Labels      map[string]string
	Annotations map[string]string
	StartsAt    time.Time
	// EndsAt is zero while an alert fires.
	EndsAt       time.Time
	GeneratorURL string
	// GroupLabels are the labels the sender grouped by; with no rules they form
	// the default correlation key.
	GroupLabels map[string]string
	// Receiver is the sender's receiver name, kept for display only.
	Receiver string
}

// LabelFingerprint returns the fingerprint Alertmanager and Prometheus give a
// label set (FNV-1a 64 over the sorted names and values, each followed by a
// 0xff separator), as 16 hex digits. It is used when a source sends no
// fingerprint, so the same alert keeps one identity whichever way it arrives.
func LabelFingerprint(labels map[string]string) string {
	h := fnv.New64a()
	for _, k := range sortedKeys(labels) {
		h.Write([]byte(k))
		h.Write([]byte{0xff})
		h.Write([]byte(labels[k]))
		h.Write([]byte{0xff})
	}
	return fmt.Sprintf("%016x", h.Sum64())
}

// FormatLabels renders a label set in Alertmanager's canonical, sorted form:
// {a="1", b="2"}. It is used for correlation keys and display.
func FormatLabels(labels map[string]string) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, k := range sortedKeys(labels) {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(strconv.Quote(labels[k]))
	}
	b.WriteByte('}')
	return b.String()
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
