package store

import (
	"os"
	"path/filepath"
	"testing"
)

func TestStablePathsFollowTheLock(t *testing.T) {
	w, err := Open(filepath.Join(t.TempDir(), "ws"))
	if err != nil {
		t.Fatal(err)
	}
	mkRun := func(ds, stage, id, file, body string) {
		dir := w.RunDir(ds, stage, id)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, file), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	mkRun("demo", "cluster", "aaa", "clusters.parquet", "run aaa")
	mkRun("demo", "cluster", "bbb", "clusters.parquet", "run bbb")
	mkRun("local/x", "cluster", "ccc", "clusters.parquet", "run ccc")
	entry := func(id string) LockEntry {
		return LockEntry{RunID: id, Outputs: map[string]string{"clusters.parquet": "x", "cnt_edges.csv": "y"}}
	}
	l := &Lock{Datasets: map[string]map[string]LockEntry{
		"demo":    {"cluster": entry("aaa")},
		"local/x": {"cluster": entry("ccc")},
	}}
	l.Variant("w10").Datasets["demo"] = map[string]LockEntry{"cluster": entry("bbb")}
	if err := w.WriteCurrent(l); err != nil {
		t.Fatal(err)
	}
	read := func(p string) string {
		t.Helper()
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	for p, want := range map[string]string{
		w.CurrentTablePath("", "demo", "clusters"):    "run aaa",
		w.CurrentTablePath("", "local/x", "clusters"): "run ccc",
		w.CurrentTablePath("w10", "demo", "clusters"): "run bbb",
	} {
		if got := read(p); got != want {
			t.Errorf("%s reads %q, want %q", p, got, want)
		}
	}
	if got := w.CurrentTablePath("", "local/x", "clusters"); filepath.Base(filepath.Dir(got)) != "dataset=local%2Fx" {
		t.Errorf("a dataset name's / is not escaped: %s", got)
	}
	if _, err := os.Stat(filepath.Join(w.Root, "current", "cnt_edges")); err == nil {
		t.Error("a file that is not a table got a stable path")
	}

	// The lock moves on: the links follow, and what it no longer names goes.
	l.Datasets["demo"]["cluster"] = entry("bbb")
	delete(l.Datasets, "local/x")
	l.Variants = nil
	if err := w.WriteCurrent(l); err != nil {
		t.Fatal(err)
	}
	if got := read(w.CurrentTablePath("", "demo", "clusters")); got != "run bbb" {
		t.Errorf("after the change: %q", got)
	}
	for _, gone := range []string{filepath.Dir(w.CurrentTablePath("", "local/x", "clusters")), filepath.Join(w.Root, "variants")} {
		if _, err := os.Stat(gone); !os.IsNotExist(err) {
			t.Errorf("%s: still there (%v)", gone, err)
		}
	}
	entries, _ := os.ReadDir(filepath.Dir(w.CurrentTablePath("", "demo", "clusters")))
	if len(entries) != 1 {
		t.Errorf("the dataset folder holds %d entries, want only part-0.parquet", len(entries))
	}
}
