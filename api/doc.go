// Package api serves the REST API under /api/v1 (JSON wire types, error
// mapping in one place) and provides a Go Client for the CLI and end-to-end
// tests. It reads through a small Reader interface and changes incidents only
// through an Executor (the pipeline), so manual actions share the single
// writer with ingest. It imports incident only.
package api
