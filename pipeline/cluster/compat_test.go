package cluster

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/takedown-research/takedown/internal/schema"
)

// TestCompatToolkit checks the toolkit's semantics on a fixture whose expected
// networks come from running the toolkit's compute_networks.py (see
// docs/stages/cluster.md for the version) on the equivalent CSV
// (message_id,user_id,username,repost_id,reply_id,message,timestamp,urls):
//
//	1,a,a,,,x,1000,u
//	2,a,a,,,x,1030,u
//	3,b,b,,,x,1060,u u
//	4,c,c,,,x,1120.001,v
//	5,c,c,r,,y,10001000,w
//	6,d,d,r,,y,10001060,w
//	7,e,e,,,,20001000,
//	8,f,f,,,,20001001,
//
// Window 60 s: the weight of u -> v counts u's messages with a match of v,
// so a -> b is 2 and b -> a 1; the window is inclusive (60 s in, 60.001 s
// out); reposts carry no text or URL; messages without a URL co-link
// through the empty URL and empty texts co-tweet.
func TestCompatToolkit(t *testing.T) {
	ck := func(v uint64) *uint64 { return &v }
	const u, v, empty = 1, 2, 3 // cnt_url_keys
	rows := []schema.Fingerprint{
		{PostID: "1", AccountID: "a", PostedAt: t0, ToolkitTextKey: ck(1), ToolkitURLKeys: []uint64{u}},
		{PostID: "2", AccountID: "a", PostedAt: t0 + 30000, ToolkitTextKey: ck(1), ToolkitURLKeys: []uint64{u}},
		{PostID: "3", AccountID: "b", PostedAt: t0 + 60000, ToolkitTextKey: ck(1), ToolkitURLKeys: []uint64{u}},
		{PostID: "4", AccountID: "c", PostedAt: t0 + 120001, ToolkitTextKey: ck(1), ToolkitURLKeys: []uint64{v}},
		{PostID: "5", AccountID: "c", PostedAt: t0 + 1e7, RepostKey: new("r"), URLKeys: []string{"w"}},
		{PostID: "6", AccountID: "d", PostedAt: t0 + 1e7 + 60000, RepostKey: new("r"), URLKeys: []string{"w"}},
		{PostID: "7", AccountID: "e", PostedAt: t0 + 2e7, ToolkitTextKey: ck(2), ToolkitURLKeys: []uint64{empty}},
		{PostID: "8", AccountID: "f", PostedAt: t0 + 2e7 + 1000, ToolkitTextKey: ck(2), ToolkitURLKeys: []uint64{empty}},
	}
	p := params(1)
	p.Compat = CompatToolkit
	path := writeFPs(t, rows)
	dir := t.TempDir()
	st, err := Run(t.Context(), Input{FingerprintsPath: path, ShingleSize: testShingleSize}, p, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(dir, ToolkitEdgesCSV))
	if err != nil {
		t.Fatal(err)
	}
	want := "source,target,weight,edge_type\n" +
		"a,b,2,co_link\nb,a,1,co_link\ne,f,1,co_link\nf,e,1,co_link\n" +
		"c,d,1,co_retweet\nd,c,1,co_retweet\n" +
		"a,b,2,co_tweet\nb,a,1,co_tweet\ne,f,1,co_tweet\nf,e,1,co_tweet\n"
	if string(got) != want {
		t.Fatalf("cnt_edges.csv:\n%s\nwant:\n%s", got, want)
	}
	if st.ToolkitEdges["co_tweet"] != 4 || st.ToolkitEdges["co_link"] != 4 || st.ToolkitEdges["co_retweet"] != 2 {
		t.Fatalf("stats = %v", st.ToolkitEdges)
	}
	gml, err := os.ReadFile(filepath.Join(dir, ToolkitEdgesGraphML))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{`<node id="a"/>`, `<edge source="c" target="d"><data key="weight">1</data><data key="edge_type">co_retweet</data></edge>`} {
		if !contains(string(gml), s) {
			t.Fatalf("graphml lacks %s:\n%s", s, gml)
		}
	}
	// Min weight 2 applies per direction: only a -> b is left.
	p.MinWeight = 2
	dir2 := t.TempDir()
	if _, err := Run(t.Context(), Input{FingerprintsPath: path, ShingleSize: testShingleSize}, p, dir2, nil); err != nil {
		t.Fatal(err)
	}
	got2, _ := os.ReadFile(filepath.Join(dir2, ToolkitEdgesCSV))
	if want2 := "source,target,weight,edge_type\na,b,2,co_link\na,b,2,co_tweet\n"; string(got2) != want2 {
		t.Fatalf("min weight 2:\n%s", got2)
	}
	// b is only a target now: the GraphML still declares it.
	gml2, _ := os.ReadFile(filepath.Join(dir2, ToolkitEdgesGraphML))
	if !contains(string(gml2), `<node id="b"/>`) {
		t.Fatalf("graphml lacks node b:\n%s", gml2)
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

// TestToolkitWeighReference compares toolkitWeigh with the toolkit's join written
// out directly (every pair of occurrences, distinct source messages per
// account pair) on random networks large enough for several worker chunks,
// with messages of one and of several occurrences.
func TestToolkitWeighReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, multi := range []bool{false, true} {
		const accounts, msgs = 1500, 4000
		var occ []toolkitOcc
		for m := range uint32(msgs) {
			acc := uint32(rng.IntN(accounts))
			ts := int64(rng.IntN(600_000))
			n := 1
			if multi {
				n = 1 + rng.IntN(3)
			}
			items := map[uint64]bool{}
			for range n {
				items[uint64(rng.IntN(40))] = true
			}
			for it := range items {
				occ = append(occ, toolkitOcc{it, ts, acc, m})
			}
		}
		const window = 60_000
		want := map[[2]uint32]map[uint32]bool{} // (source, target) -> source messages
		for _, a := range occ {
			for _, b := range occ {
				if a.item == b.item && a.acc != b.acc && max(a.t-b.t, b.t-a.t) <= window {
					k := [2]uint32{a.acc, b.acc}
					if want[k] == nil {
						want[k] = map[uint32]bool{}
					}
					want[k][a.msg] = true
				}
			}
		}
		for _, minWeight := range []int{1, 2} {
			got, err := toolkitWeigh(t.Context(), slices.Clone(occ), multi, accounts, window, minWeight)
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, ms := range want {
				if len(ms) >= minWeight {
					n++
				}
			}
			if len(got) != n {
				t.Fatalf("multi %v min weight %d: %d edges, want %d", multi, minWeight, len(got), n)
			}
			for i, e := range got {
				if i > 0 && (got[i-1].src > e.src || got[i-1].src == e.src && got[i-1].tgt >= e.tgt) {
					t.Fatalf("edges not sorted at %d: %v then %v", i, got[i-1], e)
				}
				if w := len(want[[2]uint32{e.src, e.tgt}]); int(e.weight) != w {
					t.Fatalf("multi %v: %d -> %d weight %d, want %d", multi, e.src, e.tgt, e.weight, w)
				}
			}
		}
	}
}

// TestParseCompat: --compat takes the toolkit's short name and its full
// name, both as the one Params.Compat value (one run id); Validate refuses
// the rest.
func TestParseCompat(t *testing.T) {
	for in, want := range map[string]string{
		"": "", "cnt": CompatToolkit, "coordination-network-toolkit": CompatToolkit, "toolkit": "toolkit",
	} {
		got := ParseCompat(in)
		if got != want {
			t.Errorf("ParseCompat(%q) = %q, want %q", in, got, want)
		}
		p := DefaultParams()
		p.Compat = got
		if err := p.Validate(); (err == nil) != (want != "toolkit") {
			t.Errorf("Validate with --compat %q: %v", in, err)
		}
	}
}
