//go:build unix && !aix

package store

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// lockFile takes a non-blocking flock(2) on f, exclusive or shared. flock belongs to the
// open file description, so a second open of the same file is refused even
// within one process, and the kernel drops the lock when the process dies.
// It reports busy when another holder has it; err is any other failure
// (e.g. a file system without locks).
func lockFile(f *os.File, shared bool) (busy bool, err error) {
	how := unix.LOCK_EX
	if shared {
		how = unix.LOCK_SH
	}
	err = unix.Flock(int(f.Fd()), how|unix.LOCK_NB)
	if errors.Is(err, unix.EWOULDBLOCK) {
		return true, err
	}
	return false, err
}

// unlockFile releases the lock of lockFile.
func unlockFile(f *os.File) error {
	return unix.Flock(int(f.Fd()), unix.LOCK_UN)
}
