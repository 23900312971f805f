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

// TestRankAccounts: the accounts used, numbered in any shard, are ranked
// in sorted order (ids sharing a prefix, differing in length, not ASCII),
// and each number's rank names its own id; unused numbers are left out.
func TestRankAccounts(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	var ids [][]byte
	for i := range 5000 {
		s := fmt.Sprintf("%d", r.IntN(100_000))
		switch i % 4 {
		case 1:
			s = "u" + s[:len(s)/2]
		case 2:
			s += "é"
		}
		ids = append(ids, []byte(s))
	}
	for _, shards := range []int{1, 3} {
		t.Run(fmt.Sprint(shards, " shards"), func(t *testing.T) {
			accs := newShardedIntern(shards)
			num := make([][]int32, shards)
			err := accs.read(func(g int, add func(b []byte) int32) error {
				for _, b := range ids {
					num[g] = append(num[g], add(b))
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			used := make([]bool, accs.ids())
			var want []string
			for k, b := range ids {
				for g := range shards {
					if id := num[g][k]; id >= 0 && !used[id] && k%3 != 0 {
						used[id] = true
						want = append(want, string(b))
					}
				}
			}
			slices.Sort(want)
			want = slices.Compact(want)
			d := &data{}
			rank := d.rankAccounts(accs, used)
			if got := d.accounts.strings(); !slices.Equal(got, want) {
				t.Fatalf("%d accounts ranked, want %d; first %q, want %q", len(got), len(want), got[:3], want[:3])
			}
			for id, u := range used {
				if u && d.accounts.at(int(rank[id])) != accs.str(int32(id)) {
					t.Fatalf("number %d (%q) ranked %d, which is %q", id, accs.str(int32(id)), rank[id], d.accounts.at(int(rank[id])))
				}
			}
			if len(d.postCount) != len(want) {
				t.Errorf("%d post counts for %d accounts", len(d.postCount), len(want))
			}
		})
	}
}
