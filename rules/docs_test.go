package rules_test

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/alertbridge/alertbridge/rules"
)

// TestDocsExamplesLoad keeps docs/rules.md and deploy/examples honest: every
// YAML example in them must load without error.
func TestDocsExamplesLoad(t *testing.T) {
	doc, err := os.ReadFile("../docs/rules.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := yamlBlocks(doc)
	if len(blocks) < 3 {
		t.Fatalf("found %d yaml examples in docs/rules.md, want at least 3", len(blocks))
	}
	for i, b := range blocks {
		if isTestFile(b) {
			continue // a rules test file; TestDocsExamplesAreTested checks it
		}
		if _, err := rules.Parse("docs/rules.md example", b); err != nil {
			t.Errorf("docs/rules.md example %d:\n%s\n%v", i+1, b, err)
		}
	}
	examples, _ := filepath.Glob("../deploy/examples/*.yml")
	if len(examples) == 0 {
		t.Fatal("no deploy/examples/*.yml")
	}
	if _, err := rules.LoadFiles(examples); err != nil {
		t.Errorf("deploy/examples: %v", err)
	}
}

// TestDocsExamplesAreTested makes every example of docs/rules.md a tested
// file: each rules example is, byte for byte, a docs/examples/NN-name.rules.yml
// that has its docs/examples/NN-name.test.yml, and each test-file example is
// a docs/examples/*.test.yml. The test files run, through `rules test`, in
// cmd/alertbridge (TestDocsExamples): rules must not import the pipeline.
func TestDocsExamplesAreTested(t *testing.T) {
	doc, err := os.ReadFile("../docs/rules.md")
	if err != nil {
		t.Fatal(err)
	}
	ruleFiles := readExamples(t, "../docs/examples/*.rules.yml")
	testFiles := readExamples(t, "../docs/examples/*.test.yml")
	used := make(map[string]bool)
	for i, b := range yamlBlocks(doc) {
		files, kind := ruleFiles, "rules.yml"
		if isTestFile(b) {
			files, kind = testFiles, "test.yml"
		}
		name := ""
		for n, data := range files {
			if bytes.Equal(data, b) {
				name = n
			}
		}
		if name == "" {
			t.Errorf("docs/rules.md yaml example %d is no docs/examples/*.%s, byte for byte; copy it there and test it:\n%s", i+1, kind, b)
			continue
		}
		used[name] = true
	}
	for name := range ruleFiles {
		if !used[name] {
			t.Errorf("docs/examples/%s is not an example in docs/rules.md (any more?)", name)
		}
		test := strings.TrimSuffix(name, ".rules.yml") + ".test.yml"
		if _, ok := testFiles[test]; !ok {
			t.Errorf("docs/examples/%s has no test: want docs/examples/%s", name, test)
		}
	}
	re := regexp.MustCompile(`^[0-9]{2}-[a-z0-9-]+\.(rules|test)\.yml$`)
	for _, files := range []map[string][]byte{ruleFiles, testFiles} {
		for name := range files {
			if !re.MatchString(name) {
				t.Errorf("docs/examples/%s: want a name like 07-disk-per-mountpoint.rules.yml", name)
			}
		}
	}
}

// yamlBlocks returns the contents of the ```yaml blocks of a Markdown file.
func yamlBlocks(doc []byte) [][]byte {
	var out [][]byte
	for _, m := range regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllSubmatch(doc, -1) {
		out = append(out, m[1])
	}
	return out
}

// isTestFile reports whether a YAML example is a rules test file rather
// than a rule file: it has the top-level key tests.
func isTestFile(b []byte) bool {
	return regexp.MustCompile(`(?m)^tests:`).Match(b)
}

// readExamples reads the files a glob matches, by base name.
func readExamples(t *testing.T, pattern string) map[string][]byte {
	t.Helper()
	paths, err := filepath.Glob(pattern)
	if err != nil || len(paths) == 0 {
		t.Fatalf("no %s: %v", pattern, err)
	}
	out := make(map[string][]byte, len(paths))
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(p)] = data
	}
	return out
}
