package fetch

import (
	"log/slog"
	"sync"

	"github.com/takedown-research/takedown/internal/progress"
)

// Progress receives the byte counts of downloads. Calls for different files
// may come from different goroutines.
type Progress interface {
	// Start begins an attempt at a file: total bytes (-1 when unknown) and
	// the bytes already there from an earlier attempt.
	Start(file string, total, have int64)
	// Add reports n more bytes of the file.
	Add(file string, n int64)
	// Done ends the file, with the error that ended it or nil.
	Done(file string, err error)
}

type nopProgress struct{}

func (nopProgress) Start(string, int64, int64) {}
func (nopProgress) Add(string, int64)          {}
func (nopProgress) Done(string, error)         {}

// JSONProgress reports progress as log events (event "fetch_progress") at
// the start of every attempt, at every tenth of a file, and at its end.
func JSONProgress(log *slog.Logger) Progress {
	return &jsonProgress{log: log, files: map[string]*fileCount{}}
}

type fileCount struct {
	have, total int64
	step        int64 // tenths reported
}

type jsonProgress struct {
	mu    sync.Mutex
	log   *slog.Logger
	files map[string]*fileCount
}

func (p *jsonProgress) Start(file string, total, have int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := &fileCount{have: have, total: total}
	if total > 0 {
		c.step = have * 10 / total
	}
	p.files[file] = c
	p.log.Info("download", "event", "fetch_progress", "file", file, "bytes", have, "total", total, "state", "start")
}

func (p *jsonProgress) Add(file string, n int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := p.files[file]
	if c == nil {
		return
	}
	c.have += n
	if c.total > 0 {
		if s := c.have * 10 / c.total; s > c.step && s < 10 {
			c.step = s
			p.log.Info("download", "event", "fetch_progress", "file", file, "bytes", c.have, "total", c.total, "state", "running")
		}
	}
}

func (p *jsonProgress) Done(file string, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var have, total int64
	if c := p.files[file]; c != nil {
		have, total = c.have, c.total
	}
	state := "done"
	if err != nil {
		state = "failed"
	}
	p.log.Info("download", "event", "fetch_progress", "file", file, "bytes", have, "total", total, "state", state)
}

// meterProgress passes download progress on and counts the bytes on a
// progress.Meter (the stage's bytes downloaded).
type meterProgress struct {
	Progress
	m progress.Meter
}

func (p meterProgress) Add(file string, n int64) {
	p.Progress.Add(file, n)
	p.m.Add(n)
}
