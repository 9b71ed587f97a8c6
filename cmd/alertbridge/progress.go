package main

import (
	"fmt"
	"io"
	"os"
	"time"
)

// progress reports how far a long loop got: nothing during its first
// second (a short run stays quiet), then, once a second, the count done of
// the total, the share and the rate, rewriting one line. Like git's and
// curl's, it shows only on a terminal: a log (CI) or a file would get a line
// a second, and what a command prints must not depend on how fast it ran.
type progress struct {
	w     io.Writer
	what  string // "events replayed"
	total int
	show  bool // on a terminal
	now   func() time.Time

	start, last time.Time
	done        int
	reported    int // done when last shown
	shown       bool
}

// newProgress starts a report on w of total things to do.
func newProgress(w io.Writer, what string, total int) *progress {
	return newProgressAt(w, what, total, time.Now)
}

func newProgressAt(w io.Writer, what string, total int, now func() time.Time) *progress {
	p := &progress{w: w, what: what, total: total, now: now, show: isTerminal(w)}
	p.start = now()
	p.last = p.start
	return p
}

// add counts n more done, and reports when a second passed since the last
// report.
func (p *progress) add(n int) {
	p.done += n
	if !p.show {
		return
	}
	if t := p.now(); t.Sub(p.last) >= time.Second {
		p.last = t
		p.report(t)
	}
}

// finish ends the report with the final count and a newline. Nothing is
// printed when nothing was.
func (p *progress) finish() {
	if !p.shown {
		return
	}
	if p.done != p.reported {
		p.report(p.now())
	}
	fmt.Fprintln(p.w)
}

func (p *progress) report(t time.Time) {
	line := fmt.Sprintf("%d/%d %s", p.done, p.total, p.what)
	if p.total > 0 {
		line += fmt.Sprintf(" (%.0f%%)", 100*float64(p.done)/float64(p.total))
	}
	if s := t.Sub(p.start).Seconds(); s > 0 {
		line += fmt.Sprintf(", %.0f/s", float64(p.done)/s)
	}
	fmt.Fprintf(p.w, "\r%s\x1b[K", line) // \x1b[K clears what a longer line left
	p.shown, p.reported = true, p.done
}

// isTerminal reports whether w is a terminal (a character device).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
