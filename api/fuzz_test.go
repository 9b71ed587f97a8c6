package api

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// FuzzDecodeBody feeds arbitrary bytes to the decoder of every JSON body the
// API takes (incident actions and problem actions). It must never panic, and
// whatever it accepts must survive a round trip unchanged: no field is taken
// in a form the API would not write back.
func FuzzDecodeBody(f *testing.F) {
	for _, s := range []string{``, `{}`, `{"actor":"alice","message":"looking"}`, `{"into":2}`,
		`{"fingerprint":"abc","actor":"x"}`, `{"workaround":"restart","root_cause":"leak"}`, `{"actor":5}`,
		`{"who":"x"}`, `{`, `[]`, `null`, `{"message":"\ud800"}`, `{"into":1e400}`, `{} {}`} {
		f.Add([]byte(s), true)
		f.Add([]byte(s), false)
	}
	f.Fuzz(func(t *testing.T, body []byte, required bool) {
		check := func(v, again any) {
			r := httptest.NewRequest("POST", "/api/v1/incidents/1/acknowledge", bytes.NewReader(body))
			if err := decodeBody(r, v, required); err != nil {
				return
			}
			b, err := json.Marshal(v)
			if err != nil {
				t.Fatalf("accepted %q but cannot encode it: %v", body, err)
			}
			r = httptest.NewRequest("POST", "/", bytes.NewReader(b))
			if err := decodeBody(r, again, true); err != nil {
				t.Fatalf("accepted %q, its re-encoding %s is refused: %v", body, b, err)
			}
			if diff := cmp.Diff(v, again); diff != "" {
				t.Fatalf("round trip of %q changed it (-first +again):\n%s", body, diff)
			}
		}
		check(&ActionRequest{}, &ActionRequest{})
		check(&ProblemRequest{}, &ProblemRequest{})
	})
}
