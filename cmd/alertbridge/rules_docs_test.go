package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestDocsExamples runs every rules test file under docs/examples, as
// `alertbridge rules test` does: each tests the behaviour that the prose of
// docs/rules.md claims for one of its examples (rules/docs_test.go checks
// that each example is byte for byte one of the files tested here).
func TestDocsExamples(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(repoRoot(t), "docs", "examples", "*.test.yml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no docs/examples/*.test.yml: %v", err)
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".test.yml"), func(t *testing.T) {
			var out strings.Builder
			if code := runRules(context.Background(), []string{"test", f}, &out, &out); code != 0 {
				t.Errorf("rules test %s: exit status %d:\n%s", filepath.Base(f), code, out.String())
			}
		})
	}
}

// docsNow is the time of the daemon database the docs' examples of explain
// and backtest read: a daemon that ran the history with the disk rule of
// docs/examples until then.
var docsNow = time.Date(2026, 1, 7, 3, 30, 0, 0, time.UTC)

// TestDocsCommands runs the shell sessions in docs/rules.md — the ```sh
// blocks with "$ " prompts — and compares each command's output with the
// lines under it. "$ cat FILE" followed by lines writes FILE; "$ echo $?"
// checks the exit status of the command before; "$ alertbridge ARGS" runs
// the binary's run function. Sessions run in one directory holding
// docs/examples and, in data/, the database of a daemon that ran
// historyEvents with docs/examples/07-disk-per-mountpoint.rules.yml until
// docsNow.
func TestDocsCommands(t *testing.T) {
	root := repoRoot(t)
	doc, err := os.ReadFile(filepath.Join(root, "docs", "rules.md"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "docs"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(root, "docs", "examples"), filepath.Join(dir, "docs", "examples")); err != nil {
		t.Fatal(err)
	}
	mustHistoryDB(t, filepath.Join(dir, "data"), docsNow, filepath.Join(root, "docs", "examples", "07-disk-per-mountpoint.rules.yml"))
	t.Chdir(dir)

	blocks := regexp.MustCompile("(?s)```sh\n(.*?)```").FindAllSubmatch(doc, -1)
	sessions := 0
	for i, b := range blocks {
		if !strings.HasPrefix(string(b[1]), "$ ") {
			continue
		}
		sessions++
		t.Run("session"+strconv.Itoa(i+1), func(t *testing.T) {
			runSession(t, string(b[1]))
		})
	}
	if sessions < 5 {
		t.Errorf("found %d shell sessions in docs/rules.md, want at least 5", sessions)
	}
}

// runSession runs one shell session of the docs.
func runSession(t *testing.T, session string) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(session, "\n"), "\n")
	code := 0
	for i := 0; i < len(lines); {
		cmd, ok := strings.CutPrefix(lines[i], "$ ")
		if !ok {
			t.Fatalf("line %q: want a command after $", lines[i])
		}
		i++
		start := i
		for i < len(lines) && !strings.HasPrefix(lines[i], "$ ") {
			i++
		}
		want := strings.Join(lines[start:i], "\n")
		args, err := shellWords(cmd)
		if err != nil {
			t.Fatalf("%s: %v", cmd, err)
		}
		switch {
		case len(args) == 2 && args[0] == "cat":
			if err := os.WriteFile(args[1], []byte(want+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		case cmd == "echo $?":
			if got := strconv.Itoa(code); got != want {
				t.Errorf("exit status %s, the docs say %s", got, want)
			}
		case len(args) > 0 && args[0] == "alertbridge":
			var out strings.Builder
			code = run(context.Background(), args[1:], &out, &out)
			if got := strings.TrimSuffix(out.String(), "\n"); got != want {
				t.Errorf("$ %s\ngot:\n%s\n\nthe docs say:\n%s", cmd, got, want)
			}
		default:
			t.Fatalf("$ %s: this test runs only cat, echo $? and alertbridge", cmd)
		}
	}
}

// shellWords splits a command line as a POSIX shell would for the simple
// quoting the docs use: words split at spaces, '…' and "…" quote.
func shellWords(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case ' ':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case '\'', '"':
			end := strings.IndexByte(s[i+1:], c)
			if end < 0 {
				return nil, fmt.Errorf("unterminated %c", c)
			}
			cur.WriteString(s[i+1 : i+1+end])
			i += end + 1
			inWord = true
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}
