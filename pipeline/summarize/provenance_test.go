package summarize

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func testProvenance() *Provenance {
	return &Provenance{
		Dataset: DatasetInfo{Title: "Test release", Publisher: "Platform", ReleaseDate: "2019-05-01",
			Licence: "CC0", Citation: "Cite the test release.", BibTeX: "@misc{test,\n  title = {Test release},\n}\n"},
		Sources: []SourceFile{{Name: "tweets.csv", SHA256: strings.Repeat("ab", 32), Bytes: 1234567}},
		Upstream: []UpstreamRun{
			{Stage: "normalize", RunID: "n0000000000000000001", RunVersion: "4+pqio4", Params: json.RawMessage(`{"format":"auto"}`)},
			{Stage: "fingerprint", RunID: "f0000000000000000001", RunVersion: "5+pqio4", Params: json.RawMessage(`{"min_text_runes":12,"shingle_size":3}`)},
			{Stage: "cluster", RunID: "c0000000000000000001", RunVersion: "5+pqio4", Params: json.RawMessage(`{"signals":["co_text","co_url"],"window_seconds":120}`)},
		},
		RunArgs: []string{"--window", "120", "--signals", "co_text,co_url"},
	}
}

func TestProvenanceInReports(t *testing.T) {
	tests := []struct {
		name     string
		dataset  string
		pv       *Provenance
		wantMD   []string
		wantHTML []string
		notMD    []string
	}{
		{
			name: "from the runner", dataset: "test/ds", pv: testProvenance(),
			wantMD: []string{
				"run `r0000000000000000001`",
				"## Provenance",
				"- **Dataset:** `test/ds`, Test release\n",
				"- **Published by:** Platform\n",
				"- **Cite as:** Cite the test release.\n",
				"```bibtex\n@misc{test,\n  title = {Test release},\n}\n```",
				"| normalize | `n0000000000000000001` | `4+pqio4` | `format=\"auto\"` |",
				"| fingerprint | `f0000000000000000001` | `5+pqio4` | `min_text_runes=12, shingle_size=3` |",
				"| cluster | `c0000000000000000001` | `5+pqio4` | `signals=[\"co_text\",\"co_url\"], window_seconds=120` |",
				"| summarize (this run) | `r0000000000000000001` | `4+pqio4` | `burst_days=3, burst_min_accounts=10, published_figures=false, sensitivity_min_scores=[1,2,3,4,6], sensitivity_min_weights=[1,2,3], sensitivity_windows=[1,5,10,30,60], top_n=10` |",
				"| tweets.csv | `" + strings.Repeat("ab", 32) + "` | 1,234,567 |",
				"manifest.json (`code`)",
				"```sh\ntakedown fetch test/ds\ntakedown run --window 120 --signals co_text,co_url test/ds\ntakedown verify --dataset test/ds r0000000000000000001\n```",
			},
			wantHTML: []string{
				"run <code>r0000000000000000001</code>",
				"<h2 id=\"provenance\">Provenance</h2>",
				"<tr><th>cite as</th><td>Cite the test release.</td></tr>",
				"<tr><td>cluster</td><td class=\"id\"><code>c0000000000000000001</code></td><td class=\"id\"><code>5+pqio4</code></td><td><code>signals=[&#34;co_text&#34;,&#34;co_url&#34;], window_seconds=120</code></td></tr>",
				"<pre class=\"cmd\">takedown fetch test/ds\ntakedown run --window 120 --signals co_text,co_url test/ds\ntakedown verify --dataset test/ds r0000000000000000001</pre>",
			},
		},
		{
			name: "a dataset name a shell would split", dataset: "local/my data", pv: &Provenance{RunArgs: []string{"--format", "it's"}},
			wantMD: []string{"```sh\ntakedown fetch 'local/my data'\ntakedown run --format 'it'\\''s' 'local/my data'\ntakedown verify --dataset 'local/my data' r0000000000000000001\n```"},
		},
		{
			name: "outside the runner", dataset: "test/ds",
			wantMD:   []string{"No provenance was recorded", "| summarize (this run) | `r0000000000000000001` |"},
			wantHTML: []string{"No provenance was recorded"},
			notMD:    []string{"### Reproduce this", "takedown run"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := newFixture().inputs(t)
			in.Dataset, in.RunID, in.RunVersion = tc.dataset, "r0000000000000000001", "4+pqio4"
			p := DefaultParams()
			p.Provenance = tc.pv
			_, out := run(t, in, p)
			md, err := os.ReadFile(filepath.Join(out, ReportFile))
			if err != nil {
				t.Fatal(err)
			}
			html, err := os.ReadFile(filepath.Join(out, HTMLReportFile))
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.wantMD {
				if !strings.Contains(string(md), w) {
					t.Errorf("report.md lacks %q", w)
				}
			}
			for _, w := range tc.notMD {
				if strings.Contains(string(md), w) {
					t.Errorf("report.md has %q", w)
				}
			}
			for _, w := range tc.wantHTML {
				if !strings.Contains(string(html), w) {
					t.Errorf("report.html lacks %q", w)
				}
			}
		})
	}
}

// TestProvenanceEscaped checks that text from the descriptor, the manifests
// and the archive cannot make markup in either report.
func TestProvenanceEscaped(t *testing.T) {
	html := string(LongLabelHTML(t))
	if strings.Contains(html, Hostile) || strings.Contains(html, "<script") || strings.Contains(html, "<img") {
		t.Error("report.html holds hostile text unescaped")
	}
	if n := strings.Count(html, esc(Hostile)); n < 8 {
		t.Errorf("report.html holds the escaped hostile text %d times, want every provenance field", n)
	}
	in := newFixture().inputs(t)
	in.Dataset = Hostile
	p := DefaultParams()
	p.Provenance = &Provenance{Dataset: DatasetInfo{Title: Hostile, Citation: "a | b " + Hostile, BibTeX: "```" + Hostile},
		Sources: []SourceFile{{Name: "x|y.csv"}}}
	_, out := run(t, in, p)
	b, err := os.ReadFile(filepath.Join(out, ReportFile))
	if err != nil {
		t.Fatal(err)
	}
	md := string(b)
	// Code spans and fenced blocks show their text as it is; anywhere else
	// a '<' must be backslash-escaped.
	prose := regexp.MustCompile("(?s)(````.*?````|```.*?```|`[^`]*`)").ReplaceAllString(md, "")
	if m := regexp.MustCompile(`(^|[^\\])<(script|img)`).FindString(prose); m != "" {
		t.Errorf("report.md holds hostile text unescaped outside code: %q", m)
	}
	if !strings.Contains(prose, `\<script\>`) {
		t.Error("report.md lacks the escaped hostile title")
	}
	if !strings.Contains(md, "````bibtex\n```") {
		t.Error("the BibTeX fence is not longer than the backticks in it")
	}
	if !strings.Contains(md, `| x\|y.csv |`) {
		t.Error("a pipe in a file name is not escaped in its table cell")
	}
}

func TestClipWidth(t *testing.T) {
	tests := []struct {
		s    string
		maxW float64
		want string
	}{
		{"short", 100, "short"},
		{strings.Repeat("a", 40), 100, strings.Repeat("a", 12) + "…"},
		{strings.Repeat("選", 40), 100, strings.Repeat("選", 7) + "…"},
		{strings.Repeat("W", 40), 100, strings.Repeat("W", 8) + "…"},
		{"  two\n words ", 100, "two words"},
	}
	for _, tc := range tests {
		got := clipWidth(tc.s, tc.maxW, 11)
		if got != tc.want {
			t.Errorf("clipWidth(%q) = %q, want %q", tc.s, got, tc.want)
		}
		if textWidth(got, 11) > tc.maxW {
			t.Errorf("clipWidth(%q) = %q is %.1f px wide, more than %v", tc.s, got, textWidth(got, 11), tc.maxW)
		}
	}
}
