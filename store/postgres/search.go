package postgres

import (
	"context"
	"fmt"
)

// SearchUnindexed says why the incident list's ?q= scans every incident
// instead of using the trigram indexes of migration 0005, or "" when it
// uses them. The search finds the same incidents either way; the daemon
// warns at start, so that an operator knows a search will be slow on a
// large table and can add the indexes (docs/operations.md).
func (s *Store) SearchUnindexed(ctx context.Context) (string, error) {
	var indexes int
	var available, installed, usable bool
	err := s.r.queryRow(ctx, `SELECT
		(SELECT COUNT(*) FROM pg_indexes WHERE schemaname = current_schema()
			AND indexname IN ('incidents_title_trgm', 'incidents_key_trgm')),
		EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'),
		EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'),
		EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'
			AND has_schema_privilege(extnamespace, 'USAGE'))`).Scan(&indexes, &available, &installed, &usable)
	if err != nil {
		return "", fmt.Errorf("check search indexes: %w", err)
	}
	switch {
	case indexes == 2:
		return "", nil
	case !available:
		return "the server has no pg_trgm extension", nil
	case !installed:
		return "pg_trgm is not installed, and this user may not create it", nil
	case !usable:
		return "pg_trgm is in a schema this user has no USAGE on", nil
	default:
		return "the trigram indexes are missing (pg_trgm was installed after migration 0005 ran)", nil
	}
}
