// Package statscounts is the SQL of the stats' counts over incidents, the
// same in both stores, so that SQLite and PostgreSQL count an SLA result
// alike: opened, resolved, respond target met and missed, resolve target
// met and missed.
package statscounts

// The conditions of the counts: resolved now; the respond and resolve
// targets met (set, never breached, and met in time) and missed
// (breached).
const (
	resolvedCond   = `state IN ('resolved', 'closed') AND resolved_at IS NOT NULL`
	respondMetCond = `respond_by IS NOT NULL AND respond_breached_at IS NULL AND acknowledged_at IS NOT NULL
		AND acknowledged_at <= respond_by`
	respondMissedCond = `respond_breached_at IS NOT NULL`
	resolveMetCond    = `resolve_by IS NOT NULL AND resolve_breached_at IS NULL AND resolved_at IS NOT NULL
		AND state IN ('resolved', 'closed') AND resolved_at <= resolve_by`
	resolveMissedCond = `resolve_breached_at IS NOT NULL`
)

// Columns are the six counts, in that order, as aggregates over rows of
// incidents. A target is met when it was set, never breached, and the
// incident was acknowledged (resolved) by it; missed when it was breached.
// Only an incident resolved or closed now counts as resolved.
const Columns = `COUNT(*),
	COUNT(CASE WHEN ` + resolvedCond + ` THEN 1 END),
	COUNT(CASE WHEN ` + respondMetCond + ` THEN 1 END),
	COUNT(CASE WHEN ` + respondMissedCond + ` THEN 1 END),
	COUNT(CASE WHEN ` + resolveMetCond + ` THEN 1 END),
	COUNT(CASE WHEN ` + resolveMissedCond + ` THEN 1 END)`

// Flags are the last five of Columns for one incident, each 1 or 0: what
// the incident adds to each count.
const Flags = `CASE WHEN ` + resolvedCond + ` THEN 1 ELSE 0 END,
	CASE WHEN ` + respondMetCond + ` THEN 1 ELSE 0 END,
	CASE WHEN ` + respondMissedCond + ` THEN 1 ELSE 0 END,
	CASE WHEN ` + resolveMetCond + ` THEN 1 ELSE 0 END,
	CASE WHEN ` + resolveMissedCond + ` THEN 1 ELSE 0 END`
