package cluster

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/takedown-research/takedown/internal/rules"
	"github.com/takedown-research/takedown/internal/schema"
)

// shingleSet is the set near_text verifies a text on: its shingles of
// size words, sorted, without repeats.
func shingleSet(text string, size int) []uint64 {
	s := rules.AppendShingles(nil, text, size)
	slices.Sort(s)
	return slices.Compact(s)
}

func TestJaccard(t *testing.T) {
	a := shingleSet("the quick brown fox jumps", 3)  // 3 shingles
	b := shingleSet("the quick brown fox sleeps", 3) // shares "the quick brown", "quick brown fox"
	if len(a) != 3 || len(b) != 3 {
		t.Fatalf("shingles: %d, %d, want 3, 3", len(a), len(b))
	}
	if got := Jaccard(a, b); math.Abs(got-2.0/4.0) > 1e-12 {
		t.Fatalf("Jaccard = %v, want 0.5", got)
	}
	if got := Jaccard(a, a); got != 1 {
		t.Fatalf("Jaccard(a, a) = %v", got)
	}
	if Jaccard(nil, nil) != 0 || Jaccard(a, nil) != 0 {
		t.Fatal("empty sets")
	}
}

// TestSharedFilter checks that only items occurring once are dropped, most
// of them, and every other occurrence kept, at sizes where the bit sets are
// crowded and where they are not.
func TestSharedFilter(t *testing.T) {
	for _, n := range []int{0, 1, 2, 100, 70_000} {
		var occs []occ
		for i := range n {
			item := uint64(i) * 0x9e3779b97f4a7c15 // spread keys, like text keys
			if i%3 == 0 {
				item = uint64(i % 97) // shared items
			}
			occs = append(occs, occ{item: item, post: uint32(i)})
		}
		shared, singles, count := sharedAndSingles(occs, func(o occ) uint64 { return o.item })
		f := newSharedFilter(len(occs))
		for _, o := range occs {
			f.addShared(o.item)
		}
		var got []occ
		for _, o := range occs {
			if f.has(o.item) {
				got = append(got, o)
			}
		}
		dropped := int64(len(occs) - len(got))
		// Kept: every occurrence of a shared item, in order, and the
		// singletons whose bit another item set; dropped: singletons only.
		var gotShared []occ
		for _, o := range got {
			if count[o.item] > 1 {
				gotShared = append(gotShared, o)
			}
		}
		if !slices.Equal(gotShared, shared) || dropped != int64(len(occs)-len(got)) || int(dropped) > singles {
			t.Errorf("n=%d: kept %d (%d shared), dropped %d; want %d shared, at most %d dropped", n, len(got), len(gotShared), dropped, len(shared), singles)
		}
		// With at least 8 bits per occurrence, few singletons stay.
		if singles > 0 && float64(dropped) < 0.85*float64(singles) {
			t.Errorf("n=%d: dropped %d of %d singletons", n, dropped, singles)
		}
	}
}

// nearFP is a post with MinHash band keys and a normalized text.
func nearFP(post, acc string, at int64, text string, bands ...uint64) schema.Fingerprint {
	return schema.Fingerprint{PostID: post, AccountID: acc, PostedAt: t0 + at, NormalizedText: text, MinHashBands: bands}
}

func TestNearText(t *testing.T) {
	base := "w1 w2 w3 w4 w5 w6 w7 w8 w9 w10 w11 w12"
	near := "w1 w2 w3 w4 w5 w6 w7 w8 w9 w10 w11 x12" // 9 of 11 shingles shared: Jaccard 9/11 = 0.818
	far := "w1 w2 w3 w4 w5 x6 x7 x8 x9 x10 x11 x12"  // shares band 7 but Jaccard 3/17
	rows := []schema.Fingerprint{
		// a and b: two near-duplicate pairs within the window, sharing two bands each.
		nearFP("1", "a", 0, base, 7, 8), nearFP("2", "b", 5000, near, 7, 8),
		nearFP("3", "a", 1e6, base, 9), nearFP("4", "b", 1e6+60000, near, 9),
		// c: candidate through band 7, but not similar enough.
		nearFP("5", "c", 1000, far, 7),
		// d: similar but outside the window.
		nearFP("6", "d", 1e6+120001, base, 9),
	}
	p := params(2)
	p.Signals = []string{SignalNearText}
	out := run(t, rows, p)
	if len(out.edges) != 1 || out.edges[0].AccountA != "a" || out.edges[0].AccountB != "b" || out.edges[0].SharedItems != 2 {
		t.Fatalf("edges = %+v", out.edges)
	}
	if len(out.evidence) != 2 || out.evidence[0].ItemKey != "0000000000000007" || out.evidence[0].DtMillis != 5000 ||
		out.evidence[1].ItemKey != "0000000000000009" || out.evidence[1].DtMillis != 60000 {
		t.Fatalf("evidence = %+v", out.evidence)
	}
	if out.stats.NearRejected == 0 {
		t.Fatal("the dissimilar candidate was not counted as rejected")
	}
	if out.stats.NearShingleSize != testShingleSize {
		t.Fatalf("stats: near_shingle_size %d, want %d", out.stats.NearShingleSize, testShingleSize)
	}
	// A threshold above 9/11 drops both pairs.
	p.NearThreshold = 0.9
	if out := run(t, rows, p); len(out.edges) != 0 {
		t.Fatalf("threshold 0.9: edges = %+v", out.edges)
	}
}

// TestNearTextShingleSize checks that near_text verifies on shingles of the
// size the fingerprint run used (Input.ShingleSize), not a size of its own:
// base and near share 9 of 11 distinct word 3-grams (Jaccard 0.818) but only
// 7 of 9 word 5-grams (0.778), so at the threshold 0.8 the pair is kept on
// 3-gram fingerprints and rejected on 5-gram ones.
func TestNearTextShingleSize(t *testing.T) {
	base := "w1 w2 w3 w4 w5 w6 w7 w8 w9 w10 w11 w12"
	near := "w1 w2 w3 w4 w5 w6 w7 w8 w9 w10 w11 x12"
	if j3, j5 := Jaccard(shingleSet(base, 3), shingleSet(near, 3)), Jaccard(shingleSet(base, 5), shingleSet(near, 5)); math.Abs(j3-9.0/11) > 1e-12 || math.Abs(j5-7.0/9) > 1e-12 {
		t.Fatalf("Jaccard: 3-grams %v, 5-grams %v; want 9/11, 7/9", j3, j5)
	}
	path := writeFPs(t, []schema.Fingerprint{nearFP("1", "a", 0, base, 7), nearFP("2", "b", 5000, near, 7)})
	p := params(1)
	p.Signals = []string{SignalNearText}
	p.NearThreshold = 0.8
	three := runInput(t, Input{FingerprintsPath: path, ShingleSize: 3}, p)
	if len(three.edges) != 1 || three.stats.NearRejected != 0 || three.stats.NearShingleSize != 3 {
		t.Fatalf("3-gram fingerprints: edges %+v, rejected %d, shingle size %d", three.edges, three.stats.NearRejected, three.stats.NearShingleSize)
	}
	five := runInput(t, Input{FingerprintsPath: path, ShingleSize: 5}, p)
	if len(five.edges) != 0 || five.stats.NearRejected != 1 || five.stats.NearShingleSize != 5 {
		t.Fatalf("5-gram fingerprints: edges %+v, rejected %d, shingle size %d", five.edges, five.stats.NearRejected, five.stats.NearShingleSize)
	}
	// Without the size there is nothing to verify on.
	for _, size := range []int{0, rules.MaxShingleSize + 1} {
		if _, err := Run(t.Context(), Input{FingerprintsPath: path, ShingleSize: size}, p, t.TempDir(), nil); err == nil || !strings.Contains(err.Error(), "shingle size") {
			t.Errorf("ShingleSize %d: Run = %v, want an error about the shingle size", size, err)
		}
	}
	// Other signals do not need it.
	p.Signals = []string{schema.SignalCoText}
	if _, err := Run(t.Context(), Input{FingerprintsPath: path}, p, t.TempDir(), nil); err != nil {
		t.Errorf("co_text without a shingle size: %v", err)
	}
}

func TestCoDomain(t *testing.T) {
	rows := []schema.Fingerprint{
		{PostID: "1", AccountID: "a", PostedAt: t0, DomainKeys: []string{"x.org"}},
		{PostID: "2", AccountID: "b", PostedAt: t0 + 10, DomainKeys: []string{"x.org", "x.org"}},
		{PostID: "3", AccountID: "a", PostedAt: t0 + 1e6, DomainKeys: []string{"y.org"}},
		{PostID: "4", AccountID: "b", PostedAt: t0 + 1e6, DomainKeys: []string{"y.org"}},
	}
	if out := run(t, rows, params(2)); len(out.edges) != 0 {
		t.Fatalf("co_domain is on by default: %+v", out.edges)
	}
	p := params(2)
	p.Signals = []string{SignalCoDomain}
	out := run(t, rows, p)
	if len(out.edges) != 1 || out.edges[0].Signal != SignalCoDomain || out.edges[0].SharedItems != 2 {
		t.Fatalf("edges = %+v", out.edges)
	}
}

// TestLouvainDeterministic checks that --communities louvain splits two
// dense groups joined by one weak pair, and gives the same bytes twice.
func TestLouvainDeterministic(t *testing.T) {
	var rows []schema.Fingerprint
	n := 0
	add := func(acc string, at int64, text uint64) {
		n++
		rows = append(rows, fp(fmt.Sprint(n), acc, at, text))
	}
	for g, members := range [][]string{{"a", "b", "c", "d"}, {"e", "f", "g", "h"}} {
		for item := range 4 {
			for _, m := range members {
				add(m, int64(g*1e8+item*1e6), uint64(100*g+item+1))
			}
		}
	}
	// d and e co-share two items: one weak bridge.
	add("d", 5e8, 999)
	add("e", 5e8, 999)
	add("d", 6e8, 998)
	add("e", 6e8, 998)
	p := params(2)
	comp := run(t, rows, p)
	if comp.stats.Clusters != 1 {
		t.Fatalf("components: %d clusters, want 1", comp.stats.Clusters)
	}
	p.Communities = CommunitiesLouvain
	a, b := run(t, rows, p), run(t, rows, p)
	if a.stats.Clusters != 2 || a.stats.LouvainSplits != 1 {
		t.Fatalf("louvain: %d clusters, %d splits", a.stats.Clusters, a.stats.LouvainSplits)
	}
	want := []string{ClusterID([]string{"a", "b", "c", "d"}), ClusterID([]string{"e", "f", "g", "h"})}
	for _, m := range a.clusters {
		if !slices.Contains(want, m.ClusterID) {
			t.Fatalf("unexpected cluster %s", m.ClusterID)
		}
	}
	if !bytes.Equal(a.files[schema.TableClusters], b.files[schema.TableClusters]) {
		t.Fatal("two louvain runs gave different bytes")
	}
}

// TestMinAffinity checks that two hyperactive accounts co-sharing a few of
// their many posts stay out of the cluster graph, while a pair whose posts
// are mostly co-shared joins it.
func TestMinAffinity(t *testing.T) {
	var rows []schema.Fingerprint
	n := 0
	add := func(acc string, at int64, text uint64) {
		n++
		rows = append(rows, fp(fmt.Sprint(n), acc, at, text))
	}
	for i := range 4 { // both pairs co-share 4 rare texts
		add("a", int64(i)*1e6, uint64(i+1))
		add("b", int64(i)*1e6, uint64(i+1))
		add("x", int64(i)*1e6+5e8, uint64(i+11))
		add("y", int64(i)*1e6+5e8, uint64(i+11))
	}
	for i := range 400 { // x and y post 400 more texts each, alone
		add("x", 1e9+int64(i)*1e6, uint64(1000+i))
		add("y", 2e9+int64(i)*1e6, uint64(5000+i))
	}
	p := params(2)
	p.MinAffinity = 0.02 // a-b: 4/4 = 1; x-y: 4/404 ≈ 0.0099
	out := run(t, rows, p)
	if out.stats.Clusters != 1 || out.stats.LowAffinityPairs != 1 || out.clusters[0].AccountID != "a" {
		t.Fatalf("clusters = %+v, stats low-affinity %d", out.clusters, out.stats.LowAffinityPairs)
	}
	p.MinAffinity = 0
	if out := run(t, rows, p); out.stats.Clusters != 2 {
		t.Fatalf("without the filter: %d clusters", out.stats.Clusters)
	}
}

// sharedAndSingles counts the items of xs (key gives an element's item) and
// returns the elements whose item occurs more than once, in order, the
// number of the others, and the counts.
func sharedAndSingles[T any, K comparable](xs []T, key func(T) K) (shared []T, singles int, count map[K]int) {
	count = map[K]int{}
	for _, x := range xs {
		count[key(x)]++
	}
	for _, x := range xs {
		if count[key(x)] > 1 {
			shared = append(shared, x)
		} else {
			singles++
		}
	}
	return shared, singles, count
}

// TestShingleSets: a batch finds every occurrence's set across parts, and
// nil for a row without one (before, between and after the parts) or an
// item of one occurrence, whether the sets are in memory, in spill files,
// or a part's first sets in memory until they outgrow its limit; batches
// cut at item boundaries within their limits verify every pair as Jaccard
// does; a batch whose file is gone reports it.
func TestShingleSets(t *testing.T) {
	for _, tc := range []struct {
		name  string
		limit int64 // -1: in memory
	}{
		{"memory", -1},
		{"files", 0},
		{"files past 16 bytes", 16},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sp := &spill{dir: t.TempDir()}
			var s shingleSets
			want := map[uint32][]uint64{}
			for i, rows := range [][]uint32{{3, 5, 9}, {12}, {40, 41, 100}} {
				var p shinglePart
				if tc.limit >= 0 {
					p.spill = &shingleFile{sp: sp, path: sp.path(fmt.Sprint("shingles-", i)), limit: tc.limit}
				}
				for _, r := range rows {
					set := []uint64{uint64(r), uint64(r) * 7, uint64(r) * 11}[:r%3]
					if err := p.add(r, set); err != nil {
						t.Fatal(err)
					}
					want[r] = set
				}
				if err := p.close(); err != nil {
					t.Fatal(err)
				}
				s.parts = append(s.parts, p)
			}
			if s.len() != len(want) {
				t.Fatalf("len %d, want %d", s.len(), len(want))
			}
			onDisk := 0
			for _, p := range s.parts {
				if p.spill != nil {
					onDisk++
				}
			}
			if wantDisk := map[int64]int{-1: 0, 0: 2, 16: 1}[tc.limit]; onDisk != wantDisk {
				t.Fatalf("%d parts in files, want %d (the part of row 12 has an empty set)", onDisk, wantDisk)
			}
			// Every row in an item of its own, twice (one read), and an
			// item of one occurrence, which gets no set.
			var occs []occ
			for row := uint32(0); row <= 101; row++ {
				occs = append(occs, occ{item: uint64(row), post: row}, occ{item: uint64(row), post: row})
			}
			occs = append(occs, occ{item: 500, post: 5})
			b := s.batch()
			if end := b.load(occs, 0); end != len(occs) {
				t.Fatalf("one batch ends at %d of %d occurrences", end, len(occs))
			}
			for i, o := range occs {
				want := want[o.post]
				if o.item == 500 {
					want = nil
				}
				if got := b.set(i); !slices.Equal(got, want) {
					t.Fatalf("occurrence %d (row %d): %v, want %v", i, o.post, got, want)
				}
			}
			// Every pair an item, with batches of at most 3 values and
			// reads of at most 2: a batch holds its first item whatever
			// its size, and the next one when it has room.
			occs = occs[:0]
			var pairs [][2]uint32
			for x := range want {
				for y := range want {
					occs = append(occs, occ{item: uint64(len(pairs)), post: x}, occ{item: uint64(len(pairs)), post: y})
					pairs = append(pairs, [2]uint32{x, y})
				}
			}
			slices.SortFunc(occs, cmpOcc)
			defer func(v int, r uint32) { batchValues, batchRead = v, r }(batchValues, batchRead)
			batchValues, batchRead = 3, 2
			batches := 0
			for from := 0; from < len(occs); batches++ {
				end := b.load(occs, from)
				if end <= from || end%2 != 0 {
					t.Fatalf("a batch from %d ends at %d", from, end)
				}
				for i := from; i < end; i += 2 {
					x, y := occs[i].post, occs[i+1].post
					if got, w := Jaccard(b.set(i), b.set(i+1)), Jaccard(want[x], want[y]); got != w {
						t.Fatalf("pair (%d, %d): jaccard %v, want %v", x, y, got, w)
					}
				}
				from = end
			}
			if (batches == 1) != (tc.limit < 0) {
				t.Fatalf("%d pairs in %d batches of at most 3 values read from files", len(pairs), batches)
			}
			if err := b.close(); err != nil {
				t.Fatal(err)
			}
			if tc.limit < 0 {
				return
			}
			for _, p := range s.parts {
				if p.spill != nil {
					os.Remove(p.spill.path)
				}
			}
			b = s.batch()
			occs = []occ{{item: 1, post: 5}, {item: 1, post: 41}}
			if end := b.load(occs, 0); end != 2 || b.set(0) != nil || b.set(1) != nil || b.close() == nil {
				t.Fatalf("sets in removed files: end %d, sets %v %v, close %v; want nil sets and an error", end, b.set(0), b.set(1), b.close())
			}
		})
	}
	b := (&shingleSets{}).batch()
	if end := b.load([]occ{{item: 1, post: 4}, {item: 1, post: 7}}, 0); end != 2 || b.set(0) != nil || b.set(1) != nil {
		t.Fatalf("empty sets: end %d, %v %v", end, b.set(0), b.set(1))
	}
}
