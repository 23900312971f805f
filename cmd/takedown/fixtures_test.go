package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/takedown-research/takedown/internal/synth"
)

// startFixtureServer serves a synthetic release laid out like the Twitter
// bucket (twitter-election-integrity/hashed/ira/ira_*_csv_hashed.zip), for
// the scripts' `--mirror $FIXTURES`. Path prefixes inject faults:
//
//	/flaky/...    answers 500 to the first two requests of each file
//	/cut/...      drops the connection halfway through the first response
//	/changed/...  serves other bytes under the same names (a re-issue)
//	/missing/...  answers 404
//
// Every other path is served from the fixture folder, with Range support.
func startFixtureServer(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	bucket := filepath.Join(dir, "twitter-election-integrity", "hashed", "ira")
	changed := filepath.Join(dir, "changed", "twitter-election-integrity", "hashed", "ira")
	for _, d := range []struct {
		dir  string
		seed int64
	}{{bucket, 7}, {changed, 8}} {
		if err := os.MkdirAll(d.dir, 0o755); err != nil {
			t.Fatal(err)
		}
		cfg := synth.DefaultConfig()
		cfg.Seed, cfg.Accounts, cfg.Posts, cfg.Campaign = d.seed, 150, 2000, "ira"
		if _, err := synth.Write(context.Background(), cfg, d.dir); err != nil {
			t.Fatal(err)
		}
	}
	files := http.FileServer(http.Dir(dir))
	var mu sync.Mutex
	seen := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen[r.URL.Path]++
		n := seen[r.URL.Path]
		mu.Unlock()
		switch {
		case strings.HasPrefix(r.URL.Path, "/missing/"):
			http.NotFound(w, r)
			return
		case strings.HasPrefix(r.URL.Path, "/flaky/"):
			if n <= 2 {
				http.Error(w, "try again", http.StatusInternalServerError)
				return
			}
			r.URL.Path = strings.TrimPrefix(r.URL.Path, "/flaky")
		case strings.HasPrefix(r.URL.Path, "/cut/"):
			r.URL.Path = strings.TrimPrefix(r.URL.Path, "/cut")
			if n == 1 {
				b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(r.URL.Path)))
				if err != nil {
					http.NotFound(w, r)
					return
				}
				w.Header().Set("Content-Length", strconv.Itoa(len(b)))
				w.WriteHeader(http.StatusOK)
				w.Write(b[:len(b)/2])
				w.(http.Flusher).Flush()
				time.Sleep(10 * time.Millisecond)
				if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
					conn.Close()
				}
				return
			}
		}
		files.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}
