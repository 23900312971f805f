package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/takedown-research/takedown/datasets"
	"github.com/takedown-research/takedown/internal/schema"
	"github.com/takedown-research/takedown/internal/store"
	"github.com/takedown-research/takedown/pipeline/cluster"
	"github.com/takedown-research/takedown/pipeline/fingerprint"
	"github.com/takedown-research/takedown/pipeline/normalize"
)

// ShardSpec is one shard of a stage run: Index of Count, from 0.
type ShardSpec struct{ Index, Count int }

// ParseShard parses "i/N" (--shard).
func ParseShard(s string) (ShardSpec, error) {
	var sp ShardSpec
	var rest string
	if n, err := fmt.Sscanf(s, "%d/%d%s", &sp.Index, &sp.Count, &rest); (err != nil && n < 2) || rest != "" {
		return ShardSpec{}, fmt.Errorf("%w: --shard %q: want INDEX/COUNT, e.g. 0/4", ErrUsage, s)
	}
	if sp.Count < 1 || sp.Index < 0 || sp.Index >= sp.Count || sp.Count > cluster.MaxPartitions {
		return ShardSpec{}, fmt.Errorf("%w: --shard %s: want 0 <= INDEX < COUNT <= %d", ErrUsage, s, cluster.MaxPartitions)
	}
	return sp, nil
}

// ShardedStages lists the stages that run as shards.
func ShardedStages() []string {
	var out []string
	for _, d := range defs {
		if d.shard != nil {
			out = append(out, d.name)
		}
	}
	return out
}

// checkSharding refuses --shard and --merge but on one stage that shards,
// and on object storage.
func (r *Runner) checkSharding(stages []string, o Options) error {
	if o.Shard.Count == 0 && o.Merge == 0 {
		return nil
	}
	if r.WS.Remote() {
		return fmt.Errorf("%w: --shard and --merge need a workspace on a filesystem every task shares (a local path, NFS, a PersistentVolume); on object storage run the stage unsharded", ErrUsage)
	}
	if o.Shard.Count > 0 && o.Merge > 0 {
		return fmt.Errorf("%w: --shard and --merge are separate steps: run every shard, then the merge", ErrUsage)
	}
	if o.Merge < 0 || o.Merge > cluster.MaxPartitions {
		return fmt.Errorf("%w: --merge %d: want 1 to %d shards", ErrUsage, o.Merge, cluster.MaxPartitions)
	}
	if len(stages) != 1 {
		return fmt.Errorf("%w: --shard and --merge run one stage: use them with a stage command (takedown %s --shard 0/4 DATASET)", ErrUsage, stages[len(stages)-1])
	}
	if def, _ := defOf(stages[0]); def.shard == nil {
		return fmt.Errorf("%w: stage %s does not run in shards (stages that do: %v)", ErrUsage, stages[0], ShardedStages())
	}
	return nil
}

// runShard computes one shard of a stage run and publishes it under
// shards/, holding the workspace shared and only that shard exclusively,
// so that the shards of a dataset run at once. The lock is read, never
// written: the run is current only once the merge publishes it. A run
// already published needs no shard (a cache hit), nor does a shard already
// published intact.
func (r *Runner) runShard(ctx context.Context, desc datasets.Descriptor, name string, o Options) (Result, error) {
	i, n := o.Shard.Index, o.Shard.Count
	label := fmt.Sprintf("%d/%d", i, n)
	unlock, err := r.WS.ShardLock(desc.Name, name, i, n, r.Wait)
	if err != nil {
		return Result{}, err
	}
	defer unlock()
	root, err := r.WS.ReadCurrent()
	if err != nil {
		return Result{}, err
	}
	pl, err := r.planStage(root.Variant(o.Variant), desc, name, o)
	if err != nil {
		return Result{}, err
	}
	def := pl.def
	log := r.Log.With("dataset", desc.Name, "stage", name, "run_id", pl.runID, "shard", label)
	if run, err := r.WS.ReadRun(desc.Name, name, pl.runID); err == nil && len(store.CheckOutputs(run.Dir, run.Manifest)) == 0 {
		log.Info("run already published: no shard to compute", "event", "stage_cached")
		return Result{Stage: name, RunID: pl.runID, Cached: true, Dir: run.Dir, Stats: run.Manifest.Stats, Outputs: run.Manifest.Outputs, Shard: label}, nil
	}
	resources := fmt.Sprintf("%+v", o.Resources)
	sh, err := r.WS.ReadShard(desc.Name, name, pl.runID, def.runVersion(), i, n)
	switch {
	case err == nil && sh.Manifest.Resources == resources:
		log.Info("shard cache hit", "event", "stage_cached")
		return Result{Stage: name, RunID: pl.runID, Cached: true, Dir: sh.Dir, Stats: sh.Manifest.Meta, Outputs: sh.Manifest.Outputs, Shard: label}, nil
	case err != nil && !errors.Is(err, store.ErrShard):
		return Result{}, err
	}
	log.Info("running shard", "event", "stage_start")
	start := time.Now()
	st, err := r.WS.Begin(desc.Name, name, pl.runID)
	if err != nil {
		return Result{}, err
	}
	env := &execEnv{ws: r.WS, desc: desc, params: pl.rawParams, inputs: pl.inputs, outDir: st.Dir, log: log, self: pl.runID,
		fx: execExtra{resources: o.Resources}}
	if r.Progress != nil {
		t := r.Progress.Stage(desc.Name, name, pl.runID)
		env.meter = t
		defer t.End()
	}
	meta, err := def.shard(ctx, env, i, n)
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		st.Discard()
		if ctx.Err() != nil {
			return Result{}, ctx.Err()
		}
		return Result{}, fmt.Errorf("%s %s shard %d/%d: %w", name, desc.Name, i, n, err)
	}
	raw, err := json.Marshal(meta)
	if err != nil {
		st.Discard()
		return Result{}, fmt.Errorf("encode shard meta: %w", err)
	}
	sh, err = st.PublishShard(def.runVersion(), resources, i, n, raw)
	if err != nil {
		return Result{}, err
	}
	wall := time.Since(start).Milliseconds()
	log.Info("shard done", "event", "stage_done", "wall_ms", wall)
	return Result{Stage: name, RunID: pl.runID, Dir: sh.Dir, Stats: raw, WallMillis: wall, Outputs: sh.Manifest.Outputs, Shard: label}, nil
}

// removeShards removes the shards of a run its merge published; a failure
// leaves them for gc.
func (r *Runner) removeShards(dataset, stage, runID string, log *slog.Logger) {
	if err := r.WS.RemoveShards(dataset, stage, runID); err != nil {
		log.Warn("could not remove the merged shards; takedown gc removes them", "error", err)
	}
}

// shardMetas decodes the shards' meta into T, naming a shard that does not
// decode.
func shardMetas[T any](shards []*store.Shard) ([]T, error) {
	out := make([]T, len(shards))
	for i, s := range shards {
		if err := json.Unmarshal(s.Manifest.Meta, &out[i]); err != nil {
			return nil, fmt.Errorf("%w: shard %s: meta does not decode: %v", store.ErrShard, s.Dir, err)
		}
	}
	return out, nil
}

// fingerprintRun returns the fingerprint stage's parameters and input.
func (e *execEnv) fingerprintRun() (fingerprint.Params, fingerprint.Input, error) {
	p, err := decode(e.params, fingerprint.DefaultParams())
	if err != nil {
		return p, fingerprint.Input{}, err
	}
	posts, err := e.path(up(normalize.Name, schema.TablePosts))
	if err != nil {
		return p, fingerprint.Input{}, err
	}
	images, err := e.imageInput()
	return p, fingerprint.Input{PostsPath: posts, Progress: e.meter, Images: images}, err
}

func fingerprintShard(ctx context.Context, e *execEnv, i, n int) (any, error) {
	p, in, err := e.fingerprintRun()
	if err != nil {
		return nil, err
	}
	in.Images = fingerprint.ImageInput{} // hashed at the merge
	return fingerprint.RunShard(ctx, in, p, i, n, e.outDir, e.log)
}

func fingerprintMerge(ctx context.Context, e *execEnv, shards []*store.Shard) (any, error) {
	p, in, err := e.fingerprintRun()
	if err != nil {
		return nil, err
	}
	stats, err := shardMetas[fingerprint.Stats](shards)
	if err != nil {
		return nil, err
	}
	parts := make([]string, len(shards))
	for i, s := range shards {
		parts[i] = filepath.Join(s.Dir, schema.TableFingerprints+".parquet")
	}
	return fingerprint.Merge(ctx, in, p, parts, stats, e.outDir)
}

func clusterShard(ctx context.Context, e *execEnv, i, n int) (any, error) {
	p, in, err := e.clusterRun()
	if err != nil {
		return nil, err
	}
	return cluster.RunShard(ctx, in, p, i, n, e.outDir, e.log)
}

func clusterMerge(ctx context.Context, e *execEnv, shards []*store.Shard) (any, error) {
	p, in, err := e.clusterRun()
	if err != nil {
		return nil, err
	}
	metas, err := shardMetas[cluster.ShardMeta](shards)
	if err != nil {
		return nil, err
	}
	inputs := make([]cluster.ShardInput, len(shards))
	for i, s := range shards {
		inputs[i] = cluster.ShardInput{Dir: s.Dir, Meta: metas[i]}
	}
	st, err := cluster.Merge(ctx, in, p, inputs, e.outDir, e.log)
	return st, e.clusterErr(err)
}
