// Package app wires alertbridge together: it opens the store, loads the
// rules, builds the pipeline, mounts ingest, the API and the operational
// endpoints on one HTTP server, and owns start, reload and the LIFO shutdown.
// Tests embed it on :0 with a temporary SQLite file; cmd/alertbridge only
// parses flags into Options and calls Run.
package app
