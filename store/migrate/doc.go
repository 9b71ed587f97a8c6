// Package migrate runs a backend's embedded SQL migrations in order, one
// transaction per file, recording each in schema_migrations. It refuses a
// database whose schema is newer than the binary, so an old binary never
// writes to a schema it does not understand. It imports only the stdlib.
package migrate
