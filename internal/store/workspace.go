// Package store owns the workspace on disk: the content-addressed source
// store, immutable run directories with their manifests, the takedown.lock
// file that says which run of each stage is current, atomic publication of
// new runs, and garbage collection.
//
// Layout:
//
//	<root>/takedown.lock                        dataset -> stage -> run id + output digests
//	<root>/sources/sha256/ab/abcdef...          fetched archive files, content-addressed
//	<root>/runs/<dataset>/<stage>/<run-id>/     immutable outputs + manifest.json
//	<root>/tmp/                                 staging; never read as output
//	<root>/current/<table>/dataset=<name>/      links to the current runs' tables (current.go)
//	<root>/variants/<table>/variant=<v>/...     the same for a study's variants
package store

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Workspace is an opened workspace directory.
type Workspace struct {
	Root string
}

// Open creates the workspace layout under root if needed and checks that it
// can be written.
func Open(root string) (*Workspace, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrWorkspace, root, err)
	}
	w := &Workspace{Root: abs}
	for _, d := range []string{w.Root, w.sourcesDir(), w.runsDir(), w.tmpDir()} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("%w: %w (choose another --workspace or fix its permissions)", ErrWorkspace, err)
		}
	}
	probe, err := os.CreateTemp(w.tmpDir(), probePrefix+"*")
	if err != nil {
		return nil, fmt.Errorf("%w: %s is not writable: %w (choose another --workspace or fix its permissions)", ErrWorkspace, w.Root, err)
	}
	probe.Close()
	os.Remove(probe.Name())
	return w, nil
}

func (w *Workspace) sourcesDir() string { return filepath.Join(w.Root, "sources", "sha256") }
func (w *Workspace) runsDir() string    { return filepath.Join(w.Root, "runs") }
func (w *Workspace) tmpDir() string     { return filepath.Join(w.Root, "tmp") }

// At names the workspace at root without creating or checking anything,
// for commands that only look (datasets show). Open creates and checks.
func At(root string) *Workspace {
	abs, err := filepath.Abs(root)
	if err != nil {
		abs = root
	}
	return &Workspace{Root: abs}
}

// LockName is the file name of the record of current runs.
const LockName = "takedown.lock"

// LockPath is the path of takedown.lock, the record of current runs.
func (w *Workspace) LockPath() string { return filepath.Join(w.Root, LockName) }

// HasLockFile reports whether takedown.lock exists.
func (w *Workspace) HasLockFile() bool {
	_, err := os.Stat(w.LockPath())
	return err == nil
}

// DownloadDir is where the partial downloads of a dataset live (resumed by
// the next fetch; never a source).
func (w *Workspace) DownloadDir(dataset string) string {
	return filepath.Join(w.tmpDir(), downloadsName, strings.ReplaceAll(dataset, "/", "_"))
}

const downloadsName = "downloads"

// probePrefix names the file Open writes to check that tmp/ is writable.
const probePrefix = "probe-"

// TempDir creates a private directory under tmp/ (name pattern as for
// os.MkdirTemp) for a stage's scratch files.
func (w *Workspace) TempDir(pattern string) (string, error) {
	dir, err := os.MkdirTemp(w.tmpDir(), pattern)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrWorkspace, err)
	}
	return dir, nil
}

// MoveAside renames dir (a run directory) into tmp/ under a fresh name and
// returns that name, so it is out of the way of a new publication but not
// yet gone. Callers hold Exclusive.
func (w *Workspace) MoveAside(dir, prefix string) (string, error) {
	aside, err := os.MkdirTemp(w.tmpDir(), prefix+"-"+filepath.Base(dir)+"-")
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrWorkspace, err)
	}
	// The directory was made for its unique name: os.Rename does not
	// replace a directory. Callers hold Exclusive, so tmp/ is theirs.
	os.Remove(aside)
	if err := os.Rename(dir, aside); err != nil {
		os.Remove(aside)
		return "", fmt.Errorf("%w: move %s aside: %w", ErrWorkspace, dir, err)
	}
	return aside, nil
}

// RunDir is the directory of a published run.
func (w *Workspace) RunDir(dataset, stage, runID string) string {
	return filepath.Join(w.runsDir(), filepath.FromSlash(dataset), stage, runID)
}

// SourcePath is where the source file with the given sha256 hex digest lives.
func (w *Workspace) SourcePath(digest string) string {
	return filepath.Join(w.sourcesDir(), digest[:2], digest)
}

// HasSource reports whether a source with this digest is in the store.
func (w *Workspace) HasSource(digest string) bool {
	_, err := os.Stat(w.SourcePath(digest))
	return err == nil
}

// PutSource copies r into the source store and returns its sha256 digest and
// size. The bytes are written to a temp file, fsynced and renamed into place,
// so a partial copy never appears as a source.
func (w *Workspace) PutSource(r io.Reader) (digest string, size int64, err error) {
	f, err := os.CreateTemp(w.tmpDir(), "source-*")
	if err != nil {
		return "", 0, fmt.Errorf("%w: %w", ErrWorkspace, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	h := sha256.New()
	size, err = io.Copy(io.MultiWriter(f, h), r)
	if err != nil {
		return "", 0, fmt.Errorf("copy source: %w", err)
	}
	if err = f.Sync(); err != nil {
		return "", 0, fmt.Errorf("sync source: %w", err)
	}
	if err = f.Close(); err != nil {
		return "", 0, fmt.Errorf("close source: %w", err)
	}
	digest = hex.EncodeToString(h.Sum(nil))
	dst := w.SourcePath(digest)
	if err = os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return "", 0, fmt.Errorf("%w: %w", ErrWorkspace, err)
	}
	if err = os.Rename(tmp, dst); err != nil {
		return "", 0, fmt.Errorf("publish source: %w", err)
	}
	if err = syncDir(filepath.Dir(dst)); err != nil {
		return "", 0, err
	}
	return digest, size, nil
}

// FileDigest returns the sha256 hex digest and size of a file.
func FileDigest(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, fmt.Errorf("read %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// Exclusive takes the process lock of the workspace (an advisory lock on
// .mutex), so that two processes never update takedown.lock or publish the
// same run at once. It does not wait: a workspace locked by another process
// is ErrBusy. It returns the function that releases it. The lock is flock(2)
// on Unix and LockFileEx on Windows (mutex_*.go); both belong to the open
// file, so the system drops it when the process dies. (takedown.lock is not
// a mutex: it is the record of current runs, see ReadCurrent.)
func (w *Workspace) Exclusive() (func(), error) {
	p := filepath.Join(w.Root, ".mutex")
	f, err := os.OpenFile(p, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrWorkspace, err)
	}
	if busy, err := lockFile(f); err != nil {
		f.Close()
		if busy {
			return nil, fmt.Errorf("%w: another takedown process is using %s", ErrBusy, w.Root)
		}
		return nil, fmt.Errorf("%w: lock %s: %w", ErrWorkspace, p, err)
	}
	return func() {
		unlockFile(f)
		f.Close()
	}, nil
}

// writeFileAtomic writes data to path through a temp file in the same
// directory, fsyncs it and renames it into place.
func writeFileAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Chmod(tmp, 0o644); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return syncDir(filepath.Dir(path))
}
