package runner

import (
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cespare/xxhash/v2"

	"github.com/takedown-research/takedown/internal/pqio"
	"github.com/takedown-research/takedown/internal/rules"
	"github.com/takedown-research/takedown/internal/schema"
	"github.com/takedown-research/takedown/internal/store"
	"github.com/takedown-research/takedown/pipeline/cluster"
	"github.com/takedown-research/takedown/pipeline/fingerprint"
	"github.com/takedown-research/takedown/pipeline/normalize"
	"github.com/takedown-research/takedown/pipeline/summarize"
)

func byStage(res []Result) map[string]Result {
	m := map[string]Result{}
	for _, r := range res {
		m[r.Stage] = r
	}
	return m
}

// TestNearTextVerifiesOnFingerprintShingleSize runs the demo with
// --shingle-size 5: the cluster run must verify its near_text candidates on
// 5-grams, the shingles the band keys were made of, which the runner reads
// from the fingerprint run's manifest (the cluster stage's own test checks
// that the size it is given decides the verification).
func TestNearTextVerifiesOnFingerprintShingleSize(t *testing.T) {
	for _, size := range []int{5, 3} {
		r := newRunner(t)
		p := DefaultParams()
		p.Fingerprint.ShingleSize = size
		res, err := r.Run(context.Background(), Options{Dataset: "demo", To: cluster.Name, Params: p})
		if err != nil {
			t.Fatalf("--shingle-size %d: %v", size, err)
		}
		stages := byStage(res)
		m, err := store.ReadManifest(stages[fingerprint.Name].Dir)
		if err != nil {
			t.Fatal(err)
		}
		var fp fingerprint.Params
		if err := json.Unmarshal(m.Params, &fp); err != nil {
			t.Fatal(err)
		}
		var st cluster.Stats
		if err := json.Unmarshal(stages[cluster.Name].Stats, &st); err != nil {
			t.Fatal(err)
		}
		if fp.ShingleSize != size || st.NearShingleSize != size {
			t.Errorf("--shingle-size %d: fingerprint run's shingle_size %d, cluster verified on %d-grams",
				size, fp.ShingleSize, st.NearShingleSize)
		}
		if st.CandidateEdges[cluster.SignalNearText] == 0 {
			t.Errorf("--shingle-size %d: no near_text candidates to verify", size)
		}
	}
}

// fullWidth returns s with its printable ASCII in the full-width forms.
func fullWidth(s string) string {
	return strings.Map(func(r rune) rune {
		if '!' <= r && r <= '~' {
			return r + 0xfee0
		}
		return r
	}, s)
}

// TestTopHashtagsAreFingerprintHashtags checks that summarize counts
// hashtags by the rule of the fingerprint stage's hashtag keys: on the demo's
// posts with their hashtags respelled ("##Tag", full-width, upper case), the
// release's top hashtags in top_entities are exactly the hashtags of the
// fingerprint keys, with the number of posts whose key holds each.
func TestTopHashtagsAreFingerprintHashtags(t *testing.T) {
	r := newRunner(t)
	stages := byStage(runDemo(t, r, 2))
	in := func(stage, table string) string { return filepath.Join(stages[stage].Dir, table+".parquet") }
	posts, err := pqio.ReadAll[schema.Post](in(normalize.Name, schema.TablePosts))
	if err != nil {
		t.Fatal(err)
	}
	respelled := 0
	for i := range posts {
		hs := slices.Clone(posts[i].Hashtags)
		for j, h := range hs {
			switch (i + j) % 4 {
			case 1:
				hs[j] = "##" + h
			case 2:
				hs[j] = fullWidth(h)
			case 3:
				hs[j] = strings.ToUpper(h)
			}
			if old := strings.ToLower(strings.TrimPrefix(strings.TrimSpace(hs[j]), "#")); old != rules.NewNormalizer().Hashtag(hs[j]) {
				respelled++ // lowercasing alone would not merge it
			}
		}
		posts[i].Hashtags = hs
	}
	if respelled == 0 {
		t.Fatal("no hashtag respelled")
	}
	dir := t.TempDir()
	postsPath := filepath.Join(dir, "posts.parquet")
	if _, err := pqio.WriteFile(postsPath, posts); err != nil {
		t.Fatal(err)
	}
	fpDir, sumDir := t.TempDir(), t.TempDir()
	ctx := context.Background()
	if _, err := fingerprint.Run(ctx, fingerprint.Input{PostsPath: postsPath}, fingerprint.DefaultParams(), fpDir, nil); err != nil {
		t.Fatal(err)
	}
	sp := summarize.DefaultParams()
	sp.TopN = 1000
	sin := summarize.Input{Dataset: "demo", PostsPath: postsPath,
		AccountsPath:     in(normalize.Name, schema.TableAccounts),
		RejectsPath:      in(normalize.Name, schema.TableRejects),
		FingerprintsPath: filepath.Join(fpDir, schema.TableFingerprints+".parquet"),
		EdgesPath:        in(cluster.Name, schema.TableEdges),
		ClustersPath:     in(cluster.Name, schema.TableClusters)}
	if _, err := summarize.Run(ctx, sin, sp, sumDir, nil); err != nil {
		t.Fatal(err)
	}

	// The hashtags of each fingerprint key, checked against the key.
	fps, err := pqio.ReadAll[schema.Fingerprint](sin.FingerprintsPath)
	if err != nil {
		t.Fatal(err)
	}
	n := rules.NewNormalizer()
	want := map[string]int64{}
	for i, f := range fps {
		var tags []string
		for _, h := range posts[i].Hashtags {
			if v := n.Hashtag(h); v != "" {
				tags = append(tags, v)
			}
		}
		slices.Sort(tags)
		tags = slices.Compact(tags)
		if len(tags) == 0 {
			if f.HashtagSetKey != nil {
				t.Fatalf("post %s: a hashtag set key without hashtags", f.PostID)
			}
			continue
		}
		if f.HashtagSetKey == nil || *f.HashtagSetKey != xxhash.Sum64String(strings.Join(tags, "\n")) {
			t.Fatalf("post %s: hashtag_set_key is not the key of %q", f.PostID, tags)
		}
		for _, v := range tags {
			want[v]++
		}
	}
	if len(want) == 0 || len(want) > sp.TopN {
		t.Fatalf("%d distinct hashtags; the test needs 1 to %d", len(want), sp.TopN)
	}
	top, err := pqio.ReadAll[schema.TopEntity](filepath.Join(sumDir, schema.TableTopEntities+".parquet"))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, e := range top {
		if e.Scope == summarize.ScopeRelease && e.Kind == summarize.KindHashtag {
			got[e.Value] = e.Count
		}
	}
	if len(got) != len(want) {
		t.Errorf("top_entities has %d release hashtags, the fingerprint keys %d", len(got), len(want))
	}
	for v, c := range want {
		if got[v] != c {
			t.Errorf("hashtag %q: top_entities counts %d posts, the fingerprint keys %d", v, got[v], c)
		}
	}
}
