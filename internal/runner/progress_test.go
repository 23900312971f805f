package runner

import (
	"fmt"
	"strings"
	"sync"

	"github.com/takedown-research/takedown/internal/progress"
)

// recorder is a progress.Reporter that keeps every phase of every stage
// run: "stage/phase unit" -> done and total.
type recorder struct {
	mu     sync.Mutex
	phases map[string]*phaseCount
	order  []string
}

type phaseCount struct{ done, total int64 }

func newRecorder() *recorder { return &recorder{phases: map[string]*phaseCount{}} }

func (r *recorder) Stage(dataset, stage, runID string) progress.Tracker {
	return &recTracker{r: r, stage: stage}
}

func (r *recorder) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var b strings.Builder
	for _, k := range r.order {
		fmt.Fprintf(&b, "%s: %d of %d\n", k, r.phases[k].done, r.phases[k].total)
	}
	return b.String()
}

type recTracker struct {
	r     *recorder
	stage string
	cur   *phaseCount
}

func (t *recTracker) Phase(name string, unit progress.Unit, total int64) {
	t.r.mu.Lock()
	defer t.r.mu.Unlock()
	key := t.stage + "/" + name + " " + string(unit)
	t.cur = &phaseCount{total: total}
	t.r.phases[key] = t.cur
	t.r.order = append(t.r.order, key)
}

func (t *recTracker) Add(n int64) {
	t.r.mu.Lock()
	defer t.r.mu.Unlock()
	if t.cur != nil {
		t.cur.done += n
	}
}

func (t *recTracker) End() {}
