package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/alertbridge/alertbridge/loadgen"
)

// benchScenario is one kind of traffic `alertbridge bench --scenario` sends.
type benchScenario struct {
	name, about string
	// apply sets the scenario's traffic on o.
	apply func(o *loadgen.Options)
	// overload: calibrate first, then offer twice what was acknowledged.
	overload bool
}

var benchScenarios = []benchScenario{
	{name: "mixed", about: "70% repeats, 15% added alerts, 15% resolves and refires",
		apply: func(o *loadgen.Options) { o.Mix = loadgen.DefaultMix }},
	{name: "repeats", about: "a storm of repeats of firing groups",
		apply: func(o *loadgen.Options) { o.Mix = loadgen.Mix{Repeat: 1} }},
	{name: "new", about: "every notification a group of new alerts",
		apply: func(o *loadgen.Options) { o.Mix = loadgen.Mix{New: 1} }},
	{name: "churn", about: "groups resolve and are replaced by new ones",
		apply: func(o *loadgen.Options) { o.Mix = loadgen.Mix{Churn: 1} }},
	{name: "flapping", about: "groups resolve and refire with the same alerts",
		apply: func(o *loadgen.Options) { o.Mix = loadgen.Mix{ResolveRefire: 1} }},
	{name: "ha", about: "the mixed traffic, every notification from two HA peers at once",
		apply: func(o *loadgen.Options) { o.Mix, o.Senders = loadgen.DefaultMix, 2 }},
	{name: "single", about: "one alert per notification: repeats, new alerts, resolves and refires",
		apply: func(o *loadgen.Options) {
			o.AlertsPerGroup, o.Mix = 1, loadgen.Mix{Repeat: 70, New: 15, ResolveRefire: 15}
		}},
	{name: "overload", about: "the mixed traffic offered at twice the rate acknowledged in a calibration third",
		apply: func(o *loadgen.Options) { o.Mix = loadgen.DefaultMix }, overload: true},
}

func scenarioNames() []string {
	names := make([]string, len(benchScenarios))
	for i, s := range benchScenarios {
		names[i] = s.name
	}
	return names
}

// runBench sends realistic Alertmanager webhook traffic to a daemon on this
// machine and prints throughput, acknowledgement latency, failed requests and
// the server's RSS, per scenario. It returns 0 on success, 1 when the run
// fails or more than --max-failed of the requests fail, and 2 on a usage
// error.
func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o loadgen.Options
	fs.StringVar(&o.URL, "url", "http://127.0.0.1:9097/ingest/alertmanager", "Alertmanager webhook endpoint; must be a loopback address")
	fs.IntVar(&o.Groups, "groups", loadgen.DefaultGroups, "alert groups (alertname+cluster)")
	fs.IntVar(&o.AlertsPerGroup, "alerts-per-group", loadgen.DefaultAlertsPerGroup, "alerts a group starts each episode with (the single scenario uses 1)")
	fs.IntVar(&o.Concurrency, "concurrency", loadgen.DefaultConcurrency, "concurrent senders, each owning some groups (at most --groups)")
	fs.IntVar(&o.Requests, "requests", 20000, "notifications to send after warm-up, per scenario; 0 means until --duration")
	fs.DurationVar(&o.Duration, "duration", loadgen.DefaultDuration, "upper bound on each scenario's run, warm-up included")
	fs.Int64Var(&o.Seed, "seed", 1, "seed of the traffic")
	fs.BoolVar(&o.NoWarmup, "no-warmup", false, "skip sending every group once before the timed run")
	fs.StringVar(&o.BearerToken, "bearer-token", "", "token sent as Authorization: Bearer")
	fs.StringVar(&o.MetricsURL, "metrics-url", "", "server /metrics to read RSS from (default: --url's host + /metrics)")
	fs.StringVar(&o.Format, "format", loadgen.FormatWebhook, "what to post: webhook (Alertmanager's notifications, to alertbridge) or api (Alertmanager's POST /api/v2/alerts, to an Alertmanager)")
	fs.StringVar(&o.RunID, "run-id", "", "label value that makes the new and churn scenarios' alerts new to a server that saw an earlier run (default: from the clock)")
	fs.Float64Var(&o.Rate, "rate", 0, "notifications per second in all, paced (an open loop); 0 sends each worker's next as soon as the last is answered")
	scenario := fs.String("scenario", "mixed", "traffic: "+strings.Join(scenarioNames(), ", ")+", or all (each in turn)")
	maxFailed := fs.Float64("max-failed", 0.01, "exit 1 when more than this share of a scenario's requests fail (a 503 with Retry-After under overload is shedding, not failing)")
	storageDir := fs.String("fsync-dir", ".", "directory on the daemon's storage device, where the fsync probe writes a temporary file")
	fsyncN := fs.Int("fsync-samples", 200, "fsyncs the probe measures; 0 skips it")
	var po loadgen.PollOptions
	polls := fs.String("poll", "", "comma-separated paths GET from --url's host while each scenario runs, as a dashboard polls (e.g. /api/v1/stats,/api/v1/incidents,/metrics): their latency is reported beside the scenario's")
	fs.Float64Var(&po.Rate, "poll-rate", 5, "GETs per second of each --poll path")
	fs.StringVar(&po.BearerToken, "poll-token", "", "API token sent as Authorization: Bearer with the --poll requests")
	pollOnly := fs.Bool("poll-only", false, "send nothing: poll the --poll paths for --duration and report their latency, as a dashboard or scraper in a process of its own sees it beside other load")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), "usage: alertbridge bench [flags]\n\nscenarios:\n")
		for _, s := range benchScenarios {
			fmt.Fprintf(fs.Output(), "  %-9s %s\n", s.name, s.about)
		}
		fmt.Fprint(fs.Output(), "\nflags:\n")
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
	var run []benchScenario
	for _, s := range benchScenarios {
		if *scenario == "all" || *scenario == s.name {
			run = append(run, s)
		}
	}
	if len(run) == 0 {
		fmt.Fprintf(stderr, "bench: --scenario %q: must be one of %s, or all\n", *scenario, strings.Join(scenarioNames(), ", "))
		return 2
	}
	if err := o.Validate(); err != nil {
		fmt.Fprintf(stderr, "bench: %v\n", err)
		return 2
	}
	if o.RunID == "" {
		o.RunID = strconv.FormatInt(time.Now().UnixNano(), 36)
	}
	if *polls != "" {
		u, err := url.Parse(o.URL)
		if err != nil {
			fmt.Fprintf(stderr, "bench: --url: %v\n", err)
			return 2
		}
		po.Base, po.Paths = u.Scheme+"://"+u.Host, strings.Split(*polls, ",")
		if po.Rate <= 0 {
			fmt.Fprintf(stderr, "bench: --poll-rate %v: must be positive\n", po.Rate)
			return 2
		}
	}
	if *pollOnly {
		return pollAlone(ctx, po, o.Duration, *maxFailed, stdout, stderr)
	}

	writeMachine(stdout, *storageDir, *fsyncN)
	code := 0
	for i, s := range run {
		so := o
		s.apply(&so)
		so.RunID = fmt.Sprintf("%s-%d", o.RunID, i)
		fmt.Fprintf(stdout, "\n== scenario %s: %s (load average %s)\n", s.name, s.about, loadAverage())
		rep, pollReps, err := runPolled(ctx, po, func(ctx context.Context) (loadgen.Report, error) {
			return runScenario(ctx, s, so, stdout)
		})
		if err != nil {
			fmt.Fprintf(stderr, "bench: %s: %v\n", s.name, err)
			if rep.Requests > 0 {
				// Interrupted: what was measured is still worth printing.
				rep.Write(stdout)
			}
			return 1
		}
		rep.Write(stdout)
		loadgen.WritePolls(stdout, pollReps)
		if share := rep.FailedShare(s.overload); share > *maxFailed {
			fmt.Fprintf(stderr, "bench: %s: %.2f%% of requests failed, more than --max-failed %.2f%%\n", s.name, 100*share, 100**maxFailed)
			code = 1
		}
		if s.overload && rep.Errors > 0 && rep.Shed == 0 {
			fmt.Fprintf(stderr, "bench: %s: the server refused requests without a 503 and Retry-After\n", s.name)
			code = 1
		}
	}
	return code
}

// pollAlone polls po's paths for d, sending nothing, and prints their
// latency. The load generator's own senders compete with an in-process
// poll for its process's CPU; a poll of its own does not, as a scraper on
// another machine would not. It returns 1 when more than maxFailed of a
// path's GETs fail, and 2 without paths.
func pollAlone(ctx context.Context, po loadgen.PollOptions, d time.Duration, maxFailed float64, stdout, stderr io.Writer) int {
	if len(po.Paths) == 0 {
		fmt.Fprintln(stderr, "bench: --poll-only: give the paths to poll with --poll")
		return 2
	}
	fmt.Fprintf(stdout, "== polling for %s, sending nothing (load average %s)\n", d, loadAverage())
	pctx, cancel := context.WithTimeout(ctx, d)
	reps, err := loadgen.Poll(pctx, po)
	cancel()
	if err != nil {
		fmt.Fprintf(stderr, "bench: poll: %v\n", err)
		return 2
	}
	loadgen.WritePolls(stdout, reps)
	code := 0
	for _, r := range reps {
		switch n := r.OK + r.Errors; {
		case n == 0:
			fmt.Fprintf(stderr, "bench: poll %s: no GET finished in --duration %s at --poll-rate %v\n", r.Path, d, po.Rate)
			code = 1
		case float64(r.Errors)/float64(n) > maxFailed:
			fmt.Fprintf(stderr, "bench: poll %s: %d of %d GETs failed, more than --max-failed %.2f%%\n", r.Path, r.Errors, n, 100*maxFailed)
			code = 1
		}
	}
	return code
}

// runPolled runs run while po's paths are polled (none: run alone), and
// returns both reports.
func runPolled(ctx context.Context, po loadgen.PollOptions, run func(context.Context) (loadgen.Report, error)) (loadgen.Report, []loadgen.PollReport, error) {
	if len(po.Paths) == 0 {
		rep, err := run(ctx)
		return rep, nil, err
	}
	pctx, stop := context.WithCancel(ctx)
	type polled struct {
		reps []loadgen.PollReport
		err  error
	}
	done := make(chan polled, 1)
	go func() {
		reps, err := loadgen.Poll(pctx, po)
		done <- polled{reps, err}
	}()
	rep, err := run(ctx)
	stop()
	p := <-done
	if err == nil && p.err != nil {
		err = fmt.Errorf("poll: %w", p.err)
	}
	return rep, p.reps, err
}

// runScenario runs one scenario. Overload first runs a third of the
// duration closed-loop to learn the rate the server acknowledges, then
// offers twice that from four times the senders for the rest.
func runScenario(ctx context.Context, s benchScenario, o loadgen.Options, stdout io.Writer) (loadgen.Report, error) {
	if !s.overload {
		return loadgen.Run(ctx, o)
	}
	cal := o
	cal.Duration, cal.Requests = o.Duration/3, 0
	rep, err := loadgen.Run(ctx, cal)
	if err != nil {
		return rep, fmt.Errorf("calibrate: %w", err)
	}
	rate := rep.NotificationsPerSecond()
	if rate <= 0 {
		return rep, errors.New("calibrate: nothing was acknowledged")
	}
	fmt.Fprintf(stdout, "calibration: %.1f notifications/s acknowledged; offering %.1f/s\n", rate, 2*rate)
	o.Duration, o.Requests, o.NoWarmup = o.Duration-cal.Duration, 0, true
	o.Rate = 2 * rate
	o.Concurrency = min(4*o.Concurrency, o.Groups)
	return loadgen.Run(ctx, o)
}

// writeMachine prints what the figures depend on: the CPUs, the load
// average, the fsync latency of the storage device and the SQLite driver.
func writeMachine(w io.Writer, dir string, n int) {
	fmt.Fprintf(w, "machine:     %d CPUs (GOMAXPROCS %d), %s/%s, load average %s\n",
		runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.GOOS, runtime.GOARCH, loadAverage())
	switch st, err := loadgen.MeasureFsync(dir, n); {
	case n <= 0:
		fmt.Fprintln(w, "fsync:       not measured")
	case err != nil:
		fmt.Fprintf(w, "fsync:       %v\n", err)
	default:
		fmt.Fprintf(w, "fsync:       p50 %s, p99 %s over %d fsyncs of a 4 KiB write in %s\n", st.P50, st.P99, st.Samples, dir)
	}
	fmt.Fprintf(w, "driver:      %s (built into this binary; the daemon's if it is the same build)\n", sqliteDriver())
}

// sqliteDriver names the SQLite driver module this binary was built with.
func sqliteDriver() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "modernc.org/sqlite (version unknown)"
	}
	for _, m := range bi.Deps {
		if m.Path == "modernc.org/sqlite" || m.Path == "github.com/ncruces/go-sqlite3" || m.Path == "github.com/mattn/go-sqlite3" {
			return m.Path + " " + m.Version
		}
	}
	return "modernc.org/sqlite (version unknown)"
}

// loadAverage is the first three fields of /proc/loadavg, or "unknown":
// on a shared machine no figure means anything without it.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}
