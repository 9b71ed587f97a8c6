package jira

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/sink"
	"github.com/alertbridge/alertbridge/sink/internal/ticketing"
)

// content is what the templates made of a notification.
type content struct {
	summary, description string
	// fields are the configured extra fields, set on create.
	fields map[string]any
	// priority is ours (P2); priorityName Jira's, "" when unmapped.
	priority, priorityName string
	labels                 []string
}

// maxSummary is Jira's limit on a summary, in characters.
const maxSummary = 255

func (s *Sink) render(n sink.Notification) (content, error) {
	d := n.Data()
	c := content{priority: n.Incident.Priority.String()}
	var err error
	if c.summary, err = s.o.Summary.Render(d); err != nil {
		return c, fmt.Errorf("render summary: %w", err)
	}
	// Jira refuses a summary with a line break or over 255 characters.
	c.summary = strings.Join(strings.Fields(c.summary), " ")
	if utf8.RuneCountInString(c.summary) > maxSummary {
		c.summary = string([]rune(c.summary)[:maxSummary-1]) + "…"
	}
	if c.summary == "" {
		c.summary = fmt.Sprintf("alertbridge incident #%d", n.Incident.ID)
	}
	if c.description, err = s.o.Description.Render(d); err != nil {
		return c, fmt.Errorf("render description: %w", err)
	}
	for k, t := range s.o.Fields {
		v, err := t.Render(d)
		if err != nil {
			return c, fmt.Errorf("render field %s: %w", k, err)
		}
		if c.fields == nil {
			c.fields = map[string]any{}
		}
		c.fields[k] = fieldValue(v)
	}
	c.priorityName = s.o.Priorities[c.priority]
	c.labels = append([]string{"alertbridge", label(n.Incident.ID)}, s.o.Labels...)
	return c, nil
}

// fieldValue is a rendered field: its JSON when it is a JSON object or
// array (a select field's {"value": "…"}), else the string.
func fieldValue(v string) any {
	if strings.HasPrefix(v, "{") || strings.HasPrefix(v, "[") {
		var raw json.RawMessage
		if json.Unmarshal([]byte(v), &raw) == nil {
			return raw
		}
	}
	return v
}

// label is the label that finds an incident's issue.
func label(id int64) string { return "alertbridge-" + strconv.FormatInt(id, 10) }

func issuePath(key string) string { return "/rest/api/2/issue/" + url.PathEscape(key) }

// create makes the issue and returns its key and ID.
func (s *Sink) create(ctx context.Context, c content) (key, id string, err error) {
	fields := map[string]any{}
	for k, v := range c.fields {
		fields[k] = v
	}
	fields["project"] = map[string]string{"key": s.o.Project}
	fields["issuetype"] = map[string]string{"name": s.o.IssueType}
	fields["summary"] = c.summary
	fields["description"] = c.description
	fields["labels"] = c.labels
	if c.priorityName != "" {
		fields["priority"] = map[string]string{"name": c.priorityName}
	}
	var out struct {
		ID  string `json:"id"`
		Key string `json:"key"`
	}
	if err := s.do(ctx, http.MethodPost, "/rest/api/2/issue", nil, map[string]any{"fields": fields}, &out); err != nil {
		return "", "", fmt.Errorf("create issue: %w", err)
	}
	if out.Key == "" {
		return "", "", fmt.Errorf("create issue: Jira answered no key")
	}
	return out.Key, out.ID, nil
}

// The search endpoints: Cloud's /search/jql (its /search is gone, 410)
// and Data Center's /search (it has no /search/jql, 404).
const (
	searchJQL int32 = iota + 1
	searchLegacy
)

var searchPaths = map[int32]string{searchJQL: "/rest/api/2/search/jql", searchLegacy: "/rest/api/2/search"}

type foundIssue struct {
	ID  string `json:"id"`
	Key string `json:"key"`
}

// lookup finds the incident's oldest issue in the project by its label;
// nil when there is none. It uses the search endpoint that answered last
// and falls back to the other when that one is missing (404, 410).
//
// Cloud's /search/jql is eventually consistent: an issue created a few
// seconds ago may not be listed yet. The dispatcher's backoff puts a
// redelivery after a lost answer past most of that window, not all of it.
func (s *Sink) lookup(ctx context.Context, id int64) (*foundIssue, error) {
	q := url.Values{
		"jql":        {fmt.Sprintf(`project = %s AND labels = %s ORDER BY created ASC`, jqlString(s.o.Project), jqlString(label(id)))},
		"maxResults": {"1"},
		"fields":     {"status"},
	}
	var out struct {
		Issues []foundIssue `json:"issues"`
	}
	first := s.search.Load()
	err := s.do(ctx, http.MethodGet, searchPaths[first], q, nil, &out)
	if ticketing.HasStatus(err, http.StatusNotFound, http.StatusGone, http.StatusMethodNotAllowed) {
		other := searchJQL + searchLegacy - first
		if err2 := s.do(ctx, http.MethodGet, searchPaths[other], q, nil, &out); err2 == nil {
			s.search.Store(other)
			err = nil
		}
	}
	if err != nil {
		return nil, fmt.Errorf("search issue by label: %w", err)
	}
	if len(out.Issues) == 0 || out.Issues[0].Key == "" {
		return nil, nil
	}
	return &out.Issues[0], nil
}

// jqlString quotes s as a JQL string.
func jqlString(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// updateFields sets the summary and priority when they changed since the
// sink last set them.
func (s *Sink) updateFields(ctx context.Context, t *incident.Ticket, c content) error {
	fields := map[string]any{}
	if c.summary != t.Data[dataSummary] {
		fields["summary"] = c.summary
	}
	if c.priorityName != "" && c.priority != t.Data[dataPriority] {
		fields["priority"] = map[string]string{"name": c.priorityName}
	}
	if len(fields) == 0 {
		return nil
	}
	err := s.do(ctx, http.MethodPut, issuePath(t.ExternalID), nil, map[string]any{"fields": fields}, nil)
	if ticketing.HasStatus(err, http.StatusNotFound) {
		return errGone
	}
	if err != nil {
		return fmt.Errorf("update issue %s: %w", t.ExternalID, err)
	}
	t.Data[dataSummary] = c.summary
	if c.priorityName != "" {
		t.Data[dataPriority] = c.priority
	}
	return nil
}

// status is an issue's status and its category: new, indeterminate, done.
type status struct {
	ID             string   `json:"id"`
	Name           string   `json:"name"`
	StatusCategory category `json:"statusCategory"`
}

type category struct {
	Key string `json:"key"`
}

type transition struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	To   status `json:"to"`
}

// The status categories' keys.
const (
	categoryNew        = "new"
	categoryInProgress = "indeterminate"
	categoryDone       = "done"
)

// step is one transition that moves the issue towards a state, unless
// its status category already says so.
type step struct {
	name string
	done func(category string) bool
}

// steps are the transitions towards want: an incident acknowledged while
// its issue is done is reopened first.
func (s *Sink) steps(want string) []step {
	reopen := step{s.o.ReopenTransition, func(c string) bool { return c != categoryDone }}
	switch want {
	case ticketing.Resolved:
		return []step{{s.o.ResolveTransition, func(c string) bool { return c == categoryDone }}}
	case ticketing.Acknowledged:
		return []step{reopen, {s.o.AcknowledgeTransition, func(c string) bool { return c != categoryNew && c != "" }}}
	}
	return []step{reopen}
}

// converge moves the issue to want when the incident's state changed since
// the sink last synced it. A transition is taken only when the issue's
// status category does not already say the state, so that a redelivery,
// or a responder who moved the issue first, makes no second transition.
func (s *Sink) converge(ctx context.Context, t *incident.Ticket, want string) error {
	if t.Data[dataState] == want {
		return nil
	}
	for _, st := range s.steps(want) {
		if st.name == "" {
			continue
		}
		if err := s.take(ctx, t.ExternalID, st); err != nil {
			return err
		}
	}
	t.Data[dataState] = want
	return nil
}

// take makes one step: it reads the issue's status and transitions, and
// takes the step's transition (by name, case-insensitive) unless the
// status category already says what the step is for.
func (s *Sink) take(ctx context.Context, key string, st step) error {
	var is struct {
		Fields struct {
			Status status `json:"status"`
		} `json:"fields"`
		Transitions []transition `json:"transitions"`
	}
	q := url.Values{"fields": {"status"}, "expand": {"transitions"}}
	err := s.do(ctx, http.MethodGet, issuePath(key), q, nil, &is)
	if ticketing.HasStatus(err, http.StatusNotFound) {
		return errGone
	}
	if err != nil {
		return fmt.Errorf("read issue %s: %w", key, err)
	}
	cur := is.Fields.Status
	if st.done(cur.StatusCategory.Key) {
		return nil
	}
	var tr *transition
	names := make([]string, 0, len(is.Transitions))
	for i := range is.Transitions {
		names = append(names, strconv.Quote(is.Transitions[i].Name))
		if tr == nil && strings.EqualFold(strings.TrimSpace(is.Transitions[i].Name), strings.TrimSpace(st.name)) {
			tr = &is.Transitions[i]
		}
	}
	if tr == nil {
		return sink.Permanent(fmt.Errorf("issue %s: transition %q is not available from status %q (available: %s)",
			key, st.name, cur.Name, strings.Join(names, ", ")))
	}
	body := map[string]any{"transition": map[string]string{"id": tr.ID}}
	err = s.do(ctx, http.MethodPost, issuePath(key)+"/transitions", nil, body, nil)
	if ticketing.HasStatus(err, http.StatusNotFound) {
		return errGone
	}
	if err != nil {
		return fmt.Errorf("transition issue %s (%s): %w", key, tr.Name, err)
	}
	return nil
}

// comment adds n's entries as comments, oldest first. On an issue the
// sink did not just create, it first reads the latest comments and skips
// the entries whose comment is there: a delivery whose answer was lost
// posted them already.
func (s *Sink) comment(ctx context.Context, n sink.Notification, t *incident.Ticket, created bool) error {
	notes := ticketing.Notes(n)
	if len(notes) == 0 {
		return nil
	}
	var seen []string
	if !created {
		var err error
		if seen, err = s.recentComments(ctx, t.ExternalID); err != nil {
			return err
		}
	}
	for _, nt := range notes {
		if nt.EntryID != 0 && containsTag(seen, nt.Tag) {
			continue
		}
		var out struct {
			Author *account `json:"author"`
		}
		err := s.do(ctx, http.MethodPost, issuePath(t.ExternalID)+"/comment", nil, map[string]string{"body": nt.Text}, &out)
		if ticketing.HasStatus(err, http.StatusNotFound) {
			return errGone
		}
		if err != nil {
			return fmt.Errorf("comment on issue %s: %w", t.ExternalID, err)
		}
		s.remember(out.Author)
	}
	return nil
}

// recentComments are the bodies of the issue's latest comments.
func (s *Sink) recentComments(ctx context.Context, key string) ([]string, error) {
	var out struct {
		Comments []struct {
			Body json.RawMessage `json:"body"`
		} `json:"comments"`
	}
	q := url.Values{"orderBy": {"-created"}, "maxResults": {"100"}}
	err := s.do(ctx, http.MethodGet, issuePath(key)+"/comment", q, nil, &out)
	if ticketing.HasStatus(err, http.StatusNotFound) {
		return nil, errGone
	}
	if err != nil {
		return nil, fmt.Errorf("read comments of issue %s: %w", key, err)
	}
	bodies := make([]string, 0, len(out.Comments))
	for _, c := range out.Comments {
		bodies = append(bodies, bodyText(c.Body))
	}
	return bodies, nil
}

func containsTag(bodies []string, tag string) bool {
	for _, b := range bodies {
		if strings.Contains(b, tag) {
			return true
		}
	}
	return false
}
