// Package errkind gives every error a kind, and every kind one exit code.
// Packages declare their sentinel errors with New, so that the CLI maps any
// error to an exit code by its kind alone (Of), with no list of sentinels
// and no matching on error strings. Operating-system errors are classified
// by their errno: a full disk is DiskFull wherever it happens.
package errkind

import (
	"context"
	"errors"
	"syscall"
)

// Kind classifies an error by what the user can do about it.
type Kind int

// The kinds, with the exit code each maps to (docs/reproducibility.md has
// the table; keep them stable).
const (
	// Failure is an unexpected failure: a bug, or an I/O error no other kind covers.
	Failure Kind = iota
	// Usage is a command-line or parameter error, or an upstream stage not run.
	Usage
	// BadInput is input data that cannot be used: unknown layout, corrupt or
	// unsafe archive, missing or changed source files, a failed download.
	BadInput
	// Mismatch is a verification mismatch, or a stage stale or damaged.
	Mismatch
	// Workspace is a workspace that cannot be used: not writable, an
	// unknown lock or manifest version, a damaged lock.
	Workspace
	// DiskFull is a write that failed for lack of space (ENOSPC, EDQUOT).
	DiskFull
	// Busy is a workspace (or a part of it) locked by another process: a
	// scheduler may retry later.
	Busy
	// Interrupted is a run stopped by a signal (Ctrl-C, SIGTERM).
	Interrupted
)

var names = map[Kind]string{
	Failure: "failure", Usage: "usage", BadInput: "bad input", Mismatch: "mismatch",
	Workspace: "workspace", DiskFull: "disk full", Busy: "busy", Interrupted: "interrupted",
}

func (k Kind) String() string { return names[k] }

// ExitCode is the process exit code of an error of this kind.
func (k Kind) ExitCode() int {
	switch k {
	case Usage:
		return 2
	case BadInput:
		return 3
	case Mismatch:
		return 4
	case Workspace, DiskFull:
		return 5
	case Busy:
		return 75 // EX_TEMPFAIL: try again later
	case Interrupted:
		return 130
	}
	return 1
}

// kinded is an error that knows its kind.
type kinded struct {
	kind Kind
	msg  string
}

func (e *kinded) Error() string { return e.msg }
func (e *kinded) Kind() Kind    { return e.kind }

// New returns a sentinel error of the given kind; compare with errors.Is.
func New(kind Kind, msg string) error { return &kinded{kind: kind, msg: msg} }

// wrapped marks an existing error with a kind without changing its message.
type wrapped struct {
	kind Kind
	err  error
}

func (e *wrapped) Error() string { return e.err.Error() }
func (e *wrapped) Unwrap() error { return e.err }
func (e *wrapped) Kind() Kind    { return e.kind }

// Mark gives err a kind, keeping its message and chain; nil stays nil.
func Mark(kind Kind, err error) error {
	if err == nil {
		return nil
	}
	return &wrapped{kind: kind, err: err}
}

// Of returns the kind of err: DiskFull when ENOSPC or EDQUOT is anywhere in
// its chain (a full disk is what the user must act on, whatever else
// failed), else the first kind found in its chain (so an outer Mark wins
// over an inner sentinel), else Interrupted for a cancelled context, and
// Failure otherwise. Of(nil) is Failure; callers check nil first.
func Of(err error) Kind {
	if IsDiskFull(err) {
		return DiskFull
	}
	var k interface{ Kind() Kind }
	if errors.As(err, &k) {
		return k.Kind()
	}
	if errors.Is(err, context.Canceled) {
		return Interrupted
	}
	return Failure
}

// IsDiskFull reports whether err is a write refused for lack of space.
func IsDiskFull(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || isQuota(err)
}
