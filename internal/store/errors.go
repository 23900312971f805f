package store

import "github.com/takedown-research/takedown/internal/errkind"

// Sentinel errors of the store. The CLI maps them to exit codes.
var (
	// ErrWorkspace means the workspace cannot be created or written.
	ErrWorkspace = errkind.New(errkind.Workspace, "workspace not usable")
	// ErrManifestVersion means a manifest was written by an unknown format version.
	ErrManifestVersion = errkind.New(errkind.Workspace, "unknown manifest version")
	// ErrLockVersion means takedown.lock was written by an unknown format version.
	ErrLockVersion = errkind.New(errkind.Workspace, "unknown lock file version")
	// ErrBusy means another takedown process holds the workspace lock.
	ErrBusy = errkind.New(errkind.Busy, "workspace busy")
)
