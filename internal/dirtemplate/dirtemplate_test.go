package dirtemplate_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/alertbridge/alertbridge/internal/dirtemplate"
)

func TestDirCopiesWhatMakeWroteOnce(t *testing.T) {
	made := 0
	tp := dirtemplate.New(func(dir string) error {
		made++
		for name, body := range map[string]string{"db": "rows", "db-wal": "frames", "lock": "held"} {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
				return err
			}
		}
		return nil
	}, "lock")
	first, second := tp.Dir(t), tp.Dir(t)
	if made != 1 {
		t.Errorf("make ran %d times, want once", made)
	}
	if first == second {
		t.Fatalf("both calls returned %s", first)
	}
	if err := os.WriteFile(filepath.Join(first, "db"), []byte("changed"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{second, tp.Dir(t)} {
		got := map[string]string{}
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			got[e.Name()] = string(b)
		}
		if want := map[string]string{"db": "rows", "db-wal": "frames"}; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s holds %v, want %v (the lock skipped, a change to another copy not seen)", dir, got, want)
		}
	}
}

// fatalTB records Fatalf instead of ending the test.
type fatalTB struct {
	testing.TB
	msg string
}

func (f *fatalTB) Fatalf(format string, args ...any) { f.msg = fmt.Sprintf(format, args...) }

func TestDirFailsWhenMakeFailed(t *testing.T) {
	tp := dirtemplate.New(func(string) error { return errors.New("migration 0031 failed") })
	for range 2 { // the second call reports the first's error too
		tb := &fatalTB{TB: t}
		tp.Dir(tb)
		if want := "make template directory: migration 0031 failed"; tb.msg != want {
			t.Errorf("Fatalf(%q), want %q", tb.msg, want)
		}
	}
}

func TestDirRefusesWhatItCannotCopy(t *testing.T) {
	tp := dirtemplate.New(func(dir string) error { return os.Mkdir(filepath.Join(dir, "sub"), 0o700) })
	tb := &fatalTB{TB: t}
	tp.Dir(tb)
	if tb.msg == "" {
		t.Error("a directory in the template was left out without an error")
	}
}
