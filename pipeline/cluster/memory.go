package cluster

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"

	"github.com/KimMachineGun/automemlimit/memlimit"
)

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

// machine is the memory a run may take: the machine's, and the limit of
// the process's memory cgroup when it has one (a Slurm task's --mem under
// the cgroup task plugin, a Kubernetes container's limits.memory, docker
// run --memory), which the kernel enforces by killing the process.
type machine struct {
	total int64 // the machine's memory, 0 when unknown
	limit int64 // the cgroup's limit, 0 when there is none
}

// LimitHeadroom is what a run takes beyond its budget, kept free below a
// cgroup's limit: the program and the Go runtime, caches the plan does not
// count, and a live heap above the soft limit. Peak RSS was 44-76 MiB above
// --memory on 10M posts and 150-165 MiB above 400 MiB on 43M.
const LimitHeadroom = 256 << 20

// thisMachine reads the memory of the machine (memlimit.FromSystem) and of
// the process's cgroup, v1 or v2 (memlimit.FromCgroup), once.
var thisMachine = sync.OnceValue(func() machine {
	var m machine
	if b, err := memlimit.FromSystem(); err == nil {
		m.total = int64(min(b, math.MaxInt64))
	}
	if b, err := memlimit.FromCgroup(); err == nil && b > 0 {
		m.limit = int64(min(b, math.MaxInt64))
	}
	return m
})

// half is half the memory, at least 1 GiB (1 GiB when unknown); under a
// cgroup's limit at most that limit less LimitHeadroom (or half of it, for
// a limit under 512 MiB).
func (m machine) half() int64 {
	total := m.total
	if m.limit > 0 && (total == 0 || m.limit < total) {
		total = m.limit
	}
	h := max(total/2, 1<<30)
	if m.limit > 0 {
		h = min(h, max(m.limit-LimitHeadroom, m.limit/2))
	}
	return h
}

// String says where the default budget comes from, for the messages that
// name it.
func (m machine) String() string {
	switch {
	case m.limit > 0:
		return fmt.Sprintf("the process's memory cgroup limits it to %s", FormatBytes(m.limit))
	case m.total > 0:
		return fmt.Sprintf("the machine has %s", FormatBytes(m.total))
	}
	return "the machine's memory is not known"
}
