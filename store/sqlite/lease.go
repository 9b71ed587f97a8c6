package sqlite

import (
	"context"
	"sync"
)

// AcquireLease always succeeds: a SQLite database has one daemon, which
// the storage path's lock ensures (lock.go), so its background work needs
// no sharing. Leases of one name are still exclusive within the process.
func (s *Store) AcquireLease(_ context.Context, name string) (interface {
	Lost() <-chan struct{}
	Release() error
}, bool, error) {
	s.leaseMu.Lock()
	defer s.leaseMu.Unlock()
	if s.leases == nil {
		s.leases = map[string]bool{}
	}
	if s.leases[name] {
		return nil, false, nil
	}
	s.leases[name] = true
	return &lease{s: s, name: name, lost: make(chan struct{})}, true, nil
}

// lease is a lease of a SQLite store: it is never lost.
type lease struct {
	s    *Store
	name string
	once sync.Once
	lost chan struct{}
}

// Lost is never closed while the lease is held; Release closes it.
func (l *lease) Lost() <-chan struct{} { return l.lost }

// Release gives the lease up.
func (l *lease) Release() error {
	l.once.Do(func() {
		l.s.leaseMu.Lock()
		delete(l.s.leases, l.name)
		l.s.leaseMu.Unlock()
		close(l.lost)
	})
	return nil
}
