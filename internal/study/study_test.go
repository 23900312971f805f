package study

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/takedown-research/takedown/internal/errkind"
	"github.com/takedown-research/takedown/internal/runner"
)

func write(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), FileName)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestTemplateIsTheDefaults(t *testing.T) {
	s, err := Load(write(t, Template))
	if err != nil {
		t.Fatal(err)
	}
	jobs := s.Jobs()
	if len(jobs) != 1 || jobs[0].Dataset != "demo" || jobs[0].Variant != "" {
		t.Fatalf("jobs = %+v", jobs)
	}
	d := runner.DefaultParams()
	if got := jobs[0].Params; got.Cluster.WindowSeconds != d.Cluster.WindowSeconds || got.Cluster.MinWeight != d.Cluster.MinWeight || got.Cluster.MinScore != d.Cluster.MinScore {
		t.Errorf("the template's parameters are not the defaults: %+v", got.Cluster)
	}
}

func TestStudyParameters(t *testing.T) {
	sum := strings.Repeat("ab", 32)
	s, err := Load(write(t, `name: two
datasets:
  - name: demo
    params:
      cluster: {min_weight: 3}
  - name: local/other
    format: auto
    files:
      - {path: data/x_tweets_csv_hashed.zip, sha256: `+sum+`}
params:
  cluster:
    window_seconds: 30
  summarize:
    top_n: 5
variants:
  strict:
    cluster: {min_score: 8}
sweep:
  cluster.window_seconds: [10, 300]
`))
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		ds, variant   string
		window, score float64
		weight, topN  int
	}
	want := []row{
		{"demo", "", 30, 4, 3, 5},
		{"local/other", "", 30, 4, 2, 5},
		{"demo", "strict", 30, 8, 3, 5},
		{"local/other", "strict", 30, 8, 2, 5},
		{"demo", "window_seconds-10", 10, 4, 3, 5},
		{"local/other", "window_seconds-10", 10, 4, 2, 5},
		{"demo", "window_seconds-300", 300, 4, 3, 5},
		{"local/other", "window_seconds-300", 300, 4, 2, 5},
	}
	jobs := s.Jobs()
	if len(jobs) != len(want) {
		t.Fatalf("%d jobs, want %d: %+v", len(jobs), len(want), jobs)
	}
	for i, j := range jobs {
		got := row{j.Dataset, j.Variant, j.Params.Cluster.WindowSeconds, j.Params.Cluster.MinScore, j.Params.Cluster.MinWeight, j.Params.Summarize.TopN}
		if got != want[i] {
			t.Errorf("job %d = %+v, want %+v", i, got, want[i])
		}
	}
	local := s.Datasets[1].Local
	if local == nil || len(local.Files) != 1 || local.Files[0].SHA256 != sum || !filepath.IsAbs(local.Files[0].Path) || local.Files[0].Role != "tweets" {
		t.Errorf("local dataset = %+v", local)
	}
	if s.SHA256 == "" || !filepath.IsAbs(s.Path) {
		t.Errorf("study path %q, sha256 %q", s.Path, s.SHA256)
	}
}

// TestStudyColumnMap: a local dataset's map goes into its descriptor (and
// makes its format generic); a map parameter into every job.
func TestStudyColumnMap(t *testing.T) {
	sum := strings.Repeat("ab", 32)
	s, err := Load(write(t, `name: maps
datasets:
  - name: local/gen
    map: time=ts,account=user,post=id
    files:
      - {path: data/posts.csv, sha256: `+sum+`}
  - name: local/gen2
    files:
      - {path: data/posts.csv, sha256: `+sum+`}
    params:
      normalize: {map: "account=u,post=p,time=t:ms"}
`))
	if err != nil {
		t.Fatal(err)
	}
	if d := s.Datasets[0].Local; d == nil || d.Format != "generic" || d.Map != "time=ts,account=user,post=id" || s.Datasets[0].Params.Normalize.Map != "" {
		t.Errorf("local/gen: %+v, params %+v", d, s.Datasets[0].Params.Normalize)
	}
	if d, p := s.Datasets[1].Local, s.Datasets[1].Params.Normalize; d == nil || d.Format != "auto" || d.Map != "" || p.Map != "account=u,post=p,time=t:ms" {
		t.Errorf("local/gen2: %+v, params %+v", d, p)
	}
}

func TestBadStudyFiles(t *testing.T) {
	for _, c := range []struct {
		name, text string
		want       []string // substrings of the error, the first being file:line
	}{
		{"unknown top-level key", "name: x\ndatasets: [{name: demo}]\nparamz: {}\n", []string{":3:", `unknown field "paramz"`}},
		{"unknown parameter", "name: x\ndatasets: [{name: demo}]\nparams:\n  cluster:\n    windw_seconds: 3\n", []string{":5:", `unknown field "windw_seconds"`, "docs/study.md"}},
		{"unknown stage", "name: x\ndatasets: [{name: demo}]\nparams:\n  clustr: {min_weight: 2}\n", []string{":4:", `unknown stage "clustr"`}},
		{"wrong type", "name: x\ndatasets: [{name: demo}]\nparams:\n  cluster:\n    min_weight: lots\n", []string{":5:", "min_weight"}},
		{"out of range", "name: x\ndatasets: [{name: demo}]\nparams:\n  cluster:\n    min_weight: 0\n", []string{":4:", "min-weight must be >= 1"}},
		{"out of range for one dataset", "name: x\ndatasets:\n  - name: demo\n    params:\n      cluster: {min_score: -1}\n", []string{":5:", "dataset demo", "min-score"}},
		{"unknown dataset", "name: x\ndatasets:\n  - name: demo\n  - name: twitter-io/nosuch\n", []string{":4:", "datasets[1]", "unknown dataset"}},
		{"dataset twice", "name: x\ndatasets:\n  - name: demo\n  - name: demo\n", []string{":4:", "listed twice"}},
		{"no name", "datasets: [{name: demo}]\n", []string{"no name"}},
		{"no datasets", "name: x\n", []string{"names no datasets"}},
		{"derived parameter", "name: x\ndatasets: [{name: demo}]\nparams:\n  fingerprint: {minhash: true}\n", []string{":4:", "not a parameter"}},
		{"local file without sha256", "name: x\ndatasets:\n  - name: local/a\n    files: [{path: a.zip}]\n", []string{":3:", "sha256"}},
		{"bad sweep key", "name: x\ndatasets: [{name: demo}]\nsweep:\n  window: [1, 2]\n", []string{":4:", "stage.parameter"}},
		{"sweep value out of range", "name: x\ndatasets: [{name: demo}]\nsweep:\n  cluster.min_weight: [2, 0]\n", []string{":4:", "min-weight"}},
		{"sweep value of wrong type", "name: x\ndatasets: [{name: demo}]\nsweep:\n  cluster.min_weight: [two]\n", []string{":4:", "sweep.cluster.min_weight"}},
		{"variant twice", "name: x\ndatasets: [{name: demo}]\nvariants:\n  window_seconds-10: {cluster: {window_seconds: 10}}\nsweep:\n  cluster.window_seconds: [10]\n", []string{":6:", "given twice"}},
		{"not YAML", "name: [x\n", []string{":1:"}},
		{"bad column map", "name: x\ndatasets:\n  - name: local/a\n    map: account=a,post=p\n    files: [{path: a.csv, sha256: " + strings.Repeat("ab", 32) + "}]\n", []string{"", "local/a", "map: required keys missing: time"}},
		{"map with another format", "name: x\ndatasets:\n  - name: local/a\n    format: cnt\n    map: account=a,post=p,time=t\n    files: [{path: a.csv, sha256: " + strings.Repeat("ab", 32) + "}]\n", []string{"", "map: a column map is for the generic format, not cnt"}},
		{"bad map parameter", "name: x\ndatasets: [{name: demo}]\nparams:\n  normalize: {map: 'acount=a'}\n", []string{"", "unknown key \"acount\""}},
		{"map of a registry dataset", "name: x\ndatasets:\n  - name: demo\n    map: account=a,post=p,time=t\n", []string{"", "format, map and title are for local datasets"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := write(t, c.text)
			_, err := Load(p)
			if err == nil {
				t.Fatal("loaded")
			}
			if !errors.Is(err, ErrStudy) || errkind.Of(err) != errkind.Usage {
				t.Errorf("err %v: not a usage error of kind ErrStudy", err)
			}
			msg := err.Error()
			if at := c.want[0]; !strings.Contains(msg, p+at) && !(at[0] != ':' && strings.Contains(msg, p)) {
				t.Errorf("error does not name %s%s:\n%s", p, at, msg)
			}
			for _, w := range c.want[1:] {
				if !strings.Contains(msg, w) {
					t.Errorf("error lacks %q:\n%s", w, msg)
				}
			}
		})
	}
}
