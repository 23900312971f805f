// Package progress is how a stage says how far it has come, and how the
// command line shows it. A stage counts units (rows, bytes, items, pairs)
// through a Meter that the runner passes in with the stage's input; it
// never knows whether the counts become a bar on a terminal, "progress"
// events for a scheduler, or nothing. The reporters (Bar, JSON) turn a
// stage's counts into output, each throttled by an injectable Clock.
//
// Counting never changes what a stage computes: output bytes and run ids
// are the same with any reporter or none.
package progress

import (
	"io"
	"sync"
	"time"
)

// Unit names what a phase counts.
type Unit string

// The units the stages count.
const (
	Rows  Unit = "rows"
	Bytes Unit = "bytes"
	Items Unit = "items"
	Pairs Unit = "pairs"
	Hits  Unit = "hits"
)

// Meter receives a stage's counts. Its methods may be called from several
// goroutines. The zero phase is unnamed and counts nothing until Phase is
// called.
type Meter interface {
	// Phase begins a phase of the stage, ending the previous one: its name
	// (e.g. "load", "sweep"), what it counts and how many of them there
	// will be (negative when unknown: then no ETA is given).
	Phase(name string, unit Unit, total int64)
	// Add counts n more units of the current phase.
	Add(n int64)
}

// Or returns m, or a Meter that discards everything when m is nil, so a
// stage can call its Meter without checking.
func Or(m Meter) Meter {
	if m == nil {
		return nop{}
	}
	return m
}

type nop struct{}

func (nop) Phase(string, Unit, int64) {}
func (nop) Add(int64)                 {}

// Reader counts the bytes read through r on m.
func Reader(r io.Reader, m Meter) io.Reader {
	if m == nil {
		return r
	}
	if _, ok := m.(nop); ok {
		return r
	}
	return &reader{r: r, m: m}
}

type reader struct {
	r io.Reader
	m Meter
}

func (r *reader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if n > 0 {
		r.m.Add(int64(n))
	}
	return n, err
}

// Clock tells the time; tests pass a fake one.
type Clock func() time.Time

func (c Clock) now() time.Time {
	if c == nil {
		return time.Now()
	}
	return c()
}

// Reporter makes the Meter of each stage run.
type Reporter interface {
	// Stage returns the Meter of one stage run; End is called once the
	// stage has ended.
	Stage(dataset, stage, runID string) Tracker
}

// Tracker is a stage run's Meter, ended by the runner.
type Tracker interface {
	Meter
	End()
}

// Snapshot is the state of a phase at one moment.
type Snapshot struct {
	Phase string
	Unit  Unit
	Done  int64
	// Total is negative when unknown.
	Total int64
	// Elapsed is the time since the phase began.
	Elapsed time.Duration
}

// Rate is units per second since the phase began (0 before any time passed).
func (s Snapshot) Rate() float64 {
	if s.Elapsed <= 0 {
		return 0
	}
	return float64(s.Done) / s.Elapsed.Seconds()
}

// ETA is the time left at the current rate, and false when it is unknown
// (no total, or no rate yet).
func (s Snapshot) ETA() (time.Duration, bool) {
	r := s.Rate()
	if s.Total < 0 || r <= 0 {
		return 0, false
	}
	left := s.Total - s.Done
	if left < 0 {
		left = 0
	}
	return time.Duration(float64(left) / r * float64(time.Second)), true
}

// counter is the shared state of a Tracker: the current phase and its
// count, guarded by mu; emit is called with mu held.
type counter struct {
	mu    sync.Mutex
	clock Clock
	snap  Snapshot
	begin time.Time
	// onPhase and onAdd are the reporter's hooks, called with mu held.
	onPhase func(now time.Time, s Snapshot)
	onAdd   func(now time.Time, s Snapshot)
	onEnd   func()
	ended   bool
}

func (c *counter) Phase(name string, unit Unit, total int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ended {
		return
	}
	now := c.clock.now()
	c.begin = now
	c.snap = Snapshot{Phase: name, Unit: unit, Total: total}
	if c.onPhase != nil {
		c.onPhase(now, c.snap)
	}
}

func (c *counter) Add(n int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ended || c.snap.Unit == "" {
		return
	}
	now := c.clock.now()
	c.snap.Done += n
	c.snap.Elapsed = now.Sub(c.begin)
	if c.onAdd != nil {
		c.onAdd(now, c.snap)
	}
}

func (c *counter) End() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ended {
		return
	}
	c.ended = true
	if c.onEnd != nil {
		c.onEnd()
	}
}
