package runner

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// git runs git in the package directory and returns its trimmed stdout.
func git(args ...string) (string, error) {
	out, err := exec.Command("git", args...).Output()
	var ee *exec.ExitError
	if errors.As(err, &ee) && len(ee.Stderr) > 0 {
		err = errors.New(strings.TrimSpace(string(ee.Stderr)))
	}
	return strings.TrimSpace(string(out)), err
}

// goldenVersion is one version of the golden file.
type goldenVersion struct {
	label string
	file  goldenFile
}

// TestGoldenDigestsHistory checks that the golden file only ever grows: in
// every pair of consecutive versions of it along the first-parent history
// (the mainline, where a branch's changes arrive as one merge), and between
// HEAD and the working copy, every entry present in both is identical. An
// entry's digests never change under its version key; new bytes come with a
// new version, hence a new entry.
func TestGoldenDigestsHistory(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skipf("git not found (%v): cannot read the history of %s", err, goldenPath)
	}
	if out, err := git("rev-parse", "--is-inside-work-tree"); err != nil || out != "true" {
		t.Skipf("not in a git work tree (%v): cannot read the history of %s", err, goldenPath)
	}
	if out, err := git("rev-parse", "--is-shallow-repository"); err != nil || out != "false" {
		t.Skipf("shallow clone or old git (%q, %v): the history of %s is incomplete (git fetch --unshallow)", out, err, goldenPath)
	}
	log, err := git("log", "--first-parent", "--format=%H", "--", goldenPath)
	if err != nil {
		t.Fatalf("git log %s: %v", goldenPath, err)
	}
	commits := strings.Fields(log)
	revs := append([]string(nil), commits...)
	// Oldest first, then HEAD (which the last commit that changed the file
	// need not be), then the working copy.
	for i, j := 0, len(revs)-1; i < j; i, j = i+1, j-1 {
		revs[i], revs[j] = revs[j], revs[i]
	}
	revs = append(revs, "HEAD")
	var versions []goldenVersion
	for _, c := range revs {
		b, err := git("show", c+":./"+goldenPath)
		if err != nil {
			continue // the file does not exist at c (before it was added, or deleted)
		}
		g, err := parseGolden([]byte(b), false)
		if err != nil {
			t.Errorf("%s at %.12s: %v", goldenPath, c, err)
			continue
		}
		versions = append(versions, goldenVersion{label: "commit " + shortRev(c), file: g})
	}
	switch b, err := os.ReadFile(goldenPath); {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		t.Fatal(err)
	default:
		g, err := parseGolden(b, true)
		if err != nil {
			t.Fatalf("%s: %v", goldenPath, err)
		}
		versions = append(versions, goldenVersion{label: "the working copy", file: g})
	}
	if len(versions) < 2 {
		t.Logf("%s has %d version(s): nothing to compare yet", goldenPath, len(versions))
	}
	for _, p := range checkGoldenHistory(versions) {
		t.Error(p)
	}
}

// checkGoldenHistory compares each version with the next one.
func checkGoldenHistory(versions []goldenVersion) []string {
	var out []string
	for i := 1; i < len(versions); i++ {
		for _, d := range diffGolden(versions[i-1].file, versions[i].file) {
			out = append(out, versions[i-1].label+" -> "+versions[i].label+": "+d+
				": a recorded entry never changes; bump the stage version and run "+goldenUpdateCmd)
		}
	}
	return out
}

func shortRev(c string) string {
	if len(c) > 12 {
		return c[:12]
	}
	return c
}

func TestCheckGoldenHistory(t *testing.T) {
	entry := func(stage string, version int, runID string, files map[string]string, tables map[string]int) goldenEntry {
		return goldenEntry{Dataset: "demo", Stage: stage, StageVersion: version, PqioVersion: 4, RunID: runID, Files: files, Tables: tables}
	}
	fp := func(digest string, layout int) goldenEntry {
		return entry("fingerprint", 5, "78f07f742d3d6b303f8f", map[string]string{"fingerprints.parquet": digest}, map[string]int{"fingerprints.parquet": layout})
	}
	sum := entry("summarize", 2, "588acbeec9666a9141d6", map[string]string{"report.md": "aa", "report.html": "bb"}, nil)
	base := goldenFile{Entries: []goldenEntry{fp("d99c", 2), sum}}
	cases := []struct {
		name  string
		newer goldenFile
		want  []string // substrings of each problem, in order
	}{
		{"identical", base, nil},
		{"entry added", goldenFile{Entries: []goldenEntry{fp("d99c", 2), sum,
			entry("fingerprint", 6, "0123456789abcdef0123", map[string]string{"fingerprints.parquet": "ffff"}, nil)}}, nil},
		{"entry removed", goldenFile{Entries: []goldenEntry{sum}}, nil},
		{"same version, other run id (new inputs)", goldenFile{Entries: []goldenEntry{fp("d99c", 2), sum,
			entry("summarize", 2, "00000000000000000000", map[string]string{"report.md": "cc"}, nil)}}, nil},
		{"digest tampered", goldenFile{Entries: []goldenEntry{fp("d99d", 2), sum}},
			[]string{"commit a -> commit b: demo fingerprint v5+pqio4 run 78f07f742d3d6b303f8f: output fingerprints.parquet changed (sha256 d99c -> d99d)"}},
		{"layout changed", goldenFile{Entries: []goldenEntry{fp("d99c", 3), sum}},
			[]string{"table fingerprints.parquet layout changed (2 -> 3)"}},
		{"file dropped", goldenFile{Entries: []goldenEntry{fp("d99c", 2),
			entry("summarize", 2, "588acbeec9666a9141d6", map[string]string{"report.md": "aa"}, nil)}},
			[]string{"output report.html is no longer written"}},
		{"file added", goldenFile{Entries: []goldenEntry{fp("d99c", 2),
			entry("summarize", 2, "588acbeec9666a9141d6", map[string]string{"report.md": "aa", "report.html": "bb", "x.csv": "dd"}, nil)}},
			[]string{"new output x.csv"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := checkGoldenHistory([]goldenVersion{{"commit a", base}, {"commit b", c.newer}})
			if len(got) != len(c.want) {
				t.Fatalf("got %d problems, want %d:\n%s", len(got), len(c.want), strings.Join(got, "\n"))
			}
			for i := range got {
				if !strings.Contains(got[i], c.want[i]) || !strings.Contains(got[i], "bump the stage version") {
					t.Errorf("problem %q\nwant it to contain %q", got[i], c.want[i])
				}
			}
		})
	}
	// A change two versions back is found too: a -> b is fine, b -> c not.
	got := checkGoldenHistory([]goldenVersion{{"commit a", base}, {"commit b", base}, {"the working copy", goldenFile{Entries: []goldenEntry{fp("0000", 2)}}}})
	if len(got) != 1 || !strings.HasPrefix(got[0], "commit b -> the working copy: ") {
		t.Errorf("three versions: %q", got)
	}
}

func TestParseGoldenRejectsDuplicates(t *testing.T) {
	cases := []struct {
		name, json string
		strict     bool
		err        string
	}{
		{"ok", `{"entries":[{"dataset":"demo","stage":"fetch","stage_version":1,"pqio_format_version":4,"run_id":"a","files":{}}]}`, true, ""},
		{"duplicate key", `{"entries":[{"dataset":"demo","stage":"fetch","stage_version":1,"pqio_format_version":4,"run_id":"a","files":{}},
			{"dataset":"demo","stage":"fetch","stage_version":1,"pqio_format_version":4,"run_id":"a","files":{"x":"y"}}]}`, true, "two entries for demo fetch v1+pqio4 run a"},
		{"unknown field, strict", `{"entries":[],"extra":1}`, true, "unknown field"},
		{"unknown field, lenient", `{"entries":[],"extra":1}`, false, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := parseGolden([]byte(c.json), c.strict)
			if c.err == "" && err != nil || c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)) {
				t.Errorf("err = %v, want %q", err, c.err)
			}
		})
	}
}
