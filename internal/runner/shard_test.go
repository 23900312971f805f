package runner

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/takedown-research/takedown/internal/errkind"
	"github.com/takedown-research/takedown/internal/pqio"
	"github.com/takedown-research/takedown/internal/store"
	"github.com/takedown-research/takedown/internal/synth"
	"github.com/takedown-research/takedown/pipeline/cluster"
)

// TestShardsMergeToRun: normalize, fingerprint and cluster run as N shards (in
// parallel, as array tasks do) and merged publish the run ids, stats and
// bytes of an unsharded run, and summarize after them has the unsharded
// run's id and bytes; shards are removed after the merge.
func TestShardsMergeToRun(t *testing.T) {
	cfg := synth.DefaultConfig()
	cfg.Seed, cfg.Accounts, cfg.Posts, cfg.Campaign = 12, 800, 2*pqio.RowGroupRows+3000, "shards"
	cfg.Variants.Parts, cfg.Variants.Container = 3, synth.ContainerGzip
	t.Run("posts", func(t *testing.T) { shardsMergeToRun(t, cfg) })
	// With media: the merge hashes the images, as an unsharded run does.
	cfg.Accounts, cfg.Posts, cfg.Media = 400, pqio.RowGroupRows+3000, synth.DefaultMedia()
	if testing.Short() {
		// Fewer images (-short is the race detector's run, where hashing
		// them takes minutes); every image signal still has some.
		cfg.Media.ImageShare, cfg.Media.ImageSquads = 0.005, 1
	}
	t.Run("media", func(t *testing.T) { shardsMergeToRun(t, cfg) })
}

func shardsMergeToRun(t *testing.T, cfg synth.Config) {
	dir := t.TempDir()
	files, err := synth.Write(context.Background(), cfg, dir)
	if err != nil {
		t.Fatal(err)
	}
	const name = "local/shards"
	params := DefaultParams()
	params.Fetch.Media = cfg.Media.Archives > 0
	local := newRunner(t)
	addSynth(t, local, name, dir, files)
	want, err := local.Run(context.Background(), Options{Dataset: name, Params: params})
	if err != nil {
		t.Fatal(err)
	}
	if media := slices.ContainsFunc(want[2].Outputs, func(o store.Output) bool { return o.File == "image_fingerprints.parquet" }); media != params.Fetch.Media {
		t.Fatalf("the unsharded fingerprint run wrote image fingerprints: %v, want %v", media, params.Fetch.Media)
	}

	r := newRunner(t)
	addSynth(t, r, name, dir, files)
	ctx := context.Background()
	if _, err := r.Run(ctx, Options{Dataset: name, To: "fetch", Params: params}); err != nil {
		t.Fatal(err)
	}
	const n = 4
	for _, stage := range []string{"normalize", "fingerprint", "cluster"} {
		// A merge before the shards names the first missing one.
		_, err := r.Run(ctx, Options{Dataset: name, From: stage, To: stage, Params: params, Merge: n})
		if !errors.Is(err, store.ErrShard) || errkind.Of(err).ExitCode() != 4 || !strings.Contains(err.Error(), "shard 0/4") {
			t.Fatalf("%s merge before its shards: %v", stage, err)
		}
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() {
				res := cluster.Resources{Partitions: 2 + i} // shards need not agree: rounded to 4
				if stage == "cluster" {
					res = cluster.Resources{Partitions: 4}
				}
				_, errs[i] = r.Run(ctx, Options{Dataset: name, From: stage, To: stage, Params: params, Shard: ShardSpec{i, n}, Resources: res})
			})
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		res, err := r.Run(ctx, Options{Dataset: name, From: stage, To: stage, Params: params, Merge: n})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(r.WS.ShardSetDir(name, stage, res[0].RunID)); !os.IsNotExist(err) {
			t.Errorf("%s: shards left after the merge: %v", stage, err)
		}
	}
	got, err := r.Run(ctx, Options{Dataset: name, Params: params})
	if err != nil {
		t.Fatal(err)
	}
	for i, w := range want {
		g := got[i]
		if g.RunID != w.RunID {
			t.Errorf("%s: run id %s, unsharded %s", w.Stage, g.RunID, w.RunID)
		}
		var gs, ws any
		if err := errors.Join(json.Unmarshal(g.Stats, &gs), json.Unmarshal(w.Stats, &ws)); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(gs, ws) {
			t.Errorf("%s: stats %s, unsharded %s", w.Stage, g.Stats, w.Stats)
		}
		for _, o := range w.Outputs {
			a, _ := os.ReadFile(filepath.Join(w.Dir, o.File))
			b, err := os.ReadFile(filepath.Join(g.Dir, o.File))
			if err != nil || !bytes.Equal(a, b) {
				t.Errorf("%s: %s differs from the unsharded run's (%v)", w.Stage, o.File, err)
			}
		}
	}
}

// TestShardRefusals: --shard and --merge only on one stage that shards; a
// shard that is not the run's is refused at merge, naming it.
func TestShardRefusals(t *testing.T) {
	r := newRunner(t)
	ctx := context.Background()
	for _, o := range []Options{
		{Dataset: "demo", From: "summarize", To: "summarize", Shard: ShardSpec{0, 2}},
		{Dataset: "demo", Shard: ShardSpec{0, 2}},
		{Dataset: "demo", From: "cluster", To: "cluster", Shard: ShardSpec{0, 2}, Merge: 2},
	} {
		o.Params = DefaultParams()
		if _, err := r.Run(ctx, o); errkind.Of(err).ExitCode() != 2 {
			t.Errorf("%+v: %v, want a usage error", o, err)
		}
	}
	if got := ShardedStages(); !slices.Equal(got, []string{"normalize", "fingerprint", "cluster"}) {
		t.Errorf("stages that shard: %v", got)
	}
	for _, s := range []string{"2/2", "-1/2", "0/0", "1", "a/b", "0/2x"} {
		if _, err := ParseShard(s); err == nil {
			t.Errorf("ParseShard(%q) accepted", s)
		}
	}
	// Normalize shards of another run (other parameters) put in the place
	// of this run's: the merge names the shard and its run id.
	if _, err := r.Run(ctx, Options{Dataset: "demo", To: "fetch", Params: DefaultParams()}); err != nil {
		t.Fatal(err)
	}
	other := DefaultParams()
	other.Normalize.Format = "twitter-io"
	var otherID string
	for i := range 2 {
		res, err := r.Run(ctx, Options{Dataset: "demo", From: "normalize", To: "normalize", Params: other, Shard: ShardSpec{i, 2}})
		if err != nil {
			t.Fatal(err)
		}
		otherID = res[0].RunID
	}
	res, err := r.Run(ctx, Options{Dataset: "demo", From: "normalize", To: "normalize", Params: DefaultParams(), Shard: ShardSpec{0, 2}})
	if err != nil {
		t.Fatal(err)
	}
	if res[0].RunID == otherID {
		t.Fatal("the two normalize runs have one run id")
	}
	if err := os.CopyFS(filepath.Join(r.WS.ShardSetDir("demo", "normalize", res[0].RunID), "1-of-2"),
		os.DirFS(filepath.Join(r.WS.ShardSetDir("demo", "normalize", otherID), "1-of-2"))); err != nil {
		t.Fatal(err)
	}
	_, err = r.Run(ctx, Options{Dataset: "demo", From: "normalize", To: "normalize", Params: DefaultParams(), Merge: 2})
	if !errors.Is(err, store.ErrShard) || errkind.Of(err).ExitCode() != 4 || !strings.Contains(err.Error(), "1-of-2") || !strings.Contains(err.Error(), otherID) {
		t.Fatalf("merge with a shard of another run: %v", err)
	}
	if _, err := r.Run(ctx, Options{Dataset: "demo", To: "normalize", Params: DefaultParams()}); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if _, err := r.Run(ctx, Options{Dataset: "demo", From: "fingerprint", To: "fingerprint", Params: DefaultParams(), Shard: ShardSpec{i, 2}}); err != nil {
			t.Fatal(err)
		}
	}
	res, err = r.Run(ctx, Options{Dataset: "demo", From: "fingerprint", To: "fingerprint", Params: DefaultParams(), Shard: ShardSpec{1, 2}})
	if err != nil || !res[0].Cached {
		t.Fatalf("a published shard run again: %+v %v, want a cache hit", res, err)
	}
	// Shard 1 replaced by shard 0's files: its manifest no longer matches.
	set := r.WS.ShardSetDir("demo", "fingerprint", res[0].RunID)
	part := filepath.Join(set, "1-of-2", "fingerprints.parquet")
	b, err := os.ReadFile(filepath.Join(set, "0-of-2", "fingerprints.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(part, b, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = r.Run(ctx, Options{Dataset: "demo", From: "fingerprint", To: "fingerprint", Params: DefaultParams(), Merge: 2})
	if !errors.Is(err, store.ErrShard) || !strings.Contains(err.Error(), "1-of-2") || !strings.Contains(err.Error(), "--shard 1/2") {
		t.Fatalf("merge with an altered shard: %v", err)
	}
	// Running the shard again repairs it, and the merge goes through.
	if _, err := r.Run(ctx, Options{Dataset: "demo", From: "fingerprint", To: "fingerprint", Params: DefaultParams(), Shard: ShardSpec{1, 2}}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Run(ctx, Options{Dataset: "demo", From: "fingerprint", To: "fingerprint", Params: DefaultParams(), Merge: 2}); err != nil {
		t.Fatal(err)
	}
}
