package cluster

import (
	"strings"
	"testing"
)

// TestPostIDs checks that compact post ids read back as written and compare
// as the strings they are, numeric or not.
func TestPostIDs(t *testing.T) {
	ids := []string{"", "0", "00", "01", "1", "9", "10", "99", "100", "1234567890123456789", "9999999999999999999",
		"18446744073709551615", "12345678901234567890", "-1", "+1", "1e3", "abc", "1a", "９", "123", "1230", "12"}
	p := newPostIDs(0)
	for _, s := range ids {
		p.add(s)
	}
	for i, s := range ids {
		r := uint32(i)
		if got := p.str(r); got != s {
			t.Errorf("row %d: %q, want %q", i, got, s)
		}
		if p.empty(r) != (s == "") {
			t.Errorf("row %d (%q): empty %v", i, s, p.empty(r))
		}
		for j, u := range ids {
			if got, want := p.cmp(r, uint32(j)), strings.Compare(s, u); got != want {
				t.Errorf("cmp(%q, %q) = %d, want %d", s, u, got, want)
			}
		}
	}
}

func FuzzPostIDs(f *testing.F) {
	f.Add("1", "10")
	f.Add("0", "00")
	f.Add("99", "100")
	f.Fuzz(func(t *testing.T, a, b string) {
		p := newPostIDs(0)
		p.add(a)
		p.add(b)
		if p.str(0) != a || p.str(1) != b {
			t.Fatalf("read back %q %q, want %q %q", p.str(0), p.str(1), a, b)
		}
		if got, want := p.cmp(0, 1), strings.Compare(a, b); got != want {
			t.Fatalf("cmp(%q, %q) = %d, want %d", a, b, got, want)
		}
	})
}
