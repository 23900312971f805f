package imagehash

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// familyHashes returns n hashes: families of near-duplicates (members with
// up to maxFlip bits of a base flipped) and independent random hashes.
func familyHashes(n, maxFlip int, seed uint64) []PDQHash {
	rng := rand.New(rand.NewPCG(seed, 2))
	out := make([]PDQHash, 0, n)
	random := func() PDQHash {
		var h PDQHash
		for k := range h {
			h[k] = byte(rng.Uint32())
		}
		return h
	}
	for len(out) < n {
		if rng.IntN(2) == 0 {
			out = append(out, random())
			continue
		}
		base := random()
		for range min(1+rng.IntN(8), n-len(out)) {
			h := base
			for range rng.IntN(maxFlip + 1) {
				k := rng.IntN(256)
				h[k/8] ^= 1 << (k % 8)
			}
			out = append(out, h)
		}
	}
	return out
}

func TestAllPairs(t *testing.T) {
	hashes := familyHashes(4000, 24, 5)
	// Repeats: identical hashes pair at distance 0.
	hashes = append(hashes, hashes[:50]...)
	for _, d := range []int{0, 1, 15, 16, 20, 31, 32, 47} {
		for _, workers := range []int{1, 3} {
			got := AllPairs(hashes, d, workers)
			want := BrutePairs(hashes, d)
			if !slices.Equal(got, want) {
				t.Errorf("d=%d workers=%d: %d pairs, brute force %d", d, workers, len(got), len(want))
			}
			if d == 31 && len(want) < 1000 {
				t.Errorf("d=31: only %d pairs: the test hashes lack near-duplicates", len(want))
			}
		}
	}
	if got := AllPairs(hashes, -1, 0); got != nil {
		t.Errorf("d=-1: %d pairs", len(got))
	}
}
