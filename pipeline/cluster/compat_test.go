package cluster

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/takedown-research/takedown/pipeline/schema"
)

// TestCompatCNT checks the toolkit's semantics on a hand-computed fixture
// (window 60 s, min weight 1): weights count message pairs, the window is
// inclusive, both directions are listed, reposts carry no text or URL, and
// messages without a URL co-link through the empty URL.
func TestCompatCNT(t *testing.T) {
	ck := func(v uint64) *uint64 { return &v }
	rows := []schema.Fingerprint{
		// co_tweet: a posts text 1 twice, b once: 2 message pairs a-b.
		{PostID: "1", AccountID: "a", PostedAt: t0, CNTTextKey: ck(1), URLKeys: []string{"u"}},
		{PostID: "2", AccountID: "a", PostedAt: t0 + 30000, CNTTextKey: ck(1), URLKeys: []string{"u"}},
		{PostID: "3", AccountID: "b", PostedAt: t0 + 60000, CNTTextKey: ck(1), URLKeys: []string{"u", "u"}},
		// c posts text 1 60.001 s after b's: outside every window.
		{PostID: "4", AccountID: "c", PostedAt: t0 + 120001, CNTTextKey: ck(1), URLKeys: []string{"v"}},
		// co_retweet: c and d repost r exactly 60 s apart (inclusive); the
		// repost's text key and URL are ignored.
		{PostID: "5", AccountID: "c", PostedAt: t0 + 1e7, RepostKey: "r", CNTTextKey: ck(9), URLKeys: []string{"w"}},
		{PostID: "6", AccountID: "d", PostedAt: t0 + 1e7 + 60000, RepostKey: "r", CNTTextKey: ck(9), URLKeys: []string{"w"}},
		// Empty URLs: e and f post no URL 1 s apart: one co_link pair.
		{PostID: "7", AccountID: "e", PostedAt: t0 + 2e7},
		{PostID: "8", AccountID: "f", PostedAt: t0 + 2e7 + 1000},
	}
	p := params(1)
	p.Compat = CompatCNT
	path := writeFPs(t, rows)
	dir := t.TempDir()
	st, err := Run(t.Context(), Input{FingerprintsPath: path}, p, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(dir, CNTEdgesCSV))
	if err != nil {
		t.Fatal(err)
	}
	// co_link u: a has 2 messages, b 1, all within 60 s: weight 2.
	want := "source,target,weight,edge_type\n" +
		"a,b,2,co_link\nb,a,2,co_link\ne,f,1,co_link\nf,e,1,co_link\n" +
		"c,d,1,co_retweet\nd,c,1,co_retweet\n" +
		"a,b,2,co_tweet\nb,a,2,co_tweet\n"
	if string(got) != want {
		t.Fatalf("cnt_edges.csv:\n%s\nwant:\n%s", got, want)
	}
	if st.CNTEdges["co_tweet"] != 2 || st.CNTEdges["co_link"] != 4 {
		t.Fatalf("stats = %v", st.CNTEdges)
	}
	gml, err := os.ReadFile(filepath.Join(dir, CNTEdgesGraphML))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{`<node id="a"/>`, `<edge source="c" target="d"><data key="weight">1</data><data key="edge_type">co_retweet</data></edge>`} {
		if !contains(string(gml), s) {
			t.Fatalf("graphml lacks %s:\n%s", s, gml)
		}
	}
	// Min weight 2 keeps only the a-b pairs.
	p.MinWeight = 2
	dir2 := t.TempDir()
	if _, err := Run(t.Context(), Input{FingerprintsPath: path}, p, dir2, nil); err != nil {
		t.Fatal(err)
	}
	got2, _ := os.ReadFile(filepath.Join(dir2, CNTEdgesCSV))
	if want2 := "source,target,weight,edge_type\na,b,2,co_link\nb,a,2,co_link\na,b,2,co_tweet\nb,a,2,co_tweet\n"; string(got2) != want2 {
		t.Fatalf("min weight 2:\n%s", got2)
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
