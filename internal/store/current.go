package store

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// The stable paths of current tables, Hive-partitioned by dataset (and by
// variant), so that DuckDB, pandas and arrow read every dataset of a study
// at once and always the current run:
//
//	<root>/current/<table>/dataset=<name>/part-0.parquet
//	<root>/variants/<table>/variant=<v>/dataset=<name>/part-0.parquet
//
// Each file is a link to the run's file (a relative symbolic link, else a
// hard link, else a copy). WriteCurrent refreshes them after every change
// of takedown.lock; a dataset name's '/' is written %2F (Hive's escaping).
const (
	currentDirName  = "current"
	variantsDirName = "variants"
	partName        = "part-0.parquet"
)

// CurrentTablePath is the stable path of a table of the current run of a
// dataset (variant "" for the study's own runs).
func (w *Workspace) CurrentTablePath(variant, dataset, table string) string {
	ds := "dataset=" + url.PathEscape(dataset)
	if variant == "" {
		return filepath.Join(w.Root, currentDirName, table, ds, partName)
	}
	return filepath.Join(w.Root, variantsDirName, table, "variant="+variant, ds, partName)
}

// linkCurrent makes the current/ and variants/ trees match l: a link per
// table of every current run, and nothing else.
func (w *Workspace) linkCurrent(l *Lock) error {
	want := map[string]string{}
	l.Entries(func(variant, ds, stage string, e LockEntry) {
		for f := range e.Outputs {
			if table, ok := strings.CutSuffix(f, ".parquet"); ok {
				want[w.CurrentTablePath(variant, ds, table)] = filepath.Join(w.RunDir(ds, stage, e.RunID), f)
			}
		}
	})
	links := make([]string, 0, len(want))
	for p := range want {
		links = append(links, p)
	}
	sort.Strings(links)
	for _, p := range links {
		if err := linkFile(p, want[p]); err != nil {
			return fmt.Errorf("%w: stable path %s: %w", ErrWorkspace, p, err)
		}
	}
	for _, top := range []string{currentDirName, variantsDirName} {
		if err := pruneTree(filepath.Join(w.Root, top), want); err != nil {
			return fmt.Errorf("%w: %w", ErrWorkspace, err)
		}
	}
	return nil
}

// linkFile points link at target, replacing what is there atomically.
func linkFile(link, target string) error {
	rel, err := filepath.Rel(filepath.Dir(link), target)
	if err != nil {
		return err
	}
	if old, err := os.Readlink(link); err == nil && old == rel {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
		return err
	}
	// A dot name: readers of the folder (pyarrow, DuckDB globs of
	// *.parquet) skip it while it is being made.
	tmp := filepath.Join(filepath.Dir(link), "."+partName+".tmp")
	os.Remove(tmp)
	if err := os.Symlink(rel, tmp); err != nil {
		if same, _ := sameFile(link, target); same {
			return nil
		}
		if err := os.Link(target, tmp); err != nil {
			if err := CopyFile(target, tmp); err != nil {
				return err
			}
		}
	}
	if err := os.Rename(tmp, link); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

func sameFile(a, b string) (bool, error) {
	ia, err := os.Stat(a)
	if err != nil {
		return false, err
	}
	ib, err := os.Stat(b)
	if err != nil {
		return false, err
	}
	return os.SameFile(ia, ib), nil
}

// CopyFile copies the file src to a new file dst.
func CopyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// pruneTree removes the files under dir that keep does not list, and the
// folders left empty.
func pruneTree(dir string, keep map[string]string) error {
	var dirs []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if d.IsDir() {
			dirs = append(dirs, p)
			return nil
		}
		if _, ok := keep[p]; !ok {
			return os.Remove(p)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for i := len(dirs) - 1; i >= 0; i-- {
		os.Remove(dirs[i]) // fails, harmlessly, when not empty
	}
	return nil
}
