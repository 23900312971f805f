package summarize

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/takedown-research/takedown/datasets"
	"github.com/takedown-research/takedown/internal/schema"
)

func TestAccountCreationTables(t *testing.T) {
	p := DefaultParams()
	p.BurstDays, p.BurstMinAccounts = 1, 2
	st, out := run(t, newFixture().inputs(t), p)
	d := func(ms int64) int64 { return dayOf(ms) * dayMillis }
	wantCreation := []schema.AccountCreation{
		{Scope: "c-000", Day: d(created1202), Accounts: 2},
		{Scope: "c-aaa", Day: d(created2017), Accounts: 1},
		{Scope: "c-bbb", Day: d(created1201), Accounts: 2},
		{Scope: "c-bbb", Day: d(created1202), Accounts: 1},
		{Scope: ScopeRelease, Day: d(created2017), Accounts: 1},
		{Scope: ScopeRelease, Day: d(created1201), Accounts: 2},
		{Scope: ScopeRelease, Day: d(created1202), Accounts: 3},
	}
	got := readAll[schema.AccountCreation](t, filepath.Join(out, "account_creation.parquet"))
	if !reflect.DeepEqual(got, wantCreation) {
		t.Errorf("account_creation\n got %+v\nwant %+v", got, wantCreation)
	}
	if st.CreationRows != int64(len(wantCreation)) {
		t.Errorf("stats creation rows = %d", st.CreationRows)
	}
	wantBursts := []schema.CreationBurst{
		{Scope: "c-000", FirstDay: d(created1202), LastDay: d(created1202), Accounts: 2},
		{Scope: "c-bbb", FirstDay: d(created1201), LastDay: d(created1201), Accounts: 2},
		{Scope: ScopeRelease, FirstDay: d(created1201), LastDay: d(created1201), Accounts: 2},
		{Scope: ScopeRelease, FirstDay: d(created1202), LastDay: d(created1202), Accounts: 3},
	}
	gotB := readAll[schema.CreationBurst](t, filepath.Join(out, "creation_bursts.parquet"))
	if !reflect.DeepEqual(gotB, wantBursts) {
		t.Errorf("creation_bursts\n got %+v\nwant %+v", gotB, wantBursts)
	}
}

func TestPublishedComparison(t *testing.T) {
	i := func(v int64) *int64 { return &v }
	tests := []struct {
		name string
		pub  datasets.Published
		want []schema.PublishedComparison
	}{
		{
			name: "all agree",
			pub: datasets.Published{AccountsInUsersFile: i(6), Posts: i(9), FirstPost: "2019-01-01 10:00",
				LikesSum: i(8), TopLanguages: []string{"en:6", "ru:2"}},
			want: []schema.PublishedComparison{
				{Measure: "accounts_in_users_file", Published: "6", Computed: "6"},
				{Measure: "posts", Published: "9", Computed: "9"},
				{Measure: "first_post", Published: "2019-01-01 10:00", Computed: "2019-01-01 10:00"},
				{Measure: "likes_sum", Published: "8", Computed: "8"},
				{Measure: "top_languages[1] en", Published: "6", Computed: "6"},
				{Measure: "top_languages[2] ru", Published: "2", Computed: "2"},
			},
		},
		{
			name: "every kind of difference, with the basis in each note",
			pub: datasets.Published{Basis: "computed from files by X", AccountsAnnounced: i(10), Posts: i(10),
				LastPost: "2019-01-04 05:00", PostsCSVBytes: i(123), TopHashtags: []string{"VOTE:3", "nocount"},
				TopClients: []string{"we:b:1"}},
			want: []schema.PublishedComparison{
				{Measure: "accounts_announced", Published: "10", Computed: "7", Differs: true,
					Note: "computed -3 (-30.00%); announced counts often include accounts whose rows were withheld from the files; published: computed from files by X"},
				{Measure: "posts", Published: "10", Computed: "9", Differs: true, Note: "computed -1 (-10.00%); published: computed from files by X"},
				{Measure: "posts_csv_bytes", Published: "123", Computed: notComputed,
					Note: "the size of the original CSV; see the fetch stage's sources.json for the bytes actually fetched; published: computed from files by X"},
				{Measure: "last_post", Published: "2019-01-04 05:00", Computed: "2019-01-04 04:00", Differs: true,
					Note: "times compared to the minute, UTC; published: computed from files by X"},
				// Hashtags are compared normalized: #Vote and #vote count as one.
				{Measure: "top_hashtags[1] VOTE", Published: "3", Computed: "2", Differs: true,
					Note: "computed -1; summarize normalizes hashtags as the fingerprint stage keys them (case folding, NFKC), merging spellings that differ in case or width; published: computed from files by X"},
				{Measure: "top_hashtags[2] nocount", Published: "nocount", Computed: notComputed, Differs: true,
					Note: `published entry is not "value:count"; published: computed from files by X`},
				{Measure: "top_clients[1] we:b", Published: "1", Computed: "0", Differs: true,
					Note: "computed -1; published: computed from files by X"},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := DefaultParams()
			p.Published = &tc.pub
			st, out := run(t, newFixture().inputs(t), p)
			got := readAll[schema.PublishedComparison](t, filepath.Join(out, "published_comparison.parquet"))
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("published_comparison\n got %+v\nwant %+v", got, tc.want)
			}
			differs := 0
			for _, c := range tc.want {
				if c.Differs {
					differs++
				}
			}
			if st.PublishedFigures != int64(len(tc.want)) || st.PublishedDiffers != int64(differs) {
				t.Errorf("stats: figures %d differs %d", st.PublishedFigures, st.PublishedDiffers)
			}
			html, err := os.ReadFile(filepath.Join(out, HTMLReportFile))
			if err != nil {
				t.Fatal(err)
			}
			if n := strings.Count(string(html), `<tr class="differs">`); n != differs {
				t.Errorf("report.html marks %d rows as differing, want %d", n, differs)
			}
		})
	}
	_, out := run(t, newFixture().inputs(t), DefaultParams())
	if _, err := os.Stat(filepath.Join(out, "published_comparison.parquet")); !os.IsNotExist(err) {
		t.Errorf("without published figures the comparison table exists: %v", err)
	}
}

// chartMarks counts the data marks (class "m") inside each chart.
func chartMarks(t *testing.T, html string) map[string]int {
	t.Helper()
	out := map[string]int{}
	re := regexp.MustCompile(`(?s)<svg id="([a-z-]+)" class="chart".*?</svg>`)
	for _, m := range re.FindAllStringSubmatch(html, -1) {
		out[m[1]] = strings.Count(m[0], `class="m"`)
	}
	return out
}

func TestHTMLReport(t *testing.T) {
	f := newFixture()
	f.posts[0].Client = `<b>"x"&</b>`
	p := DefaultParams()
	p.BurstDays, p.BurstMinAccounts = 1, 2
	_, out := run(t, f.inputs(t), p)
	b, err := os.ReadFile(filepath.Join(out, HTMLReportFile))
	if err != nil {
		t.Fatal(err)
	}
	html := string(b)
	marks := chartMarks(t, html)
	// Bars: 4 timeline days with posts (one of the four is empty: 3 bars);
	// creation months 2017-01 and 2018-12; cluster sizes 2 and 3; 7
	// network nodes; entity bars.
	want := map[string]int{"chart-timeline": 3, "chart-creation": 2, "chart-cluster-sizes": 2, "chart-network": 7}
	for _, id := range ChartIDs {
		if _, ok := marks[id]; !ok {
			t.Errorf("report.html lacks chart %s", id)
			continue
		}
		if w, ok := want[id]; ok && marks[id] != w {
			t.Errorf("chart %s has %d marks, want %d", id, marks[id], w)
		}
		if marks[id] == 0 {
			t.Errorf("chart %s is empty", id)
		}
	}
	for _, bad := range []string{"<script", "src=", "href=", "https://", "@import", "url("} {
		if strings.Contains(html, bad) {
			t.Errorf("report.html contains %q: it must be self-contained and script-free", bad)
		}
	}
	if strings.Count(html, "http://") != strings.Count(html, `xmlns="http://www.w3.org/2000/svg"`) {
		t.Error("report.html references a URL other than the SVG namespace")
	}
	if !strings.Contains(html, "&lt;b&gt;&#34;x&#34;&amp;&lt;/b&gt;") || strings.Contains(html, "<b>") {
		t.Error("archive text is not escaped")
	}
	if !strings.Contains(html, "2018-12: 5 accounts created (creation burst)") {
		t.Error("creation chart lacks the burst month tooltip")
	}
	if !strings.Contains(html, "<th>posts</th><td class=\"n\">9</td>") {
		t.Error("headline table lacks the post count")
	}
}

func TestNetworkLayout(t *testing.T) {
	build := func(n int) *network {
		nw := &network{clusterID: "c", size: int64(n), index: map[string]int32{}, pairs: map[[2]int32]uint8{}}
		for i := range n {
			id := "acct-" + string(rune('a'+i%26)) + string(rune('a'+i/26))
			nw.nodes = append(nw.nodes, netNode{id: id})
			nw.index[id] = int32(i)
		}
		for i := 1; i < n; i++ {
			nw.pairs[[2]int32{int32(i / 2), int32(i)}] = sigText
		}
		nw.finish()
		return nw
	}
	for _, n := range []int{1, 2, 30, netMaxNodes} {
		a, b := build(n), build(n)
		if !reflect.DeepEqual(a.nodes, b.nodes) {
			t.Errorf("%d nodes: layout differs between runs", n)
		}
		for _, nd := range a.nodes {
			if nd.x < 0 || nd.x > 1 || nd.y < 0 || nd.y > 1 {
				t.Fatalf("%d nodes: %s at (%v, %v), outside the unit square", n, nd.id, nd.x, nd.y)
			}
		}
		if n > 2 {
			// Connected nodes end up closer than the average pair.
			var edgeLen, allLen float64
			for _, e := range a.edges {
				edgeLen += dist(a.nodes[e.a], a.nodes[e.b])
			}
			pairs := 0
			for i := range a.nodes {
				for j := i + 1; j < len(a.nodes); j++ {
					allLen += dist(a.nodes[i], a.nodes[j])
					pairs++
				}
			}
			if edgeLen/float64(len(a.edges)) >= allLen/float64(pairs) {
				t.Errorf("%d nodes: edges are not shorter than the average pair distance", n)
			}
		}
	}
}

func dist(a, b netNode) float64 {
	dx, dy := a.x-b.x, a.y-b.y
	return dx*dx + dy*dy
}
