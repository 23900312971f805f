//go:build windows

package store

import (
	"errors"
	"os"

	"golang.org/x/sys/windows"
)

// lockFile takes a non-blocking LockFileEx lock, exclusive or shared, on the first byte
// of f. The lock belongs to the handle, so a second open of the same file is
// refused even within one process, and Windows drops it when the handle is
// closed or the process dies. It reports busy when another holder has it;
// err is any other failure.
func lockFile(f *os.File, shared bool) (busy bool, err error) {
	var ol windows.Overlapped
	flags := uint32(windows.LOCKFILE_FAIL_IMMEDIATELY)
	if !shared {
		flags |= windows.LOCKFILE_EXCLUSIVE_LOCK
	}
	err = windows.LockFileEx(windows.Handle(f.Fd()), flags, 0, 1, 0, &ol)
	if errors.Is(err, windows.ERROR_LOCK_VIOLATION) {
		return true, err
	}
	return false, err
}

// unlockFile releases the lock of lockFile.
func unlockFile(f *os.File) error {
	var ol windows.Overlapped
	return windows.UnlockFileEx(windows.Handle(f.Fd()), 0, 1, 0, &ol)
}
