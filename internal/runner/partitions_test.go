package runner

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/takedown-research/takedown/datasets"
	"github.com/takedown-research/takedown/internal/store"
	"github.com/takedown-research/takedown/internal/synth"
	"github.com/takedown-research/takedown/pipeline/cluster"
)

// addSynth describes the files of a synthetic population in dir as a local
// dataset of r's workspace.
func addSynth(t *testing.T, r *Runner, name, dir string, files []synth.File) {
	t.Helper()
	d := datasets.Descriptor{Name: name, Title: "local dataset " + name, Platform: "local", Format: "twitter-io", Local: true}
	for _, f := range files {
		p := filepath.Join(dir, f.Name)
		sum, n, err := store.FileDigest(p)
		if err != nil {
			t.Fatal(err)
		}
		d.Files = append(d.Files, datasets.File{Name: f.Name, Role: datasets.RoleOf(p), SHA256: sum, Bytes: n, Path: p})
	}
	if _, err := datasets.AddLocal(r.WS.Root, d); err != nil {
		t.Fatal(err)
	}
}

// TestClusterPartitions: --partitions and --memory change neither the
// cluster run id nor a byte of its outputs, on a synthetic population, for
// any number of partitions and GOMAXPROCS.
func TestClusterPartitions(t *testing.T) {
	cfg := synth.DefaultConfig()
	cfg.Seed, cfg.Accounts, cfg.Posts, cfg.Campaign = 11, 600, 20000, "parts"
	dir := t.TempDir()
	files, err := synth.Write(context.Background(), cfg, dir)
	if err != nil {
		t.Fatal(err)
	}
	const name = "local/parts"
	type outcome struct {
		runID    string
		files    map[string][]byte
		clusters int64
	}
	runWith := func(res cluster.Resources, procs int) outcome {
		t.Helper()
		old := runtime.GOMAXPROCS(procs)
		defer runtime.GOMAXPROCS(old)
		r := newRunner(t)
		addSynth(t, r, name, dir, files)
		results, err := r.Run(context.Background(), Options{Dataset: name, To: "cluster", Params: DefaultParams(), Resources: res})
		if err != nil {
			t.Fatalf("%+v: %v", res, err)
		}
		last := results[len(results)-1]
		out := outcome{runID: last.RunID, files: map[string][]byte{}}
		var st cluster.Stats
		if err := json.Unmarshal(last.Stats, &st); err != nil {
			t.Fatal(err)
		}
		out.clusters = st.Clusters
		entries, err := os.ReadDir(last.Dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if e.Name() == store.ManifestName {
				continue
			}
			if !e.Type().IsRegular() {
				t.Errorf("%+v: the published run holds %s, not a file", res, e.Name())
				continue
			}
			b, err := os.ReadFile(filepath.Join(last.Dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			out.files[e.Name()] = b
		}
		return out
	}
	want := runWith(cluster.Resources{}, 2)
	if len(want.files) != 4 || want.clusters < 5 {
		t.Fatalf("too little output to compare: %d files, %d clusters", len(want.files), want.clusters)
	}
	for _, tc := range []struct {
		res   cluster.Resources
		procs int
	}{
		{cluster.Resources{Partitions: 4}, 1},
		{cluster.Resources{Partitions: 16}, 4},
		{cluster.Resources{Memory: 1 << 30}, 2},
	} {
		got := runWith(tc.res, tc.procs)
		if got.runID != want.runID {
			t.Errorf("%+v: run id %s, default %s", tc.res, got.runID, want.runID)
		}
		for f, b := range want.files {
			if !bytes.Equal(got.files[f], b) {
				t.Errorf("%+v, GOMAXPROCS %d: %s differs", tc.res, tc.procs, f)
			}
		}
	}
}
