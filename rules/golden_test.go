package rules

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/alertbridge/alertbridge/internal/yamlfile"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// TestParseErrors parses every testdata/errors/NAME.yml and compares the
// error output with NAME.errors.golden, line for line.
func TestParseErrors(t *testing.T) {
	paths, err := filepath.Glob("testdata/errors/*.yml")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no test files: %v", err)
	}
	for _, path := range paths {
		name := strings.TrimSuffix(filepath.Base(path), ".yml")
		t.Run(name, func(t *testing.T) {
			set, err := Parse(filepath.Base(path), mustRead(t, path))
			if err == nil {
				t.Fatalf("Parse: got %d rules and no error, want errors", set.Len())
			}
			if set != nil {
				t.Errorf("Parse: got a Set with the error, want nil")
			}
			var list yamlfile.Errors
			if !errors.As(err, &list) {
				t.Fatalf("Parse: error %T is not a yamlfile.Errors", err)
			}
			checkGolden(t, strings.TrimSuffix(path, ".yml")+".errors.golden", err.Error()+"\n")
		})
	}
}

// TestLoadErrors checks that Load reports the problems of every file and
// every pattern at once, with duplicate names found across files.
func TestLoadErrors(t *testing.T) {
	patterns := []string{"a.yml", "*.yml", "missing.yml", "nothing-*.yml", "[.yml"}
	set, err := Load(os.DirFS("testdata/multi"), patterns)
	if err == nil {
		t.Fatalf("Load: got %d rules and no error, want errors", set.Len())
	}
	var list yamlfile.Errors
	if !errors.As(err, &list) {
		t.Fatalf("Load: error %T is not a yamlfile.Errors", err)
	}
	checkGolden(t, "testdata/multi.errors.golden", err.Error()+"\n")
}

func checkGolden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want := string(mustRead(t, path))
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("%s mismatch (-want +got; run go test -update to accept):\n%s", path, diff)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
