// Package statscounts is the SQL of the stats' counts over incidents, the
// same in both stores, so that SQLite and PostgreSQL count an SLA result
// alike: opened, resolved, respond target met and missed, resolve target
// met and missed.
package statscounts

// Columns are the six counts, in that order, as aggregates over rows of
// incidents. A target is met when it was set, never breached, and the
// incident was acknowledged (resolved) by it; missed when it was breached.
// Only an incident resolved or closed now counts as resolved.
const Columns = `COUNT(*),
	COUNT(CASE WHEN state IN ('resolved', 'closed') AND resolved_at IS NOT NULL THEN 1 END),
	COUNT(CASE WHEN respond_by IS NOT NULL AND respond_breached_at IS NULL AND acknowledged_at IS NOT NULL
		AND acknowledged_at <= respond_by THEN 1 END),
	COUNT(CASE WHEN respond_breached_at IS NOT NULL THEN 1 END),
	COUNT(CASE WHEN resolve_by IS NOT NULL AND resolve_breached_at IS NULL AND resolved_at IS NOT NULL
		AND state IN ('resolved', 'closed') AND resolved_at <= resolve_by THEN 1 END),
	COUNT(CASE WHEN resolve_breached_at IS NOT NULL THEN 1 END)`
