package fingerprint

import (
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cespare/xxhash/v2"

	"github.com/takedown-research/takedown/internal/rules"
	"github.com/takedown-research/takedown/internal/schema"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func TestPermutationParams(t *testing.T) {
	ab := permutationParams(128)
	seen := map[uint64]bool{}
	for i := 0; i < len(ab); i += 2 {
		if ab[i]%2 != 1 {
			t.Fatalf("permutation %d: a=%d is even (not a bijection)", i/2, ab[i])
		}
		if seen[ab[i]] {
			t.Fatalf("repeated a=%d", ab[i])
		}
		seen[ab[i]] = true
	}
	if !slices.Equal(permutationParams(10), ab[:20]) {
		t.Error("the first permutations must not depend on how many are drawn")
	}
	// SplitMix64's published first output for seed 0 pins the generator.
	g := splitMix64(0)
	if got := g.next(); got != 0xe220a8397b1dcdaf {
		t.Errorf("splitmix64(0) first output = %#x, want 0xe220a8397b1dcdaf", got)
	}
}

// TestBandThreshold checks the default bands against the cluster stage's
// default near_threshold, 0.8, which verifies every candidate: the S-curve
// must find most pairs at 0.8 (its threshold a little below) and few at 0.5.
func TestBandThreshold(t *testing.T) {
	p := DefaultParams()
	rows := p.MinHashPermutations / p.MinHashBands
	if th := BandThreshold(p.MinHashBands, rows); th < 0.72 || th > 0.8 {
		t.Errorf("default threshold (1/%d)^(1/%d) = %.3f, want in [0.72, 0.8]", p.MinHashBands, rows, th)
	}
	share := func(s float64) float64 { return 1 - math.Pow(1-math.Pow(s, float64(rows)), float64(p.MinHashBands)) }
	if at8, at5 := share(0.8), share(0.5); at8 < 0.75 || at5 > 0.05 {
		t.Errorf("pairs sharing a band: %.3f at Jaccard 0.8 (want >= 0.75), %.3f at 0.5 (want <= 0.05)", at8, at5)
	}
}

// words returns n words drawn from a vocabulary of size vocab.
func words(rng *rand.Rand, n, vocab int) []string {
	w := make([]string, n)
	for i := range w {
		w[i] = fmt.Sprint("w", rng.IntN(vocab))
	}
	return w
}

// shingleJaccard is the exact Jaccard similarity of the word n-gram sets.
func shingleJaccard(a, b string, n int) float64 {
	set := func(s string) map[string]bool {
		w := strings.Fields(s)
		m := map[string]bool{}
		if len(w) < n {
			m[s] = true
			return m
		}
		for i := 0; i+n <= len(w); i++ {
			m[strings.Join(w[i:i+n], " ")] = true
		}
		return m
	}
	sa, sb := set(a), set(b)
	inter := 0
	for k := range sa {
		if sb[k] {
			inter++
		}
	}
	return float64(inter) / float64(len(sa)+len(sb)-inter)
}

// shareBand reports whether two texts' band keys (sorted sets) share a key.
func shareBand(a, b []uint64) bool {
	for _, k := range a {
		if _, found := slices.BinarySearch(b, k); found {
			return true
		}
	}
	return false
}

func TestMinHashProperties(t *testing.T) {
	p := DefaultParams()
	m := newMinHasher(p.MinHashPermutations, p.MinHashBands, p.ShingleSize)
	rng := rand.New(rand.NewPCG(3, 4))

	// Texts that normalize alike share every band.
	a := m.bandKeys(rules.NormalizeText("RT @x: Breaking NEWS about the vote today https://t.co/1 #Vote"))
	b := m.bandKeys(rules.NormalizeText("breaking news about   the vote today @y https://t.co/2 #vote"))
	if len(a) != p.MinHashBands || !slices.Equal(a, b) {
		t.Errorf("same normalized text: bands %x and %x", a, b)
	}

	rows := p.MinHashPermutations / p.MinHashBands
	// theory is the chance that texts of Jaccard similarity s share a band.
	theory := func(s float64) float64 {
		return 1 - math.Pow(1-math.Pow(s, float64(rows)), float64(p.MinHashBands))
	}

	// Jaccard about 0.9 (60 words, one in the middle replaced: 55 of 61
	// shingles shared): theory says 1-(1-0.9^8)^8 = 0.99 share a band.
	const trials = 400
	shared, agree, jsum := 0, 0.0, 0.0
	for range trials {
		w := words(rng, 60, 1_000_000)
		t1 := strings.Join(w, " ")
		w[30] = "changed"
		t2 := strings.Join(w, " ")
		jsum += shingleJaccard(t1, t2, 3)
		if shareBand(m.bandKeys(t1), m.bandKeys(t2)) {
			shared++
		}
		s1 := MinHashSignature(t1, 128, 3)
		s2 := MinHashSignature(t2, 128, 3)
		for i := range s1 {
			if s1[i] == s2[i] {
				agree++
			}
		}
	}
	if j := jsum / trials; math.Abs(j-55.0/61) > 1e-9 {
		t.Fatalf("test texts have Jaccard %.3f, want %.3f", j, 55.0/61)
	}
	t.Logf("Jaccard 0.90: %d of %d pairs share a band; signature agreement %.3f", shared, trials, agree/(trials*128))
	if frac := float64(shared) / trials; frac < theory(55.0/61)-0.04 {
		t.Errorf("Jaccard 0.90: %.3f of pairs share a band, want >= %.3f", frac, theory(55.0/61)-0.04)
	}
	// The share of equal signature values estimates the Jaccard similarity.
	if est := agree / (trials * 128); math.Abs(est-55.0/61) > 0.02 {
		t.Errorf("signature agreement %.3f, want about the Jaccard similarity %.3f", est, 55.0/61)
	}

	// Jaccard 52/64 = 0.8125 (two words far apart replaced), near the
	// S-curve's threshold: theory 1-(1-0.8125^8)^8 = 0.812. A family of
	// permutations whose values were correlated would miss it either way.
	shared = 0
	for range trials {
		w := words(rng, 60, 1_000_000)
		t1 := strings.Join(w, " ")
		w[15], w[45] = "changed", "also"
		t2 := strings.Join(w, " ")
		if j := shingleJaccard(t1, t2, 3); math.Abs(j-52.0/64) > 1e-9 {
			t.Fatalf("test texts have Jaccard %.3f, want %.3f", j, 52.0/64)
		}
		if shareBand(m.bandKeys(t1), m.bandKeys(t2)) {
			shared++
		}
	}
	t.Logf("Jaccard 0.81: %d of %d pairs share a band", shared, trials)
	if frac, want := float64(shared)/trials, theory(52.0/64); math.Abs(frac-want) > 0.08 {
		t.Errorf("Jaccard 0.81: %.3f of pairs share a band, want %.3f +- 0.08", frac, want)
	}

	// Jaccard 0.5 (the second half of the words replaced): theory 0.031.
	shared = 0
	for range trials {
		w := words(rng, 40, 1_000_000)
		t1 := strings.Join(w, " ")
		for i := 27; i < 40; i++ {
			w[i] = fmt.Sprint("x", i)
		}
		t2 := strings.Join(w, " ")
		if shareBand(m.bandKeys(t1), m.bandKeys(t2)) {
			shared++
		}
	}
	t.Logf("Jaccard 0.5: %d of %d pairs share a band", shared, trials)
	if limit := int(trials * (theory(0.5) + 0.03)); shared > limit {
		t.Errorf("Jaccard about 0.5: %d of %d pairs share a band, want <= %d", shared, trials, limit)
	}

	// Unrelated texts (tweet-length, small vocabulary) almost never share one.
	var keys [][]uint64
	for range 300 {
		keys = append(keys, m.bandKeys(strings.Join(words(rng, 15, 2000), " ")))
	}
	pairs := 0
	for i := range keys {
		for j := i + 1; j < len(keys); j++ {
			if shareBand(keys[i], keys[j]) {
				pairs++
			}
		}
	}
	if pairs > 0 {
		t.Errorf("%d of %d unrelated pairs share a band", pairs, len(keys)*(len(keys)-1)/2)
	}
}

func TestShingles(t *testing.T) {
	m := newMinHasher(16, 4, 3)
	m.shingleHashes("a b c d")
	if len(m.hashes) != 2 {
		t.Errorf("4 words, 3-grams: %d shingles, want 2", len(m.hashes))
	}
	m.shingleHashes("a b")
	if len(m.hashes) != 1 {
		t.Errorf("2 words, 3-grams: %d shingles, want 1 (the whole text)", len(m.hashes))
	}
	m.shingleHashes("")
	if len(m.hashes) != 0 || m.bandKeys("") != nil {
		t.Error("empty text: want no shingles and no bands")
	}
	// A shingle is its words joined by one space.
	one := MinHashSignature("x y z", 8, 3)
	m2 := newMinHasher(8, 8, 3)
	m2.shingleHashes("x y z")
	if len(m2.hashes) != 1 || m2.hashes[0] != xxhashString("x y z") || len(one) != 8 {
		t.Error("3 words, 3-grams: want the one shingle \"x y z\"")
	}
}

type golden struct {
	Text      string   `json:"text"`
	Signature []uint64 `json:"signature"`
	Bands     []uint64 `json:"bands"`
}

// TestMinHashGolden pins signatures and band keys under the default
// parameters: they must never change without a new stage version. Run
// `go test -run MinHashGolden -update` to rewrite testdata/minhash_golden.json.
func TestMinHashGolden(t *testing.T) {
	p := DefaultParams()
	texts := []string{
		"RT @a: Vote &amp; SHARE https://t.co/x1 #Vote",
		"the quick brown fox jumps over the lazy dog",
		"two words",
		"Ｆｕｌｌｗｉｄｔｈ ΣΊΣΥΦΟΣ Straße and emoji 😀 in one post",
	}
	var got []golden
	for _, s := range texts {
		n := rules.NormalizeText(s)
		sig := MinHashSignature(n, p.MinHashPermutations, p.ShingleSize)
		got = append(got, golden{Text: n, Signature: sig, Bands: MinHashBandKeys(sig, p.MinHashBands)})
	}
	path := filepath.Join("testdata", "minhash_golden.json")
	if *update {
		b, err := json.MarshalIndent(got, "", " ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var want []golden
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	if len(want) != len(got) {
		t.Fatalf("golden file has %d texts, want %d", len(want), len(got))
	}
	for i := range got {
		if got[i].Text != want[i].Text || !slices.Equal(got[i].Signature, want[i].Signature) ||
			!slices.Equal(got[i].Bands, want[i].Bands) {
			t.Errorf("text %q: signature or bands differ from %s", got[i].Text, path)
		}
		if len(got[i].Bands) != p.MinHashBands || len(got[i].Signature) != p.MinHashPermutations {
			t.Errorf("text %q: %d bands, %d values", got[i].Text, len(got[i].Bands), len(got[i].Signature))
		}
	}
}

// TestRunMinHashAndToolkit checks the stage's two columns against the exported
// functions.
func TestRunMinHashAndToolkit(t *testing.T) {
	posts := []schema.Post{
		{PostID: "1", AccountID: "a", Text: "Vote for change today, all of you https://t.co/x1",
			URLs: []string{"https://www.a.example/x/", "", "https://www.a.example/x/"}},
		{PostID: "2", AccountID: "b", Text: "RT @a: Vote for change today", IsRepost: true, RepostOfPostID: new("1"),
			URLs: []string{"https://a.example/x"}},
		{PostID: "3", AccountID: "c", Text: "short @x"},
		{PostID: "4", AccountID: "d", Text: "Flagged as a repost without an id", IsRepost: true},
	}
	p := DefaultParams()
	p.Toolkit = true
	rows, st, _ := runStage(t, writePosts(t, posts), p)
	want := MinHashBandKeys(MinHashSignature(rows[0].NormalizedText, p.MinHashPermutations, p.ShingleSize), p.MinHashBands)
	slices.Sort(want) // the column holds them sorted
	if !slices.Equal(rows[0].MinHashBands, want) || len(want) != p.MinHashBands {
		t.Errorf("post 1 bands = %x, want %x", rows[0].MinHashBands, want)
	}
	for _, i := range []int{1, 2, 3} {
		if len(rows[i].MinHashBands) != 0 {
			t.Errorf("post %s (no text key) has bands %x", rows[i].PostID, rows[i].MinHashBands)
		}
	}
	for i, r := range rows {
		hasKey := posts[i].RepostOfPostID == nil
		if (r.ToolkitTextKey != nil) != hasKey {
			t.Errorf("post %s: toolkit text key %v, want present=%v", r.PostID, r.ToolkitTextKey, hasKey)
		} else if hasKey && *r.ToolkitTextKey != xxhashString(ToolkitText(posts[i].Text)) {
			t.Errorf("post %s: toolkit text key is not xxhash of %q", r.PostID, ToolkitText(posts[i].Text))
		}
	}
	// cnt_url_keys: the raw strings (not canonicalized), each once, "" for
	// an empty item or no URL, nothing for a repost.
	raw, empty := xxhashString("https://www.a.example/x/"), xxhashString("")
	wantURLs := [][]uint64{{min(raw, empty), max(raw, empty)}, nil, {empty}, {empty}}
	for i, r := range rows {
		if !slices.Equal(r.ToolkitURLKeys, wantURLs[i]) {
			t.Errorf("post %s: cnt_url_keys %x, want %x", r.PostID, r.ToolkitURLKeys, wantURLs[i])
		}
	}
	if st.WithToolkitTextKey != 3 || st.MinHashRows != 8 || st.ToolkitURLKeys != 4 {
		t.Errorf("stats: with_cnt_text_key %d (want 3), minhash_rows %d (want 8), cnt_url_keys %d (want 4)",
			st.WithToolkitTextKey, st.MinHashRows, st.ToolkitURLKeys)
	}

	// Without Toolkit (the default) both columns are empty.
	p.Toolkit = false
	rows, st, _ = runStage(t, writePosts(t, posts), p)
	for _, r := range rows {
		if r.ToolkitTextKey != nil || len(r.ToolkitURLKeys) != 0 {
			t.Errorf("post %s: toolkit keys %v %x without Toolkit", r.PostID, r.ToolkitTextKey, r.ToolkitURLKeys)
		}
	}
	if st.WithToolkitTextKey != 0 || st.ToolkitURLKeys != 0 {
		t.Errorf("stats without Toolkit: with_cnt_text_key %d, cnt_url_keys %d, want 0", st.WithToolkitTextKey, st.ToolkitURLKeys)
	}
}

func xxhashString(s string) uint64 { return xxhash.Sum64String(s) }
