package rules_test

import (
	"os"
	"path/filepath"
	"regexp"
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
	blocks := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllSubmatch(doc, -1)
	if len(blocks) < 3 {
		t.Fatalf("found %d yaml examples in docs/rules.md, want at least 3", len(blocks))
	}
	for i, b := range blocks {
		if _, err := rules.Parse("docs/rules.md example", b[1]); err != nil {
			t.Errorf("docs/rules.md example %d:\n%s\n%v", i+1, b[1], err)
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
