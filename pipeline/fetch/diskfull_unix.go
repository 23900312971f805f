//go:build unix

package fetch

import (
	"errors"
	"syscall"
)

// isDiskFull reports whether err is a full disk or quota.
func isDiskFull(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
}
