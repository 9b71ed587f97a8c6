package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"time"
)

// Leases are PostgreSQL session advisory locks, each on a pooled
// connection of its own that the lease holds for its life: the server
// releases the lock the moment that session ends, whichever way it ends
// (Release, the replica's death, pg_terminate_backend, a broken network
// once the server notices), so another replica can take it over at once.
// The holder pings its connection every pingEvery; when a ping fails, or
// takes longer than pingTimeout, the lease is lost: the connection is
// closed, never put back in the pool with the lock on it, and Lost closes.
//
// A holder whose host vanished (powered off, cut off) sends no FIN, and
// the server would keep its session, and the lock, until TCP keepalive
// gives up, hours by default. So the lease's session gets an
// idle_session_timeout (PostgreSQL 14 and later): the server ends it
// after idleTimeout without a statement, which a live holder's pings
// never allow, and the lease is free again within idleTimeout.
const (
	pingEvery   = 2 * time.Second
	pingTimeout = 5 * time.Second
	idleTimeout = "15s"
)

// AcquireLease tries to take the named lease without waiting (store.Leases):
// ok is false while another replica, or another lease of this one, holds it.
func (s *Store) AcquireLease(ctx context.Context, name string) (interface {
	Lost() <-chan struct{}
	Release() error
}, bool, error) {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("acquire lease %s: %w", name, err)
	}
	key := s.lockKey("lease", name)
	var ok bool
	if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1)`, key).Scan(&ok); err != nil {
		discard(conn) // whether it took the lock is unknown: end the session
		return nil, false, fmt.Errorf("acquire lease %s: %w", name, err)
	}
	if !ok {
		_ = conn.Close() // back to the pool, holding nothing
		return nil, false, nil
	}
	// Best effort: a server before 14 does not know the setting, and the
	// lease works without it, only handed over later after a host's death.
	_, _ = conn.ExecContext(ctx, `SET idle_session_timeout = '`+idleTimeout+`'`)
	l := &lease{s: s, name: name, key: key, conn: conn, lost: make(chan struct{}), stop: make(chan struct{}),
		done: make(chan struct{})}
	s.leaseMu.Lock()
	if s.leases == nil {
		s.leases = map[*lease]struct{}{}
	}
	s.leases[l] = struct{}{}
	s.leaseMu.Unlock()
	go l.watch()
	return l, true, nil
}

// lease is a held lease. Its goroutine (watch) owns the connection: it
// pings it, and unlocks and returns it when Release asks.
type lease struct {
	s    *Store
	name string
	key  int64
	conn *sql.Conn

	once sync.Once
	lost chan struct{} // closed when the lease is no longer held
	stop chan struct{} // closed by Release
	done chan struct{} // closed when watch returns
	err  error         // what releasing met; read after done
}

// Lost is closed when the lease is no longer held: released, or its
// connection lost.
func (l *lease) Lost() <-chan struct{} { return l.lost }

// Release gives the lease up and returns its connection to the pool. It
// returns an error only when the unlock failed; the connection is then
// closed, which releases the lock all the same.
func (l *lease) Release() error {
	l.once.Do(func() { close(l.stop) })
	<-l.done
	return l.err
}

func (l *lease) watch() {
	defer close(l.done)
	defer func() {
		l.s.leaseMu.Lock()
		delete(l.s.leases, l)
		l.s.leaseMu.Unlock()
		close(l.lost)
	}()
	tick := time.NewTicker(pingEvery)
	defer tick.Stop()
	for {
		select {
		case <-l.stop:
			l.err = l.unlock()
			return
		case <-tick.C:
			ctx, cancel := context.WithTimeout(context.Background(), pingTimeout)
			err := l.conn.PingContext(ctx)
			cancel()
			if err != nil {
				discard(l.conn) // the lock must not outlive the lease in the pool
				return
			}
		}
	}
}

// unlock releases the advisory lock and returns the connection.
func (l *lease) unlock() error {
	ctx, cancel := context.WithTimeout(context.Background(), pingTimeout)
	defer cancel()
	var ok bool
	if err := l.conn.QueryRowContext(ctx, `SELECT pg_advisory_unlock($1)`, l.key).Scan(&ok); err != nil || !ok {
		discard(l.conn)
		if err == nil {
			return nil // this session did not hold it: nothing to give up
		}
		return fmt.Errorf("release lease %s: %w", l.name, err)
	}
	if _, err := l.conn.ExecContext(ctx, `RESET idle_session_timeout`); err != nil {
		discard(l.conn) // the pool's other users must not be timed out
		return nil      // the lock is released: nothing went wrong that Release should report
	}
	_ = l.conn.Close() // back to the pool, holding nothing
	return nil
}
