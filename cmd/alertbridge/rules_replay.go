package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"time"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/pipeline"
	"github.com/alertbridge/alertbridge/rules"
	"github.com/alertbridge/alertbridge/store/sqlite"
)

// replay is a pipeline on a simulated clock over a SQLite store in a fresh
// temporary directory, which Close removes. `rules test` runs each test on
// one, and `rules backtest` each rule set. It implements ruletest.Engine.
type replay struct {
	dir string
	st  *sqlite.Store
	r   *pipeline.Replayer
}

func openReplay(ctx context.Context, set *rules.Set, start time.Time, log *slog.Logger) (*replay, error) {
	dir, err := os.MkdirTemp("", "alertbridge-replay-")
	if err != nil {
		return nil, fmt.Errorf("create replay store: %w", err)
	}
	st, err := sqlite.OpenScratch(ctx, dir)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	r, err := pipeline.NewReplayer(st, set, start, log)
	if err != nil {
		st.Close()
		os.RemoveAll(dir)
		return nil, err
	}
	return &replay{dir: dir, st: st, r: r}, nil
}

func (p *replay) Submit(ctx context.Context, at time.Time, events []incident.Event) error {
	return p.r.Submit(ctx, at, events)
}

func (p *replay) Advance(ctx context.Context, at time.Time) error { return p.r.Advance(ctx, at) }

func (p *replay) Execute(ctx context.Context, at time.Time, cmd incident.Command) (incident.Incident, error) {
	return p.r.Execute(ctx, at, cmd)
}

func (p *replay) Incidents(ctx context.Context) ([]incident.Incident, error) {
	all, err := allIncidents(ctx, p.st)
	live := all[:0]
	for _, inc := range all {
		if inc.MergedInto == 0 {
			live = append(live, inc)
		}
	}
	return live, err
}

// Problems returns every problem, oldest first.
func (p *replay) Problems(ctx context.Context) ([]incident.Problem, error) {
	const page = 1000
	var out []incident.Problem
	f := incident.ProblemFilter{Limit: page}
	for {
		list, err := p.st.Problems(ctx, f)
		if err != nil {
			return nil, err
		}
		out = append(out, list...)
		if len(list) < page {
			break
		}
		f.AfterID = list[len(list)-1].ID
	}
	slices.Reverse(out)
	return out, nil
}

// Timeline returns an incident's timeline, oldest first.
func (p *replay) Timeline(ctx context.Context, id int64) ([]incident.TimelineEntry, error) {
	return p.st.Timeline(ctx, id)
}

// Close stops the pipeline, closes the store and removes its directory.
func (p *replay) Close(ctx context.Context) error {
	err := p.r.Close(ctx)
	err = errors.Join(err, p.st.Close())
	return errors.Join(err, os.RemoveAll(p.dir))
}

// allIncidents lists every incident of st, oldest first.
func allIncidents(ctx context.Context, st *sqlite.Store) ([]incident.Incident, error) {
	const page = 1000
	var out []incident.Incident
	f := incident.IncidentFilter{Limit: page}
	for {
		list, err := st.Incidents(ctx, f)
		if err != nil {
			return nil, err
		}
		out = append(out, list...)
		if len(list) < page {
			break
		}
		f.AfterID = list[len(list)-1].ID
	}
	slices.Reverse(out)
	return out, nil
}
