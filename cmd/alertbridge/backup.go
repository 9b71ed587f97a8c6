package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/alertbridge/alertbridge/store/sqlite"
)

const backupUsage = `usage: alertbridge backup [--storage.path DIR] FILE

Write a consistent copy of the SQLite database to FILE (which must not
exist) while the daemon runs: one snapshot of everything committed, the
write-ahead log included, as one compact database file, checked with
SQLite's integrity check. Run it as the daemon's user (it reads the
database). To restore, stop the daemon and put the copy in its storage
directory as alertbridge.db (docs/operations.md, "Backups").

flags:
`

// runBackup runs "alertbridge backup"; args start after "backup".
func runBackup(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("backup", flag.ContinueOnError)
	flags.SetOutput(stderr)
	dir := flags.String("storage.path", "./data", "the daemon's storage directory")
	flags.Usage = func() {
		fmt.Fprint(stderr, backupUsage)
		flags.PrintDefaults()
	}
	if err := flags.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if flags.NArg() != 1 {
		fmt.Fprint(stderr, "alertbridge backup: give one output file\n\n")
		flags.Usage()
		return 2
	}
	out := flags.Arg(0)
	src := filepath.Join(*dir, sqlite.FileName)
	if err := sqlite.Backup(ctx, src, out); err != nil {
		fmt.Fprintf(stderr, "alertbridge backup: %v\n", err)
		return 1
	}
	fi, err := os.Stat(out)
	if err != nil {
		fmt.Fprintf(stderr, "alertbridge backup: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "%s: %d bytes, integrity ok\n", out, fi.Size())
	return 0
}
