package runner

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"

	"github.com/takedown-research/takedown/internal/store"
)

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newRunner(t *testing.T) *Runner {
	t.Helper()
	ws, err := store.Open(filepath.Join(t.TempDir(), "ws"))
	if err != nil {
		t.Fatal(err)
	}
	return &Runner{WS: ws, Log: quietLog()}
}

func runDemo(t *testing.T, r *Runner, procs int) []Result {
	t.Helper()
	old := runtime.GOMAXPROCS(procs)
	defer runtime.GOMAXPROCS(old)
	res, err := r.Run(context.Background(), Options{Dataset: "demo", Params: DefaultParams()})
	if err != nil {
		t.Fatalf("run demo (GOMAXPROCS=%d): %v", procs, err)
	}
	if len(res) != len(Stages) {
		t.Fatalf("ran %d stages, want %d", len(res), len(Stages))
	}
	return res
}

// files returns relative path -> bytes of every output file of the results,
// leaving out manifest.json (it holds wall-clock timings by design).
func files(t *testing.T, res []Result) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, r := range res {
		entries, err := os.ReadDir(r.Dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if e.Name() == store.ManifestName {
				continue
			}
			b, err := os.ReadFile(filepath.Join(r.Dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			out[r.Stage+"/"+e.Name()] = b
		}
	}
	return out
}

func TestDemoDeterministicAcrossWorkspacesAndGOMAXPROCS(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the whole demo pipeline twice; covered without -short")
	}
	a, b := newRunner(t), newRunner(t)
	// b reports progress, a does not: the bytes must not differ.
	rec := newRecorder()
	b.Progress = rec
	ra := runDemo(t, a, 1)
	rb := runDemo(t, b, 4)
	checkProgress(t, rec)
	for i := range ra {
		if ra[i].RunID != rb[i].RunID {
			t.Errorf("%s: run id %s vs %s", ra[i].Stage, ra[i].RunID, rb[i].RunID)
		}
	}
	fa, fb := files(t, ra), files(t, rb)
	if len(fa) == 0 || len(fa) != len(fb) {
		t.Fatalf("output file sets differ: %d vs %d", len(fa), len(fb))
	}
	names := make([]string, 0, len(fa))
	for n := range fa {
		names = append(names, n)
	}
	sort.Strings(names)
	parquets := 0
	for _, n := range names {
		if !bytes.Equal(fa[n], fb[n]) {
			t.Errorf("%s differs between GOMAXPROCS=1 and 4", n)
		}
		if strings.HasSuffix(n, ".parquet") {
			parquets++
		}
	}
	if parquets < 10 {
		t.Errorf("only %d parquet outputs: %v", parquets, names)
	}
	for i := range ra {
		ma, err := store.ReadManifest(ra[i].Dir)
		if err != nil {
			t.Fatal(err)
		}
		mb, _ := store.ReadManifest(rb[i].Dir)
		if len(ma.Outputs) != len(mb.Outputs) {
			t.Fatalf("%s: manifest outputs differ", ra[i].Stage)
		}
		for j := range ma.Outputs {
			if ma.Outputs[j].SHA256 != mb.Outputs[j].SHA256 {
				t.Errorf("%s: manifest digest of %s differs", ra[i].Stage, ma.Outputs[j].File)
			}
			if o := ma.Outputs[j]; strings.HasSuffix(o.File, ".parquet") && (o.TableVersion == 0 || o.Rows == nil) {
				t.Errorf("%s: manifest lacks the table version or row count of %s", ra[i].Stage, o.File)
			}
		}
		if !bytes.Equal(ma.Stats, mb.Stats) {
			t.Errorf("%s: stats differ:\n%s\n%s", ra[i].Stage, ma.Stats, mb.Stats)
		}
	}
	// Running again does no work.
	again := runDemo(t, a, 2)
	for _, r := range again {
		if !r.Cached {
			t.Errorf("second run recomputed %s", r.Stage)
		}
	}
}

// checkProgress checks what the demo's stages counted: every phase, and
// the counts that must reach their totals.
func checkProgress(t *testing.T, rec *recorder) {
	t.Helper()
	t.Logf("progress of the demo:\n%s", rec)
	// The demo has a media archive: normalize reads it and fingerprint
	// hashes its images, each a phase of its own.
	want := []string{"fetch/land bytes", "normalize/ bytes", "normalize/media bytes", "fingerprint/ rows", "fingerprint/images items", "cluster/load rows", "cluster/sweep items", "cluster/pairs pairs", "summarize/ rows"}
	if got := rec.order; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("phases %q, want %q", got, want)
	}
	for _, k := range want {
		c := rec.phases[k]
		switch k {
		case "cluster/sweep items":
			if c.total != -1 || c.done <= 0 {
				t.Errorf("%s: %d of %d, want a count without a total", k, c.done, c.total)
			}
		case "normalize/ bytes", "normalize/media bytes":
			// Zip entries are read compressed, with the archive's
			// directory; local headers may be skipped.
			if c.total <= 0 || c.done < c.total*9/10 || c.done > c.total*11/10 {
				t.Errorf("%s: %d of %d bytes read", k, c.done, c.total)
			}
		default:
			if c.total <= 0 || c.done != c.total {
				t.Errorf("%s: %d of %d", k, c.done, c.total)
			}
		}
	}
}

func TestTamperedOutputIsReportedAndRepaired(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the whole demo pipeline; covered without -short")
	}
	r := newRunner(t)
	res := runDemo(t, r, 2)
	var edges string
	for _, x := range res {
		if x.Stage == "cluster" {
			edges = filepath.Join(x.Dir, "edges.parquet")
		}
	}
	b, err := os.ReadFile(edges)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0x01
	if err := os.WriteFile(edges, b, 0o644); err != nil {
		t.Fatal(err)
	}
	st, err := r.Status("demo")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]StageStatus{}
	for _, s := range st {
		got[s.Stage] = s
	}
	if got["normalize"].State != StateCurrent {
		t.Errorf("normalize: %+v", got["normalize"])
	}
	if s := got["cluster"]; s.State != StateDamaged || !strings.Contains(strings.Join(s.Reasons, ";"), "edges.parquet altered") {
		t.Errorf("cluster: %+v", s)
	}
	if s := got["summarize"]; s.State != StateStale || !strings.Contains(strings.Join(s.Reasons, ";"), "upstream stage cluster") {
		t.Errorf("summarize: %+v", s)
	}
	vr, err := r.Verify(context.Background(), "demo", "")
	if err != nil {
		t.Fatal(err)
	}
	// cluster's output is altered; summarize read it, so it cannot be
	// recomputed from its recorded inputs either.
	for _, v := range vr {
		if want := v.Stage != "cluster" && v.Stage != "summarize"; v.OK != want {
			t.Errorf("verify %s ok=%v, want %v (%v)", v.Stage, v.OK, want, v.Mismatches)
		}
	}
	// A new run repairs the damaged run: it recomputes the same bytes.
	again := runDemo(t, r, 2)
	for _, x := range again {
		if x.Cached != (x.Stage != "cluster") {
			t.Errorf("after repair %s cached=%v", x.Stage, x.Cached)
		}
	}
	st, _ = r.Status("demo")
	for _, s := range st {
		if s.State != StateCurrent {
			t.Errorf("after repair %s is %s: %v", s.Stage, s.State, s.Reasons)
		}
	}
}

// cancelOn cancels a context when a stage starts.
type cancelOn struct {
	slog.Handler
	stage  string
	cancel func()
}

func (h cancelOn) Handle(ctx context.Context, rec slog.Record) error {
	isStart := false
	rec.Attrs(func(a slog.Attr) bool {
		isStart = isStart || (a.Key == "event" && a.Value.String() == "stage_start")
		return true
	})
	if isStart {
		h.cancel()
	}
	return nil
}

func (h cancelOn) WithAttrs(as []slog.Attr) slog.Handler {
	for _, a := range as {
		if a.Key == "stage" && a.Value.String() == h.stage {
			return h
		}
	}
	return cancelOn{Handler: slog.NewTextHandler(io.Discard, nil), stage: h.stage, cancel: func() {}}
}

func TestInterruptLeavesPreviousState(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the whole demo pipeline; covered without -short")
	}
	r := newRunner(t)
	runDemo(t, r, 2)
	lockBefore, _ := os.ReadFile(r.WS.LockPath())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r.Log = slog.New(cancelOn{Handler: slog.NewTextHandler(io.Discard, nil), stage: "cluster", cancel: cancel})
	p := DefaultParams()
	p.Cluster.WindowSeconds = 30
	_, err := r.Run(ctx, Options{Dataset: "demo", Params: p})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	lockAfter, _ := os.ReadFile(r.WS.LockPath())
	if !bytes.Equal(lockBefore, lockAfter) {
		t.Error("interrupted run changed takedown.lock")
	}
	entries, _ := os.ReadDir(filepath.Join(r.WS.Root, "tmp"))
	if len(entries) != 0 {
		t.Errorf("interrupted run left %d staging entries", len(entries))
	}
	runs, _ := os.ReadDir(r.WS.RunDir("demo", "cluster", ""))
	if len(runs) != 1 {
		t.Errorf("cluster has %d runs after an interrupted second one", len(runs))
	}
}

func TestUsageErrors(t *testing.T) {
	r := newRunner(t)
	p := DefaultParams()
	p.Cluster.WindowSeconds = -1
	if _, err := r.Run(context.Background(), Options{Dataset: "demo", Params: p}); !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), "window") {
		t.Errorf("negative window: %v", err)
	}
	if _, err := r.Run(context.Background(), Options{Dataset: "demo", Params: DefaultParams(), From: "nope"}); !errors.Is(err, ErrUsage) {
		t.Errorf("bad stage: %v", err)
	}
	if _, err := r.Run(context.Background(), Options{Dataset: "demo", Params: DefaultParams(), From: "cluster"}); !errors.Is(err, ErrUpstream) {
		t.Errorf("missing upstream: %v", err)
	}
}

func TestStageRange(t *testing.T) {
	cases := []struct {
		from, to string
		want     string
		err      bool
	}{
		{"", "", "fetch normalize fingerprint cluster summarize", false},
		{"cluster", "", "cluster summarize", false},
		{"", "normalize", "fetch normalize", false},
		{"summarize", "fetch", "", true},
		{"x", "", "", true},
	}
	for _, c := range cases {
		got, err := StageRange(c.from, c.to)
		if (err != nil) != c.err || strings.Join(got, " ") != c.want {
			t.Errorf("StageRange(%q,%q) = %v, %v", c.from, c.to, got, err)
		}
	}
}
