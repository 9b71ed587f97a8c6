package incident

import (
	"hash/maphash"
	"time"
)

// Touch is what repeats of an alert's known firing add to its records and
// nothing else: it was seen again, last at Seen, Count more times. A repeat
// that changes nothing an ITIL record depends on (the alert's status, its
// firing's start and end, its annotations, the incident's state or
// timeline) may be acknowledged before its touch is written, and touches
// written in batches: a crash then loses at most the touches not yet
// written, so that the last-seen time and the count of an alert may be
// behind, never anything else (docs/operations.md, "What a 2xx
// guarantees").
type Touch struct {
	Source, Fingerprint string
	// IncidentID is the incident the alert was in when seen.
	IncidentID int64
	Seen       time.Time
	Count      int
}

// Merge adds later repeats of the same alert to t.
func (t *Touch) Merge(o Touch) {
	if o.Seen.After(t.Seen) {
		t.Seen = o.Seen
	}
	t.Count += o.Count
	t.IncidentID = o.IncidentID
}

// Deferrable returns the touch of a decided event that is a pure repeat,
// and whether it is one: a firing of the alert's known firing (no earlier
// start to record, no lost resolve in between), on an incident, whose
// annotations hash (AnnotationsHash) is the one its record is known to
// hold. Anything else must go through Apply, in the transaction the
// acknowledgement waits for.
func Deferrable(d Decision, annotations uint64, now time.Time) (Touch, bool) {
	st, ev := d.Prior, d.Event
	switch {
	case d.Transition != TransitionRepeat, st.Status != StatusFiring, ev.Status != StatusFiring,
		st.IncidentID == 0, st.Annotations == 0, st.Annotations != annotations,
		ev.StartsAt.Before(st.StartsAt), !sameFiring(ev.StartsAt, st.StartsAt) && !ev.StartsAtClamped:
		return Touch{}, false
	}
	return Touch{Source: st.Source, Fingerprint: st.Fingerprint, IncidentID: st.IncidentID, Seen: now, Count: 1}, true
}

// annotationsSeed makes AnnotationsHash stable within the process, which is
// as long as the hashes live (they are never stored).
var annotationsSeed = maphash.MakeSeed()

// AnnotationsHash returns a non-zero digest of an alert's annotations,
// independent of their order.
func AnnotationsHash(ann map[string]string) uint64 {
	var sum uint64
	for k, v := range ann {
		var h maphash.Hash
		h.SetSeed(annotationsSeed)
		h.WriteString(k)
		h.WriteByte(0)
		h.WriteString(v)
		sum += h.Sum64()
	}
	sum += uint64(len(ann)) * 0x9e3779b97f4a7c15
	if sum == 0 {
		return 1
	}
	return sum
}

// CoalesceTouches returns touches with one per alert state (source and
// fingerprint, the latest Seen) and one per incident's alert (their counts
// added up, the latest Seen): what a store writing many touches in one
// statement needs, since such an UPDATE changes a row once whatever number
// of its input rows match it.
func CoalesceTouches(touches []Touch) (states, alerts []Touch) {
	type stateKey struct{ source, fp string }
	type alertKey struct {
		stateKey
		incident int64
	}
	si, ai := map[stateKey]int{}, map[alertKey]int{}
	for _, t := range touches {
		sk := stateKey{t.Source, t.Fingerprint}
		if i, ok := si[sk]; ok {
			states[i].Merge(Touch{Seen: t.Seen, IncidentID: states[i].IncidentID})
		} else {
			si[sk] = len(states)
			states = append(states, t)
		}
		ak := alertKey{sk, t.IncidentID}
		if i, ok := ai[ak]; ok {
			alerts[i].Merge(t)
		} else {
			ai[ak] = len(alerts)
			alerts = append(alerts, t)
		}
	}
	return states, alerts
}
