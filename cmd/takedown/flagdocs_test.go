package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/takedown-research/takedown/internal/runner"
)

// The flag table of each docs/stages/<stage>.md lies between these markers
// and is what renderFlagTable makes of the stage command's flags;
// `go test ./cmd/takedown -run TestStageFlagDocs -update` rewrites it.
const (
	flagsBegin = "<!-- flags:begin -->"
	flagsEnd   = "<!-- flags:end -->"
)

// stageFlags are the flags of a stage's command that belong to the stage:
// those of its category, and (fetch) the uncategorized ones it adds.
// Hidden flags are left out, as in --help.
func stageFlags(stage string) []cli.Flag {
	var out []cli.Flag
	for _, f := range stageCommand(&globals{}, stage, "").Flags {
		vf, ok := f.(cli.VisibleFlag)
		if ok && !vf.IsVisible() {
			continue
		}
		cat := ""
		if cf, ok := f.(cli.CategorizableFlag); ok {
			cat = cf.GetCategory()
		}
		if cat == stage || cat == "" {
			out = append(out, f)
		}
	}
	return out
}

// flagDefault is a flag's default as a doc writes it: `value`, a list of
// `values`, or (empty).
func flagDefault(f cli.Flag) string {
	var v string
	switch f := f.(type) {
	case *cli.StringSliceFlag:
		var vals []string
		if f.Value != nil {
			for _, s := range f.Value.Value() {
				vals = append(vals, "`"+s+"`")
			}
		}
		if len(vals) > 0 {
			return strings.Join(vals, ", ")
		}
	case *cli.StringFlag:
		v = f.Value
	case *cli.BoolFlag:
		v = fmt.Sprint(f.Value)
	case cli.DocGenerationFlag:
		v = f.GetValue()
	}
	if v == "" {
		return "(empty)"
	}
	return "`" + v + "`"
}

// renderFlagTable renders flags as the Markdown table of the stage docs:
// flag, default, and the flag's usage text (with its environment variable).
func renderFlagTable(flags []cli.Flag) string {
	var b strings.Builder
	b.WriteString("| flag | default | meaning |\n|---|---|---|\n")
	for _, f := range flags {
		df := f.(cli.DocGenerationFlag)
		usage := df.GetUsage()
		if env := df.GetEnvVars(); len(env) > 0 {
			usage += " (env `" + strings.Join(env, "`, `") + "`)"
		}
		usage = strings.ReplaceAll(usage, "|", `\|`)
		fmt.Fprintf(&b, "| `--%s` | %s | %s |\n", f.Names()[0], flagDefault(f), usage)
	}
	return b.String()
}

// TestStageFlagDocs checks the flag table of every stage doc against the
// CLI's flag definitions (and rewrites it with -update), and checks that the
// doc's parameter table names each of the stage's flags with its default.
func TestStageFlagDocs(t *testing.T) {
	for _, stage := range runner.Stages {
		t.Run(stage, func(t *testing.T) {
			path := filepath.Join("..", "..", "docs", "stages", stage+".md")
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			doc := string(b)
			flags := stageFlags(stage)
			if len(flags) == 0 {
				t.Fatalf("stage %s has no flags of its own", stage)
			}
			want := renderFlagTable(flags)
			i, j := strings.Index(doc, flagsBegin), strings.Index(doc, flagsEnd)
			if i < 0 || j < i {
				t.Fatalf("%s: no %s ... %s section", path, flagsBegin, flagsEnd)
			}
			got := strings.TrimPrefix(doc[i+len(flagsBegin):j], "\n")
			if got != want {
				if *update {
					doc = doc[:i+len(flagsBegin)] + "\n" + want + doc[j:]
					if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
						t.Fatal(err)
					}
				} else {
					t.Errorf("%s: the flag table differs from the CLI's flags (go test ./cmd/takedown -run TestStageFlagDocs -update rewrites it)\ngot:\n%s\nwant:\n%s", path, got, want)
				}
			}
			checkParamTable(t, path, doc, flags)
		})
	}
}

var flagCell = regexp.MustCompile("^`--([a-z0-9-]+)`$")

// checkParamTable checks the hand-written "parameter (JSON) | flag |
// default | meaning" table of a stage doc, where it has one: every flag it
// names in a cell of its own is one of the stage's, with the same default,
// and every flag of the stage is in it.
func checkParamTable(t *testing.T, path, doc string, flags []cli.Flag) {
	t.Helper()
	const header = "| parameter (JSON) | flag | default | meaning |"
	k := strings.Index(doc, header)
	if k < 0 {
		return
	}
	byName := map[string]cli.Flag{}
	for _, f := range flags {
		byName[f.Names()[0]] = f
	}
	seen := map[string]bool{}
	for _, line := range strings.Split(doc[k:], "\n")[2:] {
		if !strings.HasPrefix(line, "|") {
			break
		}
		cells := strings.Split(strings.Trim(line, "|"), " | ")
		if len(cells) < 3 {
			t.Errorf("%s: parameter row with %d cells: %s", path, len(cells), line)
			continue
		}
		m := flagCell.FindStringSubmatch(strings.TrimSpace(cells[1]))
		if m == nil {
			continue // a parameter without a flag of its own (none, set by the runner, --window auto)
		}
		f, ok := byName[m[1]]
		if !ok {
			t.Errorf("%s: the parameter table names --%s, which is no flag of this stage", path, m[1])
			continue
		}
		seen[m[1]] = true
		cell := strings.TrimSpace(cells[2])
		if cut := strings.Index(cell, " ("); cut > 0 {
			cell = cell[:cut] // "... (every signal but co_domain)"
		}
		want := flagDefault(f)
		if strings.Trim(cell, "`") != strings.Trim(want, "`") && cell != want {
			t.Errorf("%s: the parameter table gives --%s the default %s, the CLI %s", path, m[1], cells[2], want)
		}
	}
	for _, f := range flags {
		if !seen[f.Names()[0]] {
			t.Errorf("%s: the parameter table lacks --%s", path, f.Names()[0])
		}
	}
}
