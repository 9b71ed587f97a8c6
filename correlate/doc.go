// Package correlate maps an event to its correlation key and to the incident
// that currently owns that key.
//
// The key is the matching rule's name plus the values of its `by` labels, or,
// with no matching rule, the sender's group labels (Alertmanager's
// receiver-independent groupLabels, not the route-dependent groupKey), or,
// from a sender with no groups, the alert itself: its source and
// fingerprint. A
// bounded LRU of key → incident sits over a Lookup (the store); it is written
// only after commit and a miss always falls through, so it never changes an
// outcome (invariant 3). It imports incident and rules only.
package correlate
