package pipeline

import (
	"context"
	"crypto/rand"
	"time"

	"github.com/alertbridge/alertbridge/correlate"
	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/rules"
)

// Report opens an incident a person reported (incident.Open) through the
// single writer and returns it: the rule set's SLA policy and the catalog
// service's owner apply as to an incident an alert opens, the changes on
// its service in the lookback are linked as suspects, and sinks hear of it
// opening in the same transaction. It returns an *incident.FieldError
// (incident.ErrInvalid) for a report that fails validation, with nothing
// changed, and ErrOverloaded or ErrStopped as Execute does.
func (p *Pipeline) Report(ctx context.Context, r incident.Report) (incident.Incident, error) {
	r = r.Normalize()
	if err := r.Validate(); err != nil {
		return incident.Incident{}, err // no need to queue what cannot commit
	}
	req := &request{ctx: ctx, report: &r, err: make(chan error, 1)}
	err := p.do(ctx, req)
	return req.result, err
}

// manualKey is a reported incident's correlation key: "manual/" and 26
// random characters, a prefix no alert's key has (see correlate.Key), so
// alerts join it only when a person merges them in.
func manualKey() string { return "manual/" + rand.Text() }

// openReport carries out a report in tx.
func (p *Pipeline) openReport(ctx context.Context, tx incident.Tx, set *rules.Set, cb *correlate.Batch, r *request,
	now time.Time, stats *groupStats) error {
	o := incident.OpenOptions{Key: manualKey(), SLA: slaTargets(set)}
	if svc := set.ServiceByName(r.report.Service); svc != nil {
		o.Owner = svc.Owner
	}
	inc, err := incident.Open(ctx, tx, *r.report, now, o)
	if err != nil {
		return err
	}
	if _, err := incident.LinkChanges(ctx, tx, inc, topology(set).DependsOn, now, now, p.o.ChangeLookback); err != nil {
		return err
	}
	if err := cb.Record(ctx, inc); err != nil {
		return err
	}
	stats.count(true, false)
	r.result = inc
	return nil
}
