package store

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// Garbage is what gc would remove: run directories, source files and staging
// leftovers that no lock entry reaches.
type Garbage struct {
	Runs    []string `json:"runs"`
	Sources []string `json:"sources"`
	Temp    []string `json:"temp"`
	// Shards are the shard sets (shards/<dataset>/<stage>/<run id>) of
	// runs their merge has published, or every shard set with all.
	Shards []string `json:"shards"`
	Bytes  int64    `json:"bytes"`

	remote *blobStorage
}

// FindGarbage lists everything not reachable from the lock. The roots are the
// runs named in takedown.lock and the source digests those runs name as
// inputs in their manifests. Unless all is true, it refuses (ErrUnsafeGC)
// when it would remove runs and there is no takedown.lock, or they are every
// run of the workspace or every run of a dataset: a lost or emptied lock is
// repaired with `takedown rebuild-lock`, not by deleting what it forgot.
// A damaged takedown.lock is an error (ErrLockDamaged) whatever all says.
func (w *Workspace) FindGarbage(all bool) (*Garbage, error) {
	l, err := w.ReadCurrent()
	if err != nil {
		return nil, err
	}
	keepRuns := map[string]bool{}
	keepSources := map[string]bool{}
	l.Entries(func(_, ds, stage string, e LockEntry) {
		dir := w.RunDir(ds, stage, e.RunID)
		keepRuns[dir] = true
		m, err := ReadManifest(dir)
		if err != nil {
			return
		}
		for _, in := range m.Inputs {
			if in.RunID == "" {
				keepSources[in.SHA256] = true
			}
		}
		// fetch names its sources as outputs of sources.json; keep every
		// digest listed in any manifest input or in a locked fetch's list.
		for _, d := range sourceDigestsOf(dir) {
			keepSources[d] = true
		}
	})
	if w.remote != nil {
		return w.findGarbageRemote(all, keepRuns, keepSources)
	}
	g := &Garbage{}
	runsOf, dropOf := map[string]int{}, map[string]int{}
	for _, p := range w.runDirs() {
		ds := w.datasetOf(p)
		runsOf[ds]++
		if !keepRuns[p] {
			dropOf[ds]++
			g.Runs = append(g.Runs, p)
			g.Bytes += dirSize(p)
		}
	}
	if !all && len(g.Runs) > 0 {
		if err := w.unsafeGC(runsOf, dropOf, len(g.Runs)); err != nil {
			return nil, err
		}
	}
	_ = filepath.WalkDir(w.sourcesDir(), func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if !keepSources[d.Name()] {
			g.Sources = append(g.Sources, p)
			if info, err := d.Info(); err == nil {
				g.Bytes += info.Size()
			}
		}
		return nil
	})
	entries, _ := os.ReadDir(w.tmpDir())
	for _, e := range entries {
		p := filepath.Join(w.tmpDir(), e.Name())
		g.Temp = append(g.Temp, p)
		g.Bytes += dirSize(p)
	}
	for set, run := range w.shardSets() {
		if _, err := os.Stat(filepath.Join(run, ManifestName)); err == nil || all {
			g.Shards = append(g.Shards, set)
			g.Bytes += dirSize(set)
		}
	}
	sort.Strings(g.Runs)
	sort.Strings(g.Sources)
	sort.Strings(g.Temp)
	sort.Strings(g.Shards)
	return g, nil
}

// unsafeGC says why removing drop runs (dropOf per dataset, of runsOf) is
// refused without --all.
func (w *Workspace) unsafeGC(runsOf, dropOf map[string]int, drop int) error {
	const how = "run `takedown rebuild-lock` to re-link the published runs from their manifests, or `takedown gc --all` to remove them anyway"
	if !w.HasLockFile() {
		return fmt.Errorf("%w: %s has no %s, so no run is current and gc would remove all %d runs: %s", ErrUnsafeGC, w.Root, LockName, drop, how)
	}
	total := 0
	for _, n := range runsOf {
		total += n
	}
	if drop == total {
		return fmt.Errorf("%w: gc would remove every run of %s (%d): %s names none of them: %s", ErrUnsafeGC, w.Root, drop, LockName, how)
	}
	var names []string
	for ds, n := range dropOf {
		if n == runsOf[ds] {
			names = append(names, ds)
		}
	}
	if len(names) > 0 {
		sort.Strings(names)
		return fmt.Errorf("%w: gc would remove every run of dataset %s: %s names none of them: %s", ErrUnsafeGC, strings.Join(names, ", "), LockName, how)
	}
	return nil
}

// runDirs lists every published run directory: runs/<dataset...>/<stage>/<run-id>/,
// each holding a manifest.
func (w *Workspace) runDirs() []string {
	if w.remote != nil {
		return w.runDirsRemote()
	}
	var out []string
	filepath.WalkDir(w.runsDir(), func(p string, d os.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return nil
		}
		if _, err := os.Stat(filepath.Join(p, ManifestName)); err == nil && p != w.runsDir() {
			out = append(out, p)
			return filepath.SkipDir
		}
		return nil
	})
	sort.Strings(out)
	return out
}

// datasetOf is the dataset of a run directory: its path under runs/ less
// the stage and the run id.
func (w *Workspace) datasetOf(runDir string) string {
	if w.remote != nil {
		rel, _ := strings.CutPrefix(runDir, w.runsDir()+"/")
		return path.Dir(path.Dir(rel))
	}
	rel, err := filepath.Rel(w.runsDir(), filepath.Dir(filepath.Dir(runDir)))
	if err != nil {
		return ""
	}
	return filepath.ToSlash(rel)
}

// Leftovers are what killed processes left in tmp/: staging directories of
// runs and partial downloads. gc removes them.
type Leftovers struct {
	Entries []string `json:"entries"`
	Bytes   int64    `json:"bytes"`
}

// FindLeftovers lists the staging directories and partial downloads in
// tmp/ (each partial download is one entry; the workspace's own write probe
// is not counted). Only while no process holds Exclusive are they
// leftovers; the caller checks.
func (w *Workspace) FindLeftovers() Leftovers {
	var l Leftovers
	entries, _ := os.ReadDir(w.tmpDir())
	for _, e := range entries {
		p := filepath.Join(w.tmpDir(), e.Name())
		switch {
		case strings.HasPrefix(e.Name(), probePrefix):
			continue
		case e.Name() == downloadsName && e.IsDir():
			filepath.WalkDir(p, func(q string, d os.DirEntry, err error) error {
				if err == nil && !d.IsDir() {
					if strings.HasSuffix(q, ".part") {
						l.Entries = append(l.Entries, q)
					}
					if info, err := d.Info(); err == nil {
						l.Bytes += info.Size()
					}
				}
				return nil
			})
			continue
		}
		l.Entries = append(l.Entries, p)
		l.Bytes += dirSize(p)
	}
	sort.Strings(l.Entries)
	return l
}

// Remove deletes the garbage. Callers hold Exclusive, so no staging dir of a live
// run is in tmp.
func (g *Garbage) Remove() error {
	if g.remote != nil {
		return g.removeRemote()
	}
	for _, list := range [][]string{g.Runs, g.Sources, g.Temp, g.Shards} {
		for _, p := range list {
			if err := os.RemoveAll(p); err != nil {
				return fmt.Errorf("gc %s: %w", p, err)
			}
		}
	}
	return nil
}

func dirSize(p string) int64 {
	var n int64
	filepath.WalkDir(p, func(_ string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}

// sourceDigestsOf reads the sources.json list a fetch run writes, if any.
func sourceDigestsOf(runDir string) []string {
	list, err := ReadSourceList(filepath.Join(runDir, SourceListName))
	if err != nil {
		return nil
	}
	var out []string
	for _, s := range list {
		out = append(out, s.SHA256)
	}
	return out
}

// RunRef names a published run directory by where it is.
type RunRef struct {
	Dataset string `json:"dataset"`
	Stage   string `json:"stage"`
	ID      string `json:"run_id"`
}

// PublishedRuns lists every run directory under runs/ (every directory that
// holds a manifest.json), by dataset, stage and run id as its path says.
func (w *Workspace) PublishedRuns() []RunRef {
	var out []RunRef
	for _, p := range w.runDirs() {
		if w.remote != nil {
			out = append(out, RunRef{Dataset: w.datasetOf(p), Stage: path.Base(path.Dir(p)), ID: path.Base(p)})
			continue
		}
		out = append(out, RunRef{Dataset: w.datasetOf(p), Stage: filepath.Base(filepath.Dir(p)), ID: filepath.Base(p)})
	}
	return out
}
