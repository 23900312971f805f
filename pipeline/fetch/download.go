package fetch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/takedown-research/takedown/datasets"
	"github.com/takedown-research/takedown/internal/progress"
	"github.com/takedown-research/takedown/internal/store"
)

// DownloadOptions say how fetch downloads. None of them changes what lands
// (the bytes are pinned by digest), so they are not Params and do not enter
// the run id.
type DownloadOptions struct {
	// Mirror, when set, replaces the scheme and host of every URL: with
	// Mirror "http://mirror.example/base", https://host/a/b.zip is fetched
	// from http://mirror.example/base/a/b.zip.
	Mirror string
	// Jobs is how many files download at once (default 2).
	Jobs int
	// Retries is how many times a failed attempt is retried (default 5);
	// connection failures (no route, refused, no DNS) are retried once.
	Retries int
	// Backoff is the first wait before a retry (default 1s); it doubles
	// with every retry up to MaxBackoff (default 30s).
	Backoff    time.Duration
	MaxBackoff time.Duration
	// StallTimeout abandons an attempt whose server sends nothing for this
	// long (default 60s); the next attempt resumes where it stopped.
	StallTimeout time.Duration
	// Client is the HTTP client (default: proxy from the environment).
	Client *http.Client
	// Progress receives byte counts; nil reports nothing.
	Progress Progress
	// Refetch downloads even files whose pinned digest is already in the
	// source store, to check what the publisher serves now.
	Refetch bool

	// create opens the partial file for writing; tests inject failing
	// writers (a full disk) through it.
	create func(path string, flag int) (io.WriteCloser, error)
}

func (o DownloadOptions) withDefaults() DownloadOptions {
	if o.Jobs <= 0 {
		o.Jobs = 2
	}
	if o.Retries < 0 {
		o.Retries = 0
	}
	if o.Backoff <= 0 {
		o.Backoff = time.Second
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 30 * time.Second
	}
	if o.StallTimeout <= 0 {
		o.StallTimeout = 60 * time.Second
	}
	if o.Client == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone() // proxy from the environment
		tr.ResponseHeaderTimeout = o.StallTimeout
		o.Client = &http.Client{Transport: tr}
	}
	if o.Progress == nil {
		o.Progress = nopProgress{}
	}
	if o.create == nil {
		o.create = func(p string, flag int) (io.WriteCloser, error) { return os.OpenFile(p, flag, 0o644) }
	}
	return o
}

// DefaultDownloadOptions returns the defaults (Retries 5, Jobs 2).
func DefaultDownloadOptions() DownloadOptions { return DownloadOptions{Retries: 5, Jobs: 2} }

// MirrorURL rewrites u onto the mirror base, keeping its path.
func MirrorURL(u, mirror string) (string, error) {
	if mirror == "" {
		return u, nil
	}
	pu, err := url.Parse(u)
	if err != nil {
		return "", err
	}
	mu, err := url.Parse(mirror)
	if err != nil || mu.Scheme == "" || mu.Host == "" {
		return "", fmt.Errorf("--mirror %q: give a base URL like http://host/path", mirror)
	}
	return strings.TrimSuffix(mirror, "/") + pu.EscapedPath(), nil
}

// errDial marks attempts that never reached a server; they are retried once.
var errDial = errors.New("cannot connect")

// errStalled marks attempts abandoned because the server sent nothing.
var errStalled = errors.New("server sent nothing")

// httpError is a response that was not a success.
type httpError struct {
	status int
	text   string
}

func (e *httpError) Error() string { return "HTTP " + e.text }

// diskError marks a failure to write the partial file.
type diskError struct{ err error }

func (e *diskError) Error() string { return e.err.Error() }
func (e *diskError) Unwrap() error { return e.err }

// partMeta is kept beside a partial download so a resume only appends to
// bytes of the same file version.
type partMeta struct {
	URL          string `json:"url"`
	ETag         string `json:"etag,omitempty"`
	LastModified string `json:"last_modified,omitempty"`
}

// downloadDir is where partial downloads live; they never appear as sources.
func downloadDir(ws *store.Workspace, dataset string) string {
	return ws.DownloadDir(dataset)
}

// PartialDownloads lists the partial files of a dataset in the workspace
// (name -> bytes so far).
func PartialDownloads(ws *store.Workspace, dataset string) map[string]int64 {
	es, _ := os.ReadDir(ws.DownloadDir(dataset))
	out := map[string]int64{}
	for _, e := range es {
		if name, ok := strings.CutSuffix(e.Name(), ".part"); ok {
			if info, err := e.Info(); err == nil {
				out[name] = info.Size()
			}
		}
	}
	return out
}

// download lands every file of the release from its URL.
func download(ctx context.Context, in Input, log *slog.Logger) (store.SourceList, error) {
	o := in.Download.withDefaults()
	var missing []string
	for _, f := range in.Descriptor.Files {
		if f.URL == "" {
			missing = append(missing, f.Name)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%w %s: the registry knows no URL for %s; put the release's files %s in a folder and use --from-dir DIR",
			ErrNoSource, in.Descriptor.Name, strings.Join(missing, ", "), fileNames(in.Descriptor))
	}
	if err := os.MkdirAll(downloadDir(in.Workspace, in.Descriptor.Name), 0o755); err != nil {
		return nil, fmt.Errorf("%w: %w", store.ErrWorkspace, err)
	}
	m := progress.Or(in.Progress)
	m.Phase("download", progress.Bytes, knownBytes(in.Descriptor.Files))
	o.Progress = meterProgress{o.Progress, m}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	list := make(store.SourceList, len(in.Descriptor.Files))
	errs := make([]error, len(in.Descriptor.Files))
	sem := make(chan struct{}, o.Jobs)
	var wg sync.WaitGroup
	for i, f := range in.Descriptor.Files {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				errs[i] = ctx.Err()
				return
			}
			defer func() { <-sem }()
			sf, err := downloadFile(ctx, in, f, o, log)
			if err != nil {
				errs[i] = err
				cancel() // one failure stops the others; their partial files stay for a resume
				return
			}
			list[i] = sf
		}()
	}
	wg.Wait()
	// Report the first real failure, not the cancellations it caused.
	var first error
	for _, err := range errs {
		if err != nil && !errors.Is(err, context.Canceled) {
			first = err
			break
		}
	}
	if first == nil {
		for _, err := range errs {
			if err != nil {
				first = err
				break
			}
		}
	}
	if first != nil {
		return nil, first
	}
	return list, nil
}

// downloadFile downloads one file with retries, verifies it and lands it.
func downloadFile(ctx context.Context, in Input, f datasets.File, o DownloadOptions, log *slog.Logger) (store.SourceFile, error) {
	want, wantFrom := expected(in, f)
	if want != "" && !o.Refetch && in.Workspace.HasSource(want) {
		size, err := store.Stat(in.Workspace.SourcePath(want))
		if err == nil {
			log.Info("already in the source store", "event", "fetch_cached", "file", f.Name, "sha256", want)
			return store.SourceFile{Name: f.Name, Role: f.Role, SHA256: want, Bytes: size}, nil
		}
	}
	u, err := MirrorURL(f.URL, o.Mirror)
	if err != nil {
		return store.SourceFile{}, fmt.Errorf("%w %s: %v", ErrNoSource, in.Descriptor.Name, err)
	}
	part := filepath.Join(downloadDir(in.Workspace, in.Descriptor.Name), f.Name+".part")
	var lastErr error
	for attempt := 0; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return store.SourceFile{}, err
		}
		lastErr = attemptOnce(ctx, u, part, f, o, log)
		if lastErr == nil {
			break
		}
		var de *diskError
		if errors.As(lastErr, &de) {
			os.Remove(part)
			os.Remove(part + ".json")
			what := "cannot write"
			if isDiskFull(de.err) {
				what = "disk full"
			}
			return store.SourceFile{}, fmt.Errorf("%w: %s: writing %s into %s: %w; the partial file was removed: free space there (or use another --workspace) and fetch again",
				store.ErrWorkspace, what, f.Name, filepath.Dir(part), de.err)
		}
		if ctx.Err() != nil {
			return store.SourceFile{}, ctx.Err()
		}
		retries := o.Retries
		if errors.Is(lastErr, errDial) {
			retries = min(retries, 1)
		}
		var he *httpError
		permanent := errors.As(lastErr, &he) && he.status < 500 && he.status != http.StatusTooManyRequests && he.status != http.StatusRequestTimeout
		if permanent || attempt >= retries {
			break
		}
		wait := o.Backoff << attempt
		if wait > o.MaxBackoff || wait <= 0 {
			wait = o.MaxBackoff
		}
		log.Warn("download attempt failed; retrying", "event", "fetch_retry", "file", f.Name, "url", u,
			"attempt", attempt+1, "error", lastErr.Error(), "wait_ms", wait.Milliseconds())
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return store.SourceFile{}, ctx.Err()
		}
	}
	if lastErr != nil {
		o.Progress.Done(f.Name, lastErr)
		hint := "check the network, or download the file by hand and use --from-dir DIR"
		var he *httpError
		if errors.As(lastErr, &he) && (he.status == 404 || he.status == 403 || he.status == 410) {
			hint = "the file is not at this URL (any more): use --mirror BASE, or bring the file with --from-dir DIR"
		}
		if _, err := os.Stat(part); err == nil {
			hint += "; the partial download is kept and a later fetch resumes it"
		}
		return store.SourceFile{}, fmt.Errorf("%w %s: download %s failed: %v (%s)", ErrNoSource, in.Descriptor.Name, u, lastErr, hint)
	}
	sf, err := landPart(in, f, part, want, wantFrom)
	o.Progress.Done(f.Name, err)
	if err != nil {
		return store.SourceFile{}, err
	}
	log.Info("downloaded", "event", "fetch_file", "file", f.Name, "sha256", sf.SHA256, "bytes", sf.Bytes)
	return sf, nil
}

// attemptOnce makes one request, resuming a partial file when there is one.
func attemptOnce(ctx context.Context, u, part string, f datasets.File, o DownloadOptions, log *slog.Logger) error {
	var meta partMeta
	var offset int64
	if b, err := os.ReadFile(part + ".json"); err == nil && json.Unmarshal(b, &meta) == nil && meta.URL == u {
		if info, err := os.Stat(part); err == nil {
			offset = info.Size()
		}
	} else {
		meta = partMeta{URL: u}
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return &httpError{status: 400, text: err.Error()}
	}
	if offset > 0 {
		req.Header.Set("Range", "bytes="+strconv.FormatInt(offset, 10)+"-")
		switch {
		case meta.ETag != "":
			req.Header.Set("If-Range", meta.ETag)
		case meta.LastModified != "":
			req.Header.Set("If-Range", meta.LastModified)
		}
	}
	resp, err := o.Client.Do(req)
	if err != nil {
		var op *net.OpError
		var dns *net.DNSError
		if errors.As(err, &dns) || errors.As(err, &op) && (op.Op == "dial" || op.Op == "proxyconnect") {
			return fmt.Errorf("%w: %v", errDial, err)
		}
		return err
	}
	defer resp.Body.Close()
	flag := os.O_CREATE | os.O_WRONLY
	var total int64 = -1
	switch resp.StatusCode {
	case http.StatusOK:
		if offset > 0 {
			log.Info("server ignored the range request (or the file changed); starting over", "event", "fetch_restart", "file", f.Name)
		}
		offset = 0
		flag |= os.O_TRUNC
		total = resp.ContentLength
	case http.StatusPartialContent:
		start, size, ok := parseContentRange(resp.Header.Get("Content-Range"))
		if !ok || start != offset {
			os.Remove(part)
			return fmt.Errorf("server answered range %q to a request from byte %d; starting over", resp.Header.Get("Content-Range"), offset)
		}
		flag |= os.O_APPEND
		total = size
	case http.StatusRequestedRangeNotSatisfiable:
		os.Remove(part) // the partial file is longer than the file: another version
		return fmt.Errorf("server refused the range from byte %d; starting over", offset)
	default:
		return &httpError{status: resp.StatusCode, text: resp.Status}
	}
	meta.ETag, meta.LastModified = resp.Header.Get("ETag"), resp.Header.Get("Last-Modified")
	if b, err := json.Marshal(meta); err == nil {
		if err := os.WriteFile(part+".json", b, 0o644); err != nil {
			return &diskError{err}
		}
	}
	w, err := o.create(part, flag)
	if err != nil {
		return &diskError{err}
	}
	o.Progress.Start(f.Name, total, offset)
	stall := time.AfterFunc(o.StallTimeout, func() { cancel(errStalled) })
	defer stall.Stop()
	body := &watchReader{r: resp.Body, onRead: func(n int) {
		stall.Reset(o.StallTimeout)
		o.Progress.Add(f.Name, int64(n))
	}}
	n, err := copyTagged(w, body)
	if cerr := w.Close(); cerr != nil && err == nil {
		err = &diskError{cerr}
	}
	if err != nil {
		if c := context.Cause(ctx); errors.Is(c, errStalled) {
			return fmt.Errorf("%w for %s (after %d bytes of this attempt)", errStalled, o.StallTimeout, n)
		}
		return err
	}
	if resp.StatusCode == http.StatusOK && resp.ContentLength >= 0 && n != resp.ContentLength {
		return fmt.Errorf("body has %d bytes, Content-Length says %d: %w", n, resp.ContentLength, io.ErrUnexpectedEOF)
	}
	if total >= 0 {
		if info, err := os.Stat(part); err == nil && info.Size() != total {
			return fmt.Errorf("partial file has %d bytes of %d: %w", info.Size(), total, io.ErrUnexpectedEOF)
		}
	}
	return nil
}

// copyTagged copies like io.Copy and marks write errors as disk errors.
func copyTagged(w io.Writer, r io.Reader) (int64, error) {
	buf := make([]byte, 256<<10)
	var n int64
	for {
		k, rerr := r.Read(buf)
		if k > 0 {
			wk, werr := w.Write(buf[:k])
			n += int64(wk)
			if werr == nil && wk != k {
				werr = io.ErrShortWrite
			}
			if werr != nil {
				return n, &diskError{werr}
			}
		}
		if rerr == io.EOF {
			return n, nil
		}
		if rerr != nil {
			return n, rerr
		}
	}
}

type watchReader struct {
	r      io.Reader
	onRead func(int)
}

func (w *watchReader) Read(p []byte) (int, error) {
	n, err := w.r.Read(p)
	if n > 0 {
		w.onRead(n)
	}
	return n, err
}

// parseContentRange reads "bytes START-END/SIZE" (SIZE may be "*").
func parseContentRange(s string) (start, size int64, ok bool) {
	s, ok = strings.CutPrefix(s, "bytes ")
	if !ok {
		return 0, 0, false
	}
	rng, sz, ok := strings.Cut(s, "/")
	if !ok {
		return 0, 0, false
	}
	a, _, ok := strings.Cut(rng, "-")
	if !ok {
		return 0, 0, false
	}
	start, err := strconv.ParseInt(a, 10, 64)
	if err != nil {
		return 0, 0, false
	}
	size = -1
	if sz != "*" {
		if size, err = strconv.ParseInt(sz, 10, 64); err != nil {
			return 0, 0, false
		}
	}
	return start, size, true
}

// landPart verifies a complete download and moves it into the source store.
// A file with the wrong digest is removed: resuming it cannot help.
func landPart(in Input, f datasets.File, part, want, wantFrom string) (store.SourceFile, error) {
	digest, n, err := store.FileDigest(part)
	if err != nil {
		return store.SourceFile{}, err
	}
	if f.Bytes > 0 && n != f.Bytes {
		os.Remove(part)
		os.Remove(part + ".json")
		return store.SourceFile{}, fmt.Errorf("%w: %s has %d bytes, the registry says %d", ErrDigestMismatch, f.Name, n, f.Bytes)
	}
	if want != "" && digest != want {
		os.Remove(part)
		os.Remove(part + ".json")
		return store.SourceFile{}, mismatch(in.Descriptor.Name, f.Name, f.URL, digest, want, wantFrom)
	}
	if err := checkArchive(part, f); err != nil {
		os.Remove(part)
		os.Remove(part + ".json")
		return store.SourceFile{}, err
	}
	if in.Workspace.Remote() {
		if err := in.Workspace.LandSource(part, digest); err != nil {
			return store.SourceFile{}, fmt.Errorf("publish %s: %w", f.Name, err)
		}
		os.Remove(part + ".json")
		return store.SourceFile{Name: f.Name, Role: f.Role, SHA256: digest, Bytes: n}, nil
	}
	dst := in.Workspace.SourcePath(digest)
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return store.SourceFile{}, fmt.Errorf("%w: %w", store.ErrWorkspace, err)
	}
	if pf, err := os.Open(part); err == nil {
		pf.Sync()
		pf.Close()
	}
	if err := os.Rename(part, dst); err != nil {
		return store.SourceFile{}, fmt.Errorf("%w: publish %s: %w", store.ErrWorkspace, f.Name, err)
	}
	os.Remove(part + ".json")
	return store.SourceFile{Name: f.Name, Role: f.Role, SHA256: digest, Bytes: n}, nil
}
