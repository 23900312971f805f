package store

import (
	"errors"
	"os"
	"os/exec"
	"testing"
)

// mutexChildEnv names the workspace a child test process tries to lock.
const mutexChildEnv = "TAKEDOWN_TEST_MUTEX_CHILD"

// TestMutexChild is the child of TestMutexAcrossProcesses: it tries the
// workspace's Mutex once and says by its exit code what it got (0 taken,
// 3 busy, 4 any other error). Run directly, it skips.
func TestMutexChild(t *testing.T) {
	root := os.Getenv(mutexChildEnv)
	if root == "" {
		t.Skip("child of TestMutexAcrossProcesses")
	}
	ws, err := Open(root)
	if err != nil {
		os.Exit(4)
	}
	unlock, err := ws.Exclusive()
	switch {
	case errors.Is(err, ErrBusy):
		os.Exit(3)
	case err != nil:
		os.Exit(4)
	}
	unlock()
	os.Exit(0)
}

// TestMutexAcrossProcesses checks that another process is refused the
// workspace with ErrBusy while this one holds it, and gets it once released.
func TestMutexAcrossProcesses(t *testing.T) {
	root := t.TempDir()
	ws, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	child := func() int {
		t.Helper()
		cmd := exec.Command(os.Args[0], "-test.run=^TestMutexChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), mutexChildEnv+"="+root)
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		switch {
		case err == nil:
			return 0
		case errors.As(err, &ee):
			return ee.ExitCode()
		}
		t.Fatalf("child: %v\n%s", err, out)
		return -1
	}
	unlock, err := ws.Exclusive()
	if err != nil {
		t.Fatal(err)
	}
	if code := child(); code != 3 {
		t.Fatalf("child while held: exit %d, want 3 (ErrBusy)", code)
	}
	unlock()
	if code := child(); code != 0 {
		t.Fatalf("child after release: exit %d, want 0 (lock taken)", code)
	}
	// The child released it too: this process takes it again.
	u2, err := ws.Exclusive()
	if err != nil {
		t.Fatalf("after the child: %v", err)
	}
	u2()
}
