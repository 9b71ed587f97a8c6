package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/alertbridge/alertbridge/loadgen"
)

// runBench sends realistic Alertmanager webhook traffic to a daemon on this
// machine and prints throughput, acknowledgement latency, errors and the
// server's RSS. It returns 0 on success, 1 when the run fails and 2 on a
// usage error.
func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o loadgen.Options
	fs.StringVar(&o.URL, "url", "http://127.0.0.1:9097/ingest/alertmanager", "Alertmanager webhook endpoint; must be a loopback address")
	fs.IntVar(&o.Groups, "groups", loadgen.DefaultGroups, "alert groups (alertname+cluster)")
	fs.IntVar(&o.AlertsPerGroup, "alerts-per-group", loadgen.DefaultAlertsPerGroup, "alerts a group starts each episode with")
	fs.IntVar(&o.Concurrency, "concurrency", loadgen.DefaultConcurrency, "concurrent senders, each owning some groups (at most --groups)")
	fs.IntVar(&o.Requests, "requests", 20000, "notifications to send after warm-up; 0 means until --duration")
	fs.DurationVar(&o.Duration, "duration", loadgen.DefaultDuration, "upper bound on the whole run, warm-up included")
	fs.Int64Var(&o.Seed, "seed", 1, "seed of the traffic")
	fs.BoolVar(&o.NoWarmup, "no-warmup", false, "skip sending every group once before the timed run")
	fs.StringVar(&o.BearerToken, "bearer-token", "", "token sent as Authorization: Bearer")
	fs.StringVar(&o.MetricsURL, "metrics-url", "", "server /metrics to read RSS from (default: --url's host + /metrics)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), "usage: alertbridge bench [flags]\n\nflags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "bench: unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return 2
	}
	// Zero means "the default" in loadgen.Options, but on the command line it
	// would be read literally, so refuse it rather than run something else.
	for _, f := range []struct {
		name string
		v    int64
	}{
		{"groups", int64(o.Groups)},
		{"alerts-per-group", int64(o.AlertsPerGroup)},
		{"concurrency", int64(o.Concurrency)},
		{"duration", int64(o.Duration)},
	} {
		if f.v <= 0 {
			fmt.Fprintf(stderr, "bench: --%s %s: must be positive\n", f.name, fs.Lookup(f.name).Value)
			return 2
		}
	}
	concurrencySet := false
	fs.Visit(func(f *flag.Flag) { concurrencySet = concurrencySet || f.Name == "concurrency" })
	if !concurrencySet {
		// Each sender owns groups of its own, so a small --groups lowers the
		// default concurrency instead of failing.
		o.Concurrency = min(o.Concurrency, o.Groups)
	}
	if err := o.Validate(); err != nil {
		fmt.Fprintf(stderr, "bench: %v\n", err)
		return 2
	}

	rep, err := loadgen.Run(ctx, o)
	if err != nil {
		fmt.Fprintf(stderr, "bench: %v\n", err)
		if rep.Requests > 0 {
			// Interrupted: what was measured is still worth printing.
			rep.Write(stdout)
		}
		return 1
	}
	rep.Write(stdout)
	return 0
}
