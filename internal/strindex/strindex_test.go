package strindex

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestIndex: strings are numbered in the order first added, found again
// (also across the table's growth), and told apart from strings that share
// a prefix or differ only in length; the empty string is a string.
func TestIndex(t *testing.T) {
	for _, tc := range []struct {
		name string
		add  []string
		want []int // the number Add returns for each
	}{
		{"empty index", nil, nil},
		{"repeats", []string{"a", "b", "a", "c", "b"}, []int{0, 1, 0, 2, 1}},
		{"prefixes", []string{"ab", "a", "abc", "", "a"}, []int{0, 1, 2, 3, 1}},
		{"the empty string", []string{"", ""}, []int{0, 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x := New()
			for k, s := range tc.add {
				i, isNew := x.Add(s)
				if i != tc.want[k] {
					t.Fatalf("Add(%q) = %d, want %d", s, i, tc.want[k])
				}
				if wantNew := i == x.Len()-1 && !seenBefore(tc.add[:k], s); isNew != wantNew {
					t.Errorf("Add(%q): new %v, want %v", s, isNew, wantNew)
				}
			}
			for k, s := range tc.add {
				if i, ok := x.Find(s); !ok || i != tc.want[k] || x.String(i) != s {
					t.Errorf("Find(%q) = %d, %v", s, i, ok)
				}
			}
			if _, ok := x.Find("not added"); ok {
				t.Error("found a string never added")
			}
		})
	}
}

func seenBefore(ss []string, s string) bool {
	for _, v := range ss {
		if v == s {
			return true
		}
	}
	return false
}

// TestIndexRandom compares an Index with a map over many strings, many of
// them repeated, through several doublings of the table; views of the
// first strings, taken as they were added, still hold them at the end.
func TestIndexRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	x := New()
	want := map[string]int{}
	var order []string
	var views [][]byte
	for range 200_000 {
		s := fmt.Sprintf("%x", r.IntN(60_000)*r.IntN(50))
		i, isNew := x.Add(s)
		w, seen := want[s]
		if !seen {
			w = len(order)
			want[s] = w
			order = append(order, s)
			if len(views) < 1000 {
				views = append(views, x.View(i))
			}
		}
		if i != w || isNew == seen {
			t.Fatalf("Add(%q) = %d, %v; want %d, %v", s, i, isNew, w, !seen)
		}
	}
	if x.Len() != len(order) {
		t.Fatalf("Len %d, want %d", x.Len(), len(order))
	}
	for i, s := range order {
		if got := x.String(i); got != s {
			t.Fatalf("String(%d) = %q, want %q", i, got, s)
		}
		if j, ok := x.Find(s); !ok || j != i {
			t.Fatalf("Find(%q) = %d, %v", s, j, ok)
		}
	}
	for i, v := range views {
		if string(v) != order[i] || string(x.View(i)) != order[i] {
			t.Fatalf("View(%d) = %q, then %q; want %q", i, v, x.View(i), order[i])
		}
	}
	if b := x.Bytes(); b <= 0 {
		t.Errorf("Bytes %d", b)
	}
}

// FuzzIndex checks Add and Find against a map for strings cut from the
// fuzzed bytes.
func FuzzIndex(f *testing.F) {
	f.Add([]byte("a\x00b\x00a\x00\x00ab"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, b []byte) {
		x := New()
		want := map[string]int{}
		start := 0
		for k := 0; k <= len(b); k++ {
			if k < len(b) && b[k] != 0 {
				continue
			}
			s := string(b[start:k])
			start = k + 1
			i, isNew := x.Add(s)
			w, seen := want[s]
			if !seen {
				w = len(want)
				want[s] = w
			}
			if i != w || isNew == seen {
				t.Fatalf("Add(%q) = %d, %v; want %d, %v", s, i, isNew, w, !seen)
			}
		}
		for s, w := range want {
			if i, ok := x.Find(s); !ok || i != w || x.String(i) != s {
				t.Fatalf("Find(%q) = %d, %v; want %d", s, i, ok, w)
			}
		}
	})
}

// BenchmarkAdd adds 1M 64-character ids, each twice.
func BenchmarkAdd(b *testing.B) {
	ids := make([]string, 1<<20)
	for i := range ids {
		ids[i] = fmt.Sprintf("%064x", uint64(i)*0x9e3779b97f4a7c15)
	}
	for b.Loop() {
		x := New()
		for _, s := range ids {
			x.Add(s)
		}
		for _, s := range ids {
			x.Add(s)
		}
	}
}

// TestAddBytes: AddBytes numbers the strings Add does, keeps a copy (the
// caller's bytes may change after), and finds a string already added
// without allocating.
func TestAddBytes(t *testing.T) {
	x := New()
	b := []byte("account-1")
	if i, isNew := x.AddBytes(b); i != 0 || !isNew {
		t.Fatalf("AddBytes(%q) = %d, %v; want 0, true", b, i, isNew)
	}
	copy(b, "ACCOUNT")
	if got := x.String(0); got != "account-1" {
		t.Errorf("after the bytes changed, string 0 is %q", got)
	}
	if i, isNew := x.Add("account-1"); i != 0 || isNew {
		t.Errorf(`Add("account-1") = %d, %v; want 0, false`, i, isNew)
	}
	if i, isNew := x.AddBytes(nil); i != 1 || !isNew {
		t.Errorf("AddBytes(nil) = %d, %v; want 1, true", i, isNew)
	}
	again := []byte("account-1")
	if n := testing.AllocsPerRun(100, func() { x.AddBytes(again) }); n != 0 {
		t.Errorf("AddBytes of a string added: %v allocations", n)
	}
}
