package sizedlru

import (
	"fmt"
	"slices"
	"testing"
)

func TestLRUBoundsEntriesAndBytes(t *testing.T) {
	type add struct {
		key, size int
		ifRoom    bool // AddIfRoom, not Add
	}
	for _, tc := range []struct {
		name      string
		entries   int // the budget is 100 bytes
		adds      []add
		wantKept  []int
		wantBytes int
	}{
		{"within both bounds", 3, []add{{1, 10, false}, {2, 20, false}}, []int{1, 2}, 30},
		{"entries bound", 3, []add{{1, 10, false}, {2, 10, false}, {3, 10, false}, {4, 10, false}}, []int{2, 3, 4}, 30},
		{"bytes bound drops the oldest", 10, []add{{1, 25, false}, {2, 25, false}, {3, 25, false}, {4, 25, false}, {5, 25, false}}, []int{2, 3, 4, 5}, 100},
		{"too large for a quarter is not kept", 3, []add{{1, 10, false}, {2, 26, false}}, []int{1}, 10},
		{"replacing a key counts its new size only", 3, []add{{1, 10, false}, {1, 20, false}, {1, 5, false}}, []int{1}, 5},
		{"replacing with a value too large drops the key", 3, []add{{1, 10, false}, {1, 30, false}}, nil, 0},
		{"if room: within both bounds", 3, []add{{1, 10, false}, {2, 10, false}, {3, 10, true}}, []int{1, 2, 3}, 30},
		{"if room: not past the entries bound", 2, []add{{1, 10, false}, {2, 10, false}, {3, 10, true}}, []int{1, 2}, 20},
		{"if room: not past the bytes bound", 10, []add{{1, 25, false}, {2, 25, false}, {3, 25, false}, {4, 25, false}, {5, 1, true}}, []int{1, 2, 3, 4}, 100},
		{"if room: replacing a key", 2, []add{{1, 10, false}, {2, 10, false}, {1, 20, true}}, []int{1, 2}, 30},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := New[int, string](tc.entries, 100)
			for _, a := range tc.adds {
				if a.ifRoom {
					c.AddIfRoom(a.key, fmt.Sprint(a.key), a.size)
				} else {
					c.Add(a.key, fmt.Sprint(a.key), a.size)
				}
			}
			var kept []int
			for k := range 6 {
				if v, ok := c.Get(k); ok {
					if v != fmt.Sprint(k) {
						t.Errorf("key %d holds %q", k, v)
					}
					kept = append(kept, k)
				}
			}
			if !slices.Equal(kept, tc.wantKept) || c.Bytes() != tc.wantBytes {
				t.Errorf("kept %v holding %d bytes, want %v holding %d", kept, c.Bytes(), tc.wantKept, tc.wantBytes)
			}
		})
	}
}

// TestLRUMaxEntry checks that one entry may take up to maxEntry
// bytes, not more, and that the budget still drops the oldest for it.
func TestLRUMaxEntry(t *testing.T) {
	c := NewMax[int, string](8, 100, 60)
	c.Add(1, "1", 30)
	c.Add(2, "2", 61) // over maxEntry: not kept
	c.Add(3, "3", 60) // within: kept beside 1 (90 bytes)
	c.Add(4, "4", 20) // 110 bytes: the oldest (1) goes
	if kept := c.Keys(); !slices.Equal(kept, []int{3, 4}) || c.Bytes() != 80 {
		t.Errorf("kept %v holding %d bytes, want [3 4] holding 80", kept, c.Bytes())
	}
}

func TestLRUBounds(t *testing.T) {
	if c := NewMax[int, string](8, 100, 60); c.Budget() != 100 || c.MaxEntry() != 60 {
		t.Errorf("NewMax(8, 100, 60): budget %d, max entry %d", c.Budget(), c.MaxEntry())
	}
	if c := New[int, string](8, 100); c.Budget() != 100 || c.MaxEntry() != 25 {
		t.Errorf("New(8, 100): budget %d, max entry %d, want a quarter", c.Budget(), c.MaxEntry())
	}
}
