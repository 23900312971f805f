package main

import (
	"bytes"
	"context"
	"os/exec"
	"sync"
	"time"

	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/takedown-research/takedown/internal/synth"

	"github.com/takedown-research/takedown/internal/store"
	"github.com/takedown-research/takedown/internal/store/s3test"
)

// runCLI runs the command line in process and returns its exit code and
// outputs.
func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(append([]string{"takedown"}, args...), &out, &errb)
	return code, out.String(), errb.String()
}

func mustCLI(t *testing.T, args ...string) string {
	t.Helper()
	code, out, errs := runCLI(t, args...)
	if code != 0 {
		t.Fatalf("takedown %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errs)
	}
	return out
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// TestS3DemoMatchesLocal runs the demo through every stage in a workspace
// on the S3 test server, one stage at a time, counting the bytes each stage
// moved, and checks that every output file is byte-identical to the same
// run in a local workspace.
func TestS3DemoMatchesLocal(t *testing.T) {
	srv := s3test.Start(t, "takedown-test")
	t.Setenv("TAKEDOWN_STAGING", t.TempDir())
	ws := srv.WorkspaceURL("work")
	local := t.TempDir()
	mustCLI(t, "-w", local, "run", "demo")

	for _, stage := range []string{"fetch", "normalize", "fingerprint", "cluster", "summarize"} {
		srv.Reset()
		mustCLI(t, "-w", ws, "run", "--from", stage, "--to", stage, "demo")
		c := srv.Counts()
		var read, whole int64
		objects := map[string]bool{}
		for _, r := range srv.Log() {
			if r.Method == "GET" && strings.HasSuffix(r.Key, ".parquet") {
				if r.Range == "" {
					t.Errorf("%s: GET %s without a Range header", stage, r.Key)
				}
				read += r.Bytes
				objects[r.Key] = true
			}
		}
		for k := range objects {
			b, _ := srv.Get(k)
			whole += int64(len(b))
		}
		t.Logf("%-11s GET %3d req %9d B (%d ranged; Parquet %d B of %d B in %d objects)  PUT %3d req %9d B  HEAD %3d  LIST %d",
			stage, c["GET"].Requests, c["GET"].Bytes, c["GET"].Ranged, read, whole, len(objects), c["PUT"].Requests, c["PUT"].Bytes, c["HEAD"].Requests, c["LIST"].Requests)
	}

	lb, err := os.ReadFile(filepath.Join(local, store.LockName))
	if err != nil {
		t.Fatal(err)
	}
	rb, err := srv.Get("work/" + store.LockName)
	if err != nil {
		t.Fatal(err)
	}
	var ll, rl store.Lock
	if err := json.Unmarshal(lb, &ll); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(rb, &rl); err != nil {
		t.Fatal(err)
	}
	compared := 0
	var stages []string
	for st := range ll.Datasets["demo"] {
		stages = append(stages, st)
	}
	sort.Strings(stages)
	if len(stages) != 5 {
		t.Fatalf("local lock has stages %v", stages)
	}
	for _, st := range stages {
		le, re := ll.Datasets["demo"][st], rl.Datasets["demo"][st]
		if le.RunID != re.RunID {
			t.Errorf("%s: run id %s on S3, %s locally", st, re.RunID, le.RunID)
			continue
		}
		dir := filepath.Join(local, "runs", "demo", st, le.RunID)
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if e.Name() == store.ManifestName {
				continue // timings differ
			}
			lf, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			rf, err := srv.Get("work/runs/demo/" + st + "/" + le.RunID + "/" + e.Name())
			if err != nil {
				t.Errorf("%s/%s missing on S3: %v", st, e.Name(), err)
				continue
			}
			if sha(lf) != sha(rf) {
				t.Errorf("%s/%s: sha256 %.12s on S3, %.12s locally", st, e.Name(), sha(rf), sha(lf))
			}
			if le.Outputs[e.Name()] != "" && le.Outputs[e.Name()] != sha(lf) {
				t.Errorf("%s/%s: lock digest differs from the file", st, e.Name())
			}
			compared++
		}
	}
	t.Logf("%d output files byte-identical (sha256) between the local and the S3 workspace", compared)
	if compared < 10 {
		t.Errorf("compared only %d files", compared)
	}
}

// TestS3ParallelDatasets runs four datasets at once in one S3 workspace, as
// four takedown processes (as on four machines): every run finishes, each
// dataset is current, and takedown.lock holds every stage of all four.
func TestS3ParallelDatasets(t *testing.T) {
	srv := s3test.Start(t, "takedown-test")
	t.Setenv("TAKEDOWN_STAGING", t.TempDir())
	ws := srv.WorkspaceURL("par")
	type job struct{ dataset, campaign string }
	jobs := []job{{"demo", ""}, {"twitter-io/gru-202012", "GRU_202012"}, {"twitter-io/armenia-202012", "armenia_202012"}, {"twitter-io/ira-202012", "IRA_202012"}}
	for i, j := range jobs {
		if j.campaign == "" {
			continue
		}
		dir := t.TempDir()
		cfg := synth.DefaultConfig()
		cfg.Seed, cfg.Accounts, cfg.Posts, cfg.Campaign = int64(20+i), 120, 3000, j.campaign
		if _, err := synth.Write(context.Background(), cfg, dir); err != nil {
			t.Fatal(err)
		}
		jobs[i].campaign = dir
	}
	var wg sync.WaitGroup
	outs := make([][]byte, len(jobs))
	errs := make([]error, len(jobs))
	for i, j := range jobs {
		args := []string{"--quiet", "-w", ws, "--wait", "2m", "run"}
		if j.campaign != "" {
			args = append(args, "--from-dir", j.campaign)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			outs[i], errs[i] = exec.Command("takedown", append(args, j.dataset)...).CombinedOutput()
		}()
	}
	wg.Wait()
	for i, j := range jobs {
		if errs[i] != nil {
			t.Fatalf("%s: %v\n%s", j.dataset, errs[i], outs[i])
		}
	}
	b, err := srv.Get("par/" + store.LockName)
	if err != nil {
		t.Fatal(err)
	}
	var l store.Lock
	if err := json.Unmarshal(b, &l); err != nil {
		t.Fatalf("takedown.lock damaged: %v", err)
	}
	for _, j := range jobs {
		if n := len(l.Datasets[j.dataset]); n != 5 {
			t.Errorf("takedown.lock holds %d stages of %s, want 5", n, j.dataset)
		}
		for st, e := range l.Datasets[j.dataset] {
			if _, err := srv.Get("par/runs/" + j.dataset + "/" + st + "/" + e.RunID + "/" + store.ManifestName); err != nil {
				t.Errorf("%s %s: run %s has no manifest: %v", j.dataset, st, e.RunID, err)
			}
		}
		out := mustCLI(t, "-w", ws, "status", j.dataset)
		if strings.Count(out, "current") < 5 {
			t.Errorf("status %s:\n%s", j.dataset, out)
		}
	}
	if keys := srv.Keys("par/leases/"); len(keys) > 0 {
		t.Errorf("leases left behind: %v", keys)
	}
	t.Logf("4 datasets in parallel: %d lock entries, %d lock writes refused with 412 and retried", len(l.Datasets), count412(srv, store.LockName))
}

func count412(srv *s3test.Server, suffix string) int {
	n := 0
	for _, r := range srv.Log() {
		if r.Status == 412 && strings.HasSuffix(r.Key, suffix) {
			n++
		}
	}
	return n
}

// TestS3FaultsAndCommands runs the demo in an S3 workspace through faults
// the test server injects, then the commands that read a workspace:
//
//   - a 503 on the first PUT of three run files: the client retries and
//     nothing is lost (verify, with every GET slowed, finds every run
//     byte-identical to a recomputation);
//   - a conflicting write of takedown.lock between this process's read and
//     its compare-and-swap: the change is re-applied, both entries are in
//     the lock;
//   - a conflict on every write: exit 75 (busy) after the retries;
//   - status, show, export, gc, verify, a download with --mirror, and the
//     one-line errors of bad workspace URLs.
func TestS3FaultsAndCommands(t *testing.T) {
	srv := s3test.Start(t, "takedown-test")
	t.Setenv("TAKEDOWN_STAGING", t.TempDir())
	ws := srv.WorkspaceURL("cmds")

	var mu sync.Mutex
	failed := map[string]bool{}
	srv.FailPut = func(key string) bool {
		mu.Lock()
		defer mu.Unlock()
		if failed[key] || len(failed) >= 3 || !strings.HasSuffix(key, ".parquet") && !strings.HasSuffix(key, store.ManifestName) {
			return false
		}
		failed[key] = true
		return true
	}
	start := time.Now()
	mustCLI(t, "-w", ws, "run", "demo")
	srv.FailPut = nil
	n503 := 0
	for _, r := range srv.Log() {
		if r.Status == 503 {
			n503++
		}
	}
	if n503 != 3 {
		t.Fatalf("%d PUTs refused with 503, want 3", n503)
	}
	t.Logf("demo with a 503 on the first PUT of 3 objects: %.1fs", time.Since(start).Seconds())
	srv.SlowGet = 20 * time.Millisecond
	start = time.Now()
	out := mustCLI(t, "-w", ws, "verify")
	srv.SlowGet = 0
	if strings.Count(out, "identical") < 5 {
		t.Errorf("verify after 503s:\n%s", out)
	}
	t.Logf("verify with every GET slowed by 20ms: ok in %.1fs", time.Since(start).Seconds())

	// A conflicting lock write between this process's read and its CAS.
	var once sync.Once
	srv.BeforeConditionalPut = func(key string) {
		if !strings.HasSuffix(key, store.LockName) {
			return
		}
		once.Do(func() {
			b, _ := srv.Get(key)
			var l store.Lock
			json.Unmarshal(b, &l)
			l.Datasets["other"] = map[string]store.LockEntry{"fetch": {RunID: "0123456789abcdef0123"}}
			b, _ = json.Marshal(l)
			srv.Put(key, b)
		})
	}
	srv.Reset()
	mustCLI(t, "-w", ws, "run", "--window", "120", "--from", "cluster", "demo")
	srv.BeforeConditionalPut = nil
	b, _ := srv.Get("cmds/" + store.LockName)
	var l store.Lock
	if err := json.Unmarshal(b, &l); err != nil {
		t.Fatal(err)
	}
	if _, ok := l.Datasets["other"]; !ok || len(l.Datasets["demo"]) != 5 {
		t.Errorf("after a conflicting write the lock holds %v", l.DatasetNames())
	}
	if n := count412(srv, store.LockName); n != 1 {
		t.Errorf("%d lock writes refused, want 1", n)
	}
	t.Logf("a conflicting lock write: %d write refused with 412, re-applied; the lock holds %v", count412(srv, store.LockName), l.DatasetNames())
	b, _ = json.Marshal(store.Lock{Version: store.LockVersion, Datasets: map[string]map[string]store.LockEntry{"demo": l.Datasets["demo"]}})
	srv.Put("cmds/"+store.LockName, b)

	// A conflict on every write: busy after the retries.
	defer func(n int, p time.Duration) { store.CASAttempts, store.CASPause = n, p }(store.CASAttempts, store.CASPause)
	store.CASAttempts, store.CASPause = 5, time.Millisecond
	srv.BeforeConditionalPut = func(key string) {
		if strings.HasSuffix(key, store.LockName) {
			b, _ := srv.Get(key)
			srv.Put(key, append(b, ' '))
		}
	}
	code, _, errs := runCLI(t, "-w", ws, "run", "--window", "180", "--from", "cluster", "demo")
	srv.BeforeConditionalPut = nil
	if code != 75 || !strings.Contains(errs, "kept changing") {
		t.Errorf("endless conflict: exit %d, %s", code, errs)
	}
	t.Logf("endless conflict: exit %d: %s", code, strings.TrimSpace(errs))

	if out := mustCLI(t, "-w", ws, "status", "demo"); !strings.Contains(out, "workspace s3://takedown-test/cmds") {
		t.Errorf("status:\n%s", out)
	}
	srv.Reset()
	out = mustCLI(t, "-w", ws, "show", "-n", "3", "posts")
	if strings.Count(out, "\n") < 4 {
		t.Errorf("show:\n%s", out)
	}
	out = mustCLI(t, "-w", ws, "export", "clusters")
	if !strings.HasPrefix(out, "cluster_id") && !strings.Contains(strings.SplitN(out, "\n", 2)[0], ",") {
		t.Errorf("export:\n%.200s", out)
	}
	out = mustCLI(t, "-w", ws, "gc", "--dry-run")
	if !strings.Contains(out, "run") {
		t.Errorf("gc --dry-run:\n%s", out)
	}
	before := len(srv.Keys("cmds/runs/"))
	mustCLI(t, "-w", ws, "gc")
	after := len(srv.Keys("cmds/runs/"))
	if after >= before {
		t.Errorf("gc removed nothing: %d objects before, %d after", before, after)
	}
	if out := mustCLI(t, "-w", ws, "verify"); strings.Count(out, "identical") < 5 {
		t.Errorf("verify after gc:\n%s", out)
	}

	// A download lands in the bucket's source store.
	fixtures := startFixtureServer(t)
	mustCLI(t, "-w", ws, "fetch", "--mirror", fixtures, "twitter-io/ira-2018-10")
	if out := mustCLI(t, "-w", ws, "status", "twitter-io/ira-2018-10"); !strings.Contains(out, "current") {
		t.Errorf("status after a download:\n%s", out)
	}

	for _, c := range []struct {
		name string
		url  string
		env  string
		code int
		want string
	}{
		{"unknown scheme", "ftp://host/ws", "", 2, "ftp://host/ws"},
		{"bucket missing", strings.Replace(ws, "takedown-test/cmds", "no-such-bucket/x", 1), "", 5, "bucket no-such-bucket does not exist"},
		{"credentials refused", ws, "wrong-key", 5, "access denied"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.env != "" {
				t.Setenv("AWS_ACCESS_KEY_ID", c.env)
			}
			code, out, errs := runCLI(t, "-w", c.url, "status", "demo")
			t.Logf("exit %d: %s", code, strings.TrimSpace(errs))
			if code != c.code || !strings.Contains(errs, c.want) || strings.Count(strings.TrimSpace(errs), "\n") > 0 {
				t.Errorf("exit %d (want %d)\nstdout: %s\nstderr: %s", code, c.code, out, errs)
			}
		})
	}
}
