package normalize

import (
	"math"
	"runtime/debug"
	"testing"
)

// TestLimitMemory checks the heap limit and the collector's pace the stage
// sets, and that it restores both; that a limit (GOMEMLIMIT) or a GOGC the
// user sets is left alone; and that a limit the process had from its
// memory cgroup (sysmem.LimitHeap) caps the stage's.
func TestLimitMemory(t *testing.T) {
	gcNow := func() int { p := debug.SetGCPercent(100); debug.SetGCPercent(p); return p }
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(math.MaxInt64))
	const cgroupLimit = 400 << 20
	cases := []struct {
		name         string
		processLimit int64  // 0: none
		gomemlimit   string // the GOMEMLIMIT environment variable
		gogc         string // the GOGC environment variable
		wantLimit    int64
		wantGC       int
		grownTo      int64 // the limit after grown(1 GiB of ids); 0: no grown
	}{
		{"the stage's own", 0, "", "", memoryLimit(0), gcPercent, memoryLimit(1 << 30)},
		{"GOGC set", 0, "", "100", memoryLimit(0), 100, memoryLimit(1 << 30)},
		{"GOMEMLIMIT set", 1 << 30, "1GiB", "", 1 << 30, 100, 0},
		{"a cgroup's limit", cgroupLimit, "", "", memoryLimit(0), gcPercent, cgroupLimit},
		{"a cgroup's limit below the stage's", 100 << 20, "", "", 100 << 20, gcPercent, 100 << 20},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv("GOGC", c.gogc)
			t.Setenv("GOMEMLIMIT", c.gomemlimit)
			debug.SetGCPercent(100)
			debug.SetMemoryLimit(math.MaxInt64)
			if c.processLimit > 0 {
				debug.SetMemoryLimit(c.processLimit)
			}
			before := debug.SetMemoryLimit(-1)
			restore, grown := limitMemory()
			if got := debug.SetMemoryLimit(-1); got != c.wantLimit {
				t.Errorf("limit %d, want %d", got, c.wantLimit)
			}
			if got := gcNow(); got != c.wantGC {
				t.Errorf("GC percent %d, want %d", got, c.wantGC)
			}
			if (grown == nil) != (c.grownTo == 0) {
				t.Errorf("grown set: %v", grown != nil)
			} else if grown != nil {
				grown(1 << 30)
				if got := debug.SetMemoryLimit(-1); got != c.grownTo {
					t.Errorf("limit after grown(1 GiB): %d, want %d", got, c.grownTo)
				}
			}
			restore()
			if got := debug.SetMemoryLimit(-1); got != before {
				t.Errorf("restored limit %d, want %d", got, before)
			}
			if got := gcNow(); got != 100 {
				t.Errorf("restored GC percent %d, want 100", got)
			}
		})
	}
}
