// Package runner orchestrates the stages: it plans each stage's inputs from
// takedown.lock, computes run ids, runs a stage into a staging directory,
// publishes it atomically and records it in the lock. It also answers
// status (is each stage current, and if not why) and verify (recompute and
// compare bytes).
//
//	lock ──plan──▶ inputs+params ──hash──▶ run id ──exists?──▶ cache hit
//	                                            └─▶ staging ─Run─▶ publish ─▶ lock
package runner

import (
	"github.com/takedown-research/takedown/internal/errkind"
	"github.com/takedown-research/takedown/internal/progress"

	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/takedown-research/takedown/datasets"
	"github.com/takedown-research/takedown/internal/pqio"
	"github.com/takedown-research/takedown/internal/schema"
	"github.com/takedown-research/takedown/internal/store"
	"github.com/takedown-research/takedown/pipeline/cluster"
	"github.com/takedown-research/takedown/pipeline/fetch"
	"github.com/takedown-research/takedown/pipeline/normalize"
)

// Errors the CLI maps to exit codes.
var (
	// ErrUsage means a parameter or argument is invalid.
	ErrUsage = errkind.New(errkind.Usage, "usage")
	// ErrUpstream means a stage's upstream stage has no current run.
	ErrUpstream = errkind.New(errkind.Usage, "upstream stage not run")
	// ErrMismatch means verify found outputs that differ from their manifest.
	ErrMismatch = errkind.New(errkind.Mismatch, "verification mismatch")
)

// Parquet files of a workspace on object storage are read by ranges.
func init() {
	pqio.Remote.Match, pqio.Remote.Open = store.IsRemote, store.OpenRange
}

// Runner runs stages in one workspace.
type Runner struct {
	WS  *store.Workspace
	Log *slog.Logger
	// Wait is how long to wait for a workspace or dataset another process
	// holds before giving up with ErrBusy; 0 gives up at once.
	Wait time.Duration
	// Progress reports how far each stage run has come (a bar on a
	// terminal, progress events with --json); nil reports nothing.
	Progress progress.Reporter
}

// Options select what Run does.
type Options struct {
	Dataset string
	From    string // first stage to run (default fetch)
	To      string // last stage to run (default summarize)
	Params  Params
	FromDir string // fetch: import files from this folder
	// Download says how fetch downloads (mirror, retries, progress).
	Download fetch.DownloadOptions
	// Refetch runs fetch again even when it is current, checking the files
	// against their pins; Repin does so accepting new bytes (new pins).
	Refetch, Repin bool
	// Variant is the study variant the runs are recorded under in
	// takedown.lock ("" for the study's own runs, or a plain run's).
	Variant string
	// Study names the study whose run this is ("name@sha256 prefix"),
	// recorded with each current run; "" for runs without a study file.
	Study string
	// Resources bound the cluster stage's memory (--memory, --partitions).
	// They do not change its outputs, so they are not in Params: not in
	// the run id, not in the manifest.
	Resources cluster.Resources
	// Shard, when Count > 0, computes only that shard of the one stage of
	// the range and publishes it under shards/ (see RunShard); Merge, when
	// above 0, merges that many published shards into the stage's run.
	Shard ShardSpec
	Merge int
}

// Result is the outcome of one stage.
type Result struct {
	Stage      string          `json:"stage"`
	RunID      string          `json:"run_id"`
	Cached     bool            `json:"cached"`
	Dir        string          `json:"dir"`
	Stats      json.RawMessage `json:"stats,omitempty"`
	WallMillis int64           `json:"wall_ms"`
	// Outputs are the run's output files as its manifest lists them.
	Outputs []store.Output `json:"outputs"`
	// Shard is "i/N" for a shard (--shard): Dir is the shard's directory
	// and Stats what it hands to the merge.
	Shard string `json:"shard,omitempty"`
}

// StageRange returns the stages from..to inclusive.
func StageRange(from, to string) ([]string, error) {
	if from == "" {
		from = Stages[0]
	}
	if to == "" {
		to = Stages[len(Stages)-1]
	}
	fi, ti := -1, -1
	for i, s := range Stages {
		if s == from {
			fi = i
		}
		if s == to {
			ti = i
		}
	}
	if fi < 0 {
		return nil, fmt.Errorf("%w: --from %q is not a stage (stages: %v)", ErrUsage, from, Stages)
	}
	if ti < 0 {
		return nil, fmt.Errorf("%w: --to %q is not a stage (stages: %v)", ErrUsage, to, Stages)
	}
	if fi > ti {
		return nil, fmt.Errorf("%w: --from %s comes after --to %s", ErrUsage, from, to)
	}
	return Stages[fi : ti+1], nil
}

// effective sets the parameters that follow from others: MinHash band keys
// and the toolkit's keys are computed only when the cluster stage reads
// them.
func effective(p Params) Params {
	p.Fingerprint.MinHash = slices.Contains(p.Cluster.Signals, cluster.SignalNearText)
	p.Fingerprint.Toolkit = p.Cluster.Compat == cluster.CompatToolkit
	return p
}

// Run runs every stage of the range that is not current, in order. A stage
// whose run id already has a published, intact run is a cache hit.
func (r *Runner) Run(ctx context.Context, o Options) ([]Result, error) {
	if err := o.Params.Validate(); err != nil {
		return nil, err
	}
	o.Params = effective(o.Params)
	stages, err := StageRange(o.From, o.To)
	if err != nil {
		return nil, err
	}
	if err := r.checkSharding(stages, o); err != nil {
		return nil, err
	}
	desc, err := datasets.Lookup(r.WS.Root, o.Dataset)
	if err != nil {
		return nil, err
	}
	if o.Shard.Count > 0 {
		res, err := r.runShard(ctx, desc, stages[0], o)
		if err != nil {
			return nil, err
		}
		return []Result{res}, nil
	}
	unlock, err := r.WS.ExclusiveDataset(desc.Name, r.Wait)
	if err != nil {
		return nil, err
	}
	defer unlock()
	root, err := r.WS.ReadCurrent()
	if err != nil {
		return nil, err
	}
	lock := root.Variant(o.Variant)
	var results []Result
	for _, name := range stages {
		if err := ctx.Err(); err != nil {
			return results, err
		}
		res, err := r.runStage(ctx, lock, desc, name, o)
		if err != nil {
			return results, err
		}
		results = append(results, res)
	}
	return results, nil
}

// planned is a stage run as planned from the lock: its parameters, inputs
// and run id.
type planned struct {
	def       stageDef
	rawParams json.RawMessage
	inputs    []store.InputRef
	runID     string
}

// planStage plans a stage run of desc from the lock.
func (r *Runner) planStage(lock *store.Lock, desc datasets.Descriptor, name string, o Options) (planned, error) {
	def, _ := defOf(name)
	params := def.params(o.Params)
	if def.withDescriptor != nil {
		params = def.withDescriptor(params, desc)
	}
	inputs, err := r.plan(lock, desc, def, o.FromDir, fetch.WithLocalMedia(o.Params.Fetch, desc).Media)
	if err != nil {
		return planned{}, err
	}
	if def.withInputs != nil {
		if params, err = def.withInputs(r.WS, params, desc, inputs); err != nil {
			return planned{}, err
		}
	}
	rawParams, err := store.CanonicalJSON(params)
	if err != nil {
		return planned{}, err
	}
	runID, err := store.RunID(desc.Name, def.name, def.runVersion(), params, inputs)
	if err != nil {
		return planned{}, err
	}
	return planned{def: def, rawParams: rawParams, inputs: inputs, runID: runID}, nil
}

func (r *Runner) runStage(ctx context.Context, lock *store.Lock, desc datasets.Descriptor, name string, o Options) (Result, error) {
	if name == fetch.Name && o.Repin {
		dropFetch(lock, desc.Name)
	}
	pl, err := r.planStage(lock, desc, name, o)
	if err != nil {
		return Result{}, err
	}
	def, rawParams, inputs, runID := pl.def, pl.rawParams, pl.inputs, pl.runID
	log := r.Log.With("dataset", desc.Name, "stage", name, "run_id", runID)
	dir := r.WS.RunDir(desc.Name, name, runID)
	restore, discard := func() {}, func() {}
	if name == fetch.Name && (o.Refetch || o.Repin) {
		if restore, discard, err = r.setAside(dir); err != nil {
			return Result{}, err
		}
	}
	run, err := r.WS.ReadRun(desc.Name, name, runID)
	switch {
	case err == nil:
		problems := r.runProblems(lock, run)
		if len(problems) == 0 {
			if err := r.record(lock, run, o); err != nil {
				return Result{}, err
			}
			if o.Merge > 0 {
				r.removeShards(desc.Name, name, runID, log)
			}
			log.Info("cache hit", "event", "stage_cached")
			return Result{Stage: name, RunID: runID, Cached: true, Dir: dir, Stats: run.Manifest.Stats, Outputs: run.Manifest.Outputs}, nil
		}
		log.Warn("published run is damaged; recomputing it", "event", "stage_damaged", "problems", problems)
		if err := r.removeDamaged(dir); err != nil {
			return Result{}, err
		}
	case errors.Is(err, store.ErrDamaged):
		log.Warn("published run is damaged; recomputing it", "event", "stage_damaged", "problems", []store.Problem{{File: store.ManifestName, Reason: err.Error()}})
		if err := r.removeDamaged(dir); err != nil {
			return Result{}, err
		}
	case !errors.Is(err, fs.ErrNotExist):
		return Result{}, err
	}
	fx := execExtra{fromDir: o.FromDir, download: o.Download, pins: lock.PinsOf(desc.Name), resources: o.Resources}
	if o.Merge > 0 {
		if fx.shards, err = r.WS.ReadShards(desc.Name, name, runID, def.runVersion(), o.Merge); err != nil {
			return Result{}, err
		}
	}
	log.Info("running", "event", "stage_start")
	start := time.Now()
	run, err = r.publish(ctx, desc, def, rawParams, inputs, runID, fx, log)
	if err != nil {
		restore()
		return Result{}, err
	}
	discard()
	if name == fetch.Name {
		r.recordPins(lock, desc, dir, log)
	}
	if err := r.record(lock, run, o); err != nil {
		return Result{}, err
	}
	if o.Merge > 0 {
		r.removeShards(desc.Name, name, runID, log)
	}
	m := run.Manifest
	wall := time.Since(start).Milliseconds()
	log.Info("done", "event", "stage_done", "wall_ms", wall)
	return Result{Stage: name, RunID: runID, Dir: dir, Stats: m.Stats, WallMillis: wall, Outputs: m.Outputs}, nil
}

// record makes run the current run of its stage (in o's variant) and
// writes takedown.lock.
//
// The change is made to lock (this run's view, which plans the next
// stages) and to takedown.lock as it is on disk now (store.UpdateCurrent),
// so that runs of other datasets in other processes keep their entries:
// only this dataset's entry of the stage and its pins are written.
func (r *Runner) record(lock *store.Lock, run *store.Run, o Options) error {
	if err := lock.Set(run); err != nil {
		return err
	}
	lock.SetStudy(run.Dataset, run.Stage, o.Study)
	return r.WS.UpdateCurrent(func(disk *store.Lock) error {
		view := disk.Variant(o.Variant)
		if err := view.Set(run); err != nil {
			return err
		}
		view.SetStudy(run.Dataset, run.Stage, o.Study)
		disk.DropPins(run.Dataset)
		for file, d := range lock.PinsOf(run.Dataset) {
			disk.SetPin(run.Dataset, file, d)
		}
		return nil
	})
}

// runProblems lists what is wrong with a published run whose manifest
// describes it: output files that differ from the manifest, a fetch's
// missing sources, and a manifest whose bytes differ from the digest
// takedown.lock recorded for it (when the lock names this run).
func (r *Runner) runProblems(lock *store.Lock, run *store.Run) []store.Problem {
	problems := store.CheckOutputs(run.Dir, run.Manifest)
	if run.Stage == fetch.Name {
		problems = append(problems, r.checkSources(run.Dir)...)
	}
	if p, ok := manifestEdited(lock, run); ok {
		problems = append(problems, p)
	}
	return problems
}

// manifestEdited reports a run's manifest whose sha256 differs from the one
// takedown.lock recorded for it. A lock entry without the digest (written
// before it was recorded) checks nothing.
func manifestEdited(lock *store.Lock, run *store.Run) (store.Problem, bool) {
	e, ok := lock.Entry(run.Dataset, run.Stage)
	if !ok || e.RunID != run.ID || e.ManifestSHA256 == "" || e.ManifestSHA256 == run.ManifestSHA256 {
		return store.Problem{}, false
	}
	return store.Problem{File: store.ManifestName, Reason: fmt.Sprintf("manifest edited: sha256 %.12s, takedown.lock recorded %.12s", run.ManifestSHA256, e.ManifestSHA256)}, true
}

// removeDamaged moves a damaged run directory out of runs/ and removes it.
// Callers hold Exclusive.
func (r *Runner) removeDamaged(dir string) error {
	if r.WS.Remote() {
		return r.WS.RemoveRun(dir)
	}
	aside, err := r.WS.MoveAside(dir, "damaged")
	if err != nil {
		return fmt.Errorf("remove damaged run: %w", err)
	}
	if err := os.RemoveAll(aside); err != nil {
		return fmt.Errorf("remove damaged run %s (moved to %s): %w", dir, aside, err)
	}
	return nil
}

// publish runs a stage into a staging dir and publishes it.
func (r *Runner) publish(ctx context.Context, desc datasets.Descriptor, def stageDef, rawParams json.RawMessage,
	inputs []store.InputRef, runID string, fx execExtra, log *slog.Logger) (*store.Run, error) {
	st, m, err := r.stage(ctx, desc, def, rawParams, inputs, runID, runID, fx, log)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		st.Discard()
		return nil, err
	}
	return st.Publish(m, tableInfo)
}

// recompute runs a stage into a scratch staging dir, describes its outputs
// and removes it (used by verify).
func (r *Runner) recompute(ctx context.Context, desc datasets.Descriptor, def stageDef, rawParams json.RawMessage,
	inputs []store.InputRef, runID string, log *slog.Logger) (*store.Manifest, error) {
	st, m, err := r.stage(ctx, desc, def, rawParams, inputs, runID+"-verify", runID, execExtra{}, log)
	if err != nil {
		return nil, err
	}
	defer st.Discard()
	return st.Describe(m, tableInfo)
}

// stage runs a stage into a new staging dir and returns it with the
// manifest to publish; on error the staging dir is removed.
func (r *Runner) stage(ctx context.Context, desc datasets.Descriptor, def stageDef, rawParams json.RawMessage,
	inputs []store.InputRef, stagingID, runID string, fx execExtra, log *slog.Logger) (*store.Staging, *store.Manifest, error) {
	st, err := r.WS.Begin(desc.Name, def.name, stagingID)
	if err != nil {
		return nil, nil, err
	}
	env := &execEnv{ws: r.WS, desc: desc, params: rawParams, inputs: inputs, outDir: st.Dir, fromDir: fx.fromDir, fx: fx, log: log, self: runID}
	if r.Progress != nil {
		t := r.Progress.Stage(desc.Name, def.name, runID)
		env.meter = t
		defer t.End()
	}
	exec := def.exec
	if fx.shards != nil {
		exec = func(ctx context.Context, e *execEnv) (any, error) { return def.merge(ctx, e, fx.shards) }
	}
	stats, err := exec(ctx, env)
	if err != nil {
		st.Discard()
		if ctx.Err() != nil {
			return nil, nil, ctx.Err()
		}
		return nil, nil, fmt.Errorf("%s %s: %w", def.name, desc.Name, err)
	}
	rawStats, err := json.Marshal(stats)
	if err != nil {
		st.Discard()
		return nil, nil, fmt.Errorf("encode stats: %w", err)
	}
	m := &store.Manifest{StageVersion: def.version, RunVersion: def.runVersion(), Params: rawParams, Inputs: inputs, Stats: rawStats}
	return st, m, nil
}

// plan lists the inputs of a stage from the current lock.
func (r *Runner) plan(lock *store.Lock, desc datasets.Descriptor, def stageDef, fromDir string, media bool) ([]store.InputRef, error) {
	switch def.name {
	case fetch.Name:
		return r.planFetch(lock, desc, fromDir, media)
	case normalize.Name:
		e, ok := lock.Entry(desc.Name, fetch.Name)
		if !ok {
			return nil, fmt.Errorf("%w: normalize %s needs a current fetch (run: takedown fetch %s)", ErrUpstream, desc.Name, desc.Name)
		}
		list, err := store.ReadSourceList(filepath.Join(r.WS.RunDir(desc.Name, fetch.Name, e.RunID), store.SourceListName))
		if err != nil {
			return nil, err
		}
		var refs []store.InputRef
		for _, s := range list {
			if s.Role == "truth" {
				continue
			}
			refs = append(refs, store.InputRef{Name: sourcePrefix + s.Name, SHA256: s.SHA256, Bytes: s.Bytes})
		}
		return refs, nil
	}
	var refs []store.InputRef
	for _, name := range def.reads {
		stage, file, _ := strings.Cut(name, "/")
		e, ok := lock.Entry(desc.Name, stage)
		if !ok {
			return nil, fmt.Errorf("%w: %s %s needs a current %s (run: takedown %s %s)", ErrUpstream, def.name, desc.Name, stage, stage, desc.Name)
		}
		d, ok := e.Outputs[file]
		if !ok {
			return nil, fmt.Errorf("%w: %s run %s has no %s", ErrUpstream, stage, e.RunID, file)
		}
		ref := store.InputRef{Name: name, SHA256: d, RunID: e.RunID}
		if size, err := store.Stat(inputPath(r.WS, desc.Name, ref)); err == nil {
			ref.Bytes = size
		}
		refs = append(refs, ref)
	}
	optional, err := r.planOptional(lock, desc, def)
	if err != nil {
		return nil, err
	}
	refs = append(refs, optional...)
	sort.Slice(refs, func(i, j int) bool { return refs[i].Name < refs[j].Name })
	if err := r.checkUpstreamTables(desc.Name, refs); err != nil {
		return nil, err
	}
	return refs, nil
}

// checkSources checks that every source a fetch run lists is in the store
// with its recorded size.
func (r *Runner) checkSources(fetchDir string) []store.Problem {
	list, err := store.ReadSourceList(filepath.Join(fetchDir, store.SourceListName))
	if err != nil {
		return []store.Problem{{File: store.SourceListName, Reason: err.Error()}}
	}
	var out []store.Problem
	for _, s := range list {
		size, err := store.Stat(r.WS.SourcePath(s.SHA256))
		switch {
		case err != nil:
			out = append(out, store.Problem{File: s.Name, Reason: "source file missing from the store"})
		case size != s.Bytes:
			out = append(out, store.Problem{File: s.Name, Reason: fmt.Sprintf("source file in the store has %d bytes, expected %d", size, s.Bytes)})
		}
	}
	return out
}

// planFetch lists fetch's inputs: the descriptor and, when files are imported
// from a folder, the digest of every file (hashed before the run, so the run
// id says which bytes were imported; media archives only with media). Without a folder, a release that is not
// generated keeps its locked fetch when there is one.
func (r *Runner) planFetch(lock *store.Lock, desc datasets.Descriptor, fromDir string, media bool) ([]store.InputRef, error) {
	refs := []store.InputRef{{Name: descriptorPrefix + desc.Name, SHA256: desc.Digest()}}
	if len(desc.Synth) > 0 {
		return refs, nil
	}
	if fromDir == "" && !desc.HasPaths() {
		if e, ok := lock.Entry(desc.Name, fetch.Name); ok {
			if m, err := store.ReadManifest(r.WS.RunDir(desc.Name, fetch.Name, e.RunID)); err == nil {
				return m.Inputs, nil
			}
		}
		return refs, nil
	}
	for _, f := range desc.Files {
		if f.Role == datasets.RoleMedia && !media {
			continue
		}
		p, err := fetch.FindFile(f, fromDir, pinnedDigest(lock, desc, f))
		if err != nil {
			return nil, fmt.Errorf("%w %s: %v", fetch.ErrNoSource, desc.Name, err)
		}
		d, n, err := store.FileDigest(p)
		if err != nil {
			return nil, fmt.Errorf("%w %s: cannot read %s: %v", fetch.ErrNoSource, desc.Name, p, err)
		}
		refs = append(refs, store.InputRef{Name: importPrefix + f.Name, SHA256: d, Bytes: n})
	}
	return refs, nil
}

// tableInfo counts a Parquet output's rows and names its layout version, for
// the manifest. A table the schema does not know is an internal error.
func tableInfo(path string) (int64, int, error) {
	name := strings.TrimSuffix(filepath.Base(path), ".parquet")
	v, ok := schema.Versions[name]
	if !ok {
		return 0, 0, fmt.Errorf("internal: table %s has no version in package schema", name)
	}
	n, err := pqio.NumRows(path)
	return n, v, err
}

// runVersion is the version that enters a stage's run ids: its own version
// and the Parquet writer's format version, since either changes the bytes.
func (d stageDef) runVersion() string {
	return fmt.Sprintf("%d+pqio%d", d.version, pqio.FormatVersion)
}
