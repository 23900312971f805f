package summarize

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/takedown-research/takedown/datasets"
	"github.com/takedown-research/takedown/internal/schema"
)

func TestCoordinationShareFixture(t *testing.T) {
	in := newFixture().inputs(t)
	_, out := run(t, in, DefaultParams())
	rows := readAll[schema.CoordinationShare](t, filepath.Join(out, "coordination_share.parquet"))
	// Co-tweet: text 111 by a1 at 10:00 and a2 at 10:01 (60 s apart, inside
	// the window); a4's copy is days later. The reposts p3 and p9 name no
	// reposted post: keyed by their texts, each stands alone.
	want := schema.CoordinationShare{
		Dataset: "test/ds", WindowSeconds: 60, Accounts: 5, Posts: 9,
		CoTweetAccounts: 2, CoTweetShare: 0.4, EitherAccounts: 2, EitherShare: 0.4,
		RepostsByText: 2, PaperMeanShare: 0.74, PaperMinPosts: 50000, Citation: CoordCitation,
		Note: "9 posts: the paper's mean covers campaigns of more than 50000 tweets; " +
			"2 reposts name no reposted post and were keyed by their text; " +
			"some times are to the minute: posts in adjacent minutes count as within the window",
	}
	if len(rows) != 1 || !reflect.DeepEqual(rows[0], want) {
		t.Errorf("coordination_share\n got %+v\nwant %+v", rows, want)
	}
}

// TestCoordinationReposts: reposts of the same post (by id, or by text when
// the release names none) within the window co-retweet; the co-tweet and
// co-retweet networks are separate.
func TestCoordinationReposts(t *testing.T) {
	f := &fixture{}
	t0 := day0
	add := func(id, acct string, at int64, repostOf *string, repost bool, key *uint64, text string) {
		f.accounts = append(f.accounts, schema.Account{AccountID: acct})
		f.posts = append(f.posts, schema.Post{PostID: id, AccountID: acct, PostedAt: at,
			PostedAtPrecision: schema.PrecisionSecond, IsRepost: repost, RepostOfPostID: repostOf})
		f.fingerprints = append(f.fingerprints, schema.Fingerprint{PostID: id, AccountID: acct, PostedAt: at,
			TextKey: key, RepostKey: repostOf, NormalizedText: text})
	}
	k := uint64(7)
	add("1", "A", t0, new("x"), true, nil, "rt x")
	add("2", "B", t0+30_000, new("x"), true, nil, "rt x")
	add("3", "C", t0+200_000, new("x"), true, nil, "rt x") // too late for B
	add("4", "D", t0, nil, true, nil, "rt y")              // by text
	add("5", "E", t0+59_000, nil, true, nil, "rt y")
	add("6", "F", t0, nil, false, &k, "same")
	add("7", "F", t0+1000, nil, false, &k, "same") // only its own copy
	add("8", "G", t0+61_000, nil, false, &k, "same")
	add("9", "H", t0+120_000, nil, false, &k, "same")
	in := f.inputs(t)
	_, out := run(t, in, DefaultParams())
	got := readAll[schema.CoordinationShare](t, filepath.Join(out, "coordination_share.parquet"))[0]
	// co-retweet: A B (x), D E (y by text); co-tweet: F G (61 s from F's
	// second copy), G H.
	if got.CoRetweetAccounts != 4 || got.CoTweetAccounts != 3 || got.EitherAccounts != 7 ||
		got.Accounts != 8 || got.RepostsByText != 2 {
		t.Errorf("got %+v, want co-retweet 4, co-tweet 3, either 7 of 8 accounts, 2 reposts by text", got)
	}
}

// TestCoordinationSpill: spilled sorted runs give the same table as one
// sort in memory.
func TestCoordinationSpill(t *testing.T) {
	in := newFixture().inputs(t)
	_, a := run(t, in, DefaultParams())
	defer func(n int) { coordBuffer = n }(coordBuffer)
	coordBuffer = 2
	_, b := run(t, in, DefaultParams())
	for _, name := range []string{"coordination_share.parquet", ReportFile} {
		x, _ := os.ReadFile(filepath.Join(a, name))
		y, _ := os.ReadFile(filepath.Join(b, name))
		if len(x) == 0 || !bytes.Equal(x, y) {
			t.Errorf("%s differs when spilled", name)
		}
	}
	entries, _ := os.ReadDir(b)
	for _, e := range entries {
		if e.IsDir() {
			t.Errorf("spill directory %s left behind", e.Name())
		}
	}
}

// TestMarkGroup checks the linear sweep against every pair, on groups
// drawn at random with few accounts and close times.
func TestMarkGroup(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		n := 1 + r.IntN(12)
		g := make([]coordRec, n)
		for i := range g {
			g[i] = coordRec{at: int64(r.IntN(5)) * 30_000, acct: uint32(r.IntN(4))}
		}
		slices.SortFunc(g, coordCmp)
		var got bitset
		markGroup(g, &got, nil)
		var want bitset
		for i := range g {
			for j := range g {
				d := g[i].at - g[j].at
				if g[i].acct != g[j].acct && d <= CoordWindowMs && -d <= CoordWindowMs {
					want.set(g[i].acct)
				}
			}
		}
		all := got.or(want)
		if !slices.Equal(got.or(make(bitset, len(all))), all) || !slices.Equal(want.or(make(bitset, len(all))), all) {
			t.Fatalf("group %v: marked %b, want %b", g, got, want)
		}
	}
}

func TestPublishedCategories(t *testing.T) {
	f := newFixture()
	cats := map[string]string{"a1": "LeftTroll", "a2": "LeftTroll", "a3": "NewsFeed", "a5": "RightTroll"}
	for i := range f.accounts {
		f.accounts[i].Category = cats[f.accounts[i].AccountID]
	}
	in := f.inputs(t)
	p := DefaultParams()
	p.Published = &datasets.Published{
		Basis: "announced",
		Categories: []datasets.CategoryFigures{
			{Category: "LeftTroll", Accounts: ptr(int64(2)), Posts: ptr(int64(7)), Source: "paper"},
			{Category: "NewsFeed", Accounts: ptr(int64(1))},
			{Category: "Fearmonger", Posts: ptr(int64(3)), Source: "paper"},
		},
	}
	_, out := run(t, in, p)
	got := readAll[schema.PublishedComparison](t, filepath.Join(out, "published_comparison.parquet"))
	// a1 posted p1 p4 p6 p7, a2 p2 p9: 6 LeftTroll posts.
	want := []schema.PublishedComparison{
		{Measure: "category:LeftTroll:accounts", Published: "2", Computed: "2", Note: "published: paper"},
		{Measure: "category:LeftTroll:posts", Published: "7", Computed: "6", Differs: true,
			Note: "computed -1 (-14.29%); published: paper"},
		{Measure: "category:NewsFeed:accounts", Published: "1", Computed: "1", Note: "published: announced"},
		{Measure: "category:Fearmonger:posts", Published: "3", Computed: "0", Differs: true,
			Note: "computed -3 (-100.00%); published: paper"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("published_comparison\n got %+v\nwant %+v", got, want)
	}
}
