package sqlite

import (
	"context"
	"database/sql"
	"fmt"
)

// The search index (incident_search, a trigram FTS5 index of the titles
// and correlation keys) holds exactly the incidents whose id is at most
// incident_search_indexed.upto (migration 0027). The writer indexes the
// incidents after it in batches, inside one of its own transactions, once
// searchBatch of them wait: FTS5 writes a segment of its index at the end
// of every transaction that changed it and merges segments as they pile
// up, which cost a fifth of each incident's opening when every
// transaction indexed its own. The search reads the incidents after upto
// from the table itself (searchTail), so what it finds does not wait for
// a batch.

// defaultSearchBatch is how many incidents wait for the search index
// before the writer indexes them: few enough that the search reads them
// from the table in well under a millisecond, enough that a batch costs
// one segment instead of one each.
const defaultSearchBatch = 64

// searchUpto is the newest incident the search index holds, as a scalar
// subquery.
const searchUpto = `(SELECT upto FROM incident_search_indexed WHERE id = 1)`

// searchTail is the incidents the search index does not hold yet, as a
// query of their ids.
const searchTail = `SELECT id FROM incidents WHERE id > ` + searchUpto

// qSearchBehind counts the incidents after upto, at open.
const qSearchBehind = `SELECT COUNT(*) FROM (` + searchTail + `)`

// readSearchBehind counts the incidents waiting for the search index.
func readSearchBehind(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}) (int, error) {
	var n int
	if err := q.QueryRowContext(ctx, qSearchBehind).Scan(&n); err != nil {
		return 0, fmt.Errorf("read search index: %w", err)
	}
	return n, nil
}

// indexSearch adds every incident after upto to the search index and moves
// upto to the newest incident, in the writer's transaction t: the
// incidents it indexes and the upto that says so commit together or not
// at all.
func (t *tx) indexSearch(ctx context.Context) error {
	if _, err := t.tx.ExecContext(ctx, `INSERT INTO incident_search (rowid, title, correlation_key)
		SELECT id, title, correlation_key FROM incidents WHERE id > `+searchUpto); err != nil {
		return fmt.Errorf("index incidents for search: %w", err)
	}
	if _, err := t.tx.ExecContext(ctx, `UPDATE incident_search_indexed
		SET upto = MAX(upto, (SELECT COALESCE(MAX(id), 0) FROM incidents)) WHERE id = 1`); err != nil {
		return fmt.Errorf("move the search index's mark: %w", err)
	}
	return nil
}
