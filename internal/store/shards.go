package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/takedown-research/takedown/internal/errkind"
)

// A stage run may be computed in shards: N processes (array tasks, pods)
// each compute one part of the run (`--shard i/N`) and publish it under
// shards/, then one process merges them (`--merge N`) into the run itself,
// published under runs/ with the run id an unsharded run has and the same
// bytes. Shards are not runs: no lock entry names them, and gc removes the
// shards of a run once the run is published.
//
//	shards/<dataset>/<stage>/<run id>/<i>-of-<N>/shard.json + partial files

// ShardManifestName is the file name of a shard's manifest.
const ShardManifestName = "shard.json"

// ErrShard means the shards of a run cannot be merged: one is missing, or
// it is not a shard of that run (another run id, shard count or stage
// version), or its files differ from its manifest.
var ErrShard = errkind.New(errkind.Mismatch, "shards cannot be merged")

// ShardManifest describes one published shard.
type ShardManifest struct {
	ManifestVersion int    `json:"manifest_version"`
	Dataset         string `json:"dataset"`
	Stage           string `json:"stage"`
	RunVersion      string `json:"run_version"`
	// RunID is the id of the run the shard is a part of.
	RunID string `json:"run_id"`
	Index int    `json:"index"`
	Count int    `json:"count"`
	// Resources are the resource flags the shard ran with (they may
	// decide how a stage cuts its work, so a shard asked for again with
	// other ones is computed again).
	Resources string `json:"resources,omitempty"`
	// Meta is what the stage needs at merge time besides the files
	// (counts, statistics), in the stage's own encoding.
	Meta    json.RawMessage `json:"meta,omitempty"`
	Outputs []Output        `json:"outputs"`
	Code    Code            `json:"code"`
	Timings Timings         `json:"timings"`
}

// Shard is a published shard.
type Shard struct {
	Dir      string
	Manifest *ShardManifest
}

func (w *Workspace) shardsDir() string { return filepath.Join(w.Root, "shards") }

// ShardSetDir is the directory holding every shard of a run.
func (w *Workspace) ShardSetDir(dataset, stage, runID string) string {
	return filepath.Join(w.shardsDir(), filepath.FromSlash(dataset), stage, runID)
}

// ShardDir is the directory of shard i of n of a run.
func (w *Workspace) ShardDir(dataset, stage, runID string, i, n int) string {
	return filepath.Join(w.ShardSetDir(dataset, stage, runID), fmt.Sprintf("%d-of-%d", i, n))
}

// ShardLock locks one shard of a stage run: the workspace shared (gc and
// rebuild-lock wait) and the shard exclusively, so that the shards of one
// dataset run at once in several processes.
func (w *Workspace) ShardLock(dataset, stage string, i, n int, wait time.Duration) (func(), error) {
	name := fmt.Sprintf("%s.%s.%d-of-%d.mutex", strings.ReplaceAll(dataset, "/", "%2F"), stage, i, n)
	return w.sharedAnd(name, fmt.Sprintf("another takedown process is running %s shard %d/%d of dataset %s in %s", stage, i, n, dataset, w.Root), wait)
}

// PublishShard writes the shard's manifest into the staging dir and renames
// it to the shard's directory, replacing a shard published before (a task
// run again after a failure computes the same bytes). The staging dir must
// have been begun with the run id the shard belongs to.
func (s *Staging) PublishShard(runVersion, resources string, i, n int, meta json.RawMessage) (*Shard, error) {
	outs, err := s.collectOutputs(nil)
	if err != nil {
		s.Discard()
		return nil, err
	}
	end := time.Now()
	m := &ShardManifest{
		ManifestVersion: ManifestVersion, Dataset: s.dataset, Stage: s.stage, RunVersion: runVersion,
		RunID: s.runID, Index: i, Count: n, Resources: resources, Meta: meta, Outputs: outs, Code: CurrentCode(),
		Timings: Timings{StartedAt: s.started.UTC().Format(time.RFC3339Nano), FinishedAt: end.UTC().Format(time.RFC3339Nano),
			WallMillis: end.Sub(s.started).Milliseconds()},
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		s.Discard()
		return nil, fmt.Errorf("encode shard manifest: %w", err)
	}
	if err := writeFileAtomic(filepath.Join(s.Dir, ShardManifestName), append(b, '\n')); err != nil {
		s.Discard()
		return nil, fmt.Errorf("write shard manifest: %w", err)
	}
	if err := syncDir(s.Dir); err != nil {
		s.Discard()
		return nil, err
	}
	dst := s.ws.ShardDir(s.dataset, s.stage, s.runID, i, n)
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		s.Discard()
		return nil, fmt.Errorf("%w: %w", ErrWorkspace, err)
	}
	if _, err := os.Stat(dst); err == nil {
		old, err := s.ws.MoveAside(dst, "shard")
		if err != nil {
			s.Discard()
			return nil, err
		}
		defer os.RemoveAll(old)
	}
	if err := os.Rename(s.Dir, dst); err != nil {
		s.Discard()
		return nil, fmt.Errorf("%w: publish shard %d/%d of run %s: %w", ErrWorkspace, i, n, s.runID, err)
	}
	if err := syncDir(filepath.Dir(dst)); err != nil {
		return nil, err
	}
	return &Shard{Dir: dst, Manifest: m}, nil
}

// ReadShard reads shard i of n of a run and checks that it is one: its
// manifest names the run, the shard, the run version, and its files match.
func (w *Workspace) ReadShard(dataset, stage, runID, runVersion string, i, n int) (*Shard, error) {
	dir := w.ShardDir(dataset, stage, runID, i, n)
	b, err := os.ReadFile(filepath.Join(dir, ShardManifestName))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: shard %d/%d of %s run %s of dataset %s is missing (%s): run `takedown %s --shard %d/%d %s` first",
			ErrShard, i, n, stage, runID, dataset, dir, stage, i, n, dataset)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrWorkspace, err)
	}
	var m ShardManifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%w: shard %s: manifest does not parse: %v", ErrShard, dir, err)
	}
	switch {
	case m.ManifestVersion != ManifestVersion:
		return nil, fmt.Errorf("%w: shard %s: manifest version %d, this build reads %d", ErrShard, dir, m.ManifestVersion, ManifestVersion)
	case m.Dataset != dataset || m.Stage != stage || m.RunID != runID:
		return nil, fmt.Errorf("%w: shard %s is a shard of %s run %s of dataset %s, not of run %s: run `takedown %s --shard %d/%d %s` again",
			ErrShard, dir, m.Stage, m.RunID, m.Dataset, runID, stage, i, n, dataset)
	case m.Index != i || m.Count != n:
		return nil, fmt.Errorf("%w: shard %s says it is shard %d/%d, not %d/%d: run `takedown %s --shard %d/%d %s` again",
			ErrShard, dir, m.Index, m.Count, i, n, stage, i, n, dataset)
	case m.RunVersion != runVersion:
		return nil, fmt.Errorf("%w: shard %s was made by stage version %s, this build is %s: run `takedown %s --shard %d/%d %s` again",
			ErrShard, dir, m.RunVersion, runVersion, stage, i, n, dataset)
	}
	if p := CheckOutputs(dir, &Manifest{Outputs: m.Outputs}); len(p) > 0 {
		return nil, fmt.Errorf("%w: shard %s: %s: %s: run `takedown %s --shard %d/%d %s` again",
			ErrShard, dir, p[0].File, p[0].Reason, stage, i, n, dataset)
	}
	return &Shard{Dir: dir, Manifest: &m}, nil
}

// ReadShards reads all n shards of a run (ReadShard), in index order.
func (w *Workspace) ReadShards(dataset, stage, runID, runVersion string, n int) ([]*Shard, error) {
	out := make([]*Shard, n)
	var errs []error
	for i := range n {
		s, err := w.ReadShard(dataset, stage, runID, runVersion, i, n)
		if err != nil {
			errs = append(errs, err)
		}
		out[i] = s
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

// RemoveShards removes every shard of a run (after its merge published it).
func (w *Workspace) RemoveShards(dataset, stage, runID string) error {
	dir := w.ShardSetDir(dataset, stage, runID)
	if _, err := os.Stat(dir); err != nil {
		return nil
	}
	aside, err := w.MoveAside(dir, "shards")
	if err != nil {
		return err
	}
	return os.RemoveAll(aside)
}

// shardSets lists the shard set directories (shards/<dataset>/<stage>/<run
// id>) with the run directory each belongs to.
func (w *Workspace) shardSets() map[string]string {
	out := map[string]string{}
	root := w.shardsDir()
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() || p == root {
			return nil
		}
		if _, err := os.Stat(filepath.Join(p, ShardManifestName)); err != nil {
			return nil
		}
		set := filepath.Dir(p)
		rel, err := filepath.Rel(root, set)
		if err != nil {
			return nil
		}
		out[set] = filepath.Join(w.runsDir(), rel)
		return filepath.SkipDir
	})
	return out
}
