// Package sysmem says how much memory this process may take: the
// machine's, and the limit of its memory cgroup when it has one (a Slurm
// task's --mem under the cgroup task plugin, a Kubernetes container's
// limits.memory, docker run --memory), which the kernel enforces by
// killing the process. The cluster stage's default budget comes from it,
// and cmd/takedown sets the Go runtime's soft memory limit from it
// (LimitHeap), so that every stage in such a task collects its garbage
// harder near the limit instead of being killed.
package sysmem

import (
	"fmt"
	"math"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"

	"github.com/KimMachineGun/automemlimit/memlimit"
)

// Memory is the memory of the machine and of the process's cgroup.
type Memory struct {
	Total int64 // the machine's memory, 0 when unknown
	Limit int64 // the memory cgroup's limit, 0 when there is none
}

// Headroom is what a process takes beyond the heap its plan counts, kept
// free below a cgroup's limit: the program and the Go runtime, caches a
// plan does not count, and a live heap above the soft limit. The cluster
// stage peaked 44-76 MiB above its --memory on 10M posts and 150-165 MiB
// above 400 MiB on 43M.
const Headroom = 256 << 20

// Read reads the memory of the machine (memlimit.FromSystem) and of the
// process's cgroup, v1 or v2 (memlimit.FromCgroup), once.
var Read = sync.OnceValue(func() Memory {
	var m Memory
	if b, err := memlimit.FromSystem(); err == nil {
		m.Total = int64(min(b, math.MaxInt64))
	}
	if b, err := memlimit.FromCgroup(); err == nil && b > 0 {
		m.Limit = int64(min(b, math.MaxInt64))
	}
	return m
})

// Usable is the memory the process may take: the machine's, or the
// cgroup's limit when that is lower or the machine's is unknown; 0 when
// neither is known.
func (m Memory) Usable() int64 {
	if m.Limit > 0 && (m.Total == 0 || m.Limit < m.Total) {
		return m.Limit
	}
	return m.Total
}

// Cap is the most the process should plan to hold under its cgroup's
// limit: the limit less Headroom, or half the limit when that is more
// (limits under 512 MiB); 0 when there is no limit.
func (m Memory) Cap() int64 {
	if m.Limit <= 0 {
		return 0
	}
	return max(m.Limit-Headroom, m.Limit/2)
}

// String says what the memory is, for messages that name where a budget
// comes from.
func (m Memory) String() string {
	switch {
	case m.Limit > 0:
		return fmt.Sprintf("the process's memory cgroup limits it to %s", FormatBytes(m.Limit))
	case m.Total > 0:
		return fmt.Sprintf("the machine has %s", FormatBytes(m.Total))
	}
	return "the machine's memory is not known"
}

// UserLimit reports whether the user set the Go runtime's memory limit
// (GOMEMLIMIT), which stages then leave as it is.
func UserLimit() bool { return os.Getenv("GOMEMLIMIT") != "" }

// LimitHeap lowers the Go runtime's soft memory limit to m.Cap() when the
// process has a cgroup limit and the user set no GOMEMLIMIT (a lower limit
// already set stays), and returns that cap (0 when it applied none).
// Stages with tighter limits of their own set them below it.
func LimitHeap(m Memory) int64 {
	c := m.Cap()
	if c <= 0 || UserLimit() {
		return 0
	}
	debug.SetMemoryLimit(min(c, debug.SetMemoryLimit(-1)))
	return c
}

// ParseBytes parses a --memory value: a whole or decimal number with an
// optional unit, K, M, G or T (powers of 1024, with or without a trailing
// "iB" or "B"), e.g. "1GiB", "512M", "1.5G"; a plain number is bytes.
func ParseBytes(s string) (int64, error) {
	t := strings.TrimSpace(s)
	u := strings.ToUpper(t)
	mult := 1.0
	for _, suf := range []struct {
		s string
		m float64
	}{{"KIB", 1 << 10}, {"MIB", 1 << 20}, {"GIB", 1 << 30}, {"TIB", 1 << 40},
		{"KB", 1 << 10}, {"MB", 1 << 20}, {"GB", 1 << 30}, {"TB", 1 << 40},
		{"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"T", 1 << 40}, {"B", 1}} {
		if strings.HasSuffix(u, suf.s) {
			u, mult = strings.TrimSpace(u[:len(u)-len(suf.s)]), suf.m
			break
		}
	}
	f, err := strconv.ParseFloat(u, 64)
	if err != nil || math.IsNaN(f) || f < 0 || f*mult >= math.MaxInt64 {
		return 0, fmt.Errorf("--memory must be a size such as 1GiB, 512M or 2G, got %q", s)
	}
	return int64(f * mult), nil
}

// FormatBytes formats a size in the largest binary unit that keeps it at
// least 1, with one decimal: "1.5 GiB", "512.0 MiB", "100 B".
func FormatBytes(b int64) string {
	const unit = 1024
	if b < unit {
		return fmt.Sprintf("%d B", b)
	}
	div, exp := int64(unit), 0
	for n := b / unit; n >= unit && exp < 3; n /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(b)/float64(div), "KMGT"[exp])
}
