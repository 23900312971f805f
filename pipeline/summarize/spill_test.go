package summarize

import (
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"testing"
)

// TestSummarySpill: with the counters spilled after every new key, and the
// runs merged into one every three, every output is the same as with all
// of them in memory, and no spill is left behind.
func TestSummarySpill(t *testing.T) {
	in := newFixture().inputs(t)
	_, a := run(t, in, DefaultParams())
	defer func(b, r int) { spillBudget, spillMaxRuns = b, r }(spillBudget, spillMaxRuns)
	spillBudget, spillMaxRuns = 1, 3
	_, b := run(t, in, DefaultParams())
	compareDirs(t, a, b)
	entries, _ := os.ReadDir(b)
	for _, e := range entries {
		if e.IsDir() {
			t.Errorf("spill directory %s left behind", e.Name())
		}
	}
}

// TestSpillCounter compares the counter, spilled at several budgets, with
// a map, and topList with topN over the same counts.
func TestSpillCounter(t *testing.T) {
	defer func(b, r int) { spillBudget, spillMaxRuns = b, r }(spillBudget, spillMaxRuns)
	for _, tc := range []struct{ budget, runs int }{{1 << 30, 64}, {1, 64}, {200, 2}, {1000, 4}} {
		t.Run(fmt.Sprintf("budget%d_runs%d", tc.budget, tc.runs), func(t *testing.T) {
			spillBudget, spillMaxRuns = tc.budget, tc.runs
			r := rand.New(rand.NewPCG(3, uint64(tc.budget)))
			want := map[string]int64{}
			c := newSpillCounter(t.TempDir(), sumCombine)
			defer c.cleanup()
			for range 3000 {
				k := fmt.Sprintf("k%d", r.IntN(400))
				if r.IntN(10) == 0 {
					k = "" // the empty key sorts first
				}
				v := int64(r.IntN(5))
				want[k] += v
				if err := c.add([]byte(k), v); err != nil {
					t.Fatal(err)
				}
			}
			var keys []string
			got := map[string]int64{}
			top := topList{n: 7}
			err := c.each(func(k []byte, v int64) error {
				keys = append(keys, string(k))
				got[string(k)] = v
				top.add(string(k), v)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.IsSorted(keys) || len(keys) != len(want) {
				t.Errorf("keys not sorted or not distinct: %d keys, want %d", len(keys), len(want))
			}
			for k, v := range want {
				if got[k] != v {
					t.Errorf("%q: got %d, want %d", k, got[k], v)
				}
			}
			if w, g := topN(want, 7), top.result(); !slices.Equal(w, g) {
				t.Errorf("topList %v, topN %v", g, w)
			}
		})
	}
}
