package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/common/model"

	"github.com/alertbridge/alertbridge/access"
	"github.com/alertbridge/alertbridge/app"
	"github.com/alertbridge/alertbridge/internal/yamlfile"
	"github.com/alertbridge/alertbridge/pipeline"
)

// stringsFlag is a repeatable string flag.
type stringsFlag []string

func (s *stringsFlag) String() string     { return strings.Join(*s, ",") }
func (s *stringsFlag) Set(v string) error { *s = append(*s, v); return nil }

// durationFlag is a duration in Prometheus's syntax (90d, 1w, 12h) that
// is nil until given, so that the config file's value applies.
type durationFlag struct{ d **time.Duration }

func (f durationFlag) String() string {
	if f.d == nil || *f.d == nil {
		return ""
	}
	return model.Duration(**f.d).String()
}

func (f durationFlag) Set(v string) error {
	d, err := model.ParseDuration(v)
	if err != nil {
		return err
	}
	td := time.Duration(d)
	*f.d = &td
	return nil
}

func runServe(ctx context.Context, args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o app.Options
	var ruleFiles stringsFlag
	fs.StringVar(&o.ListenAddress, "web.listen-address", ":9097", "address to listen on for webhooks, the API and /metrics")
	fs.StringVar(&o.ExternalURL, "web.external-url", "", "the URL under which users reach alertbridge (e.g. behind a proxy); sinks link incidents to <url>/incidents/<id>")
	fs.StringVar(&o.ConfigFile, "config.file", "", "daemon config file: sources and their credentials, limits, storage, rule files (docs/config.md); without it every ingest endpoint is open")
	fs.StringVar(&o.WebConfigFile, "web.config.file", "", "Prometheus web config file enabling TLS and basic auth for the whole HTTP server (exporter-toolkit)")
	anonWrites := fs.String("web.api.anonymous-writes", "loopback", "who may write through the API without credentials while no API identity is configured: loopback (clients on this machine), any, or none")
	fs.StringVar(&o.StoragePath, "storage.path", "./data", "directory of the SQLite database (overrides storage.path of the config file)")
	fs.StringVar(&o.StorageDSN, "storage.dsn", "", "PostgreSQL URL (postgres://user@host:5432/db?sslmode=verify-full) shared by replicas, instead of SQLite; its password from storage.password_file/_env of the config file or PGPASSWORD (overrides storage.dsn of the config file)")
	fs.Var(durationFlag{&o.Retention}, "storage.retention", "how long after an incident closed its history (events, timeline, alerts) is kept, e.g. 90d; 0s keeps it for ever (overrides storage.retention of the config file; default 90d)")
	fs.Var(durationFlag{&o.CloseAfter}, "incidents.close-after", "how long after it resolved an incident is closed for good, e.g. 7d; 0s never (overrides incidents.close_after of the config file; default 7d)")
	fs.Var(&ruleFiles, "rules.file", "rule file or glob, repeatable (replaces rule_files of the config file)")
	fs.Int64Var(&o.MaxBodyBytes, "ingest.max-body-bytes", 10<<20, "largest ingest request body accepted (overrides limits.max_body_bytes of the config file)")
	fs.IntVar(&o.DedupeCacheSize, "cache.fingerprints", 100000, "fingerprint states kept in the dedupe LRU")
	fs.IntVar(&o.CorrelateCacheSize, "cache.keys", 50000, "correlation keys kept in the correlation LRU")
	fs.IntVar(&o.QueueSize, "ingest.queue-size", 1024, "requests waiting for the writer before ingest answers 503")
	fs.IntVar(&o.MaxQueuedAlerts, "ingest.max-queued-alerts", pipeline.DefaultMaxQueuedAlerts, "alerts (events, changes) waiting for the writer before ingest answers 503")
	fs.DurationVar(&o.TouchFlushInterval, "storage.touch-flush-interval", app.DefaultTouchFlushInterval,
		"how often repeats' last-seen times and counts are written; they are acknowledged before (a crash may lose this much of them, never a state change); negative writes each repeat before its acknowledgement")
	fs.DurationVar(&o.MaxWait, "ingest.max-wait", pipeline.DefaultMaxWait, "latency budget of an ingest request: one that would wait longer for the writer, or still waits then, is answered 503")
	fs.DurationVar(&o.ShutdownTimeout, "web.shutdown-timeout", 30e9, "how long a graceful shutdown may drain")
	level := fs.String("log.level", "info", "log level: debug, info, warn, error")
	format := fs.String("log.format", "logfmt", "log format: logfmt or json")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "serve: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	// A flag given on the command line wins over the config file; one left
	// at its default yields to the file (app.Options: zero means not given).
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if !set["storage.path"] {
		o.StoragePath = ""
	}
	if !set["ingest.max-body-bytes"] {
		o.MaxBodyBytes = 0
	}
	logger, err := newLogger(stderr, *level, *format)
	if err != nil {
		fmt.Fprintf(stderr, "serve: %v\n", err)
		return 2
	}
	slog.SetDefault(logger)
	o.RuleFiles, o.Logger, o.Version = ruleFiles, logger, version
	if o.AnonymousWrites, err = access.ParseAnonymousWrites(*anonWrites); err != nil {
		fmt.Fprintf(stderr, "serve: --web.api.anonymous-writes: %v\n", err)
		return 2
	}
	// SIGHUP reloads the rules, as POST /-/reload does (the Prometheus
	// convention); signals are main's business, the app only reloads.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	reload := make(chan struct{})
	go func() {
		for range hup {
			select {
			case reload <- struct{}{}:
			case <-ctx.Done():
				return
			}
		}
	}()
	if err := app.Run(ctx, o, reload); err != nil {
		var list yamlfile.Errors
		if errors.As(err, &list) {
			// Config file and rule errors: one per line as file:line:col:
			// message, and nothing else on the line.
			fmt.Fprintln(stderr, "alertbridge: refusing to start:")
			writeErrors(stderr, err)
			return 1
		}
		fmt.Fprintf(stderr, "alertbridge: %v\n", err)
		return 1
	}
	return 0
}

func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log.level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: l}
	switch format {
	case "logfmt":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("log.format %q: want logfmt or json", format)
}
