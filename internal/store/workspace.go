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
	"time"
)

// Workspace is an opened workspace: a directory, or a bucket and prefix of
// an object store (remote.go).
type Workspace struct {
	// Root is the workspace directory, or its URL without the query
	// ("s3://bucket/prefix") on object storage.
	Root string
	// remote is the bucket of a workspace on object storage, nil for a
	// local one; staging is then the local directory runs are built in.
	remote  *blobStorage
	staging string
}

// Open creates the workspace layout under root if needed and checks that it
// can be written. root is a path, a file:// URL, or the URL of a bucket and
// prefix on object storage (s3://, gs://; see OpenRemote).
func Open(root string) (*Workspace, error) {
	switch schemeOf(root) {
	case "":
	case "file":
		p, err := filePath(root)
		if err != nil {
			return nil, err
		}
		root = p
	default:
		return OpenRemote(root)
	}
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

func (w *Workspace) sourcesDir() string {
	if w.remote != nil {
		return w.Root + "/sources/sha256"
	}
	return filepath.Join(w.Root, "sources", "sha256")
}

func (w *Workspace) runsDir() string {
	if w.remote != nil {
		return w.Root + "/runs"
	}
	return filepath.Join(w.Root, "runs")
}

func (w *Workspace) tmpDir() string {
	if w.remote != nil {
		return w.staging
	}
	return filepath.Join(w.Root, "tmp")
}

// At names the workspace at root without creating or checking anything,
// for commands that only look (datasets show). Open creates and checks; a
// workspace on object storage is opened by At too.
func At(root string) *Workspace {
	switch schemeOf(root) {
	case "":
	case "file":
		if p, err := filePath(root); err == nil {
			root = p
		}
	default:
		if w, err := OpenRemote(root); err == nil {
			return w
		}
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		abs = root
	}
	return &Workspace{Root: abs}
}

// LockName is the file name of the record of current runs.
const LockName = "takedown.lock"

// LockPath is the path of takedown.lock, the record of current runs.
func (w *Workspace) LockPath() string {
	if w.remote != nil {
		return w.Root + "/" + LockName
	}
	return filepath.Join(w.Root, LockName)
}

// HasLockFile reports whether takedown.lock exists.
func (w *Workspace) HasLockFile() bool {
	if w.remote != nil {
		_, err := Stat(w.LockPath())
		return err == nil
	}
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
	if w.remote != nil {
		return w.runsDir() + "/" + keyJoin(dataset, stage, runID)
	}
	return filepath.Join(w.runsDir(), filepath.FromSlash(dataset), stage, runID)
}

// SourcePath is where the source file with the given sha256 hex digest lives.
func (w *Workspace) SourcePath(digest string) string {
	if w.remote != nil {
		return w.sourcesDir() + "/" + digest[:2] + "/" + digest
	}
	return filepath.Join(w.sourcesDir(), digest[:2], digest)
}

// HasSource reports whether a source with this digest is in the store.
func (w *Workspace) HasSource(digest string) bool {
	if w.remote != nil {
		_, err := Stat(w.SourcePath(digest))
		return err == nil
	}
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
	if w.remote != nil {
		err = w.uploadSource(tmp, digest)
		os.Remove(tmp)
		return digest, size, err
	}
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
	f, err := openPath(path)
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

// Locks. A stage run of a dataset holds the workspace shared and its
// dataset exclusively, so runs of different datasets go on at once, two
// runs of one dataset do not, and gc and rebuild-lock (which hold the
// workspace exclusively) wait for all of them. Each lock is flock(2) on
// Unix and LockFileEx on Windows (mutex_*.go) on a file of its own; both
// belong to the open file, so the system drops them when the process dies.
// (takedown.lock is not a mutex: it is the record of current runs, see
// ReadCurrent; UpdateCurrent serializes its read-modify-write.)
//
// Without a wait, a lock another process holds is ErrBusy at once; with
// one, it is tried again until the wait is over.

// Exclusive locks the whole workspace: no stage run of any dataset, gc or
// rebuild-lock in another process. It returns the function that releases it.
func (w *Workspace) Exclusive(wait time.Duration) (func(), error) {
	if w.remote != nil {
		return w.exclusiveRemote(wait)
	}
	return w.lock(filepath.Join(w.Root, ".mutex"), false, time.Now().Add(wait), wait, "another takedown process is using "+w.Root)
}

// ExclusiveDataset locks one dataset for a stage run: the workspace shared
// (other datasets may run) and the dataset exclusively.
func (w *Workspace) ExclusiveDataset(dataset string, wait time.Duration) (func(), error) {
	if w.remote != nil {
		return w.exclusiveDatasetRemote(dataset, wait)
	}
	name := strings.ReplaceAll(dataset, "/", "%2F") + ".mutex"
	return w.sharedAnd(name, "another takedown process is running dataset "+dataset+" in "+w.Root, wait)
}

// sharedAnd holds the workspace shared (gc and rebuild-lock wait) and the
// lock file name under locks/ exclusively; busyMsg says who holds it.
func (w *Workspace) sharedAnd(name, busyMsg string, wait time.Duration) (func(), error) {
	deadline := time.Now().Add(wait)
	unlockWS, err := w.lock(filepath.Join(w.Root, ".mutex"), true, deadline, wait, "gc or rebuild-lock is running in "+w.Root)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(w.locksDir(), 0o755); err != nil {
		unlockWS()
		return nil, fmt.Errorf("%w: %w", ErrWorkspace, err)
	}
	unlock, err := w.lock(filepath.Join(w.locksDir(), name), false, deadline, wait, busyMsg)
	if err != nil {
		unlockWS()
		return nil, err
	}
	return func() { unlock(); unlockWS() }, nil
}

func (w *Workspace) locksDir() string { return filepath.Join(w.Root, "locks") }

// UpdateCurrent applies fn to takedown.lock as it is on disk now and writes
// the result, holding a short lock of its own so that processes running
// other datasets do not lose each other's changes.
func (w *Workspace) UpdateCurrent(fn func(*Lock) error) error {
	if w.remote != nil {
		return w.updateCurrentRemote(fn)
	}
	unlock, err := w.lock(filepath.Join(w.Root, ".lock-mutex"), false, time.Now().Add(time.Minute), time.Minute, "takedown.lock is being written by another process")
	if err != nil {
		return err
	}
	defer unlock()
	l, err := w.ReadCurrent()
	if err != nil {
		return err
	}
	if err := fn(l); err != nil {
		return err
	}
	return w.WriteCurrent(l)
}

// lock takes a lock on the file p, trying again until the deadline; wait
// is the whole wait asked for, for the message.
func (w *Workspace) lock(p string, shared bool, deadline time.Time, wait time.Duration, busyMsg string) (func(), error) {
	f, err := os.OpenFile(p, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrWorkspace, err)
	}
	pause := 50 * time.Millisecond
	for {
		busy, err := lockFile(f, shared)
		if err == nil {
			break
		}
		if !busy {
			f.Close()
			return nil, fmt.Errorf("%w: lock %s: %w", ErrWorkspace, p, err)
		}
		if !time.Now().Before(deadline) {
			f.Close()
			if wait > 0 {
				return nil, fmt.Errorf("%w: %s (waited %s)", ErrBusy, busyMsg, wait)
			}
			return nil, fmt.Errorf("%w: %s", ErrBusy, busyMsg)
		}
		time.Sleep(min(pause, time.Until(deadline)))
		pause = min(2*pause, time.Second)
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
