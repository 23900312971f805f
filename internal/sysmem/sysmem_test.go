package sysmem

import (
	"math"
	"runtime/debug"
	"testing"
)

// TestMemory: the memory a process may take is the machine's or its
// cgroup's limit, whichever is lower and known, and the cap under a limit
// leaves Headroom (half the limit under 512 MiB).
func TestMemory(t *testing.T) {
	const M, G = int64(1 << 20), int64(1 << 30)
	for _, tc := range []struct {
		name        string
		m           Memory
		usable, cap int64
	}{
		{"machine only", Memory{Total: 24 * G}, 24 * G, 0},
		{"unknown", Memory{}, 0, 0},
		{"1 GiB cgroup", Memory{Total: 24 * G, Limit: G}, G, 768 * M},
		{"300 MiB cgroup", Memory{Total: 24 * G, Limit: 300 * M}, 300 * M, 150 * M},
		{"512 MiB cgroup", Memory{Total: 24 * G, Limit: 512 * M}, 512 * M, 256 * M},
		{"cgroup, machine unknown", Memory{Limit: 2 * G}, 2 * G, 2*G - Headroom},
		{"cgroup above the machine", Memory{Total: G, Limit: 8 * G}, G, 8*G - Headroom},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.m.Usable(); got != tc.usable {
				t.Errorf("Usable() = %s, want %s", FormatBytes(got), FormatBytes(tc.usable))
			}
			if got := tc.m.Cap(); got != tc.cap {
				t.Errorf("Cap() = %s, want %s", FormatBytes(got), FormatBytes(tc.cap))
			}
		})
	}
}

// TestLimitHeap: the runtime's soft limit becomes the cap under a cgroup
// limit, never rises above a lower one already set, and is left alone
// without a limit or when the user set GOMEMLIMIT.
func TestLimitHeap(t *testing.T) {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(math.MaxInt64))
	const G = int64(1 << 30)
	for _, tc := range []struct {
		name       string
		m          Memory
		env        string
		before     int64
		set, after int64
	}{
		{"no cgroup limit", Memory{Total: 24 * G}, "", math.MaxInt64, 0, math.MaxInt64},
		{"cgroup limit", Memory{Total: 24 * G, Limit: 2 * G}, "", math.MaxInt64, 2*G - Headroom, 2*G - Headroom},
		{"a lower limit stays", Memory{Total: 24 * G, Limit: 2 * G}, "", G, 2*G - Headroom, G},
		{"GOMEMLIMIT set", Memory{Total: 24 * G, Limit: 2 * G}, "4GiB", 4 * G, 0, 4 * G},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("GOMEMLIMIT", tc.env)
			debug.SetMemoryLimit(tc.before)
			if got := LimitHeap(tc.m); got != tc.set {
				t.Errorf("LimitHeap() = %s, want %s", FormatBytes(got), FormatBytes(tc.set))
			}
			if got := debug.SetMemoryLimit(-1); got != tc.after {
				t.Errorf("runtime limit %s, want %s", FormatBytes(got), FormatBytes(tc.after))
			}
		})
	}
}

func TestParseBytes(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"1GiB", 1 << 30, true}, {"512M", 512 << 20, true}, {"1.5G", 3 << 29, true}, {"2g", 2 << 30, true},
		{"100", 100, true}, {"64 MiB", 64 << 20, true}, {"10KB", 10 << 10, true}, {"0", 0, true},
		{"", 0, false}, {"-1G", 0, false}, {"lots", 0, false}, {"1X", 0, false}, {"NaN", 0, false},
	}
	for _, tc := range tests {
		got, err := ParseBytes(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseBytes(%q) = %d, %v; want %d (ok %v)", tc.in, got, err, tc.want, tc.ok)
		}
	}
	for b, want := range map[int64]string{100: "100 B", 1 << 30: "1.0 GiB", 3 << 29: "1.5 GiB", 64 << 20: "64.0 MiB"} {
		if got := FormatBytes(b); got != want {
			t.Errorf("FormatBytes(%d) = %q, want %q", b, got, want)
		}
	}
}
