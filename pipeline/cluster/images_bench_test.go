package cluster

import (
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/takedown-research/takedown/internal/imagehash"
)

// plantedHashes returns n PDQ hashes: random ones, and one in every
// `every` a near-duplicate of an earlier hash with up to maxFlip bits
// flipped (as re-encodes and resizes of a picture are).
func plantedHashes(n, every, maxFlip int, seed uint64) []imagehash.PDQHash {
	rng := rand.New(rand.NewPCG(seed, 1))
	out := make([]imagehash.PDQHash, n)
	for i := range out {
		if i > 0 && i%every == 0 {
			h := out[rng.IntN(i)]
			for range rng.IntN(maxFlip + 1) {
				k := rng.IntN(256)
				h[k/8] ^= 1 << (k % 8)
			}
			out[i] = h
			continue
		}
		for k := range 4 {
			v := rng.Uint64()
			for b := range 8 {
				out[i][8*k+b] = byte(v >> (8 * b))
			}
		}
	}
	return out
}

// nearImageCandidates is near_image's candidate generation: every pair
// within dist among the hashes, by the multi-index self-join
// (imagehash.AllPairs).
func nearImageCandidates(hashes []imagehash.PDQHash, dist int) []imagehash.Pair {
	return imagehash.AllPairs(hashes, dist, 0)
}

// TestNearImageRecall compares near_image's candidate pairs with brute
// force on n planted hashes (TAKEDOWN_IMAGE_RECALL_N, default 10,000; the
// documented figure is for 100,000, `just bench-images`).
func TestNearImageRecall(t *testing.T) {
	n := 10_000
	if s := os.Getenv("TAKEDOWN_IMAGE_RECALL_N"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	if testing.Short() {
		n = 5_000
	}
	hashes := plantedHashes(n, 4, 40, 7)
	start := time.Now()
	got := nearImageCandidates(hashes, imagehash.PDQMatchDistance)
	idx := time.Since(start)
	start = time.Now()
	want := imagehash.BrutePairs(hashes, imagehash.PDQMatchDistance)
	brute := time.Since(start)
	found := map[imagehash.Pair]bool{}
	for _, p := range got {
		found[p] = true
	}
	hit := 0
	for _, p := range want {
		if found[p] {
			hit++
		}
	}
	if len(want) == 0 {
		t.Fatal("no planted pair within the distance")
	}
	recall := float64(hit) / float64(len(want))
	t.Logf("near_image candidates, %d hashes: %d pairs, brute force %d, recall %.4f; index %v, brute force %v",
		n, len(got), len(want), recall, idx, brute)
	if recall < 1 || len(got) != len(want) {
		t.Errorf("recall %.4f (%d of %d), %d pairs found", recall, hit, len(want), len(got))
	}
}

// BenchmarkNearImageCandidates1M times near_image's candidate generation
// on 1,000,000 planted hashes and estimates its recall against brute
// force from 500 sampled queries (each compared with every hash).
func BenchmarkNearImageCandidates1M(b *testing.B) {
	const n = 1_000_000
	hashes := plantedHashes(n, 4, 40, 11)
	var pairs []imagehash.Pair
	cpu0 := cpuSeconds()
	b.ResetTimer()
	for range b.N {
		pairs = nearImageCandidates(hashes, imagehash.PDQMatchDistance)
	}
	b.StopTimer()
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "wall-s/1M")
	b.ReportMetric((cpuSeconds()-cpu0)/float64(b.N), "cpu-s/1M")
	b.ReportMetric(float64(len(pairs)), "pairs")
	partners := map[int][]int{}
	for _, p := range pairs {
		partners[p.A] = append(partners[p.A], p.B)
		partners[p.B] = append(partners[p.B], p.A)
	}
	rng := rand.New(rand.NewPCG(3, 3))
	want, hit := 0, 0
	for range 500 {
		q := rng.IntN(n)
		got := map[int]bool{}
		for _, o := range partners[q] {
			got[o] = true
		}
		for o := range hashes {
			if o != q && imagehash.PDQDistance(hashes[q], hashes[o]) <= imagehash.PDQMatchDistance {
				want++
				if got[o] {
					hit++
				}
			}
		}
	}
	if want > 0 {
		b.ReportMetric(float64(hit)/float64(want), "recall")
	}
}
