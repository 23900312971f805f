package cluster

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"

	"github.com/klauspost/compress/zstd"
	"github.com/takedown-research/takedown/internal/kmerge"

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
	posts    *postIDs
	loaded   []*signalData
	spilling bool
	// maxHeld is the most occurrences held in memory at once while
	// loading (tests).
	maxHeld int
}

// holder takes the signals of a load that reads them one at a time.
type holder interface {
	// runs returns where the occurrences of the numeric signal sd go
	// while it is read in parts parts.
	runs(d *data, sd *signalData, parts int) *occRuns
	// hold takes sd once it is loaded.
	hold(d *data, sd *signalData) error
	// spill returns the run's spill, where load keeps each row's account
	// and time (rowFile).
	spill() (*spill, error)
	// idsInMemory reports whether load keeps the post ids of rows rows
	// in memory rather than in an idFile.
	idsInMemory(rows int64) bool
	// rowsInMemory reports whether load keeps the accounts and times of
	// rows rows in memory rather than in a rowFile.
	rowsInMemory(rows int64) bool
}

// rowFileShare is the share of the budget (1/rowFileShare) up to which a
// load keeps each row's account and time in memory, 12 bytes a post:
// beyond it, as for a whole-archive release, they go to a rowFile, which
// costs a merge and wider bucket records. Tests raise it to take the
// rowFile path on small tables.
var rowFileShare int64 = 2

// idsInMemory reports whether a load keeps the post ids of rows rows in
// memory: while their numbers take at most 1/postIDShare of the budget.
func (ls *loadSpill) idsInMemory(rows int64) bool {
	return rows*8 <= ls.res.budget()/postIDShare
}

// rowsInMemory reports whether a load keeps the accounts and times of rows
// rows in memory: while they take at most 1/rowFileShare of the budget
// (--memory, else the default budget).
func (ls *loadSpill) rowsInMemory(rows int64) bool {
	return rows*rowRecBytes <= ls.res.budget()/rowFileShare
}

// holder returns the holder load should use for the signals of the
// fingerprints table at path: nil when the run is certainly one partition
// (--partitions 1, or an upper bound of its data from the Parquet footers
// within the budget), so that load reads every column at once as before.
func (ls *loadSpill) holder(path string, signals []string) (holder, error) {
	if ls.discard || ls.res.Partitions > 1 {
		return ls, nil
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
	if est <= ls.res.budget() {
		return nil, nil
	}
	return ls, nil
}

// strShare is the share of the budget (1/strShare) a signal's string
// items may take in memory in a load that reads the signals one at a time:
// beyond it they go to a strFile. Tests raise it to take the file path on
// small tables.
var strShare int64 = 16

// hold is called by load with each signal once it is loaded.
func (ls *loadSpill) hold(d *data, sd *signalData) error {
	ls.loaded = append(ls.loaded, sd)
	if err := ls.holdStrings(sd); err != nil {
		return err
	}
	held := 0
	for _, x := range ls.loaded {
		held += len(x.occ)
	}
	ls.maxHeld = max(ls.maxHeld, held)
	if ls.spilling || sd.spilled {
		// A signal read into runs did not fit (occRuns.room).
		if !ls.spilling {
			ls.spilling = true
			for _, x := range ls.loaded[:len(ls.loaded)-1] {
				if err := ls.release(d, x); err != nil {
					return err
				}
			}
		}
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

// holdStrings moves sd's string items to a strFile when they take more
// than their share of the budget (strShare).
func (ls *loadSpill) holdStrings(sd *signalData) error {
	if sd.strs.bytes() <= ls.res.budget()/strShare || sd.strs.len() == 0 {
		return nil
	}
	sp, err := ls.spill()
	if err != nil {
		return err
	}
	sf, err := writeStrFile(sd.strs, sp.path(fmt.Sprintf("strs-%d", len(ls.loaded)-1)))
	if err != nil {
		return err
	}
	sp.bytes.Add(sf.index[len(sf.index)-1])
	sd.strs, sd.strFile = strTable{}, sf
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

// shingleSpill returns where near_text's shingle sets go once they outgrow
// their share of the budget.
func (ls *loadSpill) shingleSpill() (*shingleSpill, error) {
	sp, err := ls.spill()
	if err != nil {
		return nil, err
	}
	return shingleSpillOf(sp, ls.res), nil
}

// remove closes the post ids' and string items' files and removes the
// spill directory, if any.
func (ls *loadSpill) remove() {
	if ls.posts != nil {
		ls.posts.close()
	}
	for _, sd := range ls.loaded {
		if sd.strFile != nil {
			sd.strFile.close()
		}
	}
	if ls.sp != nil {
		os.RemoveAll(ls.sp.dir)
	}
}

// release moves sd's occurrences out of memory: what needs them in memory
// (--window auto's estimate, near_text's shingles) is done first.
func (ls *loadSpill) release(d *data, sd *signalData) error {
	inRuns := func(visit func(occ)) error { return ls.sp.eachSorted(sd, visit) }
	if ls.p.WindowAuto && sd.name == schema.SignalCoURL && d.window == nil {
		each := inRuns
		if sd.runs == nil {
			sortOccs(sd.occ)
			each = eachOcc(sd.occ)
		}
		ms, urls, ok, err := estimateWindow(each)
		if err != nil {
			return err
		}
		d.window = &windowEstimate{ms, urls, ok}
	}
	if sd.runs != nil { // spilled in runs while it was read
		if ls.discard {
			if ls.sp != nil {
				ls.sp.removeSorted(sd)
			}
			sd.runs = []runFile{}
			return nil
		}
		if sd.name == SignalNearText && d.shingles == nil {
			ss, err := ls.shingleSpill()
			if err != nil {
				return err
			}
			return d.loadShinglesFrom(ls.ctx, ls.in.FingerprintsPath, ls.in.ShingleSize, inRuns, ss)
		}
		return nil
	}
	if sd.spilled {
		return nil
	}
	sd.spilled, sd.held = true, len(sd.occ)
	if ls.discard {
		sd.occ = nil
		return nil
	}
	if sd.name == SignalNearText && d.shingles == nil {
		ss, err := ls.shingleSpill()
		if err != nil {
			return err
		}
		if err := d.loadShingles(ls.ctx, ls.in.FingerprintsPath, ls.in.ShingleSize, sd, ss); err != nil {
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
	var (
		out      *occStream // partition q's file, while it has occurrences
		q, s0, i int
		prev     uint64
		werr     error
	)
	end := func(e int) { // partition q is [s0, e)
		counts[q] = e - s0
		if out != nil {
			if err := out.close(); werr == nil {
				werr = err
			}
			out = nil
		}
		s0 = e
		q++
	}
	err := s.eachSorted(sd, func(o occ) {
		// Partition q ends at the first item boundary at or after
		// its share of n, or where it starts when that share is
		// behind it.
		for q < parts-1 && i >= n*(q+1)/parts && (i == s0 || o.item != prev) {
			end(i)
		}
		if out == nil && werr == nil && keep(q) {
			out = s.startOccStream(s.path(fmt.Sprintf("occ-%d-%d.zst", si, q)))
		}
		if out != nil {
			out.add(o)
		}
		prev = o.item
		i++
	})
	if out != nil && err != nil {
		out.close()
	}
	if err != nil {
		return nil, err
	}
	if i != n {
		return nil, fmt.Errorf("cluster: spill of %s: %d occurrences, wrote %d", sd.name, i, n)
	}
	for q < parts {
		end(n)
	}
	if werr != nil {
		return nil, werr
	}
	s.removeSorted(sd)
	return counts, nil
}

// occStream writes a spill file of occurrences as they come (the records
// of writeOccs), a span at a time: another goroutine encodes and
// compresses them while the merge goes on. It holds two spans.
type occStream struct {
	cur    []occ
	blocks chan []occ
	free   chan []occ
	done   chan error
}

func (s *spill) startOccStream(path string) *occStream {
	st := &occStream{blocks: make(chan []occ, 1), free: make(chan []occ, 2), done: make(chan error, 1)}
	st.free <- make([]occ, 0, spillSpan)
	st.cur = make([]occ, 0, spillSpan)
	go func() {
		buf := make([]byte, spillSpan*occBytes)
		err := s.writeStream(path, func(w io.Writer) error {
			var werr error
			for blk := range st.blocks { // drained whatever happens: add must not block
				if werr == nil {
					b := buf[:len(blk)*occBytes]
					for i := range blk {
						putOcc(b[i*occBytes:], &blk[i])
					}
					_, werr = w.Write(b)
				}
				st.free <- blk[:0]
			}
			return werr
		})
		for blk := range st.blocks { // the file could not be created
			st.free <- blk[:0]
		}
		st.done <- err
	}()
	return st
}

// add appends o to the file.
func (st *occStream) add(o occ) {
	st.cur = append(st.cur, o)
	if len(st.cur) == spillSpan {
		st.blocks <- st.cur
		st.cur = <-st.free
	}
}

// close writes what add left and ends the file.
func (st *occStream) close() error {
	if len(st.cur) > 0 {
		st.blocks <- st.cur
	}
	close(st.blocks)
	return <-st.done
}

// eachSorted visits the occurrences sd spilled while loading in sweep
// order: its sorted file, or the merge of its runs.
func (s *spill) eachSorted(sd *signalData, visit func(occ)) error {
	if sd.runs == nil {
		return s.readFile(s.sortedPath(sd.name), sd.held, occBytes, func(b []byte) { visit(decodeOcc(b)) })
	}
	cs := make([]*occCursor, 0, len(sd.runs))
	defer func() {
		for _, c := range cs {
			c.close()
		}
	}()
	for _, r := range sd.runs {
		c, err := openOccCursor(r)
		if err != nil {
			return err
		}
		cs = append(cs, c)
	}
	return kmerge.Merge(cs, (*occCursor).next, func(a, b *occCursor) bool { return cmpOcc(a.cur, b.cur) < 0 },
		func(c *occCursor) error { visit(c.cur); return nil })
}

// removeSorted removes what sd spilled while loading.
func (s *spill) removeSorted(sd *signalData) {
	os.Remove(s.sortedPath(sd.name))
	for _, r := range sd.runs {
		os.Remove(r.path)
	}
}

// runOccs is about the most occurrences a signal read into runs holds in
// memory once its runs have begun, over all its parts (tests lower it).
var runOccs = 1 << 22

// occRuns are the sorted runs a numeric signal's occurrences are written
// to while it is read, once they outgrow the room the budget leaves them
// (or from the start, when earlier signals were spilled): each part of
// the read sorts what it holds and writes it as a run whenever it holds
// its share of runOccs. A signal with runs is spilled; eachSorted merges
// them into the order of the sorted file a spill writes otherwise.
type occRuns struct {
	ls       *loadSpill
	name     string
	discard  bool  // count the occurrences only
	room     int64 // occurrences the signal may hold before its runs begin
	runLen   int   // occurrences a part holds before it writes a run
	held     atomic.Int64
	total    atomic.Int64
	peak     atomic.Int64 // the most held at once (tests)
	spilling atomic.Bool

	mu    sync.Mutex
	files []runFile
}

// runFile is one sorted run of occurrences.
type runFile struct {
	path string
	n    int
}

// runs is holder's runs: the room is what the budget leaves once the
// signals held are counted, as fits counts it, so that a signal that
// outgrows it would not fit either.
func (ls *loadSpill) runs(d *data, sd *signalData, parts int) *occRuns {
	r := &occRuns{ls: ls, name: sd.name, runLen: max(1, runOccs/max(parts, 1))}
	// A spill that only counts keeps the co_url runs --window auto
	// estimates from (release).
	r.discard = ls.discard && !(ls.p.WindowAuto && sd.name == schema.SignalCoURL)
	if ls.spilling || ls.discard || ls.res.Partitions > 0 {
		r.spilling.Store(true)
		return r
	}
	resident := d.residentBytes()
	mem := ls.res.Memory
	if mem == 0 {
		mem = defaultBudget(resident)
	}
	r.room = (mem - resident) / workPerOcc
	for _, x := range ls.loaded {
		r.room -= x.occCount()
	}
	if r.room < 0 {
		r.spilling.Store(true)
	}
	return r
}

// full records that a part added added occurrences and now holds n, and
// reports whether it should write them as a run.
func (r *occRuns) full(n, added int) bool {
	h := r.held.Add(int64(added))
	r.total.Add(int64(added))
	for p := r.peak.Load(); h > p && !r.peak.CompareAndSwap(p, h); p = r.peak.Load() {
	}
	if r.spilling.Load() {
		return n >= r.runLen
	}
	if h > r.room {
		r.spilling.Store(true)
		return true
	}
	return false
}

// write sorts the occurrences part holds and writes them as a run (drops
// them when the spill only counts).
func (r *occRuns) write(part *rowItems) error {
	if part.count == 0 {
		return nil
	}
	occs := make([]occ, 0, part.count)
	for ci, c := range part.chunks {
		occs = append(occs, c...)
		part.chunks[ci] = nil
	}
	part.chunks, part.count = nil, 0
	defer r.held.Add(-int64(len(occs)))
	if r.discard {
		return nil
	}
	sortOccs(occs)
	r.mu.Lock()
	sp, err := r.ls.spill()
	k := len(r.files)
	path := ""
	if err == nil {
		path = sp.path(fmt.Sprintf("run-%s-%d.zst", r.name, k))
		r.files = append(r.files, runFile{path, len(occs)})
	}
	r.mu.Unlock()
	if err != nil {
		return err
	}
	return sp.writeOccsTo(path, occs)
}

// finish ends the read of sd: when its runs began, what the parts still
// hold is written as runs too and sd is spilled; otherwise the parts keep
// their occurrences for load to join.
func (r *occRuns) finish(sd *signalData, parts []*rowItems) error {
	r.ls.maxHeld = max(r.ls.maxHeld, int(r.peak.Load()))
	if !r.spilling.Load() {
		return nil
	}
	for _, part := range parts {
		if err := r.write(part); err != nil {
			return err
		}
		sd.singletons += part.singletons
		part.singletons = 0
	}
	sd.spilled, sd.held = true, int(r.total.Load())
	sd.runs = r.files
	if sd.runs == nil {
		sd.runs = []runFile{} // none written: eachSorted merges nothing
	}
	return nil
}

// occCursor reads a run back for a merge.
type occCursor struct {
	f   *os.File
	dec *zstd.Decoder
	br  *bufio.Reader
	rec [occBytes]byte
	cur occ
}

func openOccCursor(r runFile) (*occCursor, error) {
	f, err := os.Open(r.path)
	if err != nil {
		return nil, fmt.Errorf("cluster: spill: %w", err)
	}
	dec := decoders.Get().(*zstd.Decoder)
	if err := dec.Reset(f); err != nil {
		f.Close()
		decoders.Put(dec)
		return nil, fmt.Errorf("cluster: spill %s: %w", r.path, err)
	}
	return &occCursor{f: f, dec: dec, br: bufio.NewReaderSize(dec, 64<<10)}, nil
}

func (c *occCursor) next() (bool, error) {
	_, err := io.ReadFull(c.br, c.rec[:])
	if err == io.EOF {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("cluster: spill %s: %w", c.f.Name(), err)
	}
	c.cur = decodeOcc(c.rec[:])
	return true, nil
}

func (c *occCursor) close() {
	c.dec.Reset(nil)
	decoders.Put(c.dec)
	c.f.Close()
}
