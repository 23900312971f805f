package main

import (
	"github.com/takedown-research/takedown/internal/store/s3test"

	"errors"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

// update rewrites goldens: `go test ./cmd/takedown -update` rewrites the
// file of every failing `cmp` in testdata/script (testscript's
// UpdateScripts) and the flag tables of docs/stages (flagdocs_test.go).
var update = flag.Bool("update", false, "rewrite the expected output in testdata/script and the flag tables in docs/stages from the actual output")

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"takedown": func() { os.Exit(run(os.Args, os.Stdout, os.Stderr)) },
	})
}

// TestScripts runs the CLI scripts in testdata/script. Each script gets its
// own workspace in $WORK/ws through TAKEDOWN_WORKSPACE.
func TestScripts(t *testing.T) {
	fixtures := startFixtureServer(t)         // fixtures_test.go: a local "bucket" for fetch
	s3 := s3test.Start(t, "takedown-scripts") // an S3 server for object-storage workspaces
	testscript.Run(t, testscript.Params{
		Dir:           filepath.Join("testdata", "script"),
		UpdateScripts: *update,
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"exits":       cmdExits,
			"cmp-runids":  cmdCmpRunIDs,
			"redact":      cmdRedact,
			"run-plan":    cmdRunPlan,
			"cmp-outputs": cmdCmpOutputs,
			"append":      cmdAppend,
			"waitfor":     cmdWaitFor,
		},
		Setup: func(e *testscript.Env) error {
			e.Setenv("TAKEDOWN_WORKSPACE", filepath.Join(e.WorkDir, "ws"))
			e.Setenv("FIXTURES", fixtures)
			// $S3_WS and $S3_WS2 are workspace URLs of the script's own on
			// the S3 test server.
			e.Setenv("S3_WS", s3.WorkspaceURL(filepath.Base(e.WorkDir)))
			e.Setenv("S3_WS2", s3.WorkspaceURL(filepath.Base(e.WorkDir)+"-2"))
			for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_EC2_METADATA_DISABLED", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"} {
				e.Setenv(k, os.Getenv(k))
			}
			// No network beyond loopback: every other host goes to a proxy
			// that refuses connections (loopback is never proxied).
			e.Setenv("HTTP_PROXY", "http://127.0.0.1:9")
			e.Setenv("HTTPS_PROXY", "http://127.0.0.1:9")
			return nil
		},
	})
}

// cmdExits runs a program and checks its exit code: exits CODE PROG ARGS...
func cmdExits(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exits CODE PROG [ARGS...]")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("exits: bad code %q", args[0])
	}
	err = ts.Exec(args[1], args[2:]...)
	got := 0
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		got = ee.ExitCode()
	case err != nil:
		ts.Fatalf("exits: %v", err)
	}
	if got != want {
		ts.Fatalf("exit code %d, want %d", got, want)
	}
}

var runIDLine = regexp.MustCompile(`(?m)^\s+([a-z]+)\s+([0-9a-f]{20})\s`)

// cmdCmpRunIDs compares the stage run ids printed in two outputs of
// `takedown run`: cmp-runids FILE1 FILE2 (either may be stdout).
func cmdCmpRunIDs(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: cmp-runids FILE1 FILE2")
	}
	ids := func(name string) []string {
		text := ts.ReadFile(name)
		var out []string
		for _, m := range runIDLine.FindAllStringSubmatch(text, -1) {
			out = append(out, m[1]+"="+m[2])
		}
		if len(out) == 0 {
			ts.Fatalf("no run ids in %s", name)
		}
		return out
	}
	a, b := ids(args[0]), ids(args[1])
	if slices.Equal(a, b) == neg {
		ts.Fatalf("run ids: %v vs %v", a, b)
	}
}

// cmdRedact writes a file, or stdout or stderr, to another file with the
// script's $WORK directory written as the literal $WORK, so that output
// naming the workspace can be compared with cmp (whose goldens -update
// rewrites, unlike cmpenv's): redact SRC DST.
func cmdRedact(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: redact SRC DST")
	}
	text := strings.ReplaceAll(ts.ReadFile(args[0]), ts.Getenv("WORK"), "$WORK")
	ts.Check(os.WriteFile(ts.MkAbs(args[1]), []byte(text), 0o644))
}

// cmdWaitFor waits until a glob matches a file, for a background command
// to reach a point (a spill file written, say): waitfor GLOB [SECONDS]
// (default 120). It fails when the time runs out.
func cmdWaitFor(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 1 || len(args) > 2 {
		ts.Fatalf("usage: waitfor GLOB [SECONDS]")
	}
	limit := 120 * time.Second
	if len(args) == 2 {
		n, err := strconv.Atoi(args[1])
		ts.Check(err)
		limit = time.Duration(n) * time.Second
	}
	for end := time.Now().Add(limit); ; time.Sleep(5 * time.Millisecond) {
		m, err := filepath.Glob(ts.MkAbs(args[0]))
		ts.Check(err)
		if len(m) > 0 {
			return
		}
		if time.Now().After(end) {
			ts.Fatalf("waitfor: nothing matched %s in %v", args[0], limit)
		}
	}
}

// cmdAppend appends a line of text to the one file a glob matches (a run
// directory's name is a run id): append GLOB TEXT.
func cmdAppend(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: append GLOB TEXT")
	}
	m, err := filepath.Glob(ts.MkAbs(args[0]))
	ts.Check(err)
	if len(m) != 1 {
		ts.Fatalf("append: %s matches %d files, want 1", args[0], len(m))
	}
	f, err := os.OpenFile(m[0], os.O_APPEND|os.O_WRONLY, 0)
	ts.Check(err)
	_, err = f.WriteString(args[1] + "\n")
	ts.Check(err)
	ts.Check(f.Close())
}
