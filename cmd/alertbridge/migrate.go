package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/alertbridge/alertbridge/store/migrate"
	"github.com/alertbridge/alertbridge/store/postgres"
	"github.com/alertbridge/alertbridge/store/sqlite"
)

const migrateUsage = `usage: alertbridge migrate [--storage.path DIR | --storage.dsn URL] (status | up)

status  show the database's schema version, the newest this binary knows,
        and the migrations it would apply; changes nothing, safe while the
        daemon runs
up      apply them now (the daemon also does this when it starts); on SQLite
        it takes the storage path's lock, so stop the daemon first; on
        PostgreSQL it takes the migration lock replicas take at start

A PostgreSQL password comes from PGPASSWORD or the DSN.

Take a backup before an upgrade (alertbridge backup; docs/operations.md).

flags:
`

// runMigrate runs "alertbridge migrate"; args start after "migrate".
func runMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("migrate", flag.ContinueOnError)
	flags.SetOutput(stderr)
	dir := flags.String("storage.path", "./data", "the daemon's storage directory (SQLite)")
	dsn := flags.String("storage.dsn", "", "the daemon's PostgreSQL URL, instead of --storage.path")
	flags.Usage = func() {
		fmt.Fprint(stderr, migrateUsage)
		flags.PrintDefaults()
	}
	if err := flags.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if flags.NArg() != 1 || (flags.Arg(0) != "status" && flags.Arg(0) != "up") {
		fmt.Fprint(stderr, "alertbridge migrate: give status or up\n\n")
		flags.Usage()
		return 2
	}
	status, up := func() (migrate.Status, error) { return sqlite.MigrationStatus(ctx, *dir) }, func() error {
		s, err := sqlite.Open(ctx, *dir)
		if err != nil {
			return err
		}
		return s.Close()
	}
	if *dsn != "" {
		status, up = func() (migrate.Status, error) { return postgres.MigrationStatus(ctx, *dsn, "") }, func() error {
			s, err := postgres.Open(ctx, *dsn)
			if err != nil {
				return err
			}
			return s.Close()
		}
	}
	st, err := status()
	if err != nil {
		fmt.Fprintf(stderr, "alertbridge migrate: %v\n", err)
		return 1
	}
	if flags.Arg(0) == "status" {
		printMigrationStatus(stdout, st)
		if st.TooNew() {
			return 1
		}
		return 0
	}
	if st.TooNew() {
		printMigrationStatus(stderr, st)
		return 1
	}
	if len(st.Pending) == 0 {
		fmt.Fprintf(stdout, "schema version %d: up to date\n", st.Current)
		return 0
	}
	if err := up(); err != nil {
		fmt.Fprintf(stderr, "alertbridge migrate: %v\n", err)
		return 1
	}
	for _, m := range st.Pending {
		fmt.Fprintf(stdout, "applied %s\n", m.Name)
	}
	fmt.Fprintf(stdout, "schema version %d: up to date\n", st.Latest)
	return 0
}

func printMigrationStatus(w io.Writer, st migrate.Status) {
	switch {
	case st.TooNew():
		fmt.Fprintf(w, "schema version %d, but this binary knows up to %d: a newer alertbridge migrated it; run that version, or restore a backup taken before the upgrade\n", st.Current, st.Latest)
	case len(st.Pending) == 0:
		fmt.Fprintf(w, "schema version %d: up to date\n", st.Current)
	default:
		fmt.Fprintf(w, "schema version %d, this binary knows %d; pending:\n", st.Current, st.Latest)
		for _, m := range st.Pending {
			fmt.Fprintf(w, "  %s\n", m.Name)
		}
	}
}
