package store

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
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
	unlock, err := ws.Exclusive(0)
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
	unlock, err := ws.Exclusive(0)
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
	u2, err := ws.Exclusive(0)
	if err != nil {
		t.Fatalf("after the child: %v", err)
	}
	u2()
}

// TestDatasetLocks: runs of different datasets hold the workspace at once,
// a second run of one dataset is busy (or waits), gc's exclusive lock waits
// for every run, and UpdateCurrent keeps each writer's entries.
func TestDatasetLocks(t *testing.T) {
	ws, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	a, err := ws.ExclusiveDataset("demo", 0)
	if err != nil {
		t.Fatal(err)
	}
	b, err := ws.ExclusiveDataset("local/other", 0)
	if err != nil {
		t.Fatalf("another dataset while demo runs: %v", err)
	}
	if _, err := ws.ExclusiveDataset("demo", 0); !errors.Is(err, ErrBusy) || !strings.Contains(err.Error(), "dataset demo") {
		t.Fatalf("demo twice: %v, want ErrBusy naming the dataset", err)
	}
	if _, err := ws.Exclusive(0); !errors.Is(err, ErrBusy) {
		t.Fatalf("gc while datasets run: %v, want ErrBusy", err)
	}
	start := time.Now()
	if _, err := ws.ExclusiveDataset("demo", 150*time.Millisecond); !errors.Is(err, ErrBusy) || !strings.Contains(err.Error(), "waited 150ms") {
		t.Fatalf("demo twice with a wait: %v", err)
	}
	if time.Since(start) < 150*time.Millisecond {
		t.Fatal("did not wait")
	}
	// A waiter gets the lock when the holder lets go.
	go func() { time.Sleep(100 * time.Millisecond); a() }()
	a2, err := ws.ExclusiveDataset("demo", 5*time.Second)
	if err != nil {
		t.Fatalf("waiting for demo: %v", err)
	}
	a2()
	b()
	unlock, err := ws.Exclusive(0)
	if err != nil {
		t.Fatalf("gc after the runs: %v", err)
	}
	unlock()

	// Concurrent read-modify-writes of takedown.lock lose nothing.
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ds := fmt.Sprintf("ds%d", i)
			if err := ws.UpdateCurrent(func(l *Lock) error {
				l.Datasets[ds] = map[string]LockEntry{"fetch": {RunID: "r" + ds}}
				return nil
			}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	l, err := ws.ReadCurrent()
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Datasets) != 8 {
		t.Fatalf("the lock holds %d datasets after 8 concurrent updates, want 8", len(l.Datasets))
	}
}
