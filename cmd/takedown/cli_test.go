package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/takedown-research/takedown/internal/errkind"
)

func TestHoistGlobalFlags(t *testing.T) {
	app := newApp(&globals{})
	cases := []struct{ in, want string }{
		{"takedown run -w X", "takedown -w X run"},
		{"takedown run --workspace=X demo", "takedown --workspace=X run demo"},
		{"takedown status --json", "takedown --json status"},
		{"takedown -q run --window 30 -w X demo", "takedown -q -w X run --window 30 demo"},
		// Global flags before the command stay, values included.
		{"takedown -w run status", "takedown -w run status"},
		// The command's own --json is the command's.
		{"takedown datasets list --json", "takedown datasets list --json"},
		{"takedown eval --json --quiet", "takedown --quiet eval --json"},
		// A value of the command's own flag is not a global flag.
		{"takedown show --dataset -q posts", "takedown show --dataset -q posts"},
		// After the positional argument too (the guard would refuse it otherwise).
		{"takedown run demo --json", "takedown --json run demo"},
		// Nothing after --.
		{"takedown run -- --json", "takedown run -- --json"},
		// Not a command: left for urfave/cli to refuse.
		{"takedown nosuch --json", "takedown nosuch --json"},
		{"takedown", "takedown"},
	}
	for _, tc := range cases {
		got := strings.Join(hoistGlobalFlags(app, strings.Fields(tc.in)), " ")
		if got != tc.want {
			t.Errorf("hoist(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestInterrupted runs a command under a canceled context, as SIGINT or
// SIGTERM leaves it: it says "interrupted", not "context canceled", and
// exits 130.
func TestInterrupted(t *testing.T) {
	ws := filepath.Join(t.TempDir(), "ws")
	for _, args := range [][]string{
		{"takedown", "-w", ws, "run"},
		{"takedown", "-w", ws, "--json", "run"},
	} {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		var stdout, stderr bytes.Buffer
		code := runContext(ctx, args, &stdout, &stderr)
		if code != errkind.Interrupted.ExitCode() {
			t.Errorf("%v: exit %d, want %d; stderr: %s", args, code, errkind.Interrupted.ExitCode(), &stderr)
		}
		if !strings.Contains(stderr.String(), "interrupted") || strings.Contains(stderr.String(), "context canceled") {
			t.Errorf("%v: stderr %q, want it to say interrupted (and not context canceled)", args, &stderr)
		}
		if slices.Contains(args, "--json") && !strings.Contains(stderr.String(), `"exit_code":130`) {
			t.Errorf("%v: JSON error event lacks exit_code 130: %s", args, &stderr)
		}
	}
}

// TestProgressReporter: a bar only on a terminal (and not with --quiet),
// events with --json, nothing otherwise. Tests never run on a terminal:
// g.tty is set by the app from stderr, and demo.txtar checks that `run`
// then writes nothing on stderr.
func TestProgressReporter(t *testing.T) {
	tests := []struct {
		json, tty, quiet bool
		want             string
	}{
		{false, false, false, "none"},
		{false, true, false, "bar"},
		{false, true, true, "none"},
		{true, false, false, "events"},
		{true, true, false, "events"},
		{true, false, true, "events"},
	}
	for _, tc := range tests {
		g := &globals{json: tc.json, tty: tc.tty, quiet: tc.quiet, stderr: io.Discard}
		g.log = newLogger(g)
		got := "none"
		switch r := g.progress(); {
		case r == nil:
		case strings.Contains(fmt.Sprintf("%T", r), "bar"):
			got = "bar"
		case strings.Contains(fmt.Sprintf("%T", r), "json"):
			got = "events"
		default:
			got = fmt.Sprintf("%T", r)
		}
		if got != tc.want {
			t.Errorf("json=%v tty=%v quiet=%v: %s, want %s", tc.json, tc.tty, tc.quiet, got, tc.want)
		}
	}
	var stderr bytes.Buffer
	g := &globals{stdout: io.Discard, stderr: &stderr}
	app := newApp(g)
	if err := app.Run([]string{"takedown", "-w", t.TempDir(), "status"}); err != nil && exitCode(err) != 0 {
		t.Fatal(err)
	}
	if g.tty {
		t.Fatal("a bytes.Buffer stderr is taken for a terminal")
	}
}
