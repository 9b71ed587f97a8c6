package sqlite

import (
	"context"
	"fmt"
	"strconv"
)

// SetMaxPageCount caps the database at pages pages on the writer's
// connection (PRAGMA max_page_count) and returns the cap in effect, which
// SQLite never sets below the database's current size. A database at its
// cap fails every write that needs a new page with SQLITE_FULL, "database or
// disk is full", exactly as a full disk does: it is how tests fill the
// store for real. The cap lasts as long as the connection, which is the
// store's life; a large value lifts it again.
func (s *Store) SetMaxPageCount(ctx context.Context, pages int64) (int64, error) {
	if s.w == nil {
		return 0, ErrReadOnly
	}
	if err := s.acquire(ctx); err != nil {
		return 0, err
	}
	defer s.release()
	var n int64
	// A pragma takes no bind parameters; pages is an integer.
	if err := s.wc.QueryRowContext(ctx, "PRAGMA max_page_count = "+strconv.FormatInt(pages, 10)).Scan(&n); err != nil {
		return 0, fmt.Errorf("set max page count of %s: %w", s.path, err)
	}
	return n, nil
}
