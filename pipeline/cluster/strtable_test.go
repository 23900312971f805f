package cluster

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
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

// TestShardedIntern: every string gets one number, below ids, that gives
// it back, whatever the number of shards; the empty string gets none.
func TestShardedIntern(t *testing.T) {
	strs := []string{"a", "b", "", "a", "c", "dd", "b", "e", "f", "g", "a"}
	for _, n := range []int{1, 2, 3, 8} {
		s := newShardedIntern(n)
		got := make([][]int32, n)
		err := s.read(func(g int, add func(b []byte) int32) error {
			for _, x := range strs {
				got[g] = append(got[g], add([]byte(x)))
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		seen := map[int32]string{}
		for i, x := range strs {
			id := int32(-1)
			for g := range n {
				if v := got[g][i]; v >= 0 {
					if id >= 0 {
						t.Fatalf("%d shards: %q numbered by two shards", n, x)
					}
					id = v
				}
			}
			if x == "" {
				if id != -1 {
					t.Errorf("%d shards: the empty string numbered %d", n, id)
				}
				continue
			}
			if id < 0 || int(id) >= s.ids() || s.str(id) != x || s.id(x) != id {
				t.Errorf("%d shards: %q numbered %d (ids %d, str %q, id %d)", n, x, id, s.ids(), s.str(max(id, 0)), s.id(x))
			}
			if o, ok := seen[id]; ok && o != x {
				t.Errorf("%d shards: %q and %q both %d", n, o, x, id)
			}
			seen[id] = x
		}
		if len(seen) != 7 {
			t.Errorf("%d shards: %d numbers, want 7", n, len(seen))
		}
	}
}

// TestStrFile: a table moved to a spill file gives back every string (empty
// and long ones, across blocks, in any order, with a cache that starts
// anew at every block or keeps them all); once its file is gone, at gives ""
// and readErr and close report it.
func TestStrFile(t *testing.T) {
	long := strings.Repeat("u", 300) // a 2-byte length
	many := make([]string, 3*strBlock+5)
	for i := range many {
		many[i] = fmt.Sprintf("https://example.org/%05d%s", i, long[:i%7*50])
	}
	for _, tc := range []struct {
		name  string
		strs  []string
		cache int
	}{
		{"one", []string{"a"}, 16 << 20},
		{"empty strings", []string{"", "", "x", ""}, 16 << 20},
		{"a block and one", many[:strBlock+1], 16 << 20},
		{"blocks, no cache", many, 1},
		{"blocks, a cache", many, 16 << 20},
		{"long", []string{long, long + "x"}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			old := strFileCache
			strFileCache = tc.cache
			defer func() { strFileCache = old }()
			tab := newStrTable(tc.strs)
			path := filepath.Join(t.TempDir(), "strs-0")
			sf, err := writeStrFile(tab, path)
			if err != nil {
				t.Fatal(err)
			}
			if sf.len() != tab.len() {
				t.Fatalf("len %d, want %d", sf.len(), tab.len())
			}
			r := rand.New(rand.NewPCG(1, uint64(len(tc.strs))))
			for range 3 * len(tc.strs) {
				i := r.IntN(len(tc.strs))
				if got := sf.at(i); got != tc.strs[i] {
					t.Fatalf("at(%d) = %q, want %q", i, got, tc.strs[i])
				}
			}
			if err := sf.readErr(); err != nil {
				t.Fatal(err)
			}
			if err := sf.close(); err != nil {
				t.Fatal(err)
			}
			os.Remove(path)
			if got := sf.at(len(tc.strs) - 1); got != "" || sf.readErr() == nil || sf.close() == nil {
				t.Fatalf("file gone: at %q, readErr %v; want \"\" and an error from readErr and close", got, sf.readErr())
			}
		})
	}
}
