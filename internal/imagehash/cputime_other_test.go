//go:build !unix

package imagehash

import "time"

// cpuTime is not measured on this platform.
func cpuTime() time.Duration { return 0 }
