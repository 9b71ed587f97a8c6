// Package pipeline is the one place that knows the stage order:
// dedupe → correlate → rules decide → incident.Apply, all inside one store
// transaction per commit group.
//
// A single writer goroutine takes queued requests (ingest batches and manual
// commands), groups whatever is waiting into one transaction (group commit, so
// throughput does not collapse to one fsync per request), commits, publishes
// the staged cache entries, and only then answers every caller (invariant 1).
// If a group fails, each request is retried alone so one bad request cannot
// fail its neighbours.
//
// Admission (admission.go) keeps the queue within its bounds and every
// answered ingest request within the wait budget: it sheds at once what
// would wait too long, and the writer skips what waited too long anyway.
//
// Heartbeats (beats.go) are taken out before dedupe: a beat updates its
// monitor and never reaches correlation. The periodic Sweep judges the
// monitors and resolves stale alerts (resolve_timeout, stale.go), on the
// replica that holds the sweep's lease.
package pipeline
