package api_test

import (
	"context"
	"errors"
	"testing"

	"github.com/alertbridge/alertbridge/api"
)

func TestMergeAndUnlinkOverHTTP(t *testing.T) {
	s := mustServer(t, 3) // clusters c0 (P1), c1, c2: three incidents
	ctx := context.Background()
	dst, err := s.client.Merge(ctx, 2, api.ActionRequest{Into: 1, Actor: "alice", Message: "same outage"})
	if err != nil {
		t.Fatal(err)
	}
	if dst.ID != 1 || dst.AlertCount != 2 || len(dst.Alerts) != 2 {
		t.Fatalf("merge answered %+v, want incident 1 with 2 alerts", dst)
	}
	src, err := s.client.Incident(ctx, 2)
	if err != nil || src.State != "resolved" || src.MergedInto == nil || *src.MergedInto != 1 {
		t.Fatalf("merged incident = %+v, %v", src, err)
	}
	moved, err := s.client.Unlink(ctx, 1, api.ActionRequest{Fingerprint: dst.Alerts[1].Fingerprint, Actor: "bob"})
	if err != nil {
		t.Fatal(err)
	}
	if moved.ID <= 3 || moved.AlertCount != 1 || moved.Alerts[0].Fingerprint != dst.Alerts[1].Fingerprint {
		t.Fatalf("unlink answered %+v, want a new incident holding that alert", moved)
	}
	for _, c := range []struct {
		name  string
		call  func() error
		code  int
		where string
	}{
		{"ErrMergeNoInto", func() error { _, err := s.client.Merge(ctx, 3, api.ActionRequest{}); return err }, 400, "into"},
		{"ErrMergeIntoResolved", func() error { _, err := s.client.Merge(ctx, 3, api.ActionRequest{Into: 2}); return err }, 409, "state"},
		{"ErrMergeUnknown", func() error { _, err := s.client.Merge(ctx, 3, api.ActionRequest{Into: 99}); return err }, 404, "id"},
		{"ErrUnlinkNoFingerprint", func() error { _, err := s.client.Unlink(ctx, 3, api.ActionRequest{}); return err }, 400, "fingerprint"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var se *api.StatusError
			if err := c.call(); !errors.As(err, &se) || se.Code != c.code || se.Body.Where != c.where {
				t.Errorf("err = %v, want %d where=%s", err, c.code, c.where)
			}
		})
	}
}
