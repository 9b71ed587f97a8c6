// Package maintmemo keeps a writer transaction's answers to
// ActiveMaintenance, which both backends (store/sqlite, store/postgres)
// share: placement asks it for every alert of a service, and the alerts of
// one notification ask it at the same time.
package maintmemo

import (
	"errors"
	"maps"
	"time"

	"github.com/alertbridge/alertbridge/incident"
)

// Memo is the answers of one transaction, until it writes a change
// (Forget). The zero value is an empty memo.
type Memo struct {
	m map[ask]answer
}

type ask struct {
	service string
	at      int64
}

type answer struct {
	c   incident.Change
	err error // nil or incident.ErrNotFound
}

// Ask returns the answer kept for service at at, else read's, which it
// keeps when it is a change or incident.ErrNotFound. The caller may change
// the change it gets.
func (m *Memo) Ask(service string, at time.Time, read func() (incident.Change, error)) (incident.Change, error) {
	k := ask{service, at.UnixNano()}
	if a, ok := m.m[k]; ok {
		a.c.Labels = maps.Clone(a.c.Labels)
		return a.c, a.err
	}
	c, err := read()
	if err == nil || errors.Is(err, incident.ErrNotFound) {
		if m.m == nil {
			m.m = make(map[ask]answer)
		}
		kept := c
		kept.Labels = maps.Clone(c.Labels) // c is the caller's to change
		m.m[k] = answer{kept, err}
	}
	return c, err
}

// Forget drops every answer: the transaction wrote a change.
func (m *Memo) Forget() { clear(m.m) }
