package cluster

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/takedown-research/takedown/internal/pqio"
	"github.com/takedown-research/takedown/internal/rules"
	"github.com/takedown-research/takedown/internal/schema"
)

const t0 = int64(1_500_000_000_000)

func key(v uint64) *uint64 { return &v }

// fp builds a fingerprint row with a text key (0 means none).
func fp(post, acc string, at int64, text uint64) schema.Fingerprint {
	f := schema.Fingerprint{PostID: post, AccountID: acc, PostedAt: t0 + at}
	if text != 0 {
		f.TextKey = key(text)
	}
	return f
}

// writeFPs writes rows as a fingerprints table; rows without a normalizer
// version get the one this stage expects, as the fingerprint stage writes.
func writeFPs(t testing.TB, rows []schema.Fingerprint) string {
	t.Helper()
	rows = slices.Clone(rows)
	for i := range rows {
		if rows[i].NormalizerVersion == 0 {
			rows[i].NormalizerVersion = rules.Version
		}
	}
	p := filepath.Join(t.TempDir(), "fingerprints.parquet")
	if _, err := pqio.WriteFile(p, rows); err != nil {
		t.Fatal(err)
	}
	return p
}

type output struct {
	stats    Stats
	edges    []schema.Edge
	evidence []schema.Evidence
	clusters []schema.ClusterMember
	files    map[string][]byte
	// pairScores are the candidate edges' items (pair_scores).
	pairScores []schema.PairScore
}

func run(t testing.TB, rows []schema.Fingerprint, p Params) output {
	t.Helper()
	return runPath(t, writeFPs(t, rows), p)
}

// testShingleSize is the shingle size the tests' fingerprints were made
// with: the fingerprint stage's default.
const testShingleSize = 3

func runPath(t testing.TB, path string, p Params) output {
	t.Helper()
	return runInput(t, Input{FingerprintsPath: path, ShingleSize: testShingleSize}, p)
}

func runInput(t testing.TB, in Input, p Params) output {
	t.Helper()
	dir := t.TempDir()
	st, err := Run(context.Background(), in, p, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	out := output{stats: st, files: map[string][]byte{}}
	for _, name := range []string{schema.TableEdges, schema.TableEvidence, schema.TablePairScores, schema.TableClusters} {
		b, err := os.ReadFile(filepath.Join(dir, name+".parquet"))
		if err != nil {
			t.Fatal(err)
		}
		out.files[name] = b
	}
	if out.edges, err = pqio.ReadAll[schema.Edge](filepath.Join(dir, "edges.parquet")); err != nil {
		t.Fatal(err)
	}
	if out.evidence, err = pqio.ReadAll[schema.Evidence](filepath.Join(dir, "evidence.parquet")); err != nil {
		t.Fatal(err)
	}
	if out.clusters, err = pqio.ReadAll[schema.ClusterMember](filepath.Join(dir, "clusters.parquet")); err != nil {
		t.Fatal(err)
	}
	if out.pairScores, err = pqio.ReadAll[schema.PairScore](filepath.Join(dir, "pair_scores.parquet")); err != nil {
		t.Fatal(err)
	}
	return out
}

func params(minWeight int) Params {
	p := DefaultParams()
	p.MinWeight = minWeight
	p.MinScore = 0 // every kept edge joins the cluster graph
	p.MinAffinity = 0
	return p
}

func TestWindowBoundary(t *testing.T) {
	cases := []struct {
		name   string
		window float64
		dt     int64
		want   bool
	}{
		{"same ms", 60, 0, true},
		{"inside", 60, 59_999, true},
		{"exactly 60 s is in", 60, 60_000, true},
		{"60.001 s is out", 60, 60_001, false},
		{"zero window, same ms", 0, 0, true},
		{"zero window, 1 ms", 0, 1, false},
		{"fractional window", 0.5, 500, true},
		{"fractional window out", 0.5, 501, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := params(1)
			p.WindowSeconds = c.window
			out := run(t, []schema.Fingerprint{fp("p1", "a", 0, 7), fp("p2", "b", c.dt, 7)}, p)
			if got := len(out.edges) == 1; got != c.want {
				t.Fatalf("dt %d ms, window %v s: edge %v, want %v (%+v)", c.dt, c.window, got, c.want, out.edges)
			}
			if c.want {
				if ev := out.evidence; len(ev) != 1 || ev[0].DtMillis != c.dt {
					t.Fatalf("evidence = %+v, want one row with dt %d", ev, c.dt)
				}
			}
		})
	}
}

func TestSameAccountNeverPairs(t *testing.T) {
	rows := []schema.Fingerprint{
		fp("p1", "a", 0, 7), fp("p2", "a", 1000, 7), fp("p3", "a", 2000, 7),
		fp("p4", "a", 0, 8), fp("p5", "a", 0, 8),
	}
	out := run(t, rows, params(1))
	if len(out.edges) != 0 || len(out.evidence) != 0 || len(out.clusters) != 0 {
		t.Fatalf("one account alone made edges %+v", out.edges)
	}
	// With a second account, a's repeats still count as one item.
	rows = append(rows, fp("p6", "b", 1500, 7))
	out = run(t, rows, params(1))
	if len(out.edges) != 1 || out.edges[0].SharedItems != 1 {
		t.Fatalf("edges = %+v, want one edge with one shared item", out.edges)
	}
	ev := out.evidence[0]
	if ev.PostA != "p2" && ev.PostA != "p3" || ev.PostB != "p6" || ev.DtMillis != 500 {
		t.Fatalf("evidence = %+v, want the closest posts (dt 500)", ev)
	}
}

func TestTiesResolveByPostID(t *testing.T) {
	// a posts the item twice in the same millisecond; b 5 ms later. Both
	// pairs have dt 5: the smaller post id of a wins, whatever the order.
	rows := []schema.Fingerprint{fp("p9", "a", 0, 7), fp("p1", "a", 0, 7), fp("q", "b", 5, 7)}
	for _, order := range [][]int{{0, 1, 2}, {1, 0, 2}, {2, 1, 0}} {
		var perm []schema.Fingerprint
		for _, i := range order {
			perm = append(perm, rows[i])
		}
		out := run(t, perm, params(1))
		if len(out.evidence) != 1 || out.evidence[0].PostA != "p1" {
			t.Fatalf("order %v: evidence %+v, want post_a p1", order, out.evidence)
		}
	}
}

func TestMinWeight(t *testing.T) {
	rows := []schema.Fingerprint{
		// a and b share items 1 and 2; a and c share item 3 only.
		fp("a1", "a", 0, 1), fp("b1", "b", 10, 1),
		fp("a2", "a", 5000, 2), fp("b2", "b", 5020, 2),
		fp("a3", "a", 9000, 3), fp("c3", "c", 9030, 3),
		// b shares item 4 with d twice (two posts each): still one item.
		fp("b4", "b", 20000, 4), fp("d4", "d", 20005, 4), fp("b4x", "b", 20010, 4), fp("d4x", "d", 20015, 4),
	}
	for _, c := range []struct {
		minWeight int
		want      []string
	}{
		{1, []string{"a-b:2", "a-c:1", "b-d:1"}},
		{2, []string{"a-b:2"}},
		{3, nil},
	} {
		out := run(t, rows, params(c.minWeight))
		var got []string
		for _, e := range out.edges {
			got = append(got, fmt.Sprintf("%s-%s:%d", e.AccountA, e.AccountB, e.SharedItems))
			if e.Weight != float64(e.SharedItems) {
				t.Errorf("weight %v != shared items %d", e.Weight, e.SharedItems)
			}
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("min weight %d: edges %v, want %v", c.minWeight, got, c.want)
		}
		if c.minWeight == 1 && out.stats.CandidateEdges[schema.SignalCoText] != 3 {
			t.Errorf("candidate edges = %v", out.stats.CandidateEdges)
		}
	}
}

func TestEdgeAndEvidenceFields(t *testing.T) {
	rows := []schema.Fingerprint{
		// Account ids chosen so that input order differs from id order.
		fp("z1", "zed", 1000, 11), fp("a1", "amy", 4000, 11),
		fp("z2", "zed", 70000, 12), fp("a2", "amy", 69000, 12),
		{PostID: "z3", AccountID: "zed", PostedAt: t0 + 100000, RepostKey: new("orig1"), URLKeys: []string{"https://x.org/a"}},
		{PostID: "a3", AccountID: "amy", PostedAt: t0 + 100500, RepostKey: new("orig1"), URLKeys: []string{"https://x.org/a", "https://x.org/a"}},
		{PostID: "z4", AccountID: "zed", PostedAt: t0 + 200000, RepostKey: new("orig2")},
		{PostID: "a4", AccountID: "amy", PostedAt: t0 + 200001, RepostKey: new("orig2")},
	}
	out := run(t, rows, params(1))
	want := []schema.Edge{
		{AccountA: "amy", AccountB: "zed", Signal: "co_repost", SharedItems: 2, FirstAt: t0 + 100000, LastAt: t0 + 200001, Weight: 2},
		{AccountA: "amy", AccountB: "zed", Signal: "co_text", SharedItems: 2, FirstAt: t0 + 1000, LastAt: t0 + 70000, Weight: 2},
		{AccountA: "amy", AccountB: "zed", Signal: "co_url", SharedItems: 1, FirstAt: t0 + 100000, LastAt: t0 + 100500, Weight: 1},
	}
	if !slices.Equal(out.edges, want) {
		t.Fatalf("edges:\n%+v\nwant\n%+v", out.edges, want)
	}
	wantEv := []schema.Evidence{
		{Signal: "co_repost", AccountA: "amy", AccountB: "zed", ItemKey: "orig1", PostA: "a3", PostB: "z3", DtMillis: 500},
		{Signal: "co_repost", AccountA: "amy", AccountB: "zed", ItemKey: "orig2", PostA: "a4", PostB: "z4", DtMillis: 1},
		{Signal: "co_text", AccountA: "amy", AccountB: "zed", ItemKey: "000000000000000b", PostA: "a1", PostB: "z1", DtMillis: 3000},
		{Signal: "co_text", AccountA: "amy", AccountB: "zed", ItemKey: "000000000000000c", PostA: "a2", PostB: "z2", DtMillis: 1000},
		{Signal: "co_url", AccountA: "amy", AccountB: "zed", ItemKey: "https://x.org/a", PostA: "a3", PostB: "z3", DtMillis: 500},
	}
	if !slices.Equal(out.evidence, wantEv) {
		t.Fatalf("evidence:\n%+v\nwant\n%+v", out.evidence, wantEv)
	}
	// zed came first in 4 of 5 rows.
	wantCl := []schema.ClusterMember{
		{ClusterID: ClusterID([]string{"amy", "zed"}), AccountID: "amy", Role: RoleAmplifier, Degree: 1, Strength: 5},
		{ClusterID: ClusterID([]string{"amy", "zed"}), AccountID: "zed", Role: RoleOriginator, Degree: 1, Strength: 5},
	}
	if !slices.Equal(out.clusters, wantCl) {
		t.Fatalf("clusters:\n%+v\nwant\n%+v", out.clusters, wantCl)
	}
	if out.stats.Edges["co_text"] != 1 || out.stats.EvidenceRows != 5 || out.stats.Clusters != 1 {
		t.Fatalf("stats = %+v", out.stats)
	}
}

func TestSignalsParam(t *testing.T) {
	rows := []schema.Fingerprint{
		{PostID: "1", AccountID: "a", PostedAt: t0, TextKey: key(5), RepostKey: new("r"), ReplyKey: new("q")},
		{PostID: "2", AccountID: "b", PostedAt: t0, TextKey: key(5), RepostKey: new("r"), ReplyKey: new("q")},
	}
	p := params(1)
	p.Signals = []string{SignalCoReply, schema.SignalCoText}
	out := run(t, rows, p)
	var got []string
	for _, e := range out.edges {
		got = append(got, e.Signal)
	}
	if !slices.Equal(got, []string{"co_reply", "co_text"}) {
		t.Fatalf("signals of edges = %v", got)
	}
	if _, ok := out.stats.Edges[schema.SignalCoRepost]; ok {
		t.Fatalf("stats name a signal not computed: %v", out.stats.Edges)
	}
}

func TestEvidenceCap(t *testing.T) {
	var rows []schema.Fingerprint
	// 30 items; item i has dt = 30 - i seconds, so the closest are the last.
	for i := range 30 {
		base := int64(i) * 1_000_000
		rows = append(rows, fp(fmt.Sprint("a", i), "a", base, uint64(100+i)),
			fp(fmt.Sprint("b", i), "b", base+int64(30-i)*1000, uint64(100+i)))
	}
	p := params(2)
	p.MaxEvidencePerEdge = 5
	out := run(t, rows, p)
	if len(out.edges) != 1 || out.edges[0].SharedItems != 30 {
		t.Fatalf("edges = %+v", out.edges)
	}
	if len(out.evidence) != 5 {
		t.Fatalf("evidence rows = %d, want 5", len(out.evidence))
	}
	var dts []int64
	for _, e := range out.evidence {
		dts = append(dts, e.DtMillis)
	}
	// Rows are in item_key order; items 125..129 have dt 5..1 s.
	if want := []int64{5000, 4000, 3000, 2000, 1000}; !slices.Equal(dts, want) {
		t.Fatalf("evidence dts = %v, want %v", dts, want)
	}
	if out.edges[0].FirstAt != t0 || out.edges[0].LastAt != t0+29_000_000+1000 {
		t.Fatalf("first/last over all items, not only the evidence kept: %+v", out.edges[0])
	}
}

// TestViralItemBounded: one post reposted by 100,000 accounts within a
// minute would give 5·10^9 account pairs; the bound leaves its posts out,
// says so in the stats, and a squad that also reposted it is still found
// from its rare items.
func TestViralItemBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("short mode: writes and clusters 100,000 posts (runs in the full suite)")
	}
	const n = 100_000
	rows := make([]schema.Fingerprint, 0, n+15)
	for i := range n {
		acc := fmt.Sprint("fan", i)
		if i < 3 {
			acc = fmt.Sprint("sq", i+1) // the squad reposted it too
		}
		rows = append(rows, schema.Fingerprint{PostID: fmt.Sprint("v", i), AccountID: acc,
			PostedAt: t0 + int64(i)%60_000, RepostKey: new("viral")})
	}
	for k := range 5 { // enough rare items to pass min_score
		for j, a := range []string{"sq1", "sq2", "sq3"} {
			rows = append(rows, schema.Fingerprint{PostID: fmt.Sprint("s", k, j), AccountID: a,
				PostedAt: t0 + 3_600_000*int64(k+1) + int64(j)*1000, RepostKey: new(fmt.Sprint("rare", k))})
		}
	}
	p := DefaultParams()
	p.Signals = []string{schema.SignalCoRepost}
	out := run(t, rows, p)
	if out.stats.BoundedItems != 1 || out.stats.BoundedPosts != n {
		t.Fatalf("bounded items %d posts %d, want 1 and %d", out.stats.BoundedItems, out.stats.BoundedPosts, n)
	}
	if c := out.stats.CandidateEdges[schema.SignalCoRepost]; c != 3 {
		t.Fatalf("%d candidate edges, want the squad's 3", c)
	}
	if out.stats.Clusters != 1 || out.stats.ClusteredAccounts != 3 {
		t.Fatalf("%d clusters of %d accounts, want the squad", out.stats.Clusters, out.stats.ClusteredAccounts)
	}
}

func TestMaxItemAccounts(t *testing.T) {
	var rows []schema.Fingerprint
	// Item 1: 10 accounts within 10 s (viral), then a and b again an hour later.
	for i := range 10 {
		rows = append(rows, fp(fmt.Sprint("v", i), fmt.Sprint("acc", i), int64(i)*1000, 1))
	}
	rows = append(rows, fp("late0", "acc0", 3_600_000, 1), fp("late1", "acc1", 3_600_100, 1))
	p := params(1)
	p.MaxItemAccounts = 5
	out := run(t, rows, p)
	if len(out.edges) != 1 || out.edges[0].AccountA != "acc0" || out.edges[0].AccountB != "acc1" {
		t.Fatalf("edges = %+v, want only acc0-acc1 from the late posts", out.edges)
	}
	if ev := out.evidence[0]; ev.PostA != "late0" || ev.PostB != "late1" {
		t.Fatalf("evidence = %+v", ev)
	}
	if out.stats.BoundedItems != 1 || out.stats.BoundedPosts != 10 {
		t.Fatalf("bounded items %d posts %d, want 1 and 10", out.stats.BoundedItems, out.stats.BoundedPosts)
	}
	p.MaxItemAccounts = 10
	out = run(t, rows, p)
	if len(out.edges) != 45 || out.stats.BoundedItems != 0 {
		t.Fatalf("at the bound: %d edges (want 45), bounded %d", len(out.edges), out.stats.BoundedItems)
	}
	p.MaxItemAccounts = 0
	if out = run(t, rows, p); len(out.edges) != 45 {
		t.Fatalf("unbounded: %d edges, want 45", len(out.edges))
	}
}

func TestRoles(t *testing.T) {
	// lead posts every item first; f1 and f2 follow. f1 is ahead of f2.
	var rows []schema.Fingerprint
	for i := range 4 {
		base := int64(i) * 600_000
		item := uint64(i + 1)
		rows = append(rows,
			fp(fmt.Sprint("l", i), "lead", base, item),
			fp(fmt.Sprint("f1_", i), "f1", base+2000, item),
			fp(fmt.Sprint("f2_", i), "f2", base+4000, item))
	}
	out := run(t, rows, params(2))
	roles := map[string]string{}
	for _, m := range out.clusters {
		roles[m.AccountID] = m.Role
		// Two neighbours, four items each, every item shared by all three.
		if want := 8 * rarity(3, 3); m.Degree != 2 || m.Strength != want {
			t.Errorf("%s: degree %d strength %v, want 2 and %v", m.AccountID, m.Degree, m.Strength, want)
		}
	}
	// f1 is first in 4 of its 8 rows: not a majority.
	want := map[string]string{"lead": RoleOriginator, "f1": RoleAmplifier, "f2": RoleAmplifier}
	if fmt.Sprint(roles) != fmt.Sprint(want) {
		t.Fatalf("roles = %v, want %v", roles, want)
	}
	if out.stats.Originators != 1 || out.stats.Amplifiers != 2 {
		t.Fatalf("stats originators %d amplifiers %d", out.stats.Originators, out.stats.Amplifiers)
	}
}

func TestComponents(t *testing.T) {
	// Two components {a,b,c} (a-b by text, b-c by repost) and {d,e}; f alone.
	rows := []schema.Fingerprint{
		fp("1", "a", 0, 1), fp("2", "b", 0, 1), fp("3", "a", 1e6, 2), fp("4", "b", 1e6, 2),
		{PostID: "5", AccountID: "b", PostedAt: t0, RepostKey: new("r1")},
		{PostID: "6", AccountID: "c", PostedAt: t0 + 1, RepostKey: new("r1")},
		{PostID: "7", AccountID: "b", PostedAt: t0 + 1e6, RepostKey: new("r2")},
		{PostID: "8", AccountID: "c", PostedAt: t0 + 1e6 + 1, RepostKey: new("r2")},
		fp("9", "d", 0, 3), fp("10", "e", 0, 3), fp("11", "d", 1e6, 4), fp("12", "e", 1e6, 4),
		fp("13", "f", 0, 5),
	}
	out := run(t, rows, params(2))
	byCluster := map[string][]string{}
	for _, m := range out.clusters {
		byCluster[m.ClusterID] = append(byCluster[m.ClusterID], m.AccountID)
	}
	abc, de := ClusterID([]string{"c", "b", "a"}), ClusterID([]string{"d", "e"})
	if len(byCluster) != 2 || !slices.Equal(byCluster[abc], []string{"a", "b", "c"}) || !slices.Equal(byCluster[de], []string{"d", "e"}) {
		t.Fatalf("clusters = %v", byCluster)
	}
	if !strings.HasPrefix(abc, "c") || len(abc) != 13 {
		t.Fatalf("cluster id %q: want c + 12 hex", abc)
	}
	if out.stats.Clusters != 2 || out.stats.ClusteredAccounts != 5 || out.stats.LargestCluster != 3 {
		t.Fatalf("stats = %+v", out.stats)
	}
	for _, m := range out.clusters {
		if m.AccountID == "b" && m.Degree != 2 {
			t.Fatalf("b degree = %d, want 2", m.Degree)
		}
	}
	if !slices.IsSortedFunc(out.clusters, func(x, y schema.ClusterMember) int {
		return strings.Compare(x.ClusterID+"\x00"+x.AccountID, y.ClusterID+"\x00"+y.AccountID)
	}) {
		t.Fatal("clusters not sorted by (cluster_id, account_id)")
	}
}

// synthetic returns a takedown-like fingerprints table: squads that co-post
// texts, reposts and URLs within seconds, and organic accounts that share
// popular items spread over hours.
func synthetic(n int, seed uint64) []schema.Fingerprint {
	r := rand.New(rand.NewPCG(seed, 1))
	rows := make([]schema.Fingerprint, 0, n)
	accounts := max(50, n/10)
	for i := 0; len(rows) < n; i++ {
		if r.IntN(4) == 0 {
			// A squad burst: 3-8 accounts of one squad post one item.
			squad := r.IntN(accounts / 20)
			at := r.Int64N(30 * 86_400_000)
			item := r.Uint64N(1 << 40)
			kind := r.IntN(3)
			for j := range 3 + r.IntN(6) {
				f := schema.Fingerprint{
					PostID:    fmt.Sprint("s", i, "_", j),
					AccountID: fmt.Sprint("sq", squad, "_", r.IntN(8)),
					PostedAt:  t0 + at + r.Int64N(90_000),
				}
				switch kind {
				case 0:
					f.TextKey = key(item)
				case 1:
					f.RepostKey = new(fmt.Sprint("orig", item))
				default:
					f.URLKeys = []string{fmt.Sprint("https://news.example/", item)}
				}
				rows = append(rows, f)
			}
			continue
		}
		// An organic post: a Zipf-popular item, any time.
		f := schema.Fingerprint{
			PostID:    fmt.Sprint("o", i),
			AccountID: fmt.Sprint("org", r.IntN(accounts)),
			PostedAt:  t0 + r.Int64N(30*86_400_000),
		}
		pop := uint64(r.ExpFloat64() * 200)
		switch r.IntN(3) {
		case 0:
			if r.IntN(2) == 0 {
				f.TextKey = key(1<<50 + pop)
			} else {
				f.TextKey = key(r.Uint64())
			}
		case 1:
			f.RepostKey = new(fmt.Sprint("viral", pop))
		default:
			f.URLKeys = []string{fmt.Sprint("https://popular.example/", pop), fmt.Sprint("https://own.example/", i)}
		}
		rows = append(rows, f)
	}
	return rows
}

// naiveEdges computes shared_items per (pair, signal) by comparing every
// pair of occurrences of an item.
func naiveEdges(rows []schema.Fingerprint, windowMs int64) map[string]int64 {
	type o struct {
		acc string
		t   int64
	}
	items := map[string][]o{}
	for _, f := range rows {
		if f.TextKey != nil {
			items[fmt.Sprintf("co_text|%016x", *f.TextKey)] = append(items[fmt.Sprintf("co_text|%016x", *f.TextKey)], o{f.AccountID, f.PostedAt})
		}
		if f.RepostKey != nil {
			items["co_repost|"+*f.RepostKey] = append(items["co_repost|"+*f.RepostKey], o{f.AccountID, f.PostedAt})
		}
		for _, u := range f.URLKeys {
			items["co_url|"+u] = append(items["co_url|"+u], o{f.AccountID, f.PostedAt})
		}
	}
	shared := map[string]map[string]bool{}
	for item, os := range items {
		sig, _, _ := strings.Cut(item, "|")
		for i := range os {
			for j := range os {
				a, b := os[i], os[j]
				if a.acc >= b.acc || max(a.t-b.t, b.t-a.t) > windowMs {
					continue
				}
				k := a.acc + "|" + b.acc + "|" + sig
				if shared[k] == nil {
					shared[k] = map[string]bool{}
				}
				shared[k][item] = true
			}
		}
	}
	out := map[string]int64{}
	for k, v := range shared {
		out[k] = int64(len(v))
	}
	return out
}

func TestMatchesNaive(t *testing.T) {
	for seed := range uint64(3) {
		rows := synthetic(3000, seed)
		p := params(1)
		p.MaxItemAccounts = 0
		out := run(t, rows, p)
		got := map[string]int64{}
		for _, e := range out.edges {
			if e.AccountA >= e.AccountB {
				t.Fatalf("edge not ordered: %+v", e)
			}
			got[e.AccountA+"|"+e.AccountB+"|"+e.Signal] = e.SharedItems
		}
		want := naiveEdges(rows, 60_000)
		if len(got) != len(want) {
			t.Fatalf("seed %d: %d edges, naive %d", seed, len(got), len(want))
		}
		for k, v := range want {
			if got[k] != v {
				t.Fatalf("seed %d: edge %s shared %d, naive %d", seed, k, got[k], v)
			}
		}
		post := map[string]schema.Fingerprint{}
		for _, f := range rows {
			post[f.PostID] = f
		}
		for _, ev := range out.evidence {
			a, b := post[ev.PostA], post[ev.PostB]
			if a.AccountID != ev.AccountA || b.AccountID != ev.AccountB {
				t.Fatalf("evidence posts do not belong to its accounts: %+v", ev)
			}
			if dt := max(a.PostedAt-b.PostedAt, b.PostedAt-a.PostedAt); dt != ev.DtMillis || dt > 60_000 {
				t.Fatalf("evidence dt %d, posts say %d: %+v", ev.DtMillis, dt, ev)
			}
		}
	}
}

func TestClusterIDStableUnderPermutation(t *testing.T) {
	rows := synthetic(5000, 7)
	base := run(t, rows, DefaultParams())
	if base.stats.Clusters == 0 {
		t.Fatal("fixture made no clusters")
	}
	for seed := range uint64(3) {
		perm := slices.Clone(rows)
		r := rand.New(rand.NewPCG(seed, 99))
		r.Shuffle(len(perm), func(i, j int) { perm[i], perm[j] = perm[j], perm[i] })
		out := run(t, perm, DefaultParams())
		if !slices.Equal(out.clusters, base.clusters) {
			t.Fatalf("permutation %d changed the clusters", seed)
		}
		if !slices.Equal(out.edges, base.edges) {
			t.Fatalf("permutation %d changed the edges", seed)
		}
		if !slices.Equal(out.evidence, base.evidence) {
			t.Fatalf("permutation %d changed the evidence", seed)
		}
	}
	for _, m := range base.clusters {
		var members []string
		for _, x := range base.clusters {
			if x.ClusterID == m.ClusterID {
				members = append(members, x.AccountID)
			}
		}
		if ClusterID(members) != m.ClusterID {
			t.Fatalf("cluster id %s is not derived from its members", m.ClusterID)
		}
	}
}

func TestDeterministicBytes(t *testing.T) {
	// Three row groups, so that columns are read in spans; every signal,
	// near_text over band keys derived from the text keys.
	rows := synthetic(2*pqio.RowGroupRows+5000, 3)
	for i := range rows {
		if k := rows[i].TextKey; k != nil {
			rows[i].NormalizedText = fmt.Sprint("squad text ", *k%1000, " with words enough to shingle")
			rows[i].MinHashBands = []uint64{*k % 1000, 1<<40 + *k%777}
		}
	}
	path := writeFPs(t, rows)
	p := DefaultParams()
	p.Signals = slices.Clone(Signals)
	old := runtime.GOMAXPROCS(1)
	defer runtime.GOMAXPROCS(old)
	a := runPath(t, path, p)
	b := runPath(t, path, p)
	runtime.GOMAXPROCS(4)
	c := runPath(t, path, p)
	if a.stats.Edges[SignalNearText] == 0 || a.stats.Edges[schema.SignalCoRepost] == 0 {
		t.Fatalf("too few edges to compare: %v", a.stats.Edges)
	}
	for name, want := range a.files {
		if !bytes.Equal(b.files[name], want) {
			t.Errorf("%s: two runs gave different bytes", name)
		}
		if !bytes.Equal(c.files[name], want) {
			t.Errorf("%s: GOMAXPROCS 1 and 4 gave different bytes", name)
		}
	}
	if fmt.Sprint(a.stats) != fmt.Sprint(c.stats) {
		t.Errorf("stats differ:\n%+v\n%+v", a.stats, c.stats)
	}
	if len(a.edges) == 0 || len(a.evidence) == 0 || len(a.clusters) == 0 {
		t.Errorf("fixture too small: %d edges, %d evidence, %d cluster rows", len(a.edges), len(a.evidence), len(a.clusters))
	}
	if !slices.IsSortedFunc(a.evidence, func(x, y schema.Evidence) int {
		return strings.Compare(strings.Join([]string{x.Signal, x.AccountA, x.AccountB, x.ItemKey, x.PostA, x.PostB}, "\x00"),
			strings.Join([]string{y.Signal, y.AccountA, y.AccountB, y.ItemKey, y.PostA, y.PostB}, "\x00"))
	}) {
		t.Error("evidence not sorted")
	}
	if !slices.IsSortedFunc(a.edges, func(x, y schema.Edge) int {
		return strings.Compare(x.AccountA+"\x00"+x.AccountB+"\x00"+x.Signal, y.AccountA+"\x00"+y.AccountB+"\x00"+y.Signal)
	}) {
		t.Error("edges not sorted")
	}
}

func TestEmptyInput(t *testing.T) {
	out := run(t, nil, DefaultParams())
	if len(out.edges)+len(out.evidence)+len(out.clusters) != 0 {
		t.Fatal("empty input made rows")
	}
	// Without an image fingerprints table the image signals are skipped.
	if out.stats.Edges[schema.SignalCoText] != 0 || len(out.stats.Edges) != len(WithoutImages(DefaultParams()).Signals) {
		t.Fatalf("stats = %+v", out.stats)
	}
}

func TestValidate(t *testing.T) {
	if err := DefaultParams().Validate(); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		edit func(*Params)
		want string
	}{
		{func(p *Params) { p.WindowSeconds = -1 }, "--window must be >= 0, got -1"},
		{func(p *Params) { p.WindowSeconds = 1e12 }, "--window"},
		{func(p *Params) { p.WindowAuto = true }, "--window: auto estimates the window, it takes no number of seconds (got 60)"},
		{func(p *Params) { p.MinWeight = 0 }, "--min-weight must be >= 1, got 0"},
		{func(p *Params) { p.Signals = []string{"co_text", "co_magic"} }, `--signals: unknown signal "co_magic"`},
		{func(p *Params) { p.Signals = nil }, "--signals"},
		{func(p *Params) { p.Signals = []string{"co_url", "co_url"} }, "given twice"},
		{func(p *Params) { p.MaxEvidencePerEdge = 0 }, "--max-evidence-per-edge"},
		{func(p *Params) { p.MaxItemAccounts = 1 }, "--max-item-accounts"},
		{func(p *Params) { p.NearThreshold = 0 }, "--near-threshold must be in (0, 1], got 0"},
		{func(p *Params) { p.NearThreshold = 1.5 }, "--near-threshold"},
		{func(p *Params) { p.MinAffinity = -1 }, "--min-affinity"},
		{func(p *Params) { p.ScorePercentile = 1 }, "--score-percentile"},
		{func(p *Params) { p.Communities = "leiden" }, "--communities"},
		{func(p *Params) { p.Resolution = 0 }, "--resolution"},
		{func(p *Params) { p.Compat = "qut" }, "--compat"},
	}
	for _, c := range cases {
		p := DefaultParams()
		c.edit(&p)
		err := p.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Validate(%+v) = %v, want %q", p, err, c.want)
		}
		if _, rerr := Run(context.Background(), Input{}, p, t.TempDir(), nil); rerr == nil {
			t.Errorf("Run accepted invalid params %+v", p)
		}
	}
	p := DefaultParams()
	p.MaxItemAccounts = 0
	if err := p.Validate(); err != nil {
		t.Errorf("max item accounts 0 (no bound) rejected: %v", err)
	}
}

func TestCancelled(t *testing.T) {
	path := writeFPs(t, synthetic(1000, 1))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Run(ctx, Input{FingerprintsPath: path, ShingleSize: testShingleSize}, DefaultParams(), t.TempDir(), nil); err == nil {
		t.Fatal("want an error from a cancelled context")
	}
}

func BenchmarkRun200k(b *testing.B) {
	path := writeFPs(b, synthetic(200_000, 42))
	b.ResetTimer()
	var st Stats
	for b.Loop() {
		dir := b.TempDir()
		var err error
		st, err = Run(context.Background(), Input{FingerprintsPath: path, ShingleSize: testShingleSize}, DefaultParams(), dir, nil)
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(st.EdgeRows), "edges")
	b.ReportMetric(float64(st.Clusters), "clusters")
	b.ReportMetric(float64(st.BoundedItems), "bounded_items")
}

// TestLoadMatchesRows checks the column-wise load against the rows as
// schema.Fingerprint reads them: every signal's occurrences (item, account,
// post, time), the skipped rows, the accounts and their post counts.
func TestLoadMatchesRows(t *testing.T) {
	rows := synthetic(3000, 5)
	for i := range rows {
		rows[i].NormalizedText = fmt.Sprint("text number ", i%7, " of a few")
		rows[i].DomainKeys = []string{"example.org", "", "example.org", fmt.Sprint("d", i%5)}
		rows[i].HashtagSeqKey = key(uint64(i % 11))
		rows[i].MinHashBands = []uint64{uint64(i % 13), uint64(i % 13), 1 << 63}
		switch i % 17 {
		case 1:
			rows[i].ReplyKey = new(fmt.Sprint("q", i%4))
		case 2:
			rows[i].URLKeys = append(rows[i].URLKeys, "", "https://a.example/x", "https://a.example/x")
		case 3:
			rows[i].AccountID = "" // skipped
		case 4:
			rows[i].PostID = "" // skipped; its account appears nowhere else
			rows[i].AccountID = fmt.Sprint("only-skipped-", i)
		case 5: // items no other post carries: load drops them
			rows[i].DomainKeys = append(rows[i].DomainKeys, fmt.Sprint("unique-", i))
			rows[i].MinHashBands = append(rows[i].MinHashBands, 1<<40+uint64(i))
		}
	}
	path := writeFPs(t, rows)
	d, err := load(context.Background(), path, slices.Clone(Signals), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	type o struct {
		item      string
		acc, post string
		t         int64
	}
	want := map[string][]o{}
	posts := map[string]int32{}
	var skipped int64
	for _, f := range rows {
		if f.AccountID == "" || f.PostID == "" {
			skipped++
			continue
		}
		posts[f.AccountID]++
		add := func(sig, item string) { want[sig] = append(want[sig], o{item, f.AccountID, f.PostID, f.PostedAt}) }
		hex := func(k *uint64) string { return fmt.Sprintf("%016x", *k) }
		if f.TextKey != nil {
			add(schema.SignalCoText, hex(f.TextKey))
		}
		if f.HashtagSeqKey != nil {
			add(SignalCoHashtagSeq, hex(f.HashtagSeqKey))
		}
		if f.RepostKey != nil {
			add(schema.SignalCoRepost, *f.RepostKey)
		}
		if f.ReplyKey != nil {
			add(SignalCoReply, *f.ReplyKey)
		}
		for sig, list := range map[string][]string{schema.SignalCoURL: f.URLKeys, SignalCoDomain: f.DomainKeys} {
			l := slices.Clone(list)
			slices.Sort(l)
			for _, u := range slices.Compact(l) {
				if u != "" {
					add(sig, u)
				}
			}
		}
		b := slices.Clone(f.MinHashBands)
		slices.Sort(b)
		for _, k := range slices.Compact(b) {
			add(SignalNearText, hex(&k))
		}
	}
	if d.rows != int64(len(rows)) || d.skipped != skipped {
		t.Errorf("rows %d skipped %d, want %d and %d", d.rows, d.skipped, len(rows), skipped)
	}
	if d.accounts.len() != len(posts) {
		t.Errorf("%d accounts, want %d", d.accounts.len(), len(posts))
	}
	for i, a := range d.accounts.strings() {
		if d.postCount[i] != posts[a] {
			t.Errorf("account %s: %d posts, want %d", a, d.postCount[i], posts[a])
		}
	}
	less := func(x, y o) int {
		return cmp.Or(cmp.Compare(x.item, y.item), cmp.Compare(x.post, y.post), cmp.Compare(x.acc, y.acc), cmp.Compare(x.t, y.t))
	}
	// load drops occurrences of items that occur once (dropSingletons),
	// though not necessarily all of them: it must keep every other
	// occurrence, and count each dropped one as an item.
	for _, sd := range d.signals {
		all := want[sd.name]
		var got []o
		for _, x := range sd.occ {
			if d.times[x.post] != x.t {
				t.Fatalf("%s: occurrence time %d, row time %d", sd.name, x.t, d.times[x.post])
			}
			got = append(got, o{sd.itemKey(x.item), d.accounts.at(int(x.acc)), d.posts.str(x.post), x.t})
		}
		slices.SortFunc(got, less)
		slices.SortFunc(all, less)
		wantShared, singles, n := sharedAndSingles(all, func(x o) string { return x.item })
		var gotShared []o
		gotSingles := 0
		for _, x := range got {
			if n[x.item] > 1 {
				gotShared = append(gotShared, x)
				continue
			}
			gotSingles++
			if _, found := slices.BinarySearchFunc(all, x, less); !found {
				t.Errorf("%s: occurrence %+v is not in the table", sd.name, x)
			}
		}
		if len(wantShared) == 0 || !slices.Equal(gotShared, wantShared) {
			t.Errorf("%s: %d occurrences of shared items, want %d (equal: %v)", sd.name, len(gotShared), len(wantShared), slices.Equal(gotShared, wantShared))
		}
		if sd.singletons+int64(gotSingles) != int64(singles) {
			t.Errorf("%s: %d singleton items dropped and %d kept, want %d in all", sd.name, sd.singletons, gotSingles, singles)
		}
	}
	for _, sd := range d.signals {
		if sd.name != SignalNearText {
			continue
		}
		// Shingles exactly for the posts of band keys two accounts share.
		accs := map[uint64]map[uint32]bool{}
		for _, x := range sd.occ {
			if accs[x.item] == nil {
				accs[x.item] = map[uint32]bool{}
			}
			accs[x.item][x.acc] = true
		}
		want := map[uint32]bool{}
		for _, x := range sd.occ {
			if len(accs[x.item]) > 1 {
				want[x.post] = true
			}
		}
		// In memory, and in spill files (a limit of 0 bytes).
		for _, ss := range []*shingleSpill{nil, {sp: &spill{dir: t.TempDir()}}} {
			if err := d.loadShingles(context.Background(), path, testShingleSize, sd, ss); err != nil {
				t.Fatal(err)
			}
			if len(want) == 0 || d.shingles.len() != len(want) {
				t.Fatalf("near_text (spill %v): %d posts with shingles, want %d", ss != nil, d.shingles.len(), len(want))
			}
			var occs []occ
			for post := range want {
				occs = append(occs, occ{item: 1, post: post})
			}
			r := d.shingles.batch()
			r.load(occs, 0)
			for i, o := range occs {
				if !slices.Equal(r.set(i), shingleSet(fmt.Sprint("text number ", o.post%7, " of a few"), testShingleSize)) {
					t.Fatalf("near_text (spill %v): post %d: shingles differ", ss != nil, o.post)
				}
			}
			if err := r.close(); err != nil {
				t.Fatal(err)
			}
			for _, p := range d.shingles.parts {
				if (p.vals == nil) != (ss != nil) || ss != nil && ss.sp.bytes.Load() == 0 {
					t.Fatalf("near_text (spill %v): a part's sets in memory: %v", ss != nil, p.vals != nil)
				}
			}
		}
	}
}

// TestSignalColumns checks that every column load reads is a column of
// schema.Fingerprint.
func TestSignalColumns(t *testing.T) {
	cols := map[string]bool{}
	typ := reflect.TypeFor[schema.Fingerprint]()
	for i := range typ.NumField() {
		cols[strings.Split(typ.Field(i).Tag.Get("parquet"), ",")[0]] = true
	}
	names := []string{colPostID, colAccountID, colPostedAt, colNormalizerVersion, colNormalizedText}
	for _, s := range Signals {
		if IsImageSignal(s) {
			continue // they read image_fingerprints (TestImageColumns)
		}
		if signalColumn[s] == "" {
			t.Errorf("signal %s has no column", s)
		}
		names = append(names, signalColumn[s])
	}
	for _, c := range names {
		if !cols[c] {
			t.Errorf("column %q is not a column of schema.Fingerprint", c)
		}
	}
}

func TestRarity(t *testing.T) {
	cases := []struct {
		n, all int
		want   float64
	}{
		{2, 1000, 1},
		{1, 1000, 1},
		{10, 3000, 0.7803},  // ln(301)/ln(1501)
		{300, 3000, 0.3279}, // ln(11)/ln(1501)
		{3, 3, 0.7565},      // ln(2)/ln(2.5)
	}
	for _, c := range cases {
		if got := rarity(c.n, c.all); math.Abs(got-c.want) > 5e-5 {
			t.Errorf("rarity(%d, %d) = %.5f, want %.4f", c.n, c.all, got, c.want)
		}
	}
	if rarity(5, 100) <= rarity(50, 100) {
		t.Errorf("a rarer item must weigh more")
	}
}

// TestMinScore checks that viral items weigh little: a pair co-sharing
// three items that every account shares stays out of the clusters, a pair
// co-sharing three items only it shares forms one.
func TestMinScore(t *testing.T) {
	var rows []schema.Fingerprint
	accs := []string{"a", "b", "c", "d", "e", "f", "g", "h"}
	for i := range 3 {
		base := int64(i) * 3_600_000
		for j, acc := range accs {
			// viral item i+1: everyone within 10 s.
			rows = append(rows, fp(fmt.Sprintf("v%d_%d", i, j), acc, base+int64(j)*1000, uint64(i+1)))
		}
		// rare item 100+i: only a and b.
		rows = append(rows,
			fp(fmt.Sprintf("r%d_a", i), "a", base+1_800_000, uint64(100+i)),
			fp(fmt.Sprintf("r%d_b", i), "b", base+1_805_000, uint64(100+i)))
	}
	viral, rare := rarity(len(accs), len(accs)), 1.0
	tests := []struct {
		minScore float64
		want     []string // clustered accounts
	}{
		{0, accs},
		{3 * viral, accs},                    // every pair reaches 3 viral items
		{3*viral + 0.01, []string{"a", "b"}}, // only a-b: 3 viral + 3 rare
		{3*viral + 3*rare, []string{"a", "b"}},
		{3*viral + 3*rare + 0.01, nil},
	}
	for _, tt := range tests {
		p := params(2)
		p.MinScore = tt.minScore
		out := run(t, rows, p)
		var got []string
		for _, m := range out.clusters {
			got = append(got, m.AccountID)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("min score %.3f: clustered %v, want %v", tt.minScore, got, tt.want)
		}
		for _, e := range out.edges {
			if e.AccountA == "a" && e.AccountB == "b" && math.Abs(e.Weight-(3*viral+3*rare)) > 1e-9 {
				t.Errorf("a-b weight %v, want %v", e.Weight, 3*viral+3*rare)
			}
		}
	}
}

func TestRefusesOtherNormalizerVersion(t *testing.T) {
	rows := []schema.Fingerprint{fp("p1", "a", 0, 7), fp("p2", "b", 10, 7)}
	rows[1].NormalizerVersion = rules.Version + 1
	_, err := Run(context.Background(), Input{FingerprintsPath: writeFPs(t, rows), ShingleSize: testShingleSize}, DefaultParams(), t.TempDir(), nil)
	if !errors.Is(err, ErrNormalizerVersion) {
		t.Fatalf("Run = %v, want ErrNormalizerVersion", err)
	}
	if !strings.Contains(err.Error(), fmt.Sprintf("normalizer_version %d", rules.Version+1)) {
		t.Errorf("error %q does not name the version found", err)
	}
}
