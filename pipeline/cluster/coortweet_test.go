package cluster

import (
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/takedown-research/takedown/internal/schema"
)

// coortweetFingerprints reads a CooRTweet input CSV (object_id, account_id,
// content_id, timestamp_share in seconds) as the fingerprints of the posts
// the coortweet input format makes of it: post_id = content_id, posted_at =
// timestamp_share * 1000, repost_key = object_id. Every third row is
// preceded by a post without a repost_key (by an account of its own, first
// in the table), which CooRTweet's input does not have and the network
// must not see.
func coortweetFingerprints(t *testing.T, path string) []schema.Fingerprint {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(recs[0], ",") != "object_id,account_id,content_id,timestamp_share" {
		t.Fatalf("%s: header %v", path, recs[0])
	}
	var rows []schema.Fingerprint
	for i, r := range recs[1:] {
		ts, err := strconv.ParseInt(r[3], 10, 64)
		if err != nil {
			t.Fatalf("%s line %d: %v", path, i+2, err)
		}
		if i%3 == 0 {
			rows = append(rows, schema.Fingerprint{PostID: "orig" + strconv.Itoa(i), AccountID: "zz-no-reposts", PostedAt: ts * 1000, TextKey: key(1)})
		}
		rows = append(rows, schema.Fingerprint{PostID: r[2], AccountID: r[1], PostedAt: ts * 1000, RepostKey: new(r[0])})
	}
	return rows
}

// TestCooRTweetOracle runs --compat coortweet on the inputs of
// testdata/coortweet with the arguments of its cases.tsv and compares
// coortweet_edges.csv byte for byte with the edge lists CooRTweet itself
// produced for them (testdata/coortweet/README.md).
func TestCooRTweetOracle(t *testing.T) {
	dir := filepath.Join("testdata", "coortweet")
	b, err := os.ReadFile(filepath.Join(dir, "cases.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if lines[0] != "case\tinput\ttime_window\tmin_participation\tremove_loops\tedge_weight\tsubgraph" {
		t.Fatalf("cases.tsv header %q", lines[0])
	}
	inputs := map[string]string{} // input CSV -> fingerprints table
	for _, line := range lines[1:] {
		in := strings.Split(line, "\t")[1]
		if _, ok := inputs[in]; !ok {
			inputs[in] = writeFPs(t, coortweetFingerprints(t, filepath.Join(dir, in)))
		}
	}
	for _, line := range lines[1:] {
		f := strings.Split(line, "\t")
		if len(f) != 7 {
			t.Fatalf("cases.tsv: %q", line)
		}
		name := f[0]
		t.Run(name, func(t *testing.T) {
			c := CooRTweetParams{RemoveLoops: f[4] == "TRUE"}
			var errs [4]error
			c.WindowSeconds, errs[0] = strconv.ParseFloat(f[2], 64)
			c.MinParticipation, errs[1] = strconv.Atoi(f[3])
			c.EdgeWeight, errs[2] = strconv.ParseFloat(f[5], 64)
			c.Subgraph, errs[3] = strconv.Atoi(f[6])
			for _, err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
			fps := inputs[f[1]]
			p := params(1)
			p.Compat, p.CooRTweet = CompatCooRTweet, c
			out := t.TempDir()
			st, err := Run(t.Context(), Input{FingerprintsPath: fps, ShingleSize: testShingleSize}, p, out, nil)
			if err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(filepath.Join(out, CooRTweetEdgesCSV))
			if err != nil {
				t.Fatal(err)
			}
			want, err := os.ReadFile(filepath.Join(dir, name+".edges.csv"))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != string(want) {
				t.Fatalf("coortweet_edges.csv:\n%s\nCooRTweet's:\n%s", got, want)
			}
			if n := int64(strings.Count(string(want), "\n") - 1); st.CooRTweetEdges != n {
				t.Errorf("stats coortweet_edges = %d, want %d", st.CooRTweetEdges, n)
			}
			gml, err := os.ReadFile(filepath.Join(out, CooRTweetEdgesGraphML))
			if err != nil {
				t.Fatal(err)
			}
			if n := strings.Count(string(gml), "<edge "); int64(n) != st.CooRTweetEdges {
				t.Errorf("graphml has %d edges, want %d", n, st.CooRTweetEdges)
			}
		})
	}
}

// TestCooRTweetParamsJSON: the CooRTweet arguments are in the parameter JSON
// (and so in the run id) only with --compat coortweet, and round-trip.
func TestCooRTweetParamsJSON(t *testing.T) {
	def, err := json.Marshal(DefaultParams())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(def), "coortweet") {
		t.Fatalf("default parameters mention coortweet: %s", def)
	}
	p := DefaultParams()
	p.Compat = CompatCooRTweet
	p.CooRTweet = CooRTweetParams{WindowSeconds: 0, MinParticipation: 0, RemoveLoops: false, EdgeWeight: 0, Subgraph: 0}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"coortweet":{"time_window":0,"min_participation":0,"remove_loops":false,"edge_weight":0,"subgraph":0}`) {
		t.Fatalf("parameters: %s", b)
	}
	back := DefaultParams()
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.CooRTweet != p.CooRTweet || back.Compat != p.Compat {
		t.Fatalf("round trip: %+v", back)
	}
}

func TestCooRTweetValidate(t *testing.T) {
	cases := []struct {
		name   string
		compat string
		edit   func(c *CooRTweetParams)
		ok     bool
	}{
		{"defaults without compat", "", func(*CooRTweetParams) {}, true},
		{"defaults", CompatCooRTweet, func(*CooRTweetParams) {}, true},
		{"window without compat", "", func(c *CooRTweetParams) { c.WindowSeconds = 60 }, false},
		{"loops with cnt", CompatToolkit, func(c *CooRTweetParams) { c.RemoveLoops = false }, false},
		{"window 0", CompatCooRTweet, func(c *CooRTweetParams) { c.WindowSeconds = 0 }, true},
		{"negative window", CompatCooRTweet, func(c *CooRTweetParams) { c.WindowSeconds = -1 }, false},
		{"min participation 0", CompatCooRTweet, func(c *CooRTweetParams) { c.MinParticipation = 0 }, true},
		{"negative min participation", CompatCooRTweet, func(c *CooRTweetParams) { c.MinParticipation = -1 }, false},
		{"edge weight 1", CompatCooRTweet, func(c *CooRTweetParams) { c.EdgeWeight = 1 }, true},
		{"edge weight above 1", CompatCooRTweet, func(c *CooRTweetParams) { c.EdgeWeight = 1.5 }, false},
		{"subgraph 1", CompatCooRTweet, func(c *CooRTweetParams) { c.Subgraph = 1 }, true},
		{"subgraph 2", CompatCooRTweet, func(c *CooRTweetParams) { c.Subgraph = 2 }, false},
	}
	for _, tc := range cases {
		p := DefaultParams()
		p.Compat = tc.compat
		tc.edit(&p.CooRTweet)
		if err := p.Validate(); (err == nil) != tc.ok {
			t.Errorf("%s: Validate = %v", tc.name, err)
		}
	}
}

// TestQuantileType7 checks quantileType7 against values of R's
// quantile(x, p) (type 7), printed with sprintf("%.17g") by R 4.2.2.
func TestQuantileType7(t *testing.T) {
	cases := []struct {
		x    []float64
		p    float64
		want float64
	}{
		{[]float64{1}, 0.5, 1},
		{[]float64{3, 1, 2, 4}, 0.5, 2.5},
		{[]float64{1, 1, 1, 5}, 0.9, 3.8000000000000007},
		{[]float64{1, 2, 3, 4, 5}, 0, 1},
		{[]float64{1, 2, 3, 4, 5}, 1, 5},
		{[]float64{1, 2, 2, 2, 9}, 0.75, 2},
		{[]float64{1, 2, 3, 7, 20, 41}, 0.99, 39.950000000000003},
		{[]float64{1, 1, 2, 3, 5, 8, 13}, 1.0 / 3, 2},
	}
	for _, tc := range cases {
		if got := quantileType7(tc.x, tc.p); got != tc.want {
			t.Errorf("quantile(%v, %v) = %v, want %v", tc.x, tc.p, got, tc.want)
		}
	}
}
