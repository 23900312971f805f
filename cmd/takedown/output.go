package main

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"
)

// The rule for machine-readable output (docs/reproducibility.md): the
// global --json turns stderr into an event stream for schedulers; -o json
// makes a command print its result as one JSON document on stdout.

// DocumentSchema is the version of the -o json documents: their "schema"
// field. It changes when a document loses a field or a field changes
// meaning.
const DocumentSchema = 1

// Values of -o/--output.
const (
	outputText = "text"
	outputJSON = "json"
)

// outputFlag is -o/--output, the format of a command's result on stdout.
func outputFlag() cli.Flag {
	return &cli.StringFlag{Name: "output", Aliases: []string{"o"}, Value: outputText,
		Usage: "text, or json: the result as one JSON document on stdout (--json is the event stream on stderr)"}
}

// oldJSONFlag is the per-command --json of datasets list, datasets show and
// eval, the old name of -o json; help does not show it.
func oldJSONFlag() cli.Flag {
	return &cli.BoolFlag{Name: "json", Hidden: true, Usage: "old name of -o json"}
}

// wantJSON reports whether the command's result goes to stdout as a JSON
// document: -o json, or the command's old --json (with a note on stderr).
func wantJSON(c *cli.Context, g *globals) (bool, error) {
	switch v := strings.ToLower(c.String("output")); v {
	case outputText, "":
	case outputJSON:
		return true, nil
	default:
		return false, usagef("--output must be %s or %s, got %q", outputText, outputJSON, v)
	}
	for _, f := range c.Command.Flags {
		if f.Names()[0] == "json" && c.Bool("json") {
			fmt.Fprintf(g.stderr, "takedown: note: %s --json is the old name of -o json\n", commandPath(c))
			return true, nil
		}
	}
	return false, nil
}

// printDocument writes a result document on stdout (even with --quiet:
// it was asked for).
func printDocument(g *globals, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(g.stdout, "%s\n", b)
	return err
}
