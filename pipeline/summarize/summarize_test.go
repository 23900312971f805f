package summarize

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/takedown-research/takedown/internal/pqio"
	"github.com/takedown-research/takedown/internal/schema"
)

func ptr[T any](v T) *T { return &v }

const (
	day0 = int64(1546300800000) // 2019-01-01 00:00 UTC
	hour = int64(3600_000)
	dayN = 24 * hour
)

var (
	created1201 = int64(1543622400000) // 2018-12-01
	created1202 = created1201 + dayN
	created2017 = int64(1483228800000) // 2017-01-01
)

// fixture is a small dataset whose every summary number is worked out by hand
// in the tests below.
type fixture struct {
	accounts     []schema.Account
	posts        []schema.Post
	rejects      []schema.Reject
	fingerprints []schema.Fingerprint
	edges        []schema.Edge
	clusters     []schema.ClusterMember
}

func newFixture() *fixture {
	f := &fixture{}
	acc := func(id string, inUsers, hashed bool, created *int64, followers *int64) {
		f.accounts = append(f.accounts, schema.Account{
			Dataset: "test/ds", AccountID: id, IDHashed: hashed, InUsersFile: inUsers,
			CreatedAt: created, Followers: followers, SourceFile: "users.csv",
		})
	}
	acc("a1", true, true, ptr(created1201), ptr(int64(100)))
	acc("a2", true, true, ptr(created1201), ptr(int64(50)))
	acc("a3", true, false, ptr(created1202), ptr(int64(10)))
	acc("a4", false, false, nil, nil)
	acc("a5", true, true, ptr(created2017), ptr(int64(1000)))
	acc("a6", true, false, ptr(created1202), nil)
	acc("a7", true, false, ptr(created1202), nil)

	type pp struct {
		id, acct   string
		at         int64
		repost     bool
		replyTo    *string
		client     string
		lang       string
		hashtags   []string
		urls       []string
		mentions   []string
		likes      *int64
		reposts    *int64
		replies    *int64
		quotes     *int64
		textKey    *uint64
		normalized string
	}
	k1, k2, k3 := uint64(111), uint64(222), uint64(333)
	for _, p := range []pp{
		{id: "p1", acct: "a1", at: day0 + 10*hour, client: "web", lang: "en",
			hashtags: []string{"#Vote", "vote"}, urls: []string{"https://www.example.com/a", "http://news.example.com/b"},
			mentions: []string{"@a9"}, likes: ptr(int64(5)), reposts: ptr(int64(2)), quotes: ptr(int64(1)),
			textKey: &k1, normalized: "hello world"},
		{id: "p2", acct: "a2", at: day0 + 10*hour + 60_000, client: "web", lang: "en",
			hashtags: []string{"##ＶＯＴＥ"}, urls: []string{"https://bbc.co.uk/x"}, mentions: []string{"a9"},
			likes: ptr(int64(3)), replies: ptr(int64(4)), textKey: &k1, normalized: "hello world"},
		{id: "p3", acct: "a3", at: day0 + dayN + hour, repost: true, client: "android", lang: "en",
			textKey: &k1, normalized: "hello world"},
		{id: "p4", acct: "a1", at: day0 + dayN + 2*hour, replyTo: new("p0"), client: "web", lang: "ru",
			hashtags: []string{"Peace"}, mentions: []string{"A9"}, textKey: &k2, normalized: "unique text one"},
		{id: "p5", acct: "a4", at: day0 + 3*dayN, client: "android", lang: "ru",
			hashtags: []string{"PEACE", "alpha"}, urls: []string{"HTTPS://WWW.BBC.CO.UK/news"},
			textKey: &k1, normalized: "hello world"},
		{id: "p6", acct: "a1", at: day0 + 3*dayN + hour, client: "web", lang: "en",
			urls: []string{"t.co/abc"}, textKey: &k3, normalized: "own repeat"},
		{id: "p7", acct: "a1", at: day0 + 3*dayN + 2*hour, client: "web", lang: "en",
			textKey: &k3, normalized: "own repeat"},
		{id: "p8", acct: "a5", at: day0 + 3*dayN + 3*hour, client: "", lang: "und", normalized: "ok"},
		{id: "p9", acct: "a2", at: day0 + 3*dayN + 4*hour, repost: true, client: "android", lang: "en",
			textKey: &k2, normalized: "unique text one"},
	} {
		f.posts = append(f.posts, schema.Post{
			Dataset: "test/ds", PostID: p.id, AccountID: p.acct, PostedAt: p.at,
			PostedAtPrecision: schema.PrecisionMinute, Text: "raw " + p.normalized,
			Language: p.lang, Client: p.client, ReplyToPostID: p.replyTo, IsRepost: p.repost,
			Hashtags: p.hashtags, URLs: p.urls, Mentions: p.mentions,
			Likes: p.likes, Reposts: p.reposts, Replies: p.replies, Quotes: p.quotes,
			SourceFile: "tweets.csv",
		})
		f.fingerprints = append(f.fingerprints, schema.Fingerprint{
			PostID: p.id, AccountID: p.acct, PostedAt: p.at, TextKey: p.textKey, NormalizedText: p.normalized,
		})
	}
	f.rejects = []schema.Reject{
		{Dataset: "test/ds", SourceFile: "tweets.csv", SourceLine: 3, Reason: "bad_id", Raw: []byte("x")},
		{Dataset: "test/ds", SourceFile: "tweets.csv", SourceLine: 7, Reason: "short_record", Raw: []byte("y")},
		{Dataset: "test/ds", SourceFile: "tweets.csv", SourceLine: 9, Reason: "bad_id", Raw: []byte("z")},
	}
	f.edges = []schema.Edge{
		{AccountA: "a1", AccountB: "a2", Signal: "co_text", SharedItems: 2, Weight: 2},
		{AccountA: "a1", AccountB: "a2", Signal: "co_url", SharedItems: 1, Weight: 1},
		{AccountA: "a2", AccountB: "a3", Signal: "co_repost", SharedItems: 1, Weight: 1},
		{AccountA: "a1", AccountB: "a4", Signal: "co_text", SharedItems: 1, Weight: 1},
		{AccountA: "a4", AccountB: "a5", Signal: "co_hashtags", SharedItems: 3, Weight: 3},
	}
	f.clusters = []schema.ClusterMember{
		{ClusterID: "c-bbb", AccountID: "a1", Role: "originator", Degree: 2},
		{ClusterID: "c-bbb", AccountID: "a2", Role: "amplifier", Degree: 2},
		{ClusterID: "c-bbb", AccountID: "a3", Role: "amplifier", Degree: 1},
		{ClusterID: "c-aaa", AccountID: "a4", Role: "originator", Degree: 1},
		{ClusterID: "c-aaa", AccountID: "a5", Role: "member", Degree: 1},
		{ClusterID: "c-000", AccountID: "a6", Role: "amplifier"},
		{ClusterID: "c-000", AccountID: "a7", Role: "amplifier"},
	}
	return f
}

func write[T any](t *testing.T, path string, rows []T) {
	t.Helper()
	if _, err := pqio.WriteFile(path, rows); err != nil {
		t.Fatal(err)
	}
}

// inputs writes the fixture's tables into a fresh directory.
func (f *fixture) inputs(t *testing.T) Input {
	t.Helper()
	dir := t.TempDir()
	in := Input{
		Dataset:          "test/ds",
		AccountsPath:     filepath.Join(dir, "accounts.parquet"),
		PostsPath:        filepath.Join(dir, "posts.parquet"),
		RejectsPath:      filepath.Join(dir, "rejects.parquet"),
		FingerprintsPath: filepath.Join(dir, "fingerprints.parquet"),
		EdgesPath:        filepath.Join(dir, "edges.parquet"),
		ClustersPath:     filepath.Join(dir, "clusters.parquet"),
	}
	write(t, in.AccountsPath, f.accounts)
	write(t, in.PostsPath, f.posts)
	write(t, in.RejectsPath, f.rejects)
	write(t, in.FingerprintsPath, f.fingerprints)
	write(t, in.EdgesPath, f.edges)
	write(t, in.ClustersPath, f.clusters)
	return in
}

func run(t *testing.T, in Input, p Params) (Stats, string) {
	t.Helper()
	out := t.TempDir()
	st, err := Run(context.Background(), in, p, out, nil)
	if err != nil {
		t.Fatal(err)
	}
	return st, out
}

func readAll[T any](t *testing.T, path string) []T {
	t.Helper()
	rows, err := pqio.ReadAll[T](path)
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func TestReleaseSummary(t *testing.T) {
	in := newFixture().inputs(t)
	st, out := run(t, in, DefaultParams())
	rows := readAll[schema.ReleaseSummary](t, filepath.Join(out, "release_summary.parquet"))
	if len(rows) != 1 {
		t.Fatalf("release_summary has %d rows, want 1", len(rows))
	}
	want := schema.ReleaseSummary{
		Dataset:             "test/ds",
		Accounts:            7,
		AccountsInUsersFile: 6,
		AccountsOnlyInPosts: 1,
		AccountsWithPosts:   5,
		HashedShare:         3.0 / 7.0,
		Posts:               9,
		Reposts:             2,
		Replies:             1,
		Rejects:             3,
		FirstPostAt:         ptr(day0 + 10*hour),
		LastPostAt:          ptr(day0 + 3*dayN + 4*hour),
		ActiveDays:          3,
		PostsPerActiveDay:   3,
		// Non-repost posts: p1 p2 p4 p5 p6 p7 p8. Copies: p1, p2, p5 (text
		// key 111 by a1, a2, a4). Not copies: p4 (its text recurs only in
		// the repost p9), p6 and p7 (same account), p8 (no text key).
		CopyPosts:         3,
		CopyShare:         3.0 / 7.0,
		LikesSum:          8,
		RepostsSum:        2,
		RepliesSum:        4,
		QuotesSum:         1,
		CreatedFirst:      ptr(created2017),
		CreatedLast:       ptr(created1202),
		CreationBursts:    0,
		BurstAccounts:     0,
		Clusters:          3,
		ClusteredAccounts: 7,
	}
	if !reflect.DeepEqual(rows[0], want) {
		t.Errorf("release summary\n got %+v\nwant %+v", rows[0], want)
	}
	wantStats := Stats{
		Accounts: 7, Posts: 9, Rejects: 3, Fingerprints: 9, Edges: 5, Clusters: 3,
		ClusteredAccounts: 7, CreationBursts: 0, TimelineRows: 3 + 3 + 1, TopEntityRows: st.TopEntityRows,
		CreationRows: 7, FingerprintJoin: JoinRowOrder,
	}
	if st != wantStats {
		t.Errorf("stats\n got %+v\nwant %+v", st, wantStats)
	}
}

func TestCopyShareWithoutRowOrder(t *testing.T) {
	f := newFixture()
	base := f.inputs(t)
	_, outA := run(t, base, DefaultParams())

	slices.Reverse(f.fingerprints)
	shuffled := f.inputs(t)
	st, outB := run(t, shuffled, DefaultParams())
	if st.FingerprintJoin != JoinPostID {
		t.Fatalf("fingerprint join = %q, want %q", st.FingerprintJoin, JoinPostID)
	}
	compareDirs(t, outA, outB)
}

func TestCopyShareRepostsDoNotCount(t *testing.T) {
	f := newFixture()
	// a3 reposts with the text of p6/p7 (a1's own repeat): still no copy.
	f.fingerprints[2].TextKey = ptr(uint64(333))
	// p8 now shares p4's text key from a different account: p4 and p8 become copies.
	f.fingerprints[7].TextKey = ptr(uint64(222))
	_, out := run(t, f.inputs(t), DefaultParams())
	rel := readAll[schema.ReleaseSummary](t, filepath.Join(out, "release_summary.parquet"))[0]
	if rel.CopyPosts != 5 || rel.CopyShare != 5.0/7.0 {
		t.Errorf("copy posts %d share %v, want 5 and 5/7", rel.CopyPosts, rel.CopyShare)
	}
}

func TestRepostByRepostOfPostID(t *testing.T) {
	f := newFixture()
	// p9 loses its flag but still names the post it reposts: still a repost,
	// in both joins.
	f.posts[8].IsRepost = false
	f.posts[8].RepostOfPostID = new("p4")
	for _, reverse := range []bool{false, true} {
		if reverse {
			slices.Reverse(f.fingerprints)
		}
		_, out := run(t, f.inputs(t), DefaultParams())
		rel := readAll[schema.ReleaseSummary](t, filepath.Join(out, "release_summary.parquet"))[0]
		if rel.Reposts != 2 || rel.CopyPosts != 3 || rel.CopyShare != 3.0/7.0 {
			t.Errorf("reverse=%v: reposts %d, copy posts %d, share %v; want 2, 3, 3/7",
				reverse, rel.Reposts, rel.CopyPosts, rel.CopyShare)
		}
	}
}

func TestBurstRule(t *testing.T) {
	rep := func(day int64, n int) []int64 {
		out := make([]int64, n)
		for i := range out {
			out[i] = day
		}
		return out
	}
	cases := []struct {
		name        string
		days        []int64
		window, min int
		want        []burst
	}{
		{"empty", nil, 3, 2, nil},
		{"two runs", []int64{0, 0, 1, 5, 6, 7, 20}, 3, 3,
			[]burst{{0, 1, 3}, {5, 7, 3}}},
		{"overlapping windows merge", []int64{0, 1, 2, 3, 4}, 3, 3,
			[]burst{{0, 4, 5}}},
		{"adjacent windows without a shared account stay apart",
			append(rep(0, 10), rep(3, 10)...), 3, 10,
			[]burst{{0, 0, 10}, {3, 3, 10}}},
		{"window is exclusive at burst_days", []int64{0, 3}, 3, 2, nil},
		{"window includes burst_days-1", []int64{0, 2}, 3, 2, []burst{{0, 2, 2}}},
		{"sparse tail is not absorbed", []int64{0, 0, 2, 4}, 3, 3, []burst{{0, 2, 3}}},
		{"below minimum", rep(5, 9), 3, 10, nil},
	}
	for _, c := range cases {
		got := findBursts(c.days, c.window, c.min)
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: got %+v, want %+v", c.name, got, c.want)
		}
	}
}

func TestBurstsEndToEnd(t *testing.T) {
	in := newFixture().inputs(t)
	// Created: a5 2017-01-01; a1 a2 2018-12-01; a3 a6 a7 2018-12-02; a4 unknown.
	for _, c := range []struct {
		days, min       int
		bursts, members int64
		clusterBursts   map[string]int64
	}{
		{1, 2, 2, 5, map[string]int64{"c-bbb": 1, "c-aaa": 0, "c-000": 1}},
		{2, 2, 1, 5, map[string]int64{"c-bbb": 1, "c-aaa": 0, "c-000": 1}},
		{2, 6, 0, 0, map[string]int64{"c-bbb": 0, "c-aaa": 0, "c-000": 0}},
		{3660, 6, 1, 6, map[string]int64{"c-bbb": 0, "c-aaa": 0, "c-000": 0}},
	} {
		p := DefaultParams()
		p.BurstDays, p.BurstMinAccounts = c.days, c.min
		st, out := run(t, in, p)
		rel := readAll[schema.ReleaseSummary](t, filepath.Join(out, "release_summary.parquet"))[0]
		if rel.CreationBursts != c.bursts || rel.BurstAccounts != c.members || st.CreationBursts != c.bursts {
			t.Errorf("days=%d min=%d: %d bursts of %d accounts, want %d of %d",
				c.days, c.min, rel.CreationBursts, rel.BurstAccounts, c.bursts, c.members)
		}
		for _, cs := range readAll[schema.ClusterSummary](t, filepath.Join(out, "cluster_summary.parquet")) {
			if cs.CreationBursts != c.clusterBursts[cs.ClusterID] {
				t.Errorf("days=%d min=%d: cluster %s has %d bursts, want %d",
					c.days, c.min, cs.ClusterID, cs.CreationBursts, c.clusterBursts[cs.ClusterID])
			}
		}
	}
}

func TestClusterSummary(t *testing.T) {
	_, out := run(t, newFixture().inputs(t), DefaultParams())
	got := readAll[schema.ClusterSummary](t, filepath.Join(out, "cluster_summary.parquet"))
	want := []schema.ClusterSummary{
		{
			ClusterID: "c-bbb", Size: 3, Posts: 7, Edges: 3,
			Signals: []string{"co_repost", "co_text", "co_url"},
			FirstAt: ptr(day0 + 10*hour), LastAt: ptr(day0 + 3*dayN + 4*hour), ActiveDays: 3,
			TopTexts:     []string{"hello world", "own repeat", "unique text one"},
			TopHashtags:  []string{"vote", "peace"},
			TopDomains:   []string{"bbc.co.uk", "example.com", "t.co"},
			TopClients:   []string{"web", "android"},
			Languages:    []string{"en", "ru"},
			CreatedFirst: ptr(created1201), CreatedLast: ptr(created1202),
			Originators: 1, Amplifiers: 2,
		},
		{
			// c-000 and c-aaa tie on size: cluster id breaks the tie.
			ClusterID: "c-000", Size: 2,
			CreatedFirst: ptr(created1202), CreatedLast: ptr(created1202),
			Amplifiers: 2,
		},
		{
			// The a1-a4 edge crosses clusters and does not count.
			ClusterID: "c-aaa", Size: 2, Posts: 2, Edges: 1, Signals: []string{"co_hashtags"},
			FirstAt: ptr(day0 + 3*dayN), LastAt: ptr(day0 + 3*dayN + 3*hour), ActiveDays: 1,
			TopTexts:     []string{"hello world", "ok"},
			TopHashtags:  []string{"alpha", "peace"},
			TopDomains:   []string{"bbc.co.uk"},
			TopClients:   []string{"android"},
			Languages:    []string{"ru", "und"},
			CreatedFirst: ptr(created2017), CreatedLast: ptr(created2017),
			Originators: 1, Amplifiers: 0,
		},
	}
	if len(got) != len(want) {
		t.Fatalf("cluster_summary has %d rows, want %d", len(got), len(want))
	}
	for i := range want {
		if !reflect.DeepEqual(norm(got[i]), norm(want[i])) {
			t.Errorf("cluster %d\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}
}

// norm maps empty lists to nil, as Parquet does not tell them apart.
func norm(c schema.ClusterSummary) schema.ClusterSummary {
	for _, l := range []*[]string{&c.Signals, &c.TopTexts, &c.TopHashtags, &c.TopDomains, &c.TopClients, &c.Languages} {
		if len(*l) == 0 {
			*l = nil
		}
	}
	return c
}

func TestDailyTimeline(t *testing.T) {
	_, out := run(t, newFixture().inputs(t), DefaultParams())
	got := readAll[schema.DailyTimeline](t, filepath.Join(out, "daily_timeline.parquet"))
	d := func(n int64) int64 { return day0 + n*dayN }
	want := []schema.DailyTimeline{
		{Scope: "c-aaa", Day: d(3), Posts: 2, Accounts: 2},
		{Scope: "c-bbb", Day: d(0), Posts: 2, Accounts: 2},
		{Scope: "c-bbb", Day: d(1), Posts: 2, Accounts: 2},
		{Scope: "c-bbb", Day: d(3), Posts: 3, Accounts: 2},
		{Scope: "release", Day: d(0), Posts: 2, Accounts: 2},
		{Scope: "release", Day: d(1), Posts: 2, Accounts: 2},
		{Scope: "release", Day: d(3), Posts: 5, Accounts: 4},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("daily_timeline\n got %+v\nwant %+v", got, want)
	}
}

func TestTopEntities(t *testing.T) {
	p := DefaultParams()
	p.TopN = 2
	_, out := run(t, newFixture().inputs(t), p)
	got := readAll[schema.TopEntity](t, filepath.Join(out, "top_entities.parquet"))
	var release []schema.TopEntity
	for _, e := range got {
		if e.Scope == ScopeRelease {
			release = append(release, e)
		}
	}
	e := func(kind string, rank int64, value string, count int64) schema.TopEntity {
		return schema.TopEntity{Scope: ScopeRelease, Kind: kind, Rank: rank, Value: value, Count: count}
	}
	want := []schema.TopEntity{
		e(KindClient, 1, "web", 5), e(KindClient, 2, "android", 3),
		// example.com and t.co tie at 1: example.com wins on value.
		e(KindDomain, 1, "bbc.co.uk", 2), e(KindDomain, 2, "example.com", 1),
		// peace and vote tie at 2 (vote counted once in p1 despite "#Vote",
		// "vote"; p2's full-width "##ＶＯＴＥ" is vote too, by the rule of
		// the fingerprint stage's hashtag keys, rules.Hashtag).
		e(KindHashtag, 1, "peace", 2), e(KindHashtag, 2, "vote", 2),
		e(KindLanguage, 1, "en", 6), e(KindLanguage, 2, "ru", 2),
		// Mentions keep their case: hashed ids are case-sensitive.
		e(KindMention, 1, "a9", 2), e(KindMention, 2, "A9", 1),
	}
	if !reflect.DeepEqual(release, want) {
		t.Errorf("release top entities\n got %+v\nwant %+v", release, want)
	}
	// Sorted by scope, kind, rank.
	if !slices.IsSortedFunc(got, func(a, b schema.TopEntity) int {
		if c := strings.Compare(a.Scope, b.Scope); c != 0 {
			return c
		}
		if c := strings.Compare(a.Kind, b.Kind); c != 0 {
			return c
		}
		return int(a.Rank - b.Rank)
	}) {
		t.Error("top_entities is not sorted by scope, kind, rank")
	}
}

func TestReport(t *testing.T) {
	p := DefaultParams()
	p.BurstDays, p.BurstMinAccounts = 1, 2
	_, out := run(t, newFixture().inputs(t), p)
	b, err := os.ReadFile(filepath.Join(out, ReportFile))
	if err != nil {
		t.Fatal(err)
	}
	report := string(b)
	for _, want := range []string{
		"# Release summary: `test/ds`",
		"## Headline numbers",
		"| posts | 9 |",
		"| copy share | 42.9% (3 of 7 non-repost posts) |",
		"| accounts seen only in posts | 1 |",
		"### Follower counts",
		"never sum per-post follower counts",
		"the median is 50 and the largest 1,000",
		"## Daily activity",
		"2019-01-01 .. 2019-01-04, one character = 1 day, █ = 5 posts\n▄▄·█",
		"## Account creation bursts",
		"2 bursts, largest first:\n\n| first day | last day | accounts |\n|---|---|---|\n| 2018-12-02 | 2018-12-02 | 3 |\n| 2018-12-01 | 2018-12-01 | 2 |",
		"| `c-000` | 2 | 0 | none | unknown | unknown | 0 / 2 |",
		"- **Posts:** 7 (active days 3, 2019-01-01 10:00 .. 2019-01-04 04:00)",
		"creation bursts: 2018-12-01 .. 2018-12-01 (accounts 2)",
		"## Largest clusters",
		"### Cluster `c-bbb`",
		"`co_text` (account pairs 1, shared items 2)",
		"- **Accounts:** 3 (originators 1, amplifiers 2)",
		"1. hello world (3)",
		"#vote (2)",
		"bbc.co.uk (1)",
		"(originators 1, amplifiers 0, other roles 1)",
		"## Top entities of the release",
		"## Rejected records",
		"| `bad_id` | 2 |",
		"| `short_record` | 1 |",
	} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	// The largest cluster comes first, the tie c-000/c-aaa by id.
	i, j, k := strings.Index(report, "### Cluster `c-bbb`"), strings.Index(report, "### Cluster `c-000`"),
		strings.Index(report, "### Cluster `c-aaa`")
	if !(i < j && j < k) {
		t.Errorf("clusters out of order: c-bbb at %d, c-000 at %d, c-aaa at %d", i, j, k)
	}
}

func TestDeterminism(t *testing.T) {
	in := newFixture().inputs(t)
	prev := runtime.GOMAXPROCS(1)
	defer runtime.GOMAXPROCS(prev)
	_, a := run(t, in, DefaultParams())
	runtime.GOMAXPROCS(8)
	_, b := run(t, in, DefaultParams())
	compareDirs(t, a, b)
}

// compareDirs checks that two output dirs hold the same files, byte for byte.
func compareDirs(t *testing.T, a, b string) {
	t.Helper()
	names := []string{
		"release_summary.parquet", "cluster_summary.parquet", "daily_timeline.parquet",
		"top_entities.parquet", "account_creation.parquet", "creation_bursts.parquet",
		"coordination_share.parquet", ReportFile, HTMLReportFile,
	}
	for _, d := range []string{a, b} {
		entries, err := os.ReadDir(d)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range entries {
			got = append(got, e.Name())
		}
		if want := slices.Sorted(slices.Values(names)); !slices.Equal(got, want) {
			t.Fatalf("%s holds %v, want %v", d, got, want)
		}
	}
	for _, n := range names {
		x, err := os.ReadFile(filepath.Join(a, n))
		if err != nil {
			t.Fatal(err)
		}
		y, err := os.ReadFile(filepath.Join(b, n))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(x, y) {
			t.Errorf("%s differs between runs", n)
		}
	}
}

func TestEmptyTables(t *testing.T) {
	in := (&fixture{}).inputs(t)
	st, out := run(t, in, DefaultParams())
	if st != (Stats{FingerprintJoin: JoinRowOrder}) {
		t.Errorf("stats = %+v", st)
	}
	rel := readAll[schema.ReleaseSummary](t, filepath.Join(out, "release_summary.parquet"))
	if len(rel) != 1 || rel[0] != (schema.ReleaseSummary{Dataset: "test/ds"}) {
		t.Errorf("release summary = %+v", rel)
	}
	b, err := os.ReadFile(filepath.Join(out, ReportFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"No clusters.", "no posts", "No records were rejected.", "No creation bursts."} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("report lacks %q", want)
		}
	}
}

func TestValidate(t *testing.T) {
	if err := DefaultParams().Validate(); err != nil {
		t.Fatalf("default params: %v", err)
	}
	for _, c := range []struct {
		edit func(*Params)
		flag string
	}{
		{func(p *Params) { p.TopN = 0 }, "--top-n"},
		{func(p *Params) { p.TopN = 1001 }, "--top-n"},
		{func(p *Params) { p.BurstDays = 0 }, "--burst-days"},
		{func(p *Params) { p.BurstDays = 4000 }, "--burst-days"},
		{func(p *Params) { p.BurstMinAccounts = 1 }, "--burst-min-accounts"},
	} {
		p := DefaultParams()
		c.edit(&p)
		err := p.Validate()
		if err == nil || !strings.Contains(err.Error(), c.flag) {
			t.Errorf("%+v: error %v, want one naming %s", p, err, c.flag)
		}
		if _, err := Run(context.Background(), Input{}, p, t.TempDir(), nil); err == nil {
			t.Errorf("%+v: Run accepted invalid params", p)
		}
	}
}

func TestInputErrors(t *testing.T) {
	in := newFixture().inputs(t)
	missing := in
	missing.EdgesPath = ""
	if _, err := Run(context.Background(), missing, DefaultParams(), t.TempDir(), nil); err == nil ||
		!strings.Contains(err.Error(), "edges") {
		t.Errorf("empty edges path: %v", err)
	}
	gone := in
	gone.PostsPath = filepath.Join(t.TempDir(), "nope.parquet")
	if _, err := Run(context.Background(), gone, DefaultParams(), t.TempDir(), nil); err == nil ||
		!strings.Contains(err.Error(), "nope.parquet") {
		t.Errorf("missing posts file: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Run(ctx, in, DefaultParams(), t.TempDir(), nil); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: %v", err)
	}
}

func TestSparkline(t *testing.T) {
	got := sparkline(map[int64]int64{0: 1, 1: 8, 3: 4})
	want := "1970-01-01 .. 1970-01-04, one character = 1 day, █ = 8 posts\n▁█·▄"
	if got != want {
		t.Errorf("sparkline = %q, want %q", got, want)
	}
	long := map[int64]int64{}
	for d := int64(0); d < 600; d++ {
		long[d] = 1
	}
	lines := strings.Split(sparkline(long), "\n")
	if n := len([]rune(lines[1])); n != 60 || !strings.Contains(lines[0], "10 days") {
		t.Errorf("600-day sparkline: %q (%d chars)", lines, n)
	}
}
