package store

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/big"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// A workspace on object storage (s3://bucket/prefix, gs://bucket/prefix)
// keeps the layout of a local one under its prefix: takedown.lock,
// sources/sha256/.., runs/<dataset>/<stage>/<run-id>/.., and leases/ for the
// dataset locks. There is no tmp/ in the bucket: a run is built in a local
// staging directory (TAKEDOWN_STAGING, else the system's temp directory),
// then published:
//
//  1. every output file is uploaded (with its sha256 as metadata),
//  2. manifest.json is uploaded last: a run exists when its manifest does,
//  3. takedown.lock is updated by compare-and-swap (updateCurrentRemote).
//
// A process killed between the steps leaves objects no manifest or no lock
// entry names: invisible, and removed by gc.

// OpenRemote opens the workspace at a URL of object storage and checks that
// its bucket exists and can be listed with the credentials of the
// environment.
func OpenRemote(raw string) (*Workspace, error) {
	s, err := openBlob(context.Background(), raw)
	if err != nil {
		return nil, err
	}
	base := os.Getenv("TAKEDOWN_STAGING")
	if base == "" {
		base = os.TempDir()
	}
	sum := sha256.Sum256([]byte(s.root))
	staging := filepath.Join(base, "takedown-staging-"+hex.EncodeToString(sum[:6]))
	if err := os.MkdirAll(staging, 0o755); err != nil {
		return nil, fmt.Errorf("%w: staging directory for %s: %w (set TAKEDOWN_STAGING to a writable directory)", ErrWorkspace, s.root, err)
	}
	register(s)
	return &Workspace{Root: s.root, remote: s, staging: staging}, nil
}

// Remote reports whether the workspace is on object storage.
func (w *Workspace) Remote() bool { return w.remote != nil }

// filePath is the local path of a file:// workspace URL.
func filePath(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host != "" && u.Host != "localhost" {
		return "", fmt.Errorf("%w: workspace %s: a file:// URL names a local directory (file:///path)", ErrScheme, raw)
	}
	return filepath.FromSlash(u.Path), nil
}

func (w *Workspace) key(p string) string {
	_, k, _ := resolve(p)
	return k
}

// metaSHA256 is the metadata key of an uploaded file's sha256.
const metaSHA256 = "sha256"

// uploadSource uploads the local file tmp as the source with digest,
// unless the store has it already (sources are content-addressed).
func (w *Workspace) uploadSource(tmp, digest string) error {
	if w.HasSource(digest) {
		return nil
	}
	return w.uploadFile(tmp, w.key(w.SourcePath(digest)), digest)
}

func (w *Workspace) uploadFile(local, key, digest string) error {
	f, err := os.Open(local)
	if err != nil {
		return err
	}
	defer f.Close()
	return w.remote.Upload(context.Background(), key, f, map[string]string{metaSHA256: digest})
}

// publishRemote uploads the staged run: its outputs, then its manifest
// (bytes b, already in the staging dir). A run whose manifest is there
// already and whose outputs match it is kept (another process published
// the same run); otherwise the upload replaces it.
func (s *Staging) publishRemote(m *Manifest, b []byte) (*Run, error) {
	w := s.ws
	defer s.Discard()
	dst := w.RunDir(s.dataset, s.stage, s.runID)
	if run, ok := w.intact(s.dataset, s.stage, s.runID); ok {
		return run, nil
	}
	prefix := w.key(dst)
	for _, o := range m.Outputs {
		if err := w.uploadFile(filepath.Join(s.Dir, o.File), prefix+"/"+o.File, o.SHA256); err != nil {
			return nil, fmt.Errorf("publish run %s: %w", s.runID, err)
		}
	}
	sum := sha256.Sum256(b)
	digest := hex.EncodeToString(sum[:])
	if err := w.remote.Upload(context.Background(), prefix+"/"+ManifestName, bytes.NewReader(b), map[string]string{metaSHA256: digest}); err != nil {
		return nil, fmt.Errorf("publish run %s: %w", s.runID, err)
	}
	return &Run{Dataset: s.dataset, Stage: s.stage, ID: s.runID, Dir: dst, Manifest: m, ManifestSHA256: digest}, nil
}

// checkOutputsRemote compares each output's size and recorded sha256 (the
// metadata written with it) with the manifest: one metadata request per
// file, no download. An object without the metadata is hashed.
func checkOutputsRemote(s *blobStorage, dir string, m *Manifest) []Problem {
	var out []Problem
	for _, o := range m.Outputs {
		key := dir + "/" + o.File
		a, err := s.Stat(context.Background(), key)
		if err != nil {
			out = append(out, Problem{File: o.File, Reason: "missing"})
			continue
		}
		d := a.Metadata[metaSHA256]
		if d == "" {
			if d, _, err = FileDigest(s.root + "/" + key); err != nil {
				out = append(out, Problem{File: o.File, Reason: "missing"})
				continue
			}
		}
		if d != o.SHA256 || a.Size != o.Bytes {
			out = append(out, Problem{File: o.File, Reason: fmt.Sprintf("altered in the store: sha256 %.12s, manifest says %.12s", d, o.SHA256)})
		}
	}
	return out
}

// RemoveRun removes a damaged run directory. On object storage the
// manifest goes first, so the run stops existing before its files do.
// Callers hold the dataset.
func (w *Workspace) RemoveRun(dir string) error {
	if w.remote == nil {
		aside, err := w.MoveAside(dir, "damaged")
		if err != nil {
			return err
		}
		if err := os.RemoveAll(aside); err != nil {
			return fmt.Errorf("remove damaged run %s (moved to %s): %w", dir, aside, err)
		}
		return nil
	}
	return w.removePrefix(w.key(dir))
}

func (w *Workspace) removePrefix(prefix string) error {
	ctx := context.Background()
	if err := w.remote.Delete(ctx, prefix+"/"+ManifestName); err != nil {
		return err
	}
	var keys []string
	if err := w.remote.List(ctx, prefix+"/", func(k string, _ int64) error {
		keys = append(keys, k)
		return nil
	}); err != nil {
		return err
	}
	for _, k := range keys {
		if err := w.remote.Delete(ctx, k); err != nil {
			return err
		}
	}
	return nil
}

// CAS of takedown.lock. Every writer reads the lock with its version,
// applies its change and writes it back only if the version is unchanged
// (If-Match on S3's ETag, a generation precondition on GCS, If-None-Match: *
// when there is no lock yet). A writer that loses the race reads again and
// re-applies its change, after a pause that grows with each conflict.

// CASAttempts is how many times a lock update is tried before it gives up
// with ErrBusy; CASPause is the first pause between tries (doubled each
// time, at most a second, with jitter).
var (
	CASAttempts = 12
	CASPause    = 20 * time.Millisecond
)

func (w *Workspace) updateCurrentRemote(fn func(*Lock) error) error {
	ctx := context.Background()
	key := LockName
	pause := CASPause
	for attempt := 1; ; attempt++ {
		b, version, err := w.remote.ReadVersioned(ctx, key)
		var l *Lock
		switch {
		case errors.Is(err, fs.ErrNotExist):
			l, version = &Lock{Version: LockVersion, Datasets: map[string]map[string]LockEntry{}}, ""
		case err != nil:
			return fmt.Errorf("read %s: %w", w.LockPath(), err)
		default:
			if l, err = w.decodeLock(b); err != nil {
				return err
			}
		}
		if err := fn(l); err != nil {
			return err
		}
		l.Version = LockVersion
		out, err := json.MarshalIndent(l, "", "  ")
		if err != nil {
			return err
		}
		err = w.remote.WriteIf(ctx, key, append(out, '\n'), version)
		if err == nil {
			return nil
		}
		if !errors.Is(err, ErrPrecondition) {
			return fmt.Errorf("write %s: %w", w.LockPath(), err)
		}
		if attempt >= CASAttempts {
			return fmt.Errorf("%w: %s kept changing while this process wrote it (%d conflicting writes); try again", ErrBusy, w.LockPath(), attempt)
		}
		time.Sleep(jitter(pause))
		pause = min(2*pause, time.Second)
	}
}

// jitter returns a pause between d/2 and d.
func jitter(d time.Duration) time.Duration {
	n, err := rand.Int(rand.Reader, big.NewInt(int64(d/2)+1))
	if err != nil {
		return d
	}
	return d/2 + time.Duration(n.Int64())
}

// Leases. A dataset run on object storage holds the lease object
// leases/<dataset>.json, created with If-None-Match: * so that only one
// process gets it; gc and rebuild-lock hold leases/workspace.json and run
// only while no dataset lease is live. A lease names its holder and an
// expiry; its holder renews it every LeaseTTL/3, and a lease past its
// expiry (its holder died) is taken over by a conditional write on its
// version. Release deletes it.

// LeaseTTL is how long a lease holds without renewal.
var LeaseTTL = 2 * time.Minute

type lease struct {
	Holder  string    `json:"holder"`
	Expires time.Time `json:"expires"`
}

const leasesDir = "leases"

func leaseKey(dataset string) string {
	return leasesDir + "/" + strings.ReplaceAll(dataset, "/", "%2F") + ".json"
}

const workspaceLease = leasesDir + "/workspace.json"

var holderOnce sync.Once
var holderPrefix string

func newHolder() string {
	holderOnce.Do(func() {
		host, _ := os.Hostname()
		holderPrefix = fmt.Sprintf("%s:%d", host, os.Getpid())
	})
	var b [6]byte
	rand.Read(b[:])
	return holderPrefix + ":" + hex.EncodeToString(b[:])
}

// live reads the lease at key: whether it is held and unexpired, and by
// whom.
func (w *Workspace) live(ctx context.Context, key string) (lease, string, bool, error) {
	b, version, err := w.remote.ReadVersioned(ctx, key)
	if errors.Is(err, fs.ErrNotExist) {
		return lease{}, "", false, nil
	}
	if err != nil {
		return lease{}, "", false, err
	}
	var l lease
	if json.Unmarshal(b, &l) != nil {
		return l, version, false, nil // unreadable: treat as expired
	}
	return l, version, time.Now().Before(l.Expires), nil
}

// takeLease creates or takes over the lease at key; ok is false when a
// live lease of another holder is there.
func (w *Workspace) takeLease(ctx context.Context, key, holder string) (bool, string, error) {
	data, _ := json.Marshal(lease{Holder: holder, Expires: time.Now().Add(LeaseTTL).UTC()})
	err := w.remote.WriteIf(ctx, key, data, "")
	if err == nil {
		return true, "", nil
	}
	if !errors.Is(err, ErrPrecondition) {
		return false, "", err
	}
	l, version, alive, err := w.live(ctx, key)
	if err != nil {
		return false, "", err
	}
	if alive {
		return false, fmt.Sprintf("held by %s until %s", l.Holder, l.Expires.Format(time.RFC3339)), nil
	}
	if version == "" { // released in between
		return false, "released", nil
	}
	err = w.remote.WriteIf(ctx, key, data, version)
	if errors.Is(err, ErrPrecondition) {
		return false, "taken over by another process", nil
	}
	return err == nil, "", err
}

// holdLease takes the lease at key, waiting until the deadline, and keeps
// it renewed until the returned release is called. check, when set, runs
// once the lease is held; a non-empty answer gives it back and waits.
func (w *Workspace) holdLease(key string, wait time.Duration, busyMsg string, check func() (string, error)) (func(), error) {
	ctx := context.Background()
	holder := newHolder()
	deadline := time.Now().Add(wait)
	pause := 50 * time.Millisecond
	for {
		ok, why, err := w.takeLease(ctx, key, holder)
		if err != nil {
			return nil, err
		}
		if ok && check != nil {
			if why, err = check(); err != nil || why != "" {
				w.dropLease(ctx, key, holder)
				if err != nil {
					return nil, err
				}
				ok = false
			}
		}
		if ok {
			return w.renew(key, holder), nil
		}
		if !time.Now().Before(deadline) {
			if wait > 0 {
				return nil, fmt.Errorf("%w: %s (%s; waited %s)", ErrBusy, busyMsg, why, wait)
			}
			return nil, fmt.Errorf("%w: %s (%s)", ErrBusy, busyMsg, why)
		}
		time.Sleep(min(jitter(pause), time.Until(deadline)))
		pause = min(2*pause, time.Second)
	}
}

// renew keeps the lease alive until the returned function releases it.
func (w *Workspace) renew(key, holder string) func() {
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(LeaseTTL / 3)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				ctx := context.Background()
				l, version, _, err := w.live(ctx, key)
				if err != nil || l.Holder != holder {
					continue
				}
				data, _ := json.Marshal(lease{Holder: holder, Expires: time.Now().Add(LeaseTTL).UTC()})
				w.remote.WriteIf(ctx, key, data, version)
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			close(stop)
			<-done
			w.dropLease(context.Background(), key, holder)
		})
	}
}

func (w *Workspace) dropLease(ctx context.Context, key, holder string) {
	if l, _, _, err := w.live(ctx, key); err == nil && l.Holder == holder {
		w.remote.Delete(ctx, key)
	}
}

func (w *Workspace) exclusiveDatasetRemote(dataset string, wait time.Duration) (func(), error) {
	return w.holdLease(leaseKey(dataset), wait, "another takedown process is running dataset "+dataset+" in "+w.Root, func() (string, error) {
		if l, _, alive, err := w.live(context.Background(), workspaceLease); err != nil || alive {
			return "gc or rebuild-lock is running, held by " + l.Holder, err
		}
		return "", nil
	})
}

func (w *Workspace) exclusiveRemote(wait time.Duration) (func(), error) {
	return w.holdLease(workspaceLease, wait, "another takedown process is using "+w.Root, func() (string, error) {
		ctx := context.Background()
		var busy []string
		err := w.remote.List(ctx, leasesDir+"/", func(k string, _ int64) error {
			if k == workspaceLease {
				return nil
			}
			if l, _, alive, err := w.live(ctx, k); err != nil {
				return err
			} else if alive {
				busy = append(busy, strings.TrimSuffix(path.Base(k), ".json")+" held by "+l.Holder)
			}
			return nil
		})
		if err != nil {
			return "", err
		}
		if len(busy) > 0 {
			return "dataset " + strings.Join(busy, ", "), nil
		}
		return "", nil
	})
}

// runDirsRemote lists the published runs: the prefixes under runs/ that
// hold a manifest.json.
func (w *Workspace) runDirsRemote() []string {
	var out []string
	w.remote.List(context.Background(), "runs/", func(k string, _ int64) error {
		if dir, ok := strings.CutSuffix(k, "/"+ManifestName); ok && strings.Count(dir, "/") >= 3 {
			out = append(out, w.Root+"/"+dir)
		}
		return nil
	})
	sort.Strings(out)
	return out
}

// findGarbageRemote lists the runs and sources that keepRuns and
// keepSources do not name, and the local staging leftovers. Objects under
// runs/ in no run with a manifest (an upload cut short) are garbage too.
func (w *Workspace) findGarbageRemote(all bool, keepRuns, keepSources map[string]bool) (*Garbage, error) {
	ctx := context.Background()
	g := &Garbage{remote: w.remote}
	runs := w.runDirsRemote()
	runsOf, dropOf := map[string]int{}, map[string]int{}
	published := map[string]bool{}
	for _, p := range runs {
		published[p] = true
		ds := w.datasetOf(p)
		runsOf[ds]++
		if !keepRuns[p] {
			dropOf[ds]++
			g.Runs = append(g.Runs, p)
		}
	}
	if !all && len(g.Runs) > 0 {
		if err := w.unsafeGC(runsOf, dropOf, len(g.Runs)); err != nil {
			return nil, err
		}
	}
	drop := map[string]bool{}
	for _, p := range g.Runs {
		drop[p] = true
	}
	partial := map[string]bool{}
	err := w.remote.List(ctx, "runs/", func(k string, size int64) error {
		dir := w.Root + "/" + path.Dir(k)
		switch {
		case drop[dir]:
			g.Bytes += size
		case !published[dir] && !keepRuns[dir]:
			if !partial[dir] {
				partial[dir] = true
				g.Runs = append(g.Runs, dir)
			}
			g.Bytes += size
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = w.remote.List(ctx, "sources/sha256/", func(k string, size int64) error {
		if !keepSources[path.Base(k)] {
			g.Sources = append(g.Sources, w.Root+"/"+k)
			g.Bytes += size
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
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

func (g *Garbage) removeRemote() error {
	ctx := context.Background()
	w := &Workspace{Root: g.remote.root, remote: g.remote}
	for _, p := range g.Runs {
		if err := w.removePrefix(w.key(p)); err != nil {
			return fmt.Errorf("gc %s: %w", p, err)
		}
	}
	for _, p := range g.Sources {
		if err := g.remote.Delete(ctx, w.key(p)); err != nil {
			return fmt.Errorf("gc %s: %w", p, err)
		}
	}
	for _, p := range g.Temp {
		if err := os.RemoveAll(p); err != nil {
			return fmt.Errorf("gc %s: %w", p, err)
		}
	}
	return nil
}

// HasRun reports whether the run is published (its directory exists; on
// object storage, its manifest).
func (w *Workspace) HasRun(dataset, stage, id string) bool {
	if w.remote != nil {
		_, err := Stat(w.RunDir(dataset, stage, id) + "/" + ManifestName)
		return err == nil
	}
	_, err := os.Stat(w.RunDir(dataset, stage, id))
	return err == nil
}

// Local returns a local path with the bytes of the file at p: p itself in
// a local workspace; on object storage a copy downloaded into the local
// cache beside the staging directory (kept for the next read; sources are
// content-addressed, so a copy of the right size is the right copy).
func (w *Workspace) Local(p string) (string, error) {
	s, key, ok := resolve(p)
	if !ok {
		return p, nil
	}
	a, err := s.Stat(context.Background(), key)
	if err != nil {
		return "", err
	}
	dst := filepath.Join(w.staging+"-cache", filepath.FromSlash(key))
	if info, err := os.Stat(dst); err == nil && info.Size() == a.Size {
		return dst, nil
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return "", fmt.Errorf("%w: %w", ErrWorkspace, err)
	}
	r, err := s.NewRangeReader(context.Background(), key, 0, -1)
	if err != nil {
		return "", err
	}
	defer r.Close()
	f, err := os.CreateTemp(filepath.Dir(dst), ".download-*")
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrWorkspace, err)
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		os.Remove(f.Name())
		return "", s.fail("read", key, err)
	}
	if err := f.Close(); err != nil {
		os.Remove(f.Name())
		return "", err
	}
	if err := os.Rename(f.Name(), dst); err != nil {
		return "", err
	}
	return dst, nil
}

// LandSource uploads the verified local file part as the source with
// digest (a download finished in the local staging directory) and removes
// it. Only for a workspace on object storage: a local one renames.
func (w *Workspace) LandSource(part, digest string) error {
	if w.remote == nil {
		return fmt.Errorf("internal: LandSource on local workspace %s", w.Root)
	}
	if err := w.uploadSource(part, digest); err != nil {
		return err
	}
	return os.Remove(part)
}

// Held reports whether another process holds the workspace or a dataset of
// it: on object storage, whether any lease is live (read only: nothing is
// written, so read-only credentials do for status).
func (w *Workspace) Held() (bool, error) {
	if w.remote == nil {
		unlock, err := w.Exclusive(0)
		if err == nil {
			unlock()
			return false, nil
		}
		if errors.Is(err, ErrBusy) {
			return true, nil
		}
		return false, err
	}
	ctx := context.Background()
	held := false
	err := w.remote.List(ctx, leasesDir+"/", func(k string, _ int64) error {
		if _, _, alive, err := w.live(ctx, k); err != nil {
			return err
		} else if alive {
			held = true
		}
		return nil
	})
	return held, err
}
