//go:build !unix

package errkind

func isQuota(error) bool { return false }
