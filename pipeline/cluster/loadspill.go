package cluster

import (
	"context"
	"fmt"
	"os"

	"github.com/takedown-research/takedown/internal/pqio"
	"github.com/takedown-research/takedown/internal/schema"
)

// windowEstimate is --window auto's estimate (estimateWindow), made while
// loading when the co_url occurrences leave memory then.
type windowEstimate struct {
	ms, urls int64
	ok       bool
}

// loadSpill is load's hold for a run that may be partitioned: it keeps the
// signals' occurrences in memory while they fit the budget with the
// resident data (as plan would find one partition enough), and once they
// do not (or from the first signal when --partitions above 1 is given)
// writes each signal's occurrences, sorted as the sweep sorts them, to a
// spill file of its own and frees them before the next signal is read.
// spillOccs then cuts these files into the item partitions, so that the
// occurrences of one signal at most are in memory at once, and the bytes do
// not change: the cut is the in-memory one.
type loadSpill struct {
	ctx    context.Context
	in     Input
	p      Params
	res    Resources // the budget plan will use
	outDir string
	// discard drops the occurrences instead (Merge needs only their
	// counts).
	discard bool

	sp       *spill // made on the first spill
	loaded   []*signalData
	spilling bool
	// maxHeld is the most occurrences held in memory at once while
	// loading (tests).
	maxHeld int
}

// holdFunc returns the hold load should use for the signals of the
// fingerprints table at path: nil when the run is certainly one partition
// (--partitions 1, or an upper bound of its data from the Parquet footers
// within the budget), so that load reads every column at once as before.
func (ls *loadSpill) holdFunc(path string, signals []string) (func(*data, *signalData) error, error) {
	if ls.discard || ls.res.Partitions > 1 {
		return ls.hold, nil
	}
	if ls.res.Partitions == 1 {
		return nil, nil
	}
	rows, err := pqio.NumRows(path)
	if err != nil {
		return nil, err
	}
	// Every value an occurrence, a post id and time and an account per row.
	est := rows * 64
	for _, name := range signals {
		col, ok := signalColumn[name]
		if !ok {
			continue
		}
		n, err := pqio.NumValues(path, col)
		if err != nil {
			return nil, err
		}
		est += int64(n) * workPerOcc
	}
	mem := ls.res.Memory
	if mem == 0 {
		mem = DefaultMemory()
	}
	if est <= mem {
		return nil, nil
	}
	return ls.hold, nil
}

// hold is called by load with each signal once it is loaded.
func (ls *loadSpill) hold(d *data, sd *signalData) error {
	ls.loaded = append(ls.loaded, sd)
	held := 0
	for _, x := range ls.loaded {
		held += len(x.occ)
	}
	ls.maxHeld = max(ls.maxHeld, held)
	if ls.spilling {
		return ls.release(d, sd)
	}
	if !ls.discard && ls.res.Partitions == 0 && ls.fits(d) {
		return nil
	}
	ls.spilling = true
	for _, x := range ls.loaded {
		if err := ls.release(d, x); err != nil {
			return err
		}
	}
	return nil
}

// fits reports whether the signals loaded so far fit one partition: plan
// gives 1 for them. As more signals load, the resident data and the work
// only grow, so once they do not fit the whole run does not either.
func (ls *loadSpill) fits(d *data) bool {
	resident := d.residentBytes()
	mem := ls.res.Memory
	if mem == 0 {
		mem = defaultBudget(resident)
	}
	return d.workBytes() <= mem-resident
}

// spilled reports whether any signal's occurrences left memory.
func (ls *loadSpill) spilled() bool { return ls.spilling }

// spill returns the run's spill, made in outDir on first use.
func (ls *loadSpill) spill() (*spill, error) {
	if ls.sp == nil {
		dir, err := os.MkdirTemp(ls.outDir, ".spill-")
		if err != nil {
			return nil, fmt.Errorf("cluster: spill directory: %w", err)
		}
		ls.sp = &spill{dir: dir}
	}
	return ls.sp, nil
}

// remove removes the spill directory, if any.
func (ls *loadSpill) remove() {
	if ls.sp != nil {
		os.RemoveAll(ls.sp.dir)
	}
}

// release moves sd's occurrences out of memory: what needs them in memory
// (--window auto's estimate, near_text's shingles) is done first.
func (ls *loadSpill) release(d *data, sd *signalData) error {
	if sd.spilled {
		return nil
	}
	if ls.p.WindowAuto && sd.name == schema.SignalCoURL && d.window == nil {
		sortOccs(sd.occ)
		ms, urls, ok := estimateWindow(sd.occ)
		d.window = &windowEstimate{ms, urls, ok}
	}
	sd.spilled, sd.held = true, len(sd.occ)
	if ls.discard {
		sd.occ = nil
		return nil
	}
	if sd.name == SignalNearText && d.shingles == nil {
		if err := d.loadShingles(ls.ctx, ls.in.FingerprintsPath, ls.in.ShingleSize, sd); err != nil {
			return err
		}
	}
	sortOccs(sd.occ)
	sp, err := ls.spill()
	if err != nil {
		return err
	}
	if len(sd.occ) > 0 {
		if err := sp.writeOccsTo(sp.sortedPath(sd.name), sd.occ); err != nil {
			return err
		}
	}
	sd.occ = nil
	return ls.ctx.Err()
}

// sortedPath is where a signal's occurrences spilled while loading live.
func (s *spill) sortedPath(name string) string { return s.path("sorted-" + name + ".zst") }

// splitSorted cuts the sorted occurrences sd spilled while loading into
// parts runs at item boundaries, as spillOccs cuts those in memory, writes
// the runs of the partitions keep selects to their files and returns the
// occurrences per partition. Only one run is in memory at a time.
func (s *spill) splitSorted(si int, sd *signalData, parts int, keep func(q int) bool) ([]int, error) {
	counts := make([]int, parts)
	n := sd.held
	if n == 0 {
		return counts, nil
	}
	path := s.sortedPath(sd.name)
	var (
		cur      []occ
		q, s0, i int
		prev     uint64
		werr     error
	)
	end := func(e int) { // partition q is [s0, e)
		counts[q] = e - s0
		if werr == nil && e > s0 && keep(q) {
			werr = s.writeOccs(si, q, cur)
		}
		cur = cur[:0]
		s0 = e
		q++
	}
	err := s.readFile(path, n, occBytes, func(b []byte) {
		o := occ{item: le.Uint64(b), t: int64(le.Uint64(b[8:])), acc: le.Uint32(b[16:]), post: le.Uint32(b[20:])}
		// Partition q ends at the first item boundary at or after
		// its share of n, or where it starts when that share is
		// behind it.
		for q < parts-1 && i >= n*(q+1)/parts && (i == s0 || o.item != prev) {
			end(i)
		}
		cur = append(cur, o)
		prev = o.item
		i++
	})
	if err != nil {
		return nil, err
	}
	if i != n {
		return nil, fmt.Errorf("cluster: spill %s: %d occurrences, wrote %d", path, i, n)
	}
	for q < parts {
		end(n)
	}
	if werr != nil {
		return nil, werr
	}
	os.Remove(path)
	return counts, nil
}
