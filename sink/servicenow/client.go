package servicenow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/alertbridge/alertbridge/sink"
	"github.com/alertbridge/alertbridge/sink/internal/ticketing"
)

// record is a row of the table, as the sink asks for it (sysparm_fields).
type record struct {
	SysID            string `json:"sys_id"`
	Number           string `json:"number"`
	State            string `json:"state"`
	Impact           string `json:"impact"`
	Urgency          string `json:"urgency"`
	ShortDescription string `json:"short_description"`
	CorrelationID    string `json:"correlation_id"`
}

// recordFields are the fields the sink reads back: the answers stay small.
const recordFields = "sys_id,number,state,impact,urgency,short_description,correlation_id"

// do sends one Table API request under path (below /api/now/table/<table>)
// and decodes the answer's "result" into out (nil: dropped). Every request
// asks for the sink's fields only, without reference links. A 403 that a
// data policy or business rule gave is permanent: retrying the same update
// will not satisfy the rule, while a 403 of an ACL (the credentials'
// roles) waits for an operator, as a 401 does.
func (s *Sink) do(ctx context.Context, method, path string, q url.Values, in, out any) error {
	if q == nil {
		q = url.Values{}
	}
	q.Set("sysparm_fields", recordFields)
	q.Set("sysparm_exclude_reference_link", "true")
	u := s.o.URL + "/api/now/table/" + url.PathEscape(s.o.Table) + path + "?" + q.Encode()
	var decode func(io.Reader) error
	if out != nil {
		decode = func(r io.Reader) error {
			var env struct {
				Result json.RawMessage `json:"result"`
			}
			if err := json.NewDecoder(r).Decode(&env); err != nil {
				return err
			}
			if len(env.Result) == 0 {
				return errors.New("no result")
			}
			return json.Unmarshal(env.Result, out)
		}
	}
	err := s.client.Do(ctx, method, u, in, decode)
	var e *ticketing.Error
	if errors.As(err, &e) && e.Status == http.StatusForbidden &&
		(strings.Contains(e.Message, "Data Policy") || strings.Contains(e.Message, "Business Rule")) {
		return e.Reclass(sink.Permanent(fmt.Errorf("%s /api/now/table/%s%s: %d %s: %s", method, s.o.Table, path,
			e.Status, http.StatusText(e.Status), e.Message)))
	}
	return err
}

// auth sets the sink's credentials: the bearer token, else basic auth.
func (s *Sink) auth(req *http.Request) {
	if !s.o.Bearer.IsZero() {
		req.Header.Set("Authorization", "Bearer "+s.o.Bearer.Reveal())
		return
	}
	req.SetBasicAuth(s.o.Username, s.o.Password.Reveal())
}

// errorText is ServiceNow's error answer ({"error": {"message", "detail"},
// "status": "failure"}) as one line; the raw text when it is not that.
func errorText(b []byte) string {
	var e struct {
		Error struct {
			Message string `json:"message"`
			Detail  string `json:"detail"`
		} `json:"error"`
	}
	if json.Unmarshal(b, &e) != nil || (e.Error.Message == "" && e.Error.Detail == "") {
		return strings.TrimSpace(string(b))
	}
	if e.Error.Detail == "" {
		return e.Error.Message
	}
	return e.Error.Message + ": " + e.Error.Detail
}
