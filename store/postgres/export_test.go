package postgres

// LeaseKey is the advisory lock key of a lease, for tests that find its
// holder's session in pg_locks.
func LeaseKey(s *Store, name string) int64 { return s.lockKey("lease", name) }
