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
	// ErrLockDamaged means takedown.lock cannot be read as a lock file;
	// `takedown rebuild-lock` re-links the published runs from their manifests.
	ErrLockDamaged = errkind.New(errkind.Workspace, "takedown.lock damaged")
	// ErrBusy means another takedown process holds the workspace lock.
	ErrBusy = errkind.New(errkind.Busy, "workspace busy")
	// ErrDamaged means a published run does not match its manifest, or its
	// manifest does not describe it (another run id, unreadable, edited).
	ErrDamaged = errkind.New(errkind.Mismatch, "run damaged")
	// ErrScheme means a workspace URL has a scheme takedown does not know.
	ErrScheme = errkind.New(errkind.Usage, "unknown workspace URL scheme")
	// ErrUnsafeGC means gc would remove every run of the workspace or of a
	// dataset, or there is no takedown.lock to say what is current: it
	// refuses unless told --all.
	ErrUnsafeGC = errkind.New(errkind.Usage, "gc refused")
)
