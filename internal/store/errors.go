package store

import "errors"

// Sentinel errors of the store. The CLI maps them to exit codes.
var (
	// ErrWorkspace means the workspace cannot be created or written.
	ErrWorkspace = errors.New("workspace not usable")
	// ErrManifestVersion means a manifest was written by an unknown format version.
	ErrManifestVersion = errors.New("unknown manifest version")
	// ErrLockVersion means takedown.lock was written by an unknown format version.
	ErrLockVersion = errors.New("unknown lock file version")
	// ErrBusy means another takedown process holds the workspace lock.
	ErrBusy = errors.New("workspace busy")
)
