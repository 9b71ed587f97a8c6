package pipeline_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/pipeline"
	"github.com/alertbridge/alertbridge/store/sqlite"
	"github.com/alertbridge/alertbridge/store/storetest"
)

// readingStore gives the pipeline transactions that read many alert states
// at once (incident.AlertStatesReader, as PostgreSQL's do), and counts the
// reads of either kind.
type readingStore struct {
	*sqlite.Store
	many, one atomic.Int64
}

func (s *readingStore) Update(ctx context.Context, fn func(incident.Tx) error) error {
	return s.Store.Update(ctx, func(tx incident.Tx) error { return fn(readingTx{tx, s}) })
}

type readingTx struct {
	incident.Tx
	s *readingStore
}

func (t readingTx) AlertState(ctx context.Context, source, fp string) (incident.AlertState, error) {
	t.s.one.Add(1)
	return t.Tx.AlertState(ctx, source, fp)
}

func (t readingTx) AlertStates(ctx context.Context, keys []incident.AlertKey) ([]incident.AlertState, error) {
	t.s.many.Add(1)
	var out []incident.AlertState
	for _, k := range keys {
		st, err := t.Tx.AlertState(ctx, k.Source, k.Fingerprint)
		switch {
		case err == nil:
			out = append(out, st)
		case !errors.Is(err, incident.ErrNotFound):
			return nil, err
		}
	}
	return out, nil
}

// TestPrefetchReadsANotificationAtOnce: with a store that reads many alert
// states at once, a notification of new alerts is decided from one read,
// none one by one, and opens what it would otherwise; its repeat, which
// the cache holds, reads nothing.
func TestPrefetchReadsANotificationAtOnce(t *testing.T) {
	ctx := context.Background()
	sq, err := sqlite.Open(ctx, storetest.SQLiteDir(t))
	if err != nil {
		t.Fatal(err)
	}
	st := &readingStore{Store: sq}
	defer st.Close()
	p, err := pipeline.New(pipeline.Options{Store: st, Now: func() time.Time { return t0 }, MaxWait: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	p.Start()
	defer p.Stop(ctx) //nolint:errcheck // the test's end
	var evs []incident.Event
	for i := range 5 {
		evs = append(evs, firing(fmt.Sprint("host-", i), t0))
	}
	for round, want := range []int64{1, 1} { // new, then repeats
		if err := p.Submit(ctx, evs); err != nil {
			t.Fatal(err)
		}
		if many, one := st.many.Load(), st.one.Load(); many != want || one != 0 {
			t.Errorf("round %d: %d reads at once, %d one by one; want %d and none", round, many, one, want)
		}
	}
	list, err := sq.Incidents(ctx, incident.IncidentFilter{Limit: 10})
	if err != nil || len(list) != 1 || list[0].AlertCount != 5 {
		t.Fatalf("incidents %+v, %v; want one of 5 alerts", list, err)
	}
}
