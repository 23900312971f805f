package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/takedown-research/takedown/internal/store"
)

// TestStudyTwoDatasetsWithSweep runs a study of the demo and a local
// dataset with a window sweep: every run current and recorded as the
// study's, every table at its stable path, a flag that overrides the study
// said and seen by status, and the study's runs current again after run.
func TestStudyTwoDatasetsWithSweep(t *testing.T) {
	dir := t.TempDir()
	ws, other := filepath.Join(dir, "ws"), filepath.Join(dir, "other")
	cli := func(want int, args ...string) (string, string) {
		t.Helper()
		var stdout, stderr bytes.Buffer
		if code := run(append([]string{"takedown", "--workspace", ws}, args...), &stdout, &stderr); code != want {
			t.Fatalf("takedown %v: exit %d, want %d\n%s%s", args, code, want, &stdout, &stderr)
		}
		return stdout.String(), stderr.String()
	}
	cli(0, "synth", "--out", other, "--posts", "1000", "--accounts", "200", "--seed", "3", "--campaign", "other")
	var files strings.Builder
	for _, f := range []string{"other_users_csv_hashed.zip", "other_tweets_csv_hashed.zip"} {
		sum, _, err := store.FileDigest(filepath.Join(other, f))
		if err != nil {
			t.Fatal(err)
		}
		files.WriteString("      - path: other/" + f + "\n        sha256: " + sum + "\n")
	}
	studyFile := filepath.Join(dir, "takedown.yaml")
	text := "name: two-releases\ndatasets:\n  - name: demo\n  - name: local/other\n    files:\n" + files.String() +
		"params:\n  cluster:\n    window_seconds: 60\nsweep:\n  cluster.window_seconds: [10, 300]\n"
	if err := os.WriteFile(studyFile, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}

	out, _ := cli(0, "--study", studyFile, "run")
	if !strings.Contains(out, "study two-releases: 6 runs of 2 datasets") {
		t.Errorf("run output:\n%s", out)
	}
	out, _ = cli(0, "--study", studyFile, "status")
	if !strings.Contains(out, "all 30 stage runs current") {
		t.Errorf("status output:\n%s", out)
	}
	out, _ = cli(0, "--quiet", "--study", studyFile, "run")
	if out != "" {
		t.Errorf("--quiet run printed %q", out)
	}

	l, err := store.At(ws).ReadCurrent()
	if err != nil {
		t.Fatal(err)
	}
	if got := l.VariantNames(); strings.Join(got, " ") != "window_seconds-10 window_seconds-300" {
		t.Errorf("variants in the lock: %v", got)
	}
	n := 0
	l.Entries(func(variant, ds, stage string, e store.LockEntry) {
		n++
		if !strings.HasPrefix(e.Study, "two-releases@") {
			t.Errorf("%s %s %s: study %q", variant, ds, stage, e.Study)
		}
	})
	if n != 30 {
		t.Errorf("%d lock entries, want 30", n)
	}
	for _, p := range []string{
		"current/clusters/dataset=demo/part-0.parquet",
		"current/clusters/dataset=local%2Fother/part-0.parquet",
		"current/posts/dataset=local%2Fother/part-0.parquet",
		"variants/clusters/variant=window_seconds-10/dataset=demo/part-0.parquet",
		"variants/edges/variant=window_seconds-300/dataset=local%2Fother/part-0.parquet",
	} {
		if _, err := os.Stat(filepath.Join(ws, p)); err != nil {
			t.Errorf("stable path: %v", err)
		}
	}
	out, _ = cli(0, "path", "--dataset", "local/other", "clusters")
	if want := filepath.Join(ws, "current/clusters/dataset=local%2Fother/part-0.parquet"); strings.TrimSpace(out) != want {
		t.Errorf("path = %q, want %q", out, want)
	}

	// export writes every dataset of the study, laid out as current/.
	ex := filepath.Join(dir, "ex")
	cli(0, "--study", studyFile, "export", "--out", ex, "clusters")
	for _, p := range []string{"clusters/dataset=demo/part-0.csv", "clusters/dataset=local%2Fother/part-0.csv"} {
		if _, err := os.Stat(filepath.Join(ex, p)); err != nil {
			t.Errorf("study export: %v", err)
		}
	}
	if _, errOut := cli(2, "--study", studyFile, "export", "clusters"); !strings.Contains(errOut, "--out FOLDER") {
		t.Errorf("study export without --out: %q", errOut)
	}

	// A flag over the study: said, recorded as not the study's, and seen by status.
	_, errOut := cli(0, "--study", studyFile, "run", "--window", "30", "demo")
	if !strings.Contains(errOut, "--window override the study file") {
		t.Errorf("override not said: %q", errOut)
	}
	out, _ = cli(4, "--study", studyFile, "status", "demo")
	if !strings.Contains(out, "the study asks for window_seconds 60, the run has 30") {
		t.Errorf("status after an override:\n%s", out)
	}
	cli(0, "--quiet", "--study", studyFile, "run", "demo")
	cli(0, "--study", studyFile, "status")

	// gc removes the two runs of the override and keeps every variant's.
	out, _ = cli(0, "gc", "--dry-run")
	if !strings.Contains(out, "would remove 2 runs,") || !strings.Contains(out, "runs/demo/cluster/") || !strings.Contains(out, "runs/demo/summarize/") {
		t.Errorf("gc --dry-run:\n%s", out)
	}
	cli(0, "gc")
	cli(0, "--study", studyFile, "status")
}
