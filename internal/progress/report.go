package progress

import (
	"fmt"
	"io"
	"log/slog"
	"math"
	"time"

	"github.com/schollz/progressbar/v3"
)

// Interval is the least time between two "progress" events of one stage
// run.
const Interval = time.Second

// BarDelay is how long a phase runs before its bar appears: stages that
// are done sooner print nothing.
const BarDelay = 2 * time.Second

// JSON reports progress as "progress" events on log, at most one per
// Interval per stage run (the first count of a run is reported at once,
// so that a scheduler learns the total). The events carry dataset, stage,
// run_id, phase, unit, done, total (null when unknown), rate (units per
// second) and eta_s (null when unknown).
func JSON(log *slog.Logger, clock Clock) Reporter {
	return &jsonReporter{log: log, clock: clock}
}

type jsonReporter struct {
	log   *slog.Logger
	clock Clock
}

func (r *jsonReporter) Stage(dataset, stage, runID string) Tracker {
	var last time.Time
	emit := func(now time.Time, s Snapshot) {
		if !last.IsZero() && now.Sub(last) < Interval {
			return
		}
		last = now
		var total, eta any
		if s.Total >= 0 {
			total = s.Total
		}
		if d, ok := s.ETA(); ok {
			eta = int64(math.Ceil(d.Seconds()))
		}
		r.log.Info("progress", "event", "progress", "dataset", dataset, "stage", stage, "run_id", runID,
			"phase", s.Phase, "unit", string(s.Unit), "done", s.Done, "total", total,
			"rate", math.Round(s.Rate()*1000)/1000, "eta_s", eta)
	}
	return &counter{clock: r.clock, onPhase: emit, onAdd: emit}
}

// Bar draws a progress bar on w (a terminal) for every phase that runs
// longer than BarDelay: count, rate and, when the total is known, the time
// left; a count without a total spins. The bar is cleared when its phase
// ends.
func Bar(w io.Writer, clock Clock) Reporter {
	return &barReporter{w: w, clock: clock}
}

type barReporter struct {
	w     io.Writer
	clock Clock
}

func (r *barReporter) Stage(dataset, stage, runID string) Tracker {
	var bar *progressbar.ProgressBar
	var gate *delayed
	finish := func() {
		if bar != nil {
			bar.Finish()
			bar = nil
		}
	}
	return &counter{
		clock: r.clock,
		onPhase: func(now time.Time, s Snapshot) {
			finish()
			gate = &delayed{w: r.w, clock: r.clock, from: now.Add(BarDelay)}
			desc := stage
			if s.Phase != "" {
				desc += " " + s.Phase
			}
			opts := []progressbar.Option{
				progressbar.OptionSetWriter(gate),
				progressbar.OptionSetDescription(fmt.Sprintf("%-11s", desc)),
				progressbar.OptionSetWidth(30),
				progressbar.OptionThrottle(200 * time.Millisecond),
				progressbar.OptionShowCount(),
				progressbar.OptionSetPredictTime(true),
				progressbar.OptionSetElapsedTime(true),
				progressbar.OptionClearOnFinish(),
			}
			if s.Unit == Bytes {
				opts = append(opts, progressbar.OptionShowBytes(true))
			} else {
				opts = append(opts, progressbar.OptionShowIts(), progressbar.OptionSetItsString(string(s.Unit)))
			}
			bar = progressbar.NewOptions64(s.Total, opts...)
		},
		onAdd: func(now time.Time, s Snapshot) {
			if bar != nil {
				bar.Set64(s.Done)
			}
		},
		onEnd: finish,
	}
}

// delayed passes writes to w from a moment on and drops those before it.
type delayed struct {
	w     io.Writer
	clock Clock
	from  time.Time
	open  bool
}

func (d *delayed) Write(p []byte) (int, error) {
	if !d.open {
		if d.clock.now().Before(d.from) {
			return len(p), nil
		}
		d.open = true
	}
	return d.w.Write(p)
}
