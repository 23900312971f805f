//go:build !unix

package fingerprint

// cpuSeconds is 0 where getrusage is missing.
func cpuSeconds() float64 { return 0 }
