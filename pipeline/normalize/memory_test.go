package normalize

import (
	"math"
	"runtime/debug"
	"testing"
)

// TestLimitMemory checks the heap limit and the collector's pace the stage
// sets, and that it restores both; that a limit or a GOGC the process sets
// is left alone.
func TestLimitMemory(t *testing.T) {
	gcNow := func() int { p := debug.SetGCPercent(100); debug.SetGCPercent(p); return p }
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(math.MaxInt64))
	cases := []struct {
		name      string
		userLimit int64  // 0: none
		gogc      string // the GOGC environment variable
		wantLimit int64
		wantGC    int
	}{
		{"the stage's own", 0, "", memoryLimit(0), gcPercent},
		{"GOGC set", 0, "100", memoryLimit(0), 100},
		{"GOMEMLIMIT set", 1 << 30, "", 1 << 30, 100},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv("GOGC", c.gogc)
			debug.SetGCPercent(100)
			debug.SetMemoryLimit(math.MaxInt64)
			if c.userLimit > 0 {
				debug.SetMemoryLimit(c.userLimit)
			}
			before := debug.SetMemoryLimit(-1)
			restore, grown := limitMemory()
			if got := debug.SetMemoryLimit(-1); got != c.wantLimit {
				t.Errorf("limit %d, want %d", got, c.wantLimit)
			}
			if got := gcNow(); got != c.wantGC {
				t.Errorf("GC percent %d, want %d", got, c.wantGC)
			}
			if (grown == nil) != (c.userLimit > 0) {
				t.Errorf("grown set: %v", grown != nil)
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
