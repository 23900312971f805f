package main

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/takedown-research/takedown/internal/pqio"
	"github.com/takedown-research/takedown/internal/store"
)

// step is one command of a tamper case, run in-process through run() on the
// case's workspace, with its expected exit code and output.
type step struct {
	args []string
	code int
	// stdout and stderr are regular expressions the outputs must match
	// ("" checks nothing); notStdout one stdout must not match.
	stdout, stderr, notStdout string
	// before and after, when set, run around the command (a fault to
	// inject and remove, a state to check).
	before func(t *testing.T, ws string)
	after  func(t *testing.T, ws string)
}

// tamperCase damages a copy of a demo workspace in one way, then runs its
// steps. After the last step every case checks the workspace's invariants
// (checkWorkspace): the lock names only run ids whose directories exist and
// whose manifests say that id and hash to the recorded digest, and no run
// directory the lock reaches is gone.
type tamperCase struct {
	name   string
	damage func(t *testing.T, ws string)
	steps  []step
}

func cmd(code int, args ...string) step { return step{args: args, code: code} }

func (s step) out(re string) step    { s.stdout = re; return s }
func (s step) err(re string) step    { s.stderr = re; return s }
func (s step) notOut(re string) step { s.notStdout = re; return s }
func (s step) then(f func(*testing.T, string)) step {
	s.after = f
	return s
}
func (s step) with(f func(*testing.T, string)) step {
	s.before = f
	return s
}

// allCurrent is `status` of a repaired demo: exit 0, every stage current.
func allCurrent() step {
	return cmd(0, "status").out(`summarize +current`).notOut(`stale|damaged|not run`)
}

func TestTamperCases(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a demo workspace and repairs it once per case")
	}
	base, other := buildBase(t)
	var lockBefore []byte
	snapshotLock := func(t *testing.T, ws string) {
		lockBefore = readFile(t, filepath.Join(ws, store.LockName))
	}
	cases := []tamperCase{
		{
			name:   "1 manifest run_id differs from its directory",
			damage: editManifest("normalize", func(m map[string]any) { m["run_id"] = "00000000000000000000" }),
			steps: []step{
				cmd(4, "status").out(`normalize +damaged`).out(`manifest says run id "00000000000000000000"`),
				cmd(4, "verify").out(`normalize .* MISMATCH`),
				cmd(0, "gc", "--dry-run").out(`would remove 0 runs, 0 sources`),
				cmd(0, "run").out(`normalize +[0-9a-f]{20} +ran in`).out(`fingerprint .* cache hit`),
				allCurrent(),
				cmd(0, "verify").out(`verified 5 runs`),
				cmd(0, "gc").out(`removed 0 runs, 0 sources`),
			},
		},
		{
			name:   "1b manifest parameters edited: its contents hash to another run id",
			damage: editManifest("fingerprint", func(m map[string]any) { m["params"].(map[string]any)["min_text_runes"] = 99 }),
			steps: []step{
				cmd(4, "status").out(`fingerprint +damaged`).out(`manifest edited: its parameters and inputs hash to run id`),
				cmd(4, "verify").out(`fingerprint .* MISMATCH`),
				cmd(0, "run").out(`fingerprint +[0-9a-f]{20} +ran in`).out(`cluster .* cache hit`),
				allCurrent(),
				cmd(0, "gc").out(`removed 0 runs`),
			},
		},
		{
			name:   "2 manifest not valid JSON",
			damage: writeManifest("cluster", []byte("{\"manifest_version\": 1, \"run_id\": ")),
			steps: []step{
				cmd(4, "status").out(`cluster +damaged`).out(`unexpected end of JSON input`),
				cmd(4, "verify").out(`cluster .* MISMATCH`),
				cmd(0, "gc", "--dry-run").out(`would remove 0 runs`),
				cmd(0, "run").out(`cluster +[0-9a-f]{20} +ran in`).out(`summarize .* cache hit`),
				allCurrent(),
				cmd(0, "verify").out(`verified 5 runs`),
				cmd(0, "gc").out(`removed 0 runs`),
			},
		},
		{
			name:   "2b manifest of an unknown manifest_version",
			damage: editManifest("summarize", func(m map[string]any) { m["manifest_version"] = 99 }),
			steps: []step{
				cmd(4, "status").out(`summarize +damaged`).out(`unknown manifest version 99`),
				cmd(0, "run").out(`summarize +[0-9a-f]{20} +ran in`),
				allCurrent(),
				cmd(0, "verify").out(`verified 5 runs`),
				cmd(0, "gc").out(`removed 0 runs`),
			},
		},
		{
			name: "3 recorded input digest edited",
			damage: editManifest("fingerprint", func(m map[string]any) {
				m["inputs"].([]any)[0].(map[string]any)["sha256"] = strings.Repeat("ab", 32)
			}),
			steps: []step{
				cmd(4, "status").out(`fingerprint +damaged`).out(`manifest edited`),
				cmd(4, "verify").out(`fingerprint .* MISMATCH`),
				cmd(0, "run").out(`fingerprint +[0-9a-f]{20} +ran in`),
				allCurrent(),
				cmd(0, "verify").out(`verified 5 runs`),
				cmd(0, "run").notOut(`ran in`),
			},
		},
		{
			name:   "4 stats edited in a manifest",
			damage: editManifest("normalize", func(m map[string]any) { m["stats"].(map[string]any)["posts"] = 1 }),
			steps: []step{
				cmd(4, "status").out(`normalize +damaged`).out(`manifest edited: sha256 [0-9a-f]{12}, takedown.lock recorded`),
				cmd(4, "verify").out(`normalize .* MISMATCH`),
				cmd(0, "run").out(`normalize +[0-9a-f]{20} +ran in`).out(`posts=30000`),
				allCurrent(),
				cmd(0, "verify").out(`verified 5 runs`),
				cmd(0, "gc").out(`removed 0 runs`),
			},
		},
		{
			// A lock written before manifest_sha256 existed cannot tell an
			// edited manifest: the digest is unknown until the next run
			// records it (documented).
			name: "4b stats edited under an old lock without manifest_sha256",
			damage: func(t *testing.T, ws string) {
				editLock(func(l *store.Lock) {
					for s, e := range l.Datasets["demo"] {
						e.ManifestSHA256 = ""
						l.Datasets["demo"][s] = e
					}
				})(t, ws)
				editManifest("normalize", func(m map[string]any) { m["stats"].(map[string]any)["posts"] = 1 })(t, ws)
			},
			steps: []step{
				allCurrent(),
				cmd(0, "run").notOut(`ran in`).then(func(t *testing.T, ws string) {
					for s, e := range readLock(t, ws).Datasets["demo"] {
						if e.ManifestSHA256 == "" {
							t.Errorf("run did not fill in manifest_sha256 of demo %s", s)
						}
					}
				}),
				cmd(0, "gc").out(`removed 0 runs`),
			},
		},
		{
			name:   "5 table bytes replaced by another dataset's posts.parquet",
			damage: copyOver(other, "normalize", "posts.parquet"),
			steps: []step{
				cmd(4, "show", "posts").err(`table posts of demo \(normalize run [0-9a-f]{20}\): posts.parquet has .*repair it with .takedown run demo.`),
				cmd(4, "export", "posts").err(`normalize run .*takedown run demo`),
				cmd(0, "show", "--no-verify", "-n", "1", "posts").out(`\(normalize run [0-9a-f]{20}, 1 of \d+ rows\)`),
				cmd(4, "status").out(`normalize +damaged`).out(`output posts.parquet altered on disk`),
				cmd(4, "verify").out(`normalize .* MISMATCH`),
				cmd(0, "run").out(`normalize +[0-9a-f]{20} +ran in`).out(`fingerprint .* cache hit`),
				cmd(0, "show", "-n", "1", "posts").out(`1 of 30000 rows`),
				allCurrent(),
				cmd(0, "gc").out(`removed 0 runs`),
			},
		},
		{
			name:   "6 lock file missing",
			damage: removeLock,
			steps: []step{
				cmd(0, "status").out(`normalize +not run`).out(`takedown.lock names no run of demo, but runs/ holds 5 published runs of it: .takedown rebuild-lock.`),
				cmd(2, "gc", "--dry-run").err(`no takedown.lock.*takedown rebuild-lock`),
				cmd(2, "gc").err(`takedown rebuild-lock`).then(runsKept(7)),
				cmd(0, "rebuild-lock").out(`linked 7 runs, skipped 0`).out(`linked +demo +normalize`),
				allCurrent(),
				cmd(0, "verify").out(`verified 5 runs`),
				cmd(0, "gc").out(`removed 0 runs`).then(runsKept(7)),
			},
		},
		{
			name:   "6b lock file not valid JSON",
			damage: writeLock([]byte("{\"version\": 1, \"datasets\": {\"demo\"")),
			steps: []step{
				cmd(5, "status").err(`takedown.lock damaged: .*run .takedown rebuild-lock.`).notOut(`.`),
				cmd(5, "run").err(`takedown rebuild-lock`),
				cmd(5, "verify").err(`takedown rebuild-lock`),
				cmd(5, "gc", "--dry-run").err(`takedown rebuild-lock`),
				cmd(5, "gc", "--all").err(`takedown rebuild-lock`).then(runsKept(7)),
				cmd(0, "rebuild-lock").out(`previous: damaged`).out(`linked 7 runs`),
				allCurrent(),
				cmd(0, "gc").out(`removed 0 runs`).then(runsKept(7)),
			},
		},
		{
			name:   "6c lock names no run of a dataset that has runs",
			damage: editLock(func(l *store.Lock) { delete(l.Datasets, "demo") }),
			steps: []step{
				cmd(2, "gc").err(`every run of dataset demo: takedown.lock names none of them: run .takedown rebuild-lock.`).then(runsKept(7)),
				cmd(0, "gc", "--all", "--dry-run").out(`would remove 5 runs`).then(runsKept(7)),
				cmd(0, "rebuild-lock").out(`previous: replaced`).out(`linked 7 runs`),
				allCurrent(),
				cmd(0, "gc").out(`removed 0 runs`).then(runsKept(7)),
			},
		},
		{
			name:   "7 eval with the truth of another dataset",
			damage: writeTruth(other),
			steps: []step{
				cmd(3, "eval", "--truth", "TRUTH").err(`truth file .*other_truth.csv: 0 of 200 ids match accounts of dataset demo: is it the truth of another dataset\?`),
				cmd(0, "eval").out(`B-cubed`),
				allCurrent(),
			},
		},
		{
			name:   "8 disk full in the fingerprint stage's Parquet writer",
			damage: snapshotLock,
			steps: []step{
				cmd(5, "run", "--min-text-runes", "7").err(`^takedown: disk full: .*fingerprints.parquet.*no space left on device`).
					with(diskFull("fingerprints.parquet")).
					then(func(t *testing.T, ws string) {
						pqio.TestHookCreate = nil
						if got := readFile(t, filepath.Join(ws, store.LockName)); !bytes.Equal(got, lockBefore) {
							t.Errorf("takedown.lock changed by a failed run")
						}
						tmpEmpty(t, ws)
					}),
				allCurrent(),
				cmd(0, "run", "--min-text-runes", "7").out(`fingerprint +[0-9a-f]{20} +ran in`),
				// The default-parameter runs are superseded, not damaged.
				cmd(0, "gc").out(`removed [1-3] runs, 0 sources`),
			},
		},
		{
			name:   "9 leftovers of killed runs in tmp/",
			damage: leftovers,
			steps: []step{
				cmd(0, "status").out(`2 leftovers of killed runs in tmp/ \(3 MB\): takedown gc removes them`),
				cmd(0, "gc", "--dry-run").out(`would remove 0 runs, 0 sources, 3 temp entries`),
				cmd(0, "gc").out(`removed 0 runs, 0 sources, 3 temp entries`).then(tmpEmpty),
				allCurrent().notOut(`leftovers of killed runs`),
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ws := filepath.Join(t.TempDir(), "ws")
			copyTree(t, base, ws)
			c.damage(t, ws)
			for _, s := range c.steps {
				if s.before != nil {
					s.before(t, ws)
				}
				args := make([]string, len(s.args))
				for i, a := range s.args {
					args[i] = strings.ReplaceAll(a, "TRUTH", filepath.Join(ws, "other_truth.csv"))
				}
				var stdout, stderr bytes.Buffer
				code := run(append([]string{"takedown", "--workspace", ws}, args...), &stdout, &stderr)
				label := strings.Join(s.args, " ")
				if code != s.code {
					t.Fatalf("takedown %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", label, code, s.code, &stdout, &stderr)
				}
				for _, m := range []struct {
					re, out, what string
					want          bool
				}{{s.stdout, stdout.String(), "stdout", true}, {s.stderr, stderr.String(), "stderr", true}, {s.notStdout, stdout.String(), "stdout", false}} {
					if m.re != "" && regexp.MustCompile(`(?m)`+m.re).MatchString(m.out) != m.want {
						t.Errorf("takedown %s: %s matches %q: %v, want %v\n%s", label, m.what, m.re, !m.want, m.want, m.out)
					}
				}
				if s.after != nil {
					s.after(t, ws)
				}
			}
			checkWorkspace(t, ws)
		})
	}
}

// buildBase runs the demo and a small local dataset (whose normalize
// tables are "another dataset's") in one workspace, once for every case.
func buildBase(t *testing.T) (ws, other string) {
	t.Helper()
	dir := t.TempDir()
	ws, other = filepath.Join(dir, "ws"), filepath.Join(dir, "other")
	for _, args := range [][]string{
		{"run"},
		{"synth", "--out", other, "--posts", "1000", "--accounts", "200", "--seed", "3", "--campaign", "other"},
		{"datasets", "add", "local/other", filepath.Join(other, "other_users_csv_hashed.zip"), filepath.Join(other, "other_tweets_csv_hashed.zip")},
		{"run", "--to", "normalize", "local/other"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(append([]string{"takedown", "--workspace", ws}, args...), &stdout, &stderr); code != 0 {
			t.Fatalf("takedown %v: exit %d\n%s%s", args, code, &stdout, &stderr)
		}
	}
	return ws, other
}

// checkWorkspace checks the invariants every case must end with: the lock
// parses; each entry names a run directory that exists, whose manifest
// describes it (store.ReadRun), hashes to the lock's manifest_sha256 and
// lists the lock's output digests; and the files match the manifest.
func checkWorkspace(t *testing.T, ws string) {
	t.Helper()
	w := store.At(ws)
	l, err := w.ReadCurrent()
	if err != nil {
		t.Fatalf("end state: %v", err)
	}
	n := 0
	for ds, stages := range l.Datasets {
		for stage, e := range stages {
			n++
			run, err := w.ReadRun(ds, stage, e.RunID)
			if err != nil {
				t.Errorf("end state: lock names %s %s %s: %v", ds, stage, e.RunID, err)
				continue
			}
			if e.ManifestSHA256 != run.ManifestSHA256 {
				t.Errorf("end state: %s %s: lock manifest_sha256 %.12s, manifest %.12s", ds, stage, e.ManifestSHA256, run.ManifestSHA256)
			}
			for _, o := range run.Manifest.Outputs {
				if e.Outputs[o.File] != o.SHA256 {
					t.Errorf("end state: %s %s: lock digest of %s differs from the manifest", ds, stage, o.File)
				}
			}
			if p := store.CheckOutputs(run.Dir, run.Manifest); len(p) > 0 {
				t.Errorf("end state: %s %s: %v", ds, stage, p)
			}
		}
	}
	if n != 7 {
		t.Errorf("end state: lock names %d runs, want 7 (5 of demo, 2 of local/other)", n)
	}
}

// runsKept checks that n run directories are still published.
func runsKept(n int) func(*testing.T, string) {
	return func(t *testing.T, ws string) {
		t.Helper()
		if got := len(store.At(ws).PublishedRuns()); got != n {
			t.Errorf("%d published runs, want %d", got, n)
		}
	}
}

func tmpEmpty(t *testing.T, ws string) {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(ws, "tmp"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		t.Errorf("left in tmp/: %s", e.Name())
	}
}

func readLock(t *testing.T, ws string) *store.Lock {
	t.Helper()
	l, err := store.At(ws).ReadCurrent()
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func readFile(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// currentDir is the directory of the demo's current run of a stage.
func currentDir(t *testing.T, ws, stage string) string {
	t.Helper()
	e, ok := readLock(t, ws).Entry("demo", stage)
	if !ok {
		t.Fatalf("no current %s run", stage)
	}
	return store.At(ws).RunDir("demo", stage, e.RunID)
}

func editManifest(stage string, edit func(map[string]any)) func(*testing.T, string) {
	return func(t *testing.T, ws string) {
		t.Helper()
		p := filepath.Join(currentDir(t, ws, stage), store.ManifestName)
		var m map[string]any
		if err := json.Unmarshal(readFile(t, p), &m); err != nil {
			t.Fatal(err)
		}
		edit(m)
		b, err := json.MarshalIndent(m, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, p, b)
	}
}

func writeManifest(stage string, b []byte) func(*testing.T, string) {
	return func(t *testing.T, ws string) {
		t.Helper()
		writeFile(t, filepath.Join(currentDir(t, ws, stage), store.ManifestName), b)
	}
}

func editLock(edit func(*store.Lock)) func(*testing.T, string) {
	return func(t *testing.T, ws string) {
		t.Helper()
		l := readLock(t, ws)
		edit(l)
		b, err := json.MarshalIndent(l, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(ws, store.LockName), b)
	}
}

func writeLock(b []byte) func(*testing.T, string) {
	return func(t *testing.T, ws string) { writeFile(t, filepath.Join(ws, store.LockName), b) }
}

func removeLock(t *testing.T, ws string) {
	if err := os.Remove(filepath.Join(ws, store.LockName)); err != nil {
		t.Fatal(err)
	}
}

// copyOver copies local/other's current table file over the demo's.
func copyOver(other, stage, file string) func(*testing.T, string) {
	return func(t *testing.T, ws string) {
		t.Helper()
		e, ok := readLock(t, ws).Entry("local/other", stage)
		if !ok {
			t.Fatal("local/other has no current " + stage)
		}
		src := filepath.Join(store.At(ws).RunDir("local/other", stage, e.RunID), file)
		writeFile(t, filepath.Join(currentDir(t, ws, stage), file), readFile(t, src))
	}
}

func writeTruth(other string) func(*testing.T, string) {
	return func(t *testing.T, ws string) {
		writeFile(t, filepath.Join(ws, "other_truth.csv"), readFile(t, filepath.Join(other, "other_truth.csv")))
	}
}

// diskFull makes the next Parquet file named file write into /dev/full,
// which fails every write with ENOSPC as a full disk does.
func diskFull(file string) func(*testing.T, string) {
	return func(t *testing.T, ws string) {
		t.Cleanup(func() { pqio.TestHookCreate = nil })
		pqio.TestHookCreate = func(path string) (*os.File, error) {
			if filepath.Base(path) != file {
				return nil, nil
			}
			return os.OpenFile("/dev/full", os.O_WRONLY, 0)
		}
	}
}

// leftovers leaves what a kill -9 leaves: a staging dir of a run, a partial
// download with its metadata, and a write probe of Open (not counted).
func leftovers(t *testing.T, ws string) {
	t.Helper()
	tmp := filepath.Join(ws, "tmp")
	mb := bytes.Repeat([]byte("x"), 1_000_000)
	for p, b := range map[string][]byte{
		filepath.Join(tmp, "normalize-0123456789abcdef0123-42", "posts.parquet"):  append(mb, mb...),
		filepath.Join(tmp, "downloads", "twitter-io_x", "x_tweets.zip.part"):      mb,
		filepath.Join(tmp, "downloads", "twitter-io_x", "x_tweets.zip.part.json"): []byte("{}"),
		filepath.Join(tmp, "probe-123"):                                           nil,
	} {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		writeFile(t, p, b)
	}
}

func writeFile(t *testing.T, p string, b []byte) {
	t.Helper()
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// copyTree copies a workspace (regular files and directories).
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		to := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(to, 0o755)
		}
		return store.CopyFile(p, to)
	})
	if err != nil {
		t.Fatal(err)
	}
}
