package slack

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/alertbridge/alertbridge/incident"
)

// The action IDs of the buttons; the value is our incident ID.
const (
	ActionAcknowledge = "alertbridge_acknowledge"
	ActionResolve     = "alertbridge_resolve"
)

// The block IDs of a message, in the order they appear. A callback
// re-renders the blocks that follow the incident's state (fields, SLA,
// event, actions) and keeps the others as the message has them, since it
// knows only the incident (not its alerts, links or workaround).
const (
	blockTitle      = "ab_title"
	blockWorkaround = "ab_workaround"
	blockMerged     = "ab_merged"
	blockFields     = "ab_fields"
	blockSLA        = "ab_sla"
	blockSummary    = "ab_summary"
	blockAlerts     = "ab_alerts"
	blockLinks      = "ab_links"
	blockEvent      = "ab_event"
	blockActions    = "ab_actions"
)

var blockOrder = []string{blockTitle, blockWorkaround, blockMerged, blockFields, blockSLA, blockSummary,
	blockAlerts, blockLinks, blockEvent, blockActions}

// stateBlocks are the blocks a callback renders afresh from the incident.
var stateBlocks = map[string]bool{blockFields: true, blockSLA: true, blockEvent: true, blockActions: true}

// Block Kit's limits (characters), kept below so Slack never answers
// invalid_blocks for our own text.
const (
	maxHeader      = 150
	maxSectionText = 3000
	maxField       = 2000
	maxText        = 3900 // the fallback text and thread replies; Slack truncates past 40000
	maxAlertsShown = 10
	maxWorkaround  = 2500
)

type textObject struct {
	Type  string `json:"type"`
	Text  string `json:"text"`
	Emoji bool   `json:"emoji,omitempty"`
}

func mrkdwn(s string) *textObject { return &textObject{Type: "mrkdwn", Text: fit(s, maxSectionText)} }
func plain(s string) *textObject {
	return &textObject{Type: "plain_text", Text: truncate(s, maxHeader), Emoji: true}
}
func field(s string) textObject { return textObject{Type: "mrkdwn", Text: fit(s, maxField)} }

type confirm struct {
	Title   *textObject `json:"title"`
	Text    *textObject `json:"text"`
	Confirm *textObject `json:"confirm"`
	Deny    *textObject `json:"deny"`
}

type element struct {
	Type     string      `json:"type"`
	Text     *textObject `json:"text,omitempty"`
	ActionID string      `json:"action_id,omitempty"`
	Value    string      `json:"value,omitempty"`
	Style    string      `json:"style,omitempty"`
	Confirm  *confirm    `json:"confirm,omitempty"`
}

type block struct {
	Type     string       `json:"type"`
	BlockID  string       `json:"block_id,omitempty"`
	Text     *textObject  `json:"text,omitempty"`
	Fields   []textObject `json:"fields,omitempty"`
	Elements []any        `json:"elements,omitempty"`
}

// view is what a message shows of an incident.
type view struct {
	Inc   incident.Incident
	Title string
	// URL links to the incident in alertbridge ("" none).
	URL string
	// Alerts are the first alerts; AlertCount counts them all.
	Alerts     []incident.Alert
	AlertCount int
	// Workaround is the known error's workaround ("" none).
	Workaround string
	// MergedInto is the incident this one went into, and its link.
	MergedInto    *incident.Incident
	MergedIntoURL string
	// Event is the last change, as a line of mrkdwn ("" none).
	Event string
	// Buttons: callbacks are configured, so buttons can be answered.
	Buttons bool
}

// escape makes text safe in mrkdwn: Slack reads &, < and > as markup.
func escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// truncate cuts s to at most n characters, marking the cut.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// fit cuts mrkdwn to at most n characters without splitting an escape
// (&amp;), so that no text of ours breaks Block Kit's limits.
func fit(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)[:n-1]
	for i := len(r) - 1; i >= 0 && i >= len(r)-5; i-- {
		if r[i] == ';' {
			break
		}
		if r[i] == '&' {
			r = r[:i]
			break
		}
	}
	return string(r) + "…"
}

// esc is text escaped for mrkdwn and cut to n characters.
func esc(s string, n int) string { return fit(escape(s), n) }

// link is a mrkdwn link; the URL's own markup characters are escaped so
// that they cannot end the link early.
func link(u, text string) string {
	u = strings.NewReplacer("|", "%7C", ">", "%3E", "<", "%3C", " ", "%20").Replace(u)
	if text == "" {
		return "<" + u + ">"
	}
	return "<" + u + "|" + strings.NewReplacer("|", "¦", ">", "&gt;", "<", "&lt;").Replace(text) + ">"
}

// date is Slack's localised date: each reader sees their own time zone;
// clients that cannot show it show the UTC fallback.
func date(t time.Time) string {
	return fmt.Sprintf("<!date^%d^{date_short_pretty} {time}|%s>", t.Unix(), t.UTC().Format("2006-01-02 15:04 UTC"))
}

// quote renders text as a mrkdwn block quote of at most n characters.
func quote(s string, n int) string {
	return fit("> "+strings.ReplaceAll(escape(s), "\n", "\n> "), n)
}

func stateText(inc incident.Incident) string {
	switch {
	case inc.MergedInto != 0:
		return ":twisted_rightwards_arrows: Merged into #" + strconv.FormatInt(inc.MergedInto, 10)
	case inc.State.Ended():
		return ":white_check_mark: Resolved " + date(inc.ResolvedAt)
	case inc.State == incident.StateAcknowledged:
		return ":eyes: Acknowledged " + date(inc.AcknowledgedAt)
	case inc.State == incident.StateOpen:
		return ":rotating_light: Open since " + date(inc.OpenedAt)
	}
	return ":hourglass_flowing_sand: " + escape(string(inc.State))
}

func slaText(inc incident.Incident) string {
	var parts []string
	clock := func(what string, by, breached, doneAt time.Time) {
		if by.IsZero() {
			return
		}
		s := what + " by " + date(by)
		switch {
		case !breached.IsZero():
			s += " :warning: *breached*"
		case !doneAt.IsZero():
			s += " :heavy_check_mark: met"
		}
		parts = append(parts, s)
	}
	clock("Respond", inc.RespondBy, inc.RespondBreachedAt, inc.AcknowledgedAt)
	resolved := time.Time{}
	if inc.State.Ended() {
		resolved = inc.ResolvedAt
	}
	clock("Resolve", inc.ResolveBy, inc.ResolveBreachedAt, resolved)
	if len(parts) == 0 {
		return ""
	}
	return "*SLA* " + strings.Join(parts, " · ")
}

// blocks renders v; each block carries its ID (blockOrder).
func (v view) blocks() []block {
	inc := v.Inc
	var out []block
	out = append(out, block{Type: "header", BlockID: blockTitle, Text: plain(truncate(v.Title, maxHeader))})
	if v.Workaround != "" {
		out = append(out, block{Type: "section", BlockID: blockWorkaround,
			Text: mrkdwn(":bulb: *Known error: apply the workaround*\n" + quote(v.Workaround, maxWorkaround))})
	}
	if v.MergedInto != nil {
		into := "#" + strconv.FormatInt(v.MergedInto.ID, 10) + " " + truncate(v.MergedInto.Title, 200)
		if v.MergedIntoURL != "" {
			into = link(v.MergedIntoURL, into)
		} else {
			into = escape(into)
		}

		out = append(out, block{Type: "section", BlockID: blockMerged,
			Text: mrkdwn(":twisted_rightwards_arrows: *Merged into* " + into + ": follow it there.")})
	}
	fields := []textObject{
		field("*Priority*\n" + inc.Priority.String() + " (impact " + escape(string(inc.Impact)) +
			", urgency " + escape(string(inc.Urgency)) + ")"),
		field("*State*\n" + stateText(inc)),
	}
	if inc.Service != "" {
		fields = append(fields, field("*Service*\n"+esc(inc.Service, 500)))
	}
	if inc.Owner != "" {
		fields = append(fields, field("*Owner*\n"+esc(inc.Owner, 500)))
	}
	fields = append(fields, field(fmt.Sprintf("*Alerts*\n%d firing of %d", inc.FiringCount, inc.AlertCount)))
	if inc.ProblemID != 0 {
		fields = append(fields, field(fmt.Sprintf("*Problem*\n#%d", inc.ProblemID)))
	}
	out = append(out, block{Type: "section", BlockID: blockFields, Fields: fields})
	if s := slaText(inc); s != "" {
		out = append(out, block{Type: "section", BlockID: blockSLA, Text: mrkdwn(s)})
	}
	if inc.Summary != "" {
		out = append(out, block{Type: "section", BlockID: blockSummary, Text: mrkdwn(esc(inc.Summary, maxSectionText))})
	}
	if s := v.alertsText(); s != "" {
		out = append(out, block{Type: "section", BlockID: blockAlerts, Text: mrkdwn(s)})
	}
	if v.URL != "" {
		out = append(out, block{Type: "section", BlockID: blockLinks,
			Text: mrkdwn(link(v.URL, "Incident #"+strconv.FormatInt(inc.ID, 10)+" in alertbridge"))})
	}
	if v.Event != "" {
		out = append(out, block{Type: "context", BlockID: blockEvent, Elements: []any{mrkdwn(v.Event)}})
	}
	if b := v.buttons(); len(b) > 0 {
		out = append(out, block{Type: "actions", BlockID: blockActions, Elements: b})
	}
	return out
}

// alertsText lists the first alerts with their generator links.
func (v view) alertsText() string {
	if len(v.Alerts) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("*Alerts*")
	shown := 0
	for _, a := range v.Alerts {
		if shown == maxAlertsShown {
			break
		}
		name := a.Labels["alertname"]
		if name == "" {
			name = a.Fingerprint
		}
		line := "\n• " + string(a.Status) + ": " + esc(name, 100)
		if inst := a.Labels["instance"]; inst != "" {
			line += " " + esc(inst, 100)
		}
		if s := a.Annotations["summary"]; s != "" {
			line += ": " + esc(s, 150)
		}
		if a.GeneratorURL != "" && len(a.GeneratorURL) < 1000 {
			line += " " + link(a.GeneratorURL, "source")
		}
		if b.Len()+len(line) > maxSectionText-100 {
			break
		}
		b.WriteString(line)
		shown++
	}
	if more := max(v.AlertCount, len(v.Alerts)) - shown; more > 0 {
		fmt.Fprintf(&b, "\n…and %d more", more)
	}
	return b.String()
}

// buttons are Acknowledge (while open) and Resolve (while active), only
// when a callback can receive them: a button nobody answers is a lie.
func (v view) buttons() []any {
	inc := v.Inc
	if !v.Buttons || !inc.State.Active() || inc.MergedInto != 0 {
		return nil
	}
	id := strconv.FormatInt(inc.ID, 10)
	var out []any
	if inc.State == incident.StateOpen {
		out = append(out, element{Type: "button", Text: plain("Acknowledge"), ActionID: ActionAcknowledge, Value: id,
			Style: "primary"})
	}
	out = append(out, element{Type: "button", Text: plain("Resolve"), ActionID: ActionResolve, Value: id, Style: "danger",
		Confirm: &confirm{Title: plain("Resolve incident #" + id + "?"),
			Text:    mrkdwn("It resolves in alertbridge; alerts that fire again reopen it."),
			Confirm: plain("Resolve"), Deny: plain("Cancel")}})
	return out
}

// fallback is the message's plain text: what notifications and clients
// without blocks show.
func (v view) fallback() string {
	return truncate(v.Title+" · "+stateWord(v.Inc), maxText)
}

func stateWord(inc incident.Incident) string {
	if inc.MergedInto != 0 {
		return "merged into #" + strconv.FormatInt(inc.MergedInto, 10)
	}
	return string(inc.State)
}

// kindLabels name the timeline entries in thread replies and the event
// line.
var kindLabels = map[incident.TimelineKind]string{
	incident.TimelineOpened:          "Opened",
	incident.TimelineAcknowledged:    "Acknowledged",
	incident.TimelineResolved:        "Resolved",
	incident.TimelineReopened:        "Reopened",
	incident.TimelinePriorityChanged: "Priority changed",
	incident.TimelineSLABreached:     ":warning: SLA breached",
	incident.TimelineProblemLinked:   "Linked to a problem",
	incident.TimelineWorkaround:      ":bulb: Known error",
	incident.TimelineComment:         "Comment",
	incident.TimelineMerged:          ":twisted_rightwards_arrows: Merged",
}

func label(k incident.TimelineKind) string {
	if l, ok := kindLabels[k]; ok {
		return l
	}
	return escape(strings.ReplaceAll(string(k), "_", " "))
}

// eventLine is an entry as one line of mrkdwn: what, by whom, when.
func eventLine(e incident.TimelineEntry) string {
	s := "*" + label(e.Kind) + "*"
	if e.Actor != "" {
		s += " by " + esc(e.Actor, 150)
	}
	if e.OnBehalfOf != "" {
		s += " (" + esc(e.OnBehalfOf, 150) + ")"
	}
	if !e.At.IsZero() {
		s += " · " + date(e.At)
	}
	return s
}

// replyText is an entry as a thread reply.
func replyText(e incident.TimelineEntry, n mergedRef) string {
	s := eventLine(e)
	switch {
	case e.Kind == incident.TimelineWorkaround && e.Message != "":
		s += ": apply the workaround\n" + quote(e.Message, maxWorkaround)
	case e.Kind == incident.TimelineMerged && n.id != 0:
		into := "#" + strconv.FormatInt(n.id, 10)
		if n.url != "" {
			into = link(n.url, into)
		}
		s += " into " + into
		if e.Message != "" {
			s += "\n" + quote(e.Message, maxText-500)
		}
	case e.Message != "":
		s += "\n" + quote(e.Message, maxText-500)
	}
	return fit(s, maxText)
}

type mergedRef struct {
	id  int64
	url string
}

// raw marshals blocks for a request.
func raw(bs []block) []json.RawMessage {
	out := make([]json.RawMessage, 0, len(bs))
	for _, b := range bs {
		j, err := json.Marshal(b)
		if err != nil {
			continue // plain structs of strings: cannot fail
		}
		out = append(out, j)
	}
	return out
}
