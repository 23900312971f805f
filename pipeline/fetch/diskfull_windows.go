//go:build windows

package fetch

import (
	"errors"

	"golang.org/x/sys/windows"
)

// isDiskFull reports whether err is a full disk or quota. Windows says so
// with its own error codes, not with the ENOSPC and EDQUOT that package
// syscall only imitates there.
func isDiskFull(err error) bool {
	return errors.Is(err, windows.ERROR_DISK_FULL) || errors.Is(err, windows.ERROR_HANDLE_DISK_FULL) ||
		errors.Is(err, windows.ERROR_DISK_QUOTA_EXCEEDED)
}
