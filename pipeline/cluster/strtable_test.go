package cluster

import (
	"slices"
	"testing"
)

// TestStrTable: a table gives back its strings, empty ones included, and
// finds them by binary search.
func TestStrTable(t *testing.T) {
	for _, strs := range [][]string{nil, {""}, {"", "a", "ab", "b"}, {"x", "y", "yy", "z"}} {
		tab := newStrTable(strs)
		if got := tab.strings(); tab.len() != len(strs) || !slices.Equal(got, append([]string{}, strs...)) {
			t.Errorf("%q: table of %d: %q", strs, tab.len(), got)
		}
		for i, s := range strs {
			if j, ok := tab.search(s); !ok || j != i {
				t.Errorf("%q: search %q = %d %v, want %d", strs, s, j, ok, i)
			}
		}
		for _, s := range []string{"aa", "c", "yyy", "zz", "0"} {
			j, ok := tab.search(s)
			want, wok := slices.BinarySearch(strs, s)
			if ok != wok || j != want {
				t.Errorf("%q: search %q = %d %v, want %d %v", strs, s, j, ok, want, wok)
			}
		}
	}
}
