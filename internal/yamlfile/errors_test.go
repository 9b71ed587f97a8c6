package yamlfile

import (
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestPosString(t *testing.T) {
	tests := []struct {
		name string
		pos  Pos
		want string
	}{
		{"FileLineCol", Pos{File: "rules.yml", Line: 12, Col: 5}, "rules.yml:12:5"},
		{"NoColumn", Pos{File: "rules.yml", Line: 12}, "rules.yml:12"},
		{"FileOnly", Pos{File: "rules.yml"}, "rules.yml"},
		{"Zero", Pos{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.pos.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	var errs Errors
	errs.Add(Pos{File: "b.yml", Line: 1, Col: 1}, "third %d", 3)
	errs.Add(Pos{File: "a.yml", Line: 10, Col: 2}, "second")
	errs.Add(Pos{File: "a.yml", Line: 2, Col: 9}, "first")
	errs.Add(Pos{File: "a.yml", Line: 10, Col: 2}, "second, same position, kept after")
	errs.Append(nil)
	errs.Append(Error{Pos: Pos{File: "c.yml", Line: 1, Col: 1}, Msg: "appended error"})
	errs.Append(fmt.Errorf("wrapped: %w", Errors{{Pos: Pos{File: "c.yml", Line: 2, Col: 1}, Msg: "appended list"}}))
	errs.Append(errors.New("plain"))

	err := errs.Err()
	want := `plain
a.yml:2:9: first
a.yml:10:2: second
a.yml:10:2: second, same position, kept after
b.yml:1:1: third 3
c.yml:1:1: appended error
c.yml:2:1: appended list`
	if diff := cmp.Diff(want, err.Error()); diff != "" {
		t.Errorf("Error() mismatch (-want +got):\n%s", diff)
	}
	var list Errors
	if !errors.As(fmt.Errorf("load: %w", err), &list) || len(list) != 7 {
		t.Errorf("errors.As: got %d errors, want 7", len(list))
	}
	if got := (Errors{}).Err(); got != nil {
		t.Errorf("empty Errors: Err() = %v, want nil", got)
	}
}
