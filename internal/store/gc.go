package store

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
)

// Garbage is what gc would remove: run directories, source files and staging
// leftovers that no lock entry reaches.
type Garbage struct {
	Runs    []string `json:"runs"`
	Sources []string `json:"sources"`
	Temp    []string `json:"temp"`
	Bytes   int64    `json:"bytes"`
}

// FindGarbage lists everything not reachable from the lock. The roots are the
// runs named in takedown.lock and the source digests those runs name as
// inputs in their manifests.
func (w *Workspace) FindGarbage() (*Garbage, error) {
	l, err := w.ReadLock()
	if err != nil {
		return nil, err
	}
	keepRuns := map[string]bool{}
	keepSources := map[string]bool{}
	for _, ds := range l.DatasetNames() {
		for stage, e := range l.Datasets[ds] {
			dir := w.RunDir(ds, stage, e.RunID)
			keepRuns[dir] = true
			m, err := ReadManifest(dir)
			if err != nil {
				continue
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
		}
	}
	g := &Garbage{}
	// Runs live at runs/<dataset...>/<stage>/<run-id>/ and hold a manifest.
	err = filepath.WalkDir(w.runsDir(), func(p string, d os.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		if _, err := os.Stat(filepath.Join(p, ManifestName)); err == nil {
			if !keepRuns[p] {
				g.Runs = append(g.Runs, p)
				g.Bytes += dirSize(p)
			}
			return filepath.SkipDir
		}
		return nil
	})
	if err != nil {
		return nil, err
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
	sort.Strings(g.Runs)
	sort.Strings(g.Sources)
	sort.Strings(g.Temp)
	return g, nil
}

// Remove deletes the garbage. Callers hold Mutex, so no staging dir of a live
// run is in tmp.
func (g *Garbage) Remove() error {
	for _, list := range [][]string{g.Runs, g.Sources, g.Temp} {
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
