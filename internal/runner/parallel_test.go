package runner

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/takedown-research/takedown/internal/store"
)

// TestDatasetsRunInParallel runs two datasets at once in one workspace
// (two runners, as two processes would be): both finish, takedown.lock
// holds every stage of both, and both are current. A second run of a
// dataset that is running is busy, or waits with Runner.Wait.
func TestDatasetsRunInParallel(t *testing.T) {
	r := newRunner(t)
	other := addGoldenSynth(t, r)
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, ds := range []string{"demo", other} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ri := &Runner{WS: store.At(r.WS.Root), Log: quietLog()}
			_, errs[i] = ri.Run(context.Background(), Options{Dataset: ds, Params: DefaultParams()})
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	l, err := r.WS.ReadCurrent()
	if err != nil {
		t.Fatal(err)
	}
	for _, ds := range []string{"demo", other} {
		if n := len(l.Datasets[ds]); n != len(Stages) {
			t.Errorf("takedown.lock holds %d stages of %s, want %d", n, ds, len(Stages))
		}
		st, err := r.Status(ds)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range st {
			if s.State != StateCurrent {
				t.Errorf("%s %s: %s %v", ds, s.Stage, s.State, s.Reasons)
			}
		}
	}

	// demo is held: a run of it is busy at once, and waits with Wait.
	unlock, err := r.WS.ExclusiveDataset("demo", 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Run(context.Background(), Options{Dataset: "demo", Params: DefaultParams()}); !errors.Is(err, store.ErrBusy) {
		t.Fatalf("run of a held dataset: %v, want ErrBusy", err)
	}
	go func() { time.Sleep(200 * time.Millisecond); unlock() }()
	waiting := &Runner{WS: r.WS, Log: quietLog(), Wait: 10 * time.Second}
	res, err := waiting.Run(context.Background(), Options{Dataset: "demo", Params: DefaultParams()})
	if err != nil {
		t.Fatalf("run with a wait: %v", err)
	}
	for _, x := range res {
		if !x.Cached {
			t.Errorf("%s ran again after the wait", x.Stage)
		}
	}
}
