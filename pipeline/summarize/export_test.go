package summarize

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Hostile is text from data that would break the page if it were not
// escaped: it closes the elements the report puts data in and opens a
// script.
const Hostile = `</code></pre></td><script>alert("x")</script><img src=x onerror=alert(1)>`

// LongLabelHTML renders report.html for the hand-made fixture with labels as
// long and wide as archives have them (hashtags in CJK, long domains,
// clients and mentions, a long cluster id), and hostile text in every
// provenance field, for the browser test of TestReportInBrowser: no label
// may run out of its chart.
func LongLabelHTML(t *testing.T) []byte {
	t.Helper()
	f := newFixture()
	wide := strings.Repeat("選挙", 20)
	for i := range f.posts {
		p := &f.posts[i]
		p.Hashtags = append(p.Hashtags, wide, "WWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWW")
		p.URLs = append(p.URLs, "https://www.a-very-long-registrable-domain-name-for-a-news-site.example/x")
		p.Mentions = append(p.Mentions, "@MMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMM")
		p.Client = "Twitter for Android (a client name as long as they come in archives)"
	}
	long := "c-" + strings.Repeat("0123456789abcdef", 6)
	for i := range f.clusters {
		if f.clusters[i].ClusterID == "c-bbb" {
			f.clusters[i].ClusterID = long
		}
	}
	in := f.inputs(t)
	in.Dataset = "local/" + Hostile
	in.RunID, in.RunVersion = "0123456789abcdef0123", "4+pqio4"
	p := DefaultParams()
	p.Provenance = &Provenance{
		Dataset: DatasetInfo{Title: Hostile, Publisher: Hostile, Licence: Hostile, Citation: Hostile, BibTeX: Hostile},
		Sources: []SourceFile{{Name: Hostile, SHA256: strings.Repeat("ab", 32), Bytes: 1 << 40}},
		Upstream: []UpstreamRun{{Stage: "normalize", RunID: Hostile, RunVersion: Hostile,
			Params: []byte(`{"format":"` + strings.ReplaceAll(Hostile, `"`, `\"`) + `"}`)}},
		RunArgs: []string{"--format", Hostile},
	}
	out := t.TempDir()
	if _, err := Run(t.Context(), in, p, out, nil); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(out, HTMLReportFile))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
