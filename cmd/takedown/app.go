package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/takedown-research/takedown/internal/errkind"
	"github.com/takedown-research/takedown/internal/progress"
	"github.com/takedown-research/takedown/internal/runner"
	"github.com/takedown-research/takedown/internal/store"
)

// exitOK is the exit code of success; every other code comes from the
// error's kind (internal/errkind, documented in docs/reproducibility.md).
const exitOK = 0

// globals are the flags every command shares.
type globals struct {
	workspace string
	studyFile string // the study file chosen (--study, ./takedown.yaml), or ""
	wait      time.Duration
	json      bool
	quiet     bool
	stdout    io.Writer
	stderr    io.Writer
	log       *slog.Logger
	tty       bool
	// memProfile is the --memprofile file, opened before the command and
	// written when it ends.
	memProfile *os.File
}

// exitError is a command's own failure of a given kind (e.g. verify found
// a mismatch), with the message to print.
type exitError struct {
	kind errkind.Kind
	msg  string
}

func (e *exitError) Error() string      { return e.msg }
func (e *exitError) Kind() errkind.Kind { return e.kind }

// run builds the app, runs it and maps the outcome to an exit code. It is
// what main and the testscript tests call.
func run(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return runContext(ctx, args, stdout, stderr)
}

// runContext is run under a context that a signal cancels. A command that
// ends with an error after the context was canceled (or with
// context.Canceled) was interrupted: it says so, not "context canceled",
// and exits 130.
func runContext(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	g := &globals{stdout: stdout, stderr: stderr}
	app := newApp(g)
	err := app.RunContext(ctx, hoistGlobalFlags(app, args))
	code := exitCode(err)
	if err != nil && (ctx.Err() != nil || errors.Is(err, context.Canceled)) {
		err, code = errInterrupted, errkind.Interrupted.ExitCode()
	}
	var te taskExit
	if err != nil && code != exitOK && !errors.As(err, &te) {
		msg := errorMessage(err)
		if g.log != nil && g.json {
			g.log.Error(msg, "event", "error", "kind", errkind.Of(err).String(), "exit_code", code)
		} else {
			fmt.Fprintf(stderr, "takedown: %s\n", msg)
		}
	}
	return code
}

// errorMessage is what the user reads: a full disk says so first, whatever
// operation it stopped.
func errorMessage(err error) string {
	switch errkind.Of(err) {
	case errkind.DiskFull:
		return "disk full: " + err.Error() + " (free space or choose another --workspace; the unfinished run was removed)"
	}
	return err.Error()
}

// errInterrupted is what a command stopped by SIGINT or SIGTERM reports.
var errInterrupted = errkind.New(errkind.Interrupted, "interrupted (nothing half-done was published; run the command again to go on)")

// exitCode maps an error to the process exit code by its kind alone.
func exitCode(err error) int {
	if err == nil {
		return exitOK
	}
	return errkind.Of(err).ExitCode()
}

// usageError marks errors of flag parsing and argument checks.
type usageError struct{ err error }

func (e usageError) Error() string    { return e.err.Error() }
func (e usageError) Unwrap() error    { return e.err }
func (usageError) Kind() errkind.Kind { return errkind.Usage }

func usagef(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

// errInput marks unreadable or invalid input files given on the command line.
var errInput = errkind.New(errkind.BadInput, "input not usable")

func newApp(g *globals) *cli.App {
	app := &cli.App{
		Name:            "takedown",
		Usage:           "turn platform takedown archives into versioned Parquet tables and find coordinated groups",
		Writer:          g.stdout,
		ErrWriter:       g.stderr,
		HideHelpCommand: true,
		Version:         store.CodeVersion + " (" + store.Revision + ")",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "workspace", Aliases: []string{"w"}, Value: "./takedown-work", EnvVars: []string{"TAKEDOWN_WORKSPACE"},
				Usage: "workspace holding sources, runs and takedown.lock: a directory, or s3://BUCKET/PREFIX, gs://BUCKET/PREFIX (docs/scale.md)"},
			&cli.BoolFlag{Name: "json", Usage: "write one JSON event per line on stderr (for schedulers)"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "print nothing but errors"},
			&cli.DurationFlag{Name: "wait", Usage: "wait up to this long (e.g. 10m) for a dataset or workspace another takedown process holds, instead of exiting with the busy code 75"},
			&cli.StringFlag{Name: "cpuprofile", Usage: "write a Go CPU profile of the command to this file (go tool pprof reads it)"},
			&cli.StringFlag{Name: "memprofile", Usage: "write a Go heap profile (allocations since the start, live memory at the end) to this file when the command ends"},
		}, studyFlags()...),
		Before: func(c *cli.Context) error {
			g.workspace = c.String("workspace")
			g.json = c.Bool("json")
			g.quiet = c.Bool("quiet")
			g.wait = c.Duration("wait")
			var err error
			if g.studyFile, err = studyPath(c); err != nil {
				return err
			}
			if f, ok := g.stderr.(*os.File); ok {
				g.tty = term.IsTerminal(int(f.Fd()))
			}
			g.log = newLogger(g)
			return g.startProfiles(c.String("cpuprofile"), c.String("memprofile"))
		},
		After: func(c *cli.Context) error {
			pprof.StopCPUProfile()
			return g.writeMemProfile()
		},
		OnUsageError: func(c *cli.Context, err error, isSubcommand bool) error {
			return usageError{err}
		},
		ExitErrHandler: func(*cli.Context, error) {}, // run() maps errors to exit codes
		Commands: []*cli.Command{
			runCommand(g),
			stageCommand(g, "fetch", "land a release's files in the content-addressed source store"),
			stageCommand(g, "normalize", "parse the archive files into the accounts, posts and rejects tables"),
			stageCommand(g, "fingerprint", "compute content keys (normalized text, URLs, hashtags, reposts) per post"),
			stageCommand(g, "cluster", "find coordinated account groups from content shared within a time window"),
			stageCommand(g, "summarize", "write release and cluster summary tables and the Markdown and HTML reports"),
			statusCommand(g),
			verifyCommand(g),
			packCommand(g),
			gcCommand(g),
			rebuildLockCommand(g),
			synthCommand(g),
			datasetsCommand(g),
			exportCommand(g),
			showCommand(g),
			evalCommand(g),
			studyCommand(g),
			planCommand(g),
			taskCommand(g),
			pathCommand(g),
		},
	}
	guardCommands(app.Commands, app.OnUsageError)
	return app
}

// commandPath is the command line's command words, e.g. "takedown datasets add".
func commandPath(ctx *cli.Context) string {
	var names []string
	for _, l := range ctx.Lineage() {
		if l.Command != nil && l.Command.Name != "" {
			names = append([]string{l.Command.Name}, names...)
		}
	}
	if len(names) == 0 || names[0] != "takedown" {
		names = append([]string{"takedown"}, names...)
	}
	return strings.Join(names, " ")
}

// guardCommands sets the usage-error handler of every command and wraps each
// action so that a flag written after a positional argument (which urfave/cli
// would silently take as an argument) is a usage error that says so.
func guardCommands(cmds []*cli.Command, onUsage cli.OnUsageErrorFunc) {
	for _, c := range cmds {
		c.OnUsageError = onUsage
		guardCommands(c.Subcommands, onUsage)
		if c.Action == nil {
			continue
		}
		action := c.Action
		c.Action = func(ctx *cli.Context) error {
			for _, a := range ctx.Args().Slice() {
				if len(a) > 1 && strings.HasPrefix(a, "-") {
					return usagef("%s looks like a flag but comes after an argument: put flags first (%s [flags] %s)",
						a, commandPath(ctx), ctx.Command.ArgsUsage)
				}
			}
			return action(ctx)
		}
	}
}

// startProfiles opens the profile files (a path that cannot be created is
// a usage error before the command runs) and starts the CPU profile; ""
// profiles nothing.
func (g *globals) startProfiles(cpuPath, memPath string) error {
	cpu, err := createProfile("cpuprofile", cpuPath)
	if err != nil {
		return err
	}
	if g.memProfile, err = createProfile("memprofile", memPath); err != nil {
		if cpu != nil {
			cpu.Close()
		}
		return err
	}
	if cpu != nil {
		if err := pprof.StartCPUProfile(cpu); err != nil {
			cpu.Close()
			return usagef("--cpuprofile: %v", err)
		}
	}
	return nil
}

// createProfile creates the file of a profile flag; "" creates none.
func createProfile(flag, path string) (*os.File, error) {
	if path == "" {
		return nil, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, usagef("--%s: %v", flag, err)
	}
	return f, nil
}

// writeMemProfile writes the heap profile, if asked for. Its alloc_space
// sample counts every byte allocated since the start, which on a machine
// where fresh memory is costly to touch points at the allocations worth
// removing.
func (g *globals) writeMemProfile() error {
	if g.memProfile == nil {
		return nil
	}
	f := g.memProfile
	g.memProfile = nil
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		f.Close()
		return fmt.Errorf("--memprofile: %w", err)
	}
	return f.Close()
}

func openRunner(g *globals) (*runner.Runner, error) {
	ws, err := store.Open(g.workspace)
	if err != nil {
		return nil, err
	}
	return &runner.Runner{WS: ws, Log: g.log, Progress: g.progress(), Wait: g.wait}, nil
}

// progress is how stage runs report progress: "progress" events with
// --json, a bar on a terminal (for stages that run longer than
// progress.BarDelay), and nothing otherwise or with --quiet.
func (g *globals) progress() progress.Reporter {
	switch {
	case g.json:
		return progress.JSON(g.log, nil)
	case g.tty && !g.quiet:
		return progress.Bar(g.stderr, nil)
	}
	return nil
}

// out prints to stdout unless --quiet.
func (g *globals) out(format string, a ...any) {
	if !g.quiet {
		fmt.Fprintf(g.stdout, format, a...)
	}
}
