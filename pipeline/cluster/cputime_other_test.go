//go:build !unix

package cluster

// cpuSeconds is 0 where getrusage is missing.
func cpuSeconds() float64 { return 0 }
