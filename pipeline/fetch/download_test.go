package fetch

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/takedown-research/takedown/datasets"
	"github.com/takedown-research/takedown/internal/store"
)

// body is a deterministic file of n bytes (CSV-like text).
func body(n int) []byte {
	var b bytes.Buffer
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, "\"%d\",\"user%d\",\"some text of tweet %d\"\n", i, i%97, i)
	}
	return b.Bytes()[:n]
}

func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// faultServer serves files and injects one fault per path. Every request
// is counted and its Range header recorded.
type faultServer struct {
	mu     sync.Mutex
	files  map[string][]byte
	faults map[string]func(w http.ResponseWriter, r *http.Request, n int, data []byte) bool // true: handled
	count  map[string]int
	ranges map[string][]string
}

func newFaultServer(t *testing.T) (*faultServer, *httptest.Server) {
	fs := &faultServer{files: map[string][]byte{}, faults: map[string]func(http.ResponseWriter, *http.Request, int, []byte) bool{},
		count: map[string]int{}, ranges: map[string][]string{}}
	srv := httptest.NewServer(fs)
	t.Cleanup(srv.Close)
	return fs, srv
}

func (s *faultServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.count[r.URL.Path]++
	n := s.count[r.URL.Path]
	s.ranges[r.URL.Path] = append(s.ranges[r.URL.Path], r.Header.Get("Range"))
	data, ok := s.files[r.URL.Path]
	fault := s.faults[r.URL.Path]
	s.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	if fault != nil && fault(w, r, n, data) {
		return
	}
	w.Header().Set("ETag", `"`+sum(data)[:16]+`"`)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(data))
}

// cut sends the headers of the whole file and half its body, then drops the
// connection.
func cut(w http.ResponseWriter, data []byte) {
	w.Header().Set("Content-Length", fmt.Sprint(len(data)))
	w.WriteHeader(200)
	w.Write(data[:len(data)/2])
	w.(http.Flusher).Flush()
	conn, _, err := w.(http.Hijacker).Hijack()
	if err == nil {
		conn.Close()
	}
}

func testInput(t *testing.T, files ...datasets.File) Input {
	t.Helper()
	ws, err := store.Open(filepath.Join(t.TempDir(), "ws"))
	if err != nil {
		t.Fatal(err)
	}
	return Input{
		Descriptor: datasets.Descriptor{Name: "test/release", Platform: "twitter", Format: "twitter-io", Files: files},
		Workspace:  ws,
		Download:   DownloadOptions{Retries: 4, Backoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond, StallTimeout: 300 * time.Millisecond},
	}
}

// checkStore fails when any file in the source store is not the bytes its
// content address names: a corrupt source must never appear.
func checkStore(t *testing.T, ws *store.Workspace) int {
	t.Helper()
	n := 0
	filepath.WalkDir(filepath.Join(ws.Root, "sources"), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		got, _, err := store.FileDigest(p)
		if err != nil || got != filepath.Base(p) {
			t.Errorf("corrupt source in the store: %s has sha256 %s", p, got)
		}
		n++
		return nil
	})
	return n
}

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

func TestDownloadFaults(t *testing.T) {
	data := body(300_000)
	cases := []struct {
		name      string
		fault     func(w http.ResponseWriter, r *http.Request, n int, data []byte) bool
		sha       string // registry digest; "" unknown
		pin       string // TOFU pin; "" none
		wantErr   error  // nil: a verified file
		msg       string
		check     func(t *testing.T, s *faultServer, path string)
		noRetries bool
	}{
		{name: "clean"},
		{
			name: "connection cut mid-body, resumed with Range",
			fault: func(w http.ResponseWriter, r *http.Request, n int, data []byte) bool {
				if n == 1 {
					cut(w, data)
					return true
				}
				return false
			},
			check: func(t *testing.T, s *faultServer, path string) {
				if rs := s.ranges[path]; len(rs) != 2 || rs[1] != fmt.Sprintf("bytes=%d-", len(data)/2) {
					t.Errorf("ranges = %q, want a resume from byte %d", rs, len(data)/2)
				}
			},
		},
		{
			name: "500s then success",
			fault: func(w http.ResponseWriter, r *http.Request, n int, data []byte) bool {
				if n <= 3 {
					http.Error(w, "boom", 500)
					return true
				}
				return false
			},
			check: func(t *testing.T, s *faultServer, path string) {
				if s.count[path] != 4 {
					t.Errorf("%d requests, want 4", s.count[path])
				}
			},
		},
		{
			name: "500s forever",
			fault: func(w http.ResponseWriter, r *http.Request, n int, data []byte) bool {
				http.Error(w, "boom", 503)
				return true
			},
			wantErr: ErrNoSource, msg: "503",
			check: func(t *testing.T, s *faultServer, path string) {
				if s.count[path] != 5 {
					t.Errorf("%d requests, want 1 + 4 retries", s.count[path])
				}
			},
		},
		{
			name: "wrong Content-Length once",
			fault: func(w http.ResponseWriter, r *http.Request, n int, data []byte) bool {
				if n == 1 {
					w.Header().Set("Content-Length", fmt.Sprint(len(data)+1000))
					w.WriteHeader(200)
					w.Write(data)
					return true
				}
				return false
			},
		},
		{
			name: "wrong Content-Length always",
			fault: func(w http.ResponseWriter, r *http.Request, n int, data []byte) bool {
				w.Header().Set("Content-Length", fmt.Sprint(len(data)+1000))
				w.WriteHeader(200)
				w.Write(data)
				return true
			},
			wantErr: ErrNoSource, msg: "unexpected EOF",
		},
		{
			name: "server ignores Range",
			fault: func(w http.ResponseWriter, r *http.Request, n int, data []byte) bool {
				if n == 1 {
					cut(w, data)
					return true
				}
				w.Header().Set("Content-Length", fmt.Sprint(len(data)))
				w.WriteHeader(200) // a full body to a range request
				w.Write(data)
				return true
			},
		},
		{
			name: "slow trickle",
			fault: func(w http.ResponseWriter, r *http.Request, n int, data []byte) bool {
				w.Header().Set("Content-Length", fmt.Sprint(len(data)))
				w.WriteHeader(200)
				for i := 0; i < len(data); i += len(data) / 20 {
					w.Write(data[i:min(i+len(data)/20, len(data))])
					w.(http.Flusher).Flush()
					time.Sleep(10 * time.Millisecond)
				}
				return true
			},
		},
		{
			name: "stall, then resume",
			fault: func(w http.ResponseWriter, r *http.Request, n int, data []byte) bool {
				if n == 1 {
					w.Header().Set("Content-Length", fmt.Sprint(len(data)))
					w.WriteHeader(200)
					w.Write(data[:1000])
					w.(http.Flusher).Flush()
					select {
					case <-r.Context().Done():
					case <-time.After(5 * time.Second):
					}
					return true
				}
				return false
			},
			check: func(t *testing.T, s *faultServer, path string) {
				if rs := s.ranges[path]; len(rs) != 2 || rs[1] != "bytes=1000-" {
					t.Errorf("ranges = %q, want a resume from byte 1000", rs)
				}
			},
		},
		{name: "changed file against the registry digest", sha: sum([]byte("the old bytes")), wantErr: ErrDigestMismatch, msg: "the registry pins"},
		{name: "changed file against the first-fetch pin", pin: sum([]byte("the old bytes")), wantErr: ErrDigestMismatch, msg: "PUBLISHER CHANGED THE FILE"},
		{name: "registry digest matches", sha: sum(data)},
		{
			name: "404",
			fault: func(w http.ResponseWriter, r *http.Request, n int, data []byte) bool {
				http.NotFound(w, r)
				return true
			},
			wantErr: ErrNoSource, msg: "--from-dir DIR",
			check: func(t *testing.T, s *faultServer, path string) {
				if s.count[path] != 1 {
					t.Errorf("a 404 was retried: %d requests", s.count[path])
				}
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fsrv, srv := newFaultServer(t)
			path := "/bucket/2019_01/x/x_tweets_csv_hashed.csv"
			fsrv.files[path] = data
			fsrv.faults[path] = c.fault
			in := testInput(t, datasets.File{Name: "x_tweets_csv_hashed.csv", Role: "tweets", URL: srv.URL + path, SHA256: c.sha})
			if c.pin != "" {
				in.Pins = map[string]string{"x_tweets_csv_hashed.csv": c.pin}
			}
			list, err := download(context.Background(), in, discard)
			if c.wantErr == nil {
				if err != nil {
					t.Fatalf("download: %v", err)
				}
				if len(list) != 1 || list[0].SHA256 != sum(data) || list[0].Bytes != int64(len(data)) {
					t.Fatalf("landed %+v, want sha256 %s", list, sum(data))
				}
				if n := checkStore(t, in.Workspace); n != 1 {
					t.Errorf("%d sources in the store, want 1", n)
				}
				if parts := PartialDownloads(in.Workspace, in.Descriptor.Name); len(parts) != 0 {
					t.Errorf("partial files left: %v", parts)
				}
			} else {
				if !errors.Is(err, c.wantErr) || !strings.Contains(err.Error(), c.msg) {
					t.Fatalf("err = %v, want %v mentioning %q", err, c.wantErr, c.msg)
				}
				if n := checkStore(t, in.Workspace); n != 0 {
					t.Errorf("%d sources landed despite the error", n)
				}
			}
			if c.check != nil {
				fsrv.mu.Lock()
				c.check(t, fsrv, path)
				fsrv.mu.Unlock()
			}
		})
	}
}

// failingWriter fails like a full disk after limit bytes.
type failingWriter struct {
	f     *os.File
	limit int
}

func (w *failingWriter) Write(p []byte) (int, error) {
	if len(p) > w.limit {
		n, _ := w.f.Write(p[:w.limit])
		w.limit = 0
		return n, &os.PathError{Op: "write", Path: w.f.Name(), Err: syscall.ENOSPC}
	}
	w.limit -= len(p)
	return w.f.Write(p)
}

func (w *failingWriter) Close() error { return w.f.Close() }

func TestDownloadDiskFull(t *testing.T) {
	data := body(500_000)
	fsrv, srv := newFaultServer(t)
	fsrv.files["/a.csv"] = data
	in := testInput(t, datasets.File{Name: "a.csv", Role: "tweets", URL: srv.URL + "/a.csv"})
	in.Download.create = func(p string, flag int) (io.WriteCloser, error) {
		f, err := os.OpenFile(p, flag, 0o644)
		if err != nil {
			return nil, err
		}
		return &failingWriter{f: f, limit: 100_000}, nil
	}
	_, err := download(context.Background(), in, discard)
	if !errors.Is(err, store.ErrWorkspace) || !errors.Is(err, syscall.ENOSPC) && !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("err = %v, want a workspace error saying the disk is full", err)
	}
	if !strings.Contains(err.Error(), "disk full") {
		t.Errorf("error does not say disk full: %v", err)
	}
	if parts := PartialDownloads(in.Workspace, in.Descriptor.Name); len(parts) != 0 {
		t.Errorf("partial file kept after a full disk: %v", parts)
	}
	if fsrv.count["/a.csv"] != 1 {
		t.Errorf("a full disk was retried: %d requests", fsrv.count["/a.csv"])
	}
	if n := checkStore(t, in.Workspace); n != 0 {
		t.Errorf("%d sources landed", n)
	}
}

func TestDownloadNoNetwork(t *testing.T) {
	// A port nothing listens on: connecting fails at once.
	srv := httptest.NewServer(http.NotFoundHandler())
	dead := srv.URL
	srv.Close()
	in := testInput(t, datasets.File{Name: "a.zip", Role: "tweets", URL: dead + "/a.zip"})
	in.Download.Retries = 5
	start := time.Now()
	_, err := download(context.Background(), in, discard)
	if !errors.Is(err, ErrNoSource) || !strings.Contains(err.Error(), dead+"/a.zip") || !strings.Contains(err.Error(), "--from-dir DIR") {
		t.Fatalf("err = %v, want ErrNoSource naming the URL and suggesting --from-dir", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v to give up on a dead host", d)
	}
}

func TestDownloadMirrorAndConcurrency(t *testing.T) {
	// Every file is larger than the copy buffer (256 KiB), so that no
	// read can take a whole file at once: a "running" event must come.
	fsrv, srv := newFaultServer(t)
	files := []datasets.File{}
	for i := 1; i <= 4; i++ {
		p := fmt.Sprintf("/twitter-election-integrity/hashed/2019_01/x/part_%d.csv", i)
		fsrv.files[p] = body(400_000 * i)
		files = append(files, datasets.File{Name: filepath.Base(p), Role: "tweets", Part: i, URL: "https://storage.example.invalid" + p})
	}
	in := testInput(t, files...)
	in.Download.Mirror = srv.URL
	in.Download.Jobs = 3
	var buf bytes.Buffer
	var mu sync.Mutex
	in.Download.Progress = JSONProgress(slog.New(slog.NewJSONHandler(&lockedWriter{w: &buf, mu: &mu}, nil)))
	list, err := download(context.Background(), in, discard)
	if err != nil {
		t.Fatal(err)
	}
	for i, sf := range list {
		if sf.Name != files[i].Name || sf.SHA256 != sum(body(400_000*(i+1))) {
			t.Errorf("file %d: %+v", i, sf)
		}
	}
	if got := strings.Count(buf.String(), `"state":"done"`); got != 4 {
		t.Errorf("%d done events, want 4:\n%s", got, buf.String())
	}
	if !strings.Contains(buf.String(), `"state":"running"`) {
		t.Errorf("no running progress events")
	}
}

type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func TestMirrorURL(t *testing.T) {
	cases := []struct{ u, m, want string }{
		{"https://storage.googleapis.com/b/hashed/ira/a.zip", "", "https://storage.googleapis.com/b/hashed/ira/a.zip"},
		{"https://storage.googleapis.com/b/hashed/ira/a.zip", "http://127.0.0.1:8080/", "http://127.0.0.1:8080/b/hashed/ira/a.zip"},
		{"https://storage.googleapis.com/b/a.zip", "http://m.example/base", "http://m.example/base/b/a.zip"},
		{"https://x/a.zip", "not a url", ""},
	}
	for _, c := range cases {
		got, err := MirrorURL(c.u, c.m)
		if c.want == "" && err == nil || c.want != "" && got != c.want {
			t.Errorf("MirrorURL(%q, %q) = %q, %v; want %q", c.u, c.m, got, err, c.want)
		}
	}
}

func zipOf(t *testing.T, entries map[string][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, b := range entries {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(b)
	}
	zw.Close()
	return buf.Bytes()
}

func TestDownloadArchives(t *testing.T) {
	cases := []struct {
		name    string
		zip     []byte
		inner   string
		wantErr bool
		msg     string
	}{
		{"inner name differs from the zip", zipOf(t, map[string][]byte{"russian_linked_tweets_csv_hashed.csv": body(1000)}), "russian_linked_tweets_csv_hashed.csv", false, ""},
		{"zip slip", zipOf(t, map[string][]byte{"../../../etc/evil.csv": body(1000)}), "", true, "traversal"},
		{"zip bomb", zipOf(t, map[string][]byte{"bomb.csv": make([]byte, 64<<20)}), "", true, "zip bomb"},
		{"inner file missing", zipOf(t, map[string][]byte{"other.csv": body(10)}), "russian_linked_tweets_csv_hashed.csv", true, "no entry matches"},
		{"truncated zip", zipOf(t, map[string][]byte{"a.csv": body(100_000)})[:5000], "", true, "truncated"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fsrv, srv := newFaultServer(t)
			fsrv.files["/r.zip"] = c.zip
			in := testInput(t, datasets.File{Name: "r.zip", Role: "tweets", URL: srv.URL + "/r.zip", Inner: c.inner})
			_, err := download(context.Background(), in, discard)
			if !c.wantErr {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, ErrBadArchive) || !strings.Contains(err.Error(), c.msg) {
				t.Fatalf("err = %v, want ErrBadArchive mentioning %q", err, c.msg)
			}
			if n := checkStore(t, in.Workspace); n != 0 {
				t.Errorf("a bad archive landed")
			}
		})
	}
}

func TestImportFindsRenamedFiles(t *testing.T) {
	dir := t.TempDir()
	a, b := body(1000), body(2000)
	os.WriteFile(filepath.Join(dir, "2019_01_x_users_csv_hashed.csv"), a, 0o644)
	os.WriteFile(filepath.Join(dir, "download(1).bin"), b, 0o644)
	in := testInput(t,
		datasets.File{Name: "x_users_csv_hashed.csv", Role: "users"},
		datasets.File{Name: "x_tweets_csv_hashed.csv", Role: "tweets", SHA256: sum(b)})
	in.FromDir = dir
	list, err := importDir(context.Background(), in, discard)
	if err != nil {
		t.Fatal(err)
	}
	if list[0].SHA256 != sum(a) || list[1].SHA256 != sum(b) {
		t.Fatalf("imported %+v", list)
	}
	// A pinned file with other bytes is refused loudly.
	in.Pins = map[string]string{"x_users_csv_hashed.csv": sum([]byte("old"))}
	if _, err := importDir(context.Background(), in, discard); !errors.Is(err, ErrDigestMismatch) || !strings.Contains(err.Error(), "--repin") {
		t.Fatalf("err = %v, want a loud digest mismatch", err)
	}
}
