package e2e

import (
	"context"
	"database/sql"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/alertbridge/alertbridge/loadgen"
	"github.com/alertbridge/alertbridge/store/sqlite"
)

// soakDuration is how long TestSoak runs its churn; 0 skips it. `make soak`
// runs it for 30 minutes, `make soak-short` (in ci) for 40 seconds.
var (
	soakDuration = flag.Duration("soak.duration", 0, "how long TestSoak churns alerts; 0 skips it")
	soakGroups   = flag.Int("soak.groups", 2000, "alert groups of 10 alerts TestSoak churns")
)

// TestSoak runs the real daemon under sustained churn (groups resolving and
// being replaced by new ones, so that the stored history grows while the
// number of firing alerts stays about the same) and reports, every
// sampling period, the Go heap and the RSS per firing alert and the
// database's size: what "bounded over months" needs to stay flat. It asserts
// no figure; it fails only when the load fails (more than 1% of requests).
func TestSoak(t *testing.T) {
	if *soakDuration <= 0 {
		t.Skip("set -soak.duration (make soak, make soak-short)")
	}
	bin := mustBuildDaemon(t)
	data := filepath.Join(t.TempDir(), "data")
	_, base := mustStartDaemon(t, bin, data, "--log.level=warn")
	dbPath := filepath.Join(data, sqlite.FileName)
	db, err := sql.Open("sqlite", "file:"+dbPath+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type result struct {
		rep loadgen.Report
		err error
	}
	done := make(chan result, 1)
	go func() {
		rep, err := loadgen.Run(ctx, loadgen.Options{URL: base + "/ingest/alertmanager", Groups: *soakGroups, AlertsPerGroup: 10,
			Concurrency: 8, Duration: *soakDuration, Mix: loadgen.Mix{Repeat: 60, Churn: 40}, Seed: 1, RunID: "soak"})
		done <- result{rep, err}
	}()

	period := max(*soakDuration/12, 5*time.Second)
	tick := time.NewTicker(period)
	defer tick.Stop()
	t.Logf("%8s %8s %9s %10s %10s %11s %11s %9s %9s", "elapsed", "firing", "stored", "heap MiB", "RSS MiB",
		"heap B/fir", "RSS B/fir", "db MiB", "wal MiB")
	start := time.Now()
	sample := func() {
		var heap, rss float64
		for name, v := range map[string]*float64{"go_memstats_heap_inuse_bytes": &heap, "process_resident_memory_bytes": &rss} {
			s, err := scrape(base, name)
			if err == nil {
				*v, err = strconv.ParseFloat(s, 64)
			}
			if err != nil {
				t.Logf("scrape %s: %v", name, err)
				return
			}
		}
		var firing, stored int64
		if err := db.QueryRow(`SELECT COUNT(*) FILTER (WHERE status = 'firing'), COUNT(*) FROM alert_states`).Scan(&firing, &stored); err != nil {
			t.Logf("count alerts: %v", err)
			return
		}
		per := func(v float64) float64 { return v / float64(max(firing, 1)) }
		t.Logf("%8s %8d %9d %10.1f %10.1f %11.0f %11.0f %9.1f %9.1f", time.Since(start).Round(time.Second), firing, stored,
			heap/(1<<20), rss/(1<<20), per(heap), per(rss), fileMiB(dbPath), fileMiB(dbPath+"-wal"))
	}
	for {
		select {
		case <-tick.C:
			sample()
			continue
		case r := <-done:
			sample()
			if r.err != nil {
				t.Fatalf("load: %v", r.err)
			}
			var b strings.Builder
			r.rep.Write(&b)
			t.Logf("load (load average %s):\n%s", loadAvg(), b.String())
			if share := r.rep.FailedShare(false); share > 0.01 {
				t.Errorf("%.2f%% of requests failed", 100*share)
			}
		}
		return
	}
}

func fileMiB(path string) float64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return float64(fi.Size()) / (1 << 20)
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	return strings.Join(strings.Fields(string(b))[:3], " ")
}
