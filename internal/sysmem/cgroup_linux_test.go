//go:build linux

package sysmem

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
)

// TestReadInCgroup runs this test binary again in a new memory cgroup
// limited to 1 GiB, as a Slurm task with --mem=1G or a container with a
// 1Gi limit would run, and checks that Read finds the limit in the real
// cgroup files and that LimitHeap sets the Go runtime's soft limit to the
// limit less Headroom. (Before the limit was read, the cluster stage in
// such a cgroup on a 24 GiB machine planned with 1.5 GiB, and the kernel
// killed a 10M-post run.)
func TestReadInCgroup(t *testing.T) {
	if os.Getenv("TAKEDOWN_CGROUP_CHILD") == "1" {
		m := Read()
		fmt.Printf("limit=%d heap=%d runtime=%d\n", m.Limit, LimitHeap(m), debug.SetMemoryLimit(-1))
		return
	}
	const limit = 1 << 30
	dir := memoryCgroup(t, limit)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// The shell joins the cgroup, then becomes the test binary, so that
	// the binary runs in it from its first instruction; it exits 97 when
	// it may not join (a cgroup v2 hierarchy not delegated to us).
	cmd := exec.Command("sh", "-c", `echo $$ > "$0/cgroup.procs" || exit 97; exec "$@"`, dir, exe, "-test.run=^TestReadInCgroup$")
	cmd.Env = append(os.Environ(), "TAKEDOWN_CGROUP_CHILD=1", "GOMEMLIMIT=")
	out, err := cmd.CombinedOutput()
	if cmd.ProcessState != nil && cmd.ProcessState.ExitCode() == 97 {
		t.Skipf("a process may not join the cgroup %s made here: %s", dir, out)
	}
	if err != nil {
		t.Fatalf("the test binary in cgroup %s: %v\n%s", dir, err, out)
	}
	m := regexp.MustCompile(`limit=(\d+) heap=(\d+) runtime=(\d+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("the test binary in cgroup %s printed no limit:\n%s", dir, out)
	}
	var got [3]int64
	for i := range got {
		got[i], _ = strconv.ParseInt(string(m[i+1]), 10, 64)
	}
	want := int64(limit - Headroom)
	if got[0] != limit {
		t.Errorf("limit read in the cgroup: %s, want %s", FormatBytes(got[0]), FormatBytes(limit))
	}
	if got[1] != want || got[2] != want {
		t.Errorf("LimitHeap in a %s cgroup: set %s, runtime limit %s; want %s", FormatBytes(limit), FormatBytes(got[1]), FormatBytes(got[2]), FormatBytes(want))
	}
}

// memoryCgroup makes a memory cgroup limited to limit bytes, removed when
// the test ends, in the cgroup v2 hierarchy when it has the memory
// controller, else in the v1 memory hierarchy; it skips the test where
// neither can be written (not root, a read-only /sys/fs/cgroup).
func memoryCgroup(t *testing.T, limit int64) string {
	t.Helper()
	var tried []string
	for _, h := range []struct{ root, file string }{
		{"/sys/fs/cgroup", "memory.max"},
		{"/sys/fs/cgroup/memory", "memory.limit_in_bytes"},
	} {
		if h.file == "memory.max" {
			ctl, err := os.ReadFile(filepath.Join(h.root, "cgroup.controllers"))
			if err != nil || !strings.Contains(" "+string(ctl)+" ", " memory") {
				tried = append(tried, h.root+": no cgroup v2 memory controller")
				continue
			}
		}
		dir := filepath.Join(h.root, fmt.Sprintf("takedown-test-%d", os.Getpid()))
		if err := os.Mkdir(dir, 0o755); err != nil {
			tried = append(tried, err.Error())
			continue
		}
		t.Cleanup(func() { os.Remove(dir) })
		if err := os.WriteFile(filepath.Join(dir, h.file), []byte(strconv.FormatInt(limit, 10)), 0o644); err != nil {
			tried = append(tried, err.Error())
			continue
		}
		return dir
	}
	t.Skipf("no memory cgroup can be made here (%s); the limit is read by memlimit.FromCgroup, which its own tests cover; TestMemory checks what is made of it", strings.Join(tried, "; "))
	return ""
}
