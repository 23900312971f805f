package main

import (
	"strings"

	"github.com/urfave/cli/v2"
)

// hoistGlobalFlags moves the app's global flags that are written after the
// command (`takedown run -w DIR`, `takedown status --json`) to before it,
// where urfave/cli parses them, and returns the new argument list; args[0]
// is the program name. Only flags the app declares are moved, never one that
// the command itself declares under the same name (datasets list --json is
// the command's), never the value of one of the command's own flags, and
// nothing after "--". The order of the rest is kept.
func hoistGlobalFlags(app *cli.App, args []string) []string {
	if len(args) < 2 {
		return args
	}
	global := flagTable(app.Flags)
	out := []string{args[0]}
	i := 1
	// Global flags already before the command stay where they are.
	for i < len(args) {
		a := args[i]
		if a == "--" || !strings.HasPrefix(a, "-") || a == "-" {
			break
		}
		out = append(out, a)
		i++
		if f, ok := global.lookup(a); ok && f.takesValue && !strings.Contains(a, "=") && i < len(args) {
			out = append(out, args[i])
			i++
		}
	}
	if i >= len(args) || args[i] == "--" {
		return append(out, args[i:]...)
	}
	// The command words: the command and its subcommands, e.g. datasets add.
	var own flagSet
	cmds := app.Commands
	var rest []string
	for i < len(args) {
		c := findCommand(cmds, args[i])
		if c == nil {
			break
		}
		rest = append(rest, args[i])
		own = flagTable(c.Flags)
		cmds = c.Subcommands
		i++
	}
	if len(rest) == 0 {
		// Not a command (urfave/cli will say so): leave it all alone.
		return append(out, args[i:]...)
	}
	for i < len(args) {
		a := args[i]
		if a == "--" {
			rest = append(rest, args[i:]...)
			break
		}
		i++
		if f, ok := own.lookup(a); ok {
			rest = append(rest, a)
			if f.takesValue && !strings.Contains(a, "=") && i < len(args) {
				rest = append(rest, args[i])
				i++
			}
			continue
		}
		if f, ok := global.lookup(a); ok {
			out = append(out, a)
			if f.takesValue && !strings.Contains(a, "=") && i < len(args) {
				out = append(out, args[i])
				i++
			}
			continue
		}
		rest = append(rest, a)
	}
	return append(out, rest...)
}

// flagInfo is what hoistGlobalFlags needs to know of a flag.
type flagInfo struct{ takesValue bool }

// flagSet maps each name and alias of a set of flags to its flagInfo.
type flagSet map[string]flagInfo

func flagTable(flags []cli.Flag) flagSet {
	s := flagSet{}
	for _, f := range flags {
		info := flagInfo{takesValue: true}
		if df, ok := f.(cli.DocGenerationFlag); ok {
			info.takesValue = df.TakesValue()
		}
		for _, n := range f.Names() {
			s[n] = info
		}
	}
	return s
}

// lookup finds the flag an argument names: -x, --x, -x=v or --x=v.
func (s flagSet) lookup(arg string) (flagInfo, bool) {
	if !strings.HasPrefix(arg, "-") {
		return flagInfo{}, false
	}
	name := strings.TrimPrefix(strings.TrimPrefix(arg, "-"), "-")
	name, _, _ = strings.Cut(name, "=")
	if name == "" {
		return flagInfo{}, false
	}
	f, ok := s[name]
	return f, ok
}

func findCommand(cmds []*cli.Command, name string) *cli.Command {
	for _, c := range cmds {
		if c.HasName(name) {
			return c
		}
	}
	return nil
}
