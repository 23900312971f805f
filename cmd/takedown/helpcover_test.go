package main

import (
	"io"
	"os"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

// TestEveryCommandHasHelpGolden checks that testdata/script/help.txtar pins
// the --help output of every command and subcommand, so a new command
// cannot ship without its golden.
func TestEveryCommandHasHelpGolden(t *testing.T) {
	b, err := os.ReadFile("testdata/script/help.txtar")
	if err != nil {
		t.Fatal(err)
	}
	script := string(b)
	app := newApp(&globals{stdout: io.Discard, stderr: io.Discard})
	var walk func(prefix string, cmds []*cli.Command)
	walk = func(prefix string, cmds []*cli.Command) {
		for _, c := range cmds {
			if c.Hidden {
				continue
			}
			path := strings.TrimSpace(prefix + " " + c.Name)
			if !strings.Contains(script, "exec takedown "+path+" --help\n") {
				t.Errorf("help.txtar has no `exec takedown %s --help` (add it, then go test ./cmd/takedown -run TestScripts/help -update)", path)
			}
			walk(path, c.Subcommands)
		}
	}
	walk("", app.Commands)
}
