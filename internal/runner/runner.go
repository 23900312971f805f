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
	"context"
	"encoding/json"
	"errors"
	"fmt"
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
	ErrUsage = errors.New("usage")
	// ErrUpstream means a stage's upstream stage has no current run.
	ErrUpstream = errors.New("upstream stage not run")
	// ErrMismatch means verify found outputs that differ from their manifest.
	ErrMismatch = errors.New("verification mismatch")
)

// Runner runs stages in one workspace.
type Runner struct {
	WS  *store.Workspace
	Log *slog.Logger
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
}

// Result is the outcome of one stage.
type Result struct {
	Stage      string          `json:"stage"`
	RunID      string          `json:"run_id"`
	Cached     bool            `json:"cached"`
	Dir        string          `json:"dir"`
	Stats      json.RawMessage `json:"stats,omitempty"`
	WallMillis int64           `json:"wall_ms"`
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

// Run runs every stage of the range that is not current, in order. A stage
// whose run id already has a published, intact run is a cache hit.
func (r *Runner) Run(ctx context.Context, o Options) ([]Result, error) {
	if err := o.Params.Validate(); err != nil {
		return nil, err
	}
	// MinHash band keys and the toolkit's keys are computed only when the
	// cluster stage reads them.
	o.Params.Fingerprint.MinHash = slices.Contains(o.Params.Cluster.Signals, cluster.SignalNearText)
	o.Params.Fingerprint.Toolkit = o.Params.Cluster.Compat == cluster.CompatToolkit
	stages, err := StageRange(o.From, o.To)
	if err != nil {
		return nil, err
	}
	desc, err := datasets.Lookup(r.WS.Root, o.Dataset)
	if err != nil {
		return nil, err
	}
	unlock, err := r.WS.Mutex()
	if err != nil {
		return nil, err
	}
	defer unlock()
	lock, err := r.WS.ReadLock()
	if err != nil {
		return nil, err
	}
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

func (r *Runner) runStage(ctx context.Context, lock *store.Lock, desc datasets.Descriptor, name string, o Options) (Result, error) {
	def, _ := defOf(name)
	if name == fetch.Name && o.Repin {
		dropFetch(lock, desc.Name)
	}
	params := def.params(o.Params)
	if def.withDescriptor != nil {
		params = def.withDescriptor(params, desc)
	}
	rawParams, err := store.CanonicalJSON(params)
	if err != nil {
		return Result{}, err
	}
	inputs, err := r.plan(lock, desc, def, o.FromDir)
	if err != nil {
		return Result{}, err
	}
	runID, err := store.RunID(desc.Name, def.name, def.runVersion(), params, inputs)
	if err != nil {
		return Result{}, err
	}
	log := r.Log.With("dataset", desc.Name, "stage", name, "run_id", runID)
	dir := r.WS.RunDir(desc.Name, name, runID)
	restore, discard := func() {}, func() {}
	if name == fetch.Name && (o.Refetch || o.Repin) {
		if restore, discard, err = r.setAside(dir); err != nil {
			return Result{}, err
		}
	}
	if m, err := store.ReadManifest(dir); err == nil {
		problems := store.CheckOutputs(dir, m)
		if name == fetch.Name {
			problems = append(problems, r.checkSources(dir)...)
		}
		if len(problems) == 0 {
			lock.Set(m)
			if err := r.WS.WriteLock(lock); err != nil {
				return Result{}, err
			}
			log.Info("cache hit", "event", "stage_cached")
			return Result{Stage: name, RunID: runID, Cached: true, Dir: dir, Stats: m.Stats}, nil
		}
		log.Warn("published run is damaged; recomputing it", "event", "stage_damaged", "problems", problems)
		if err := os.RemoveAll(dir); err != nil {
			return Result{}, fmt.Errorf("remove damaged run %s: %w", dir, err)
		}
	}
	log.Info("running", "event", "stage_start")
	start := time.Now()
	fx := fetchExtra{fromDir: o.FromDir, download: o.Download, pins: lock.Pins[desc.Name]}
	m, err := r.execute(ctx, desc, def, rawParams, inputs, runID, fx, log, true)
	if err != nil {
		restore()
		return Result{}, err
	}
	discard()
	if name == fetch.Name {
		r.recordPins(lock, desc, dir, log)
	}
	lock.Set(m)
	if err := r.WS.WriteLock(lock); err != nil {
		return Result{}, err
	}
	wall := time.Since(start).Milliseconds()
	log.Info("done", "event", "stage_done", "wall_ms", wall)
	return Result{Stage: name, RunID: runID, Dir: dir, Stats: m.Stats, WallMillis: wall}, nil
}

// execute runs a stage into a staging dir. With publish it renames the
// staging dir into place; without, it returns the manifest of the scratch
// run and removes it (used by verify).
func (r *Runner) execute(ctx context.Context, desc datasets.Descriptor, def stageDef, rawParams json.RawMessage,
	inputs []store.InputRef, runID string, fx fetchExtra, log *slog.Logger, publish bool) (*store.Manifest, error) {
	st, err := r.WS.Begin(desc.Name, def.name, runID)
	if err != nil {
		return nil, err
	}
	env := &execEnv{ws: r.WS, desc: desc, params: rawParams, inputs: inputs, outDir: st.Dir, fromDir: fx.fromDir, fx: fx, log: log}
	stats, err := def.exec(ctx, env)
	if err != nil {
		st.Discard()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("%s %s: %w", def.name, desc.Name, err)
	}
	rawStats, err := json.Marshal(stats)
	if err != nil {
		st.Discard()
		return nil, fmt.Errorf("encode stats: %w", err)
	}
	m := &store.Manifest{StageVersion: def.version, Params: rawParams, Inputs: inputs, Stats: rawStats}
	if !publish {
		defer st.Discard()
		return st.Describe(m, tableInfo)
	}
	if err := ctx.Err(); err != nil {
		st.Discard()
		return nil, err
	}
	if _, err := st.Publish(m, tableInfo); err != nil {
		return nil, err
	}
	return m, nil
}

// plan lists the inputs of a stage from the current lock.
func (r *Runner) plan(lock *store.Lock, desc datasets.Descriptor, def stageDef, fromDir string) ([]store.InputRef, error) {
	switch def.name {
	case fetch.Name:
		return r.planFetch(lock, desc, fromDir)
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
		if info, err := os.Stat(inputPath(r.WS, desc.Name, ref)); err == nil {
			ref.Bytes = info.Size()
		}
		refs = append(refs, ref)
	}
	sort.Slice(refs, func(i, j int) bool { return refs[i].Name < refs[j].Name })
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
		info, err := os.Stat(r.WS.SourcePath(s.SHA256))
		switch {
		case err != nil:
			out = append(out, store.Problem{File: s.Name, Reason: "source file missing from the store"})
		case info.Size() != s.Bytes:
			out = append(out, store.Problem{File: s.Name, Reason: fmt.Sprintf("source file in the store has %d bytes, expected %d", info.Size(), s.Bytes)})
		}
	}
	return out
}

// planFetch lists fetch's inputs: the descriptor and, when files are imported
// from a folder, the digest of every file (hashed before the run, so the run
// id says which bytes were imported). Without a folder, a release that is not
// generated keeps its locked fetch when there is one.
func (r *Runner) planFetch(lock *store.Lock, desc datasets.Descriptor, fromDir string) ([]store.InputRef, error) {
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
