//go:build unix

package store

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// syncDir fsyncs a directory, so that a rename into it survives a crash.
// File systems that cannot fsync a directory say EINVAL (or ENOTSUP); that
// is no error here, since there is nothing more to do on them.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !dirSyncUnsupported(err) {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

func dirSyncUnsupported(err error) bool {
	return errors.Is(err, syscall.EINVAL) || errors.Is(err, syscall.ENOTSUP) || errors.Is(err, syscall.EOPNOTSUPP)
}
