package cluster

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/takedown-research/takedown/internal/schema"
)

// windowFixture is a set of URLs whose coordination interval is worked out
// by hand in TestEstimateWindow: 3000 ms over 2 URLs.
func windowFixture() map[string][]int64 {
	s := int64(1000)
	return map[string][]int64{
		// Second share after 1 s; 5 shares, rank 3 > 5/2 arrives at 5 s.
		"https://fast.example/a": {0, 30 * s, 1 * s, 9 * s, 5 * s},
		// Second share after 1 s; 3 shares, rank 2 > 3/2 arrives at 1 s.
		"https://fast.example/b": {100 * s, 101 * s, 120 * s},
		// Eight slow URLs: second share after 100 s or more.
		"https://slow.example/1": {0, 100 * s},
		"https://slow.example/2": {0, 110 * s, 111 * s},
		"https://slow.example/3": {0, 120 * s},
		"https://slow.example/4": {0, 130 * s},
		"https://slow.example/5": {0, 140 * s},
		"https://slow.example/6": {0, 150 * s},
		"https://slow.example/7": {0, 160 * s},
		"https://slow.example/8": {0, 170 * s},
		// Shared once: not part of the estimate.
		"https://once.example/": {7 * s},
	}
}

// TestEstimateWindow checks CooRnet's interval on the fixture. The ten
// second-share delays are 1, 1, 100, 110, ..., 170 s; their 0.1 quantile
// (type 7: h = 9 * 0.1 = 0.9, between the 1st and 2nd) is 1 s, so the two
// fast URLs are the fastest 10%. Their times until more than half of their
// shares arrived are 5 s and 1 s, whose median is 3 s.
func TestEstimateWindow(t *testing.T) {
	var shares [][]int64
	for _, ts := range windowFixture() {
		shares = append(shares, ts)
	}
	ms, urls, ok := EstimateWindow(shares)
	if !ok || ms != 3000 || urls != 2 {
		t.Fatalf("EstimateWindow = %d ms over %d URLs (ok %v), want 3000 ms over 2", ms, urls, ok)
	}
	if _, _, ok := EstimateWindow([][]int64{{5}, {7}}); ok {
		t.Error("URLs shared once gave an estimate")
	}
	// One URL: its own time to more than half of 4 shares (rank 3).
	if ms, _, _ := EstimateWindow([][]int64{{10, 0, 2500, 4000}}); ms != 2500 {
		t.Errorf("one URL: %d ms, want 2500", ms)
	}
	if q := quantile7([]float64{1, 2, 3, 4}, 0.5); q != 2.5 {
		t.Errorf("quantile7 median of 1..4 = %v, want 2.5", q)
	}
}

// windowRows are the fixture's URLs, each share by its own account, plus
// two accounts that post the same text 2.9 s and 3.1 s apart.
func windowRows() []schema.Fingerprint {
	var rows []schema.Fingerprint
	n := 0
	for u, ts := range windowFixture() {
		for _, at := range ts {
			n++
			rows = append(rows, schema.Fingerprint{
				PostID: "u" + strconv.Itoa(n), AccountID: "url-account-" + strconv.Itoa(n), PostedAt: t0 + at, URLKeys: []string{u},
			})
		}
	}
	rows = append(rows,
		fp("x1", "x", 1_000_000, 11), fp("y1", "y", 1_002_900, 11),
		fp("x2", "x", 2_000_000, 12), fp("y2", "y", 2_003_100, 12),
	)
	return rows
}

// TestWindowAuto runs the stage with --window auto on windowRows: the
// estimated 3 s window pairs the first two posts of the same text and not
// the second, whatever the signals.
func TestWindowAuto(t *testing.T) {
	rows := windowRows()
	for _, signals := range [][]string{{schema.SignalCoText}, {schema.SignalCoText, schema.SignalCoURL}} {
		p := params(1)
		p.WindowSeconds, p.WindowAuto = 0, true
		p.Signals = signals
		out := run(t, rows, p)
		st := out.stats
		if st.WindowMillis != 3000 || !st.WindowEstimated || st.WindowURLs != 2 {
			t.Fatalf("signals %v: window %d ms, estimated %v over %d URLs; want 3000 ms, true, 2", signals, st.WindowMillis, st.WindowEstimated, st.WindowURLs)
		}
		if st.Edges[schema.SignalCoText] != 1 || len(out.evidence) == 0 || out.evidence[0].DtMillis != 2900 {
			t.Fatalf("signals %v: co_text edges %d, evidence %+v; want one edge with dt 2900", signals, st.Edges[schema.SignalCoText], out.evidence)
		}
		if _, ok := st.Edges[schema.SignalCoURL]; ok != (len(signals) == 2) {
			t.Errorf("signals %v: edges_by_signal %v", signals, st.Edges)
		}
	}
	p := params(1)
	p.WindowSeconds = 3
	if st := run(t, rows, p).stats; st.WindowEstimated || st.WindowMillis != 3000 || st.WindowURLs != 0 {
		t.Errorf("--window 3: stats %+v", st)
	}

	// Without a URL shared twice there is nothing to estimate from.
	p = params(1)
	p.WindowSeconds, p.WindowAuto = 0, true
	_, err := Run(context.Background(), Input{FingerprintsPath: writeFPs(t, rows[len(rows)-4:]), ShingleSize: testShingleSize}, p, t.TempDir(), nil)
	if err == nil || !strings.Contains(err.Error(), "--window auto: no URL") {
		t.Errorf("no URLs: err = %v", err)
	}
}

func TestParseWindow(t *testing.T) {
	cases := []struct {
		in      string
		seconds float64
		auto    bool
		err     string
	}{
		{"60", 60, false, ""},
		{" 0.5 ", 0.5, false, ""},
		{"0", 0, false, ""},
		{"auto", 0, true, ""},
		{"-1", 0, false, "--window must be >= 0, got -1"},
		{"1m", 0, false, `--window must be a number of seconds or auto, got "1m"`},
		{"NaN", 0, false, "--window must be a number of seconds or auto"},
		{"", 0, false, "--window must be a number of seconds or auto"},
	}
	for _, c := range cases {
		s, auto, err := ParseWindow(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("ParseWindow(%q) error %v, want %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil || s != c.seconds || auto != c.auto {
			t.Errorf("ParseWindow(%q) = %v, %v, %v; want %v, %v", c.in, s, auto, err, c.seconds, c.auto)
		}
	}
}
