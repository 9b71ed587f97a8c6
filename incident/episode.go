package incident

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// SameFiringWithin is how far apart two startsAt of one alert may be and
// still mean one firing. Two clustered Alertmanagers that received an alert
// without a startsAt each stamp their own, a fraction of a second apart;
// notifications from both are about the same firing. A real earlier firing
// this close would have lasted less than this.
const SameFiringWithin = 10 * time.Second

// Episode is one firing of one alert (Source, Fingerprint): from StartsAt
// until EndsAt, which is zero while it fires or while its end is not known.
// An incident is made of episodes: its impact started with the earliest and
// ended with the latest end, whatever order they were delivered in.
type Episode struct {
	ID          int64
	Source      string
	Fingerprint string
	StartsAt    time.Time
	EndsAt      time.Time
	IncidentID  int64
	// Key is the correlation key the alert had when the episode was
	// recorded.
	Key string
}

// episodeOf returns the episode of the alert that started at at (within
// SameFiringWithin), or a new one for key (ID 0) when there is none.
func episodeOf(ctx context.Context, tx Tx, source, fp string, at time.Time, key string) (Episode, error) {
	ep, err := tx.EpisodeNear(ctx, source, fp, at, SameFiringWithin)
	if errors.Is(err, ErrNotFound) {
		return Episode{Source: source, Fingerprint: fp, StartsAt: at, Key: key}, nil
	}
	if err != nil {
		return ep, fmt.Errorf("episode of %s/%s at %s: %w", source, fp, at.UTC().Format(time.RFC3339), err)
	}
	return ep, nil
}

// currentEpisode returns the episode st (an alert's latest known state)
// stands for, or a new one for it when none was recorded (a database from
// before episodes, or a state remembered without an incident).
func currentEpisode(ctx context.Context, tx Tx, st AlertState, key string) (Episode, error) {
	ep, err := tx.EpisodeNear(ctx, st.Source, st.Fingerprint, st.StartsAt, 0)
	if errors.Is(err, ErrNotFound) {
		return Episode{Source: st.Source, Fingerprint: st.Fingerprint, StartsAt: st.StartsAt, EndsAt: st.EndsAt,
			IncidentID: st.IncidentID, Key: key}, nil
	}
	return ep, err
}

// recordEpisode stores ep, a firing starting at ep.StartsAt; when one of the
// alert's firings already starts exactly then (a redelivery), that one is
// updated instead.
//
// One statement, not a lookup and then a write: every new alert records
// its first episode, and the lookup was 7% of the daemon's CPU on new
// alerts (issue 13).
func recordEpisode(ctx context.Context, tx Tx, ep *Episode) error {
	if ep.ID == 0 {
		return tx.RecordEpisode(ctx, ep)
	}
	return tx.PutEpisode(ctx, ep)
}

// earlier returns the earlier of a and b, ignoring zero times.
func earlier(a, b time.Time) time.Time {
	switch {
	case a.IsZero():
		return b
	case b.IsZero() || a.Before(b):
		return a
	}
	return b
}

// later returns the later of the times, ignoring zero ones.
func later(ts ...time.Time) time.Time {
	var out time.Time
	for _, t := range ts {
		if t.After(out) {
			out = t
		}
	}
	return out
}

// sameFiring reports whether s, the startsAt of an event, is the firing
// that started at known: no more than SameFiringWithin apart.
func sameFiring(s, known time.Time) bool {
	d := s.Sub(known)
	return d >= -SameFiringWithin && d <= SameFiringWithin
}

// earlierStart returns the start the alert's current firing (st) has once
// an event with startsAt s is taken into account: s when it is an earlier
// stamp of the same firing (within SameFiringWithin, another HA peer's),
// else the known start. A firing recorded in between is another firing,
// not this one (an alert may fire, resolve and fire again within moments).
func earlierStart(ctx context.Context, tx Tx, st AlertState, s time.Time) (time.Time, error) {
	if !s.Before(st.StartsAt) || !sameFiring(s, st.StartsAt) {
		return st.StartsAt, nil
	}
	other, err := tx.EpisodeNear(ctx, st.Source, st.Fingerprint, s, st.StartsAt.Sub(s)-1)
	switch {
	case errors.Is(err, ErrNotFound):
		return s, nil
	case err != nil:
		return st.StartsAt, err
	case !other.StartsAt.Equal(st.StartsAt):
		return st.StartsAt, nil
	}
	return s, nil
}

// endOf is when a resolved event says its alert ended: its endsAt, never
// after now (a sender's clock ahead of ours) nor before start.
func endOf(ev Event, start, now time.Time) time.Time {
	end := ev.EndsAt
	if end.IsZero() || end.After(now) {
		end = now
	}
	if end.Before(start) {
		end = start
	}
	return end
}
