package fetch

import (
	"fmt"
	"io"
	"log/slog"
	"sync"

	"github.com/schollz/progressbar/v3"
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

// BarProgress draws a progress bar on a terminal w: bytes of all files
// (the sum of the sizes the servers announced so far), described by the
// file being downloaded, its number and its own percentage.
func BarProgress(w io.Writer) Progress {
	return &barProgress{w: w, sizes: map[string]int64{}, have: map[string]int64{}}
}

// SetFiles tells the bar how many files there are.
func (p *barProgress) SetFiles(n int) {
	p.mu.Lock()
	p.files = n
	p.mu.Unlock()
}

type barProgress struct {
	mu    sync.Mutex
	w     io.Writer
	files int
	done  int
	sizes map[string]int64
	have  map[string]int64
	bar   *progressbar.ProgressBar
}

func (p *barProgress) Start(file string, total, have int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.sizes[file], p.have[file] = total, have
	var sum, got int64
	for f, s := range p.sizes {
		if s > 0 {
			sum += s
		}
		got += p.have[f]
	}
	if p.bar != nil {
		p.bar.Finish()
		fmt.Fprintln(p.w)
	}
	p.bar = progressbar.NewOptions64(sum,
		progressbar.OptionSetWriter(p.w),
		progressbar.OptionShowBytes(true),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(200_000_000),
		progressbar.OptionSetDescription(p.desc(file)),
		progressbar.OptionClearOnFinish())
	p.bar.Set64(got)
}

func (p *barProgress) desc(file string) string {
	s := fmt.Sprintf("[%d/%d] %s", p.done+1, p.files, file)
	if t := p.sizes[file]; t > 0 {
		s += fmt.Sprintf(" %d%%", p.have[file]*100/t)
	}
	return s
}

func (p *barProgress) Add(file string, n int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.have[file] += n
	if p.bar != nil {
		p.bar.Describe(p.desc(file))
		p.bar.Add64(n)
	}
}

func (p *barProgress) Done(file string, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done++
	if p.done == p.files && p.bar != nil {
		p.bar.Finish()
		fmt.Fprintln(p.w)
	}
}
