package main

import (
	"bytes"
	"os"
	"strconv"
	"strings"
	"testing"
)

// anonHugeKiB reads AnonHugePages of this process from smaps_rollup.
func anonHugeKiB(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/smaps_rollup")
	if err != nil {
		t.Skipf("no smaps_rollup: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "AnonHugePages:" {
			n, err := strconv.Atoi(f[1])
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Skip("smaps_rollup has no AnonHugePages")
	return 0
}

// TestAdviseHugePages checks that heap memory touched after the advice is
// backed by huge pages, where the kernel gives them on request (THP
// "madvise" or "always"), and that TAKEDOWN_HUGEPAGES=0 turns it off
// without harm.
func TestAdviseHugePages(t *testing.T) {
	mode, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled")
	if err != nil || bytes.Contains(mode, []byte("[never]")) {
		t.Skipf("transparent huge pages unavailable here (%q, %v)", mode, err)
	}
	t.Setenv("TAKEDOWN_HUGEPAGES", "0")
	adviseHugePages()
	t.Setenv("TAKEDOWN_HUGEPAGES", "")
	before := anonHugeKiB(t)
	adviseHugePages()
	b := make([]byte, 64<<20)
	for i := 0; i < len(b); i += 4096 {
		b[i] = 1
	}
	after := anonHugeKiB(t)
	t.Logf("AnonHugePages %d KiB before, %d KiB after touching 64 MiB (THP %s)", before, after, bytes.TrimSpace(mode))
	if after-before < 16<<10 {
		t.Errorf("AnonHugePages grew by %d KiB after touching 64 MiB, want at least 16 MiB of huge pages", after-before)
	}
	if b[len(b)-4096] != 1 {
		t.Fatal("unreachable")
	}
}
