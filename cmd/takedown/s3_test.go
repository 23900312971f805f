package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/takedown-research/takedown/internal/store"
	"github.com/takedown-research/takedown/internal/store/s3test"
)

// runCLI runs the command line in process and returns its exit code and
// outputs.
func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(append([]string{"takedown", "--quiet"}, args...), &out, &errb)
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
