package cluster

import (
	"bufio"
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"
	"sort"
	"sync"

	"github.com/takedown-research/takedown/internal/pqio"
	"github.com/takedown-research/takedown/internal/rules"
)

// shingleShare is the share of the budget (1/shingleShare) that near_text's
// shingle sets may take in memory in a run that spills: beyond it, as for a
// whole-archive release (about 1.1 GB at 217M posts), they go to spill
// files and only their index (8 bytes a post) stays. Tests raise it to
// take the file path on small tables.
var shingleShare int64 = 8

// shingleSpill is where loadShingles writes the sets once they outgrow
// limit bytes in memory; a nil one keeps them all in memory.
type shingleSpill struct {
	sp    *spill
	limit int64
}

// shingleSpillOf returns the shingleSpill of a run with budget res that
// spills to sp.
func shingleSpillOf(sp *spill, res Resources) *shingleSpill {
	return &shingleSpill{sp: sp, limit: res.budget() / shingleShare}
}

// loadShingles sets d.shingles to the shingle sets (rules.AppendShingles of
// size words, sorted, without repeats) of the posts that a near_text
// candidate pair can involve: those carrying a band key that
// another account's post carries too. It sorts sd's occurrences (as the
// sweep does) to find them, and reads the normalized_text column only then,
// so that no other post's text or shingles are kept. With ss not nil the
// sets go to its files once they outgrow its limit.
func (d *data) loadShingles(ctx context.Context, path string, size int, sd *signalData, ss *shingleSpill) error {
	sortOccs(sd.occ)
	return d.loadShinglesFrom(ctx, path, size, func(visit func(occ)) error {
		for _, o := range sd.occ {
			visit(o)
		}
		return nil
	}, ss)
}

// loadShinglesFrom is loadShingles for the occurrences each visits in
// sweep order (those of a signal spilled while loading, eachSorted).
func (d *data) loadShinglesFrom(ctx context.Context, path string, size int, each func(visit func(occ)) error, ss *shingleSpill) error {
	need := make([]uint64, (d.rows+63)/64) // a bit a post: 27 MB at 217M posts, where bools took 217 MB
	count := 0
	var g []occ // the occurrences of one item
	group := func() {
		if len(g) > 0 && slices.ContainsFunc(g, func(o occ) bool { return o.acc != g[0].acc }) {
			for _, o := range g { // more than one account: pairs
				if w, bit := o.post/64, uint64(1)<<(o.post%64); need[w]&bit == 0 {
					need[w] |= bit
					count++
				}
			}
		}
		g = g[:0]
	}
	err := each(func(o occ) {
		if len(g) > 0 && o.item != g[0].item {
			group()
		}
		g = append(g, o)
	})
	if err != nil {
		return err
	}
	group()
	d.shingles = &shingleSets{}
	if count == 0 {
		return nil
	}
	// Spans of row groups in parallel, each into its own part.
	spans, err := pqio.Spans(path, runtime.GOMAXPROCS(0))
	if err != nil {
		return err
	}
	parts := make([]shinglePart, len(spans))
	errs := make([]error, len(spans))
	var wg sync.WaitGroup
	for i, sp := range spans {
		wg.Go(func() {
			var buf []uint64
			part := &parts[i]
			if ss != nil {
				part.spill = &shingleFile{sp: ss.sp, path: ss.sp.path(fmt.Sprintf("shingles-%d", i)), limit: ss.limit / int64(len(spans))}
			}
			errs[i] = pqio.EachBytesIn(path, colNormalizedText, sp, func(row int64, b []byte) error {
				if row >= d.rows {
					return fmt.Errorf("read %s: more rows than the footer's %d", path, d.rows)
				}
				if row%65536 == 0 {
					if err := ctx.Err(); err != nil {
						return err
					}
				}
				if need[row/64]&(1<<(row%64)) != 0 {
					buf = rules.AppendShingles(buf[:0], b, size)
					slices.Sort(buf)
					return part.add(uint32(row), slices.Compact(buf))
				}
				return nil
			})
			errs[i] = errors.Join(errs[i], part.close())
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		for i := range parts {
			parts[i].remove()
		}
		return err
	}
	for _, part := range parts {
		if len(part.rows) > 0 {
			part.vals = slices.Clip(part.vals)
			d.shingles.parts = append(d.shingles.parts, part)
		}
	}
	return nil
}

// shingleSets are the shingle sets of some posts, looked up by row: in
// parts of ascending rows (a span of row groups each), every part's sets
// one after another in one slice or, past the share of the budget they may
// take (shingleShare), in one spill file, 8 bytes a post beside the
// shingles (a map of slices took about 80). A sweep reads them through a
// shingleBatch.
type shingleSets struct {
	parts []shinglePart // in row order, none empty
}

type shinglePart struct {
	rows []uint32 // ascending
	end  []uint32 // end[i]: where the set of rows[i] ends in vals (or the file, in values)
	vals []uint64 // nil when the sets are in the file
	// spill, while the part is read, is where its sets go once they
	// outgrow its limit; after, the file that holds them, if any.
	spill *shingleFile
}

// shingleFile is a part's spill file: its sets as 8-byte little-endian
// values, one after another.
type shingleFile struct {
	sp     *spill
	path   string
	limit  int64 // bytes of sets in memory before they go to the file
	f      *os.File
	w      *bufio.Writer
	onDisk bool // the sets are in path
}

// add appends the set of row, which follows the part's rows.
func (p *shinglePart) add(row uint32, set []uint64) error {
	p.rows = append(p.rows, row)
	start := uint32(0)
	if len(p.end) > 0 {
		start = p.end[len(p.end)-1]
	}
	if int64(start)+int64(len(set)) > 1<<32-1 {
		return fmt.Errorf("cluster: near_text: more than %d shingles in one span of row groups", uint32(1<<32-1))
	}
	p.end = append(p.end, start+uint32(len(set)))
	if f := p.spill; f != nil && (f.w != nil || int64(len(p.vals)+len(set))*8 > f.limit) {
		if f.w == nil {
			if err := f.create(); err != nil {
				return err
			}
			err := f.write(p.vals)
			p.vals = nil
			if err != nil {
				return err
			}
		}
		return f.write(set)
	}
	p.vals = append(p.vals, set...)
	return nil
}

func (f *shingleFile) create() error {
	var err error
	if f.f, err = spillCreate(f.path); err != nil {
		return fmt.Errorf("cluster: spill: %w", err)
	}
	f.w = bufio.NewWriterSize(f.f, 1<<16)
	f.onDisk = true
	return nil
}

func (f *shingleFile) write(vals []uint64) error {
	var b [8]byte
	for _, v := range vals {
		binary.LittleEndian.PutUint64(b[:], v)
		if _, err := f.w.Write(b[:]); err != nil {
			return fmt.Errorf("cluster: spill %s: %w", f.path, err)
		}
	}
	f.sp.bytes.Add(int64(len(vals)) * 8)
	return nil
}

// close ends the part's reading: it flushes and closes its file, if any,
// and forgets the file when there is none.
func (p *shinglePart) close() error {
	f := p.spill
	if f == nil {
		return nil
	}
	if !f.onDisk {
		p.spill = nil
		return nil
	}
	var err error
	if f.w != nil {
		err = f.w.Flush()
		f.w = nil
	}
	if f.f != nil {
		err = errors.Join(err, f.f.Close())
		f.f = nil
	}
	if err != nil {
		return fmt.Errorf("cluster: spill %s: %w", f.path, err)
	}
	return nil
}

// remove removes the part's file, if any.
func (p *shinglePart) remove() {
	if p.spill != nil && p.spill.onDisk {
		p.close()
		os.Remove(p.spill.path)
	}
}

// bytes returns the memory the sets take (none for nil): their index, and
// the sets kept in memory.
func (s *shingleSets) bytes() int64 {
	if s == nil {
		return 0
	}
	var b int64
	for _, p := range s.parts {
		b += int64(cap(p.rows))*4 + int64(cap(p.end))*4 + int64(cap(p.vals))*8
	}
	return b
}

// len returns the number of posts with a set.
func (s *shingleSets) len() int {
	n := 0
	for _, p := range s.parts {
		n += len(p.rows)
	}
	return n
}

// locate returns the part of row and where its set starts and ends in it;
// p is nil when row has none.
func (s *shingleSets) locate(row uint32) (p *shinglePart, start, end uint32) {
	k := sort.Search(len(s.parts), func(k int) bool { return s.parts[k].rows[0] > row }) - 1
	if k < 0 {
		return nil, 0, 0
	}
	p = &s.parts[k]
	i, ok := slices.BinarySearch(p.rows, row)
	if !ok {
		return nil, 0, 0
	}
	if i > 0 {
		start = p.end[i-1]
	}
	return p, start, p.end[i]
}

// Limits of a shingleBatch: the values it reads from files at once (32
// MB) and the occurrences it resolves at once (24 MB of set headers); a
// batch holds at least one whole item, whatever its size. Its reads: sets
// of a file closer than batchGap values apart are read as one, up to
// batchRead values (1 MB), since a read costs about what copying 4 KB
// does. Tests lower them.
var (
	batchValues = 1 << 22
	batchOccs   = 1 << 20
	batchGap    = uint32(512)
	batchRead   = uint32(1 << 17)
)

// shingleBatch holds the shingle sets of the occurrences of a run of whole
// items, one per occurrence, for a near_text sweep: those in memory in
// place, those in files read in file order, nearby ones in one read (a
// set read once per batch however many of its items it is in). A sweep
// verifies a pair of occurrences with the sets of both; the sets of one
// post, in several band-key groups of a partition, are in several batches
// at most. It is not safe for concurrent use; each sweep has its own.
type shingleBatch struct {
	s     *shingleSets
	files map[*shinglePart]*os.File
	start int        // the first occurrence it holds
	sets  [][]uint64 // sets[i]: of occurrence start+i, nil for none
	arena []uint64   // the sets read from files
	reqs  []setReq
	buf   []byte
	err   error // the first read error; close returns it
}

// setReq is a set to read: values [start, end) of part's file, for
// occurrence occ of the batch.
type setReq struct {
	part       *shinglePart
	start, end uint32
	occ        int32
}

func (s *shingleSets) batch() *shingleBatch {
	return &shingleBatch{s: s, files: map[*shinglePart]*os.File{}}
}

// load resolves the sets of occs from occurrence from, the first of an
// item (occs sorted by item), to the end of an item within the batch
// limits, and returns that end: at least from's whole item. Items of one
// occurrence get no set (a sweep pairs none of them). After a read error
// every set is nil and close reports it.
func (b *shingleBatch) load(occs []occ, from int) int {
	b.start = from
	b.sets = b.sets[:0]
	b.reqs = b.reqs[:0]
	values := 0
	i := from
	for i < len(occs) {
		e := i + 1
		for e < len(occs) && occs[e].item == occs[i].item {
			e++
		}
		if e-i == 1 {
			b.sets = append(b.sets, nil)
			i = e
			continue
		}
		nSets, nReqs, v := len(b.sets), len(b.reqs), values
		for _, o := range occs[i:e] {
			p, start, end := b.s.locate(o.post)
			switch {
			case p == nil:
				b.sets = append(b.sets, nil)
			case p.vals != nil || p.spill == nil:
				b.sets = append(b.sets, p.vals[start:end:end])
			default:
				b.reqs = append(b.reqs, setReq{part: p, start: start, end: end, occ: int32(len(b.sets))})
				b.sets = append(b.sets, nil)
				values += int(end - start)
			}
		}
		if nSets > 0 && (values > batchValues || len(b.sets) > batchOccs) {
			// The item goes to the next batch.
			b.sets, b.reqs, values = b.sets[:nSets], b.reqs[:nReqs], v
			break
		}
		i = e
	}
	b.read(values)
	return b.start + len(b.sets)
}

// read reads the batch's requested sets into its arena, by file and
// offset, a set asked for twice once.
func (b *shingleBatch) read(values int) {
	if len(b.reqs) == 0 {
		return
	}
	if b.err != nil {
		clear(b.sets)
		return
	}
	slices.SortFunc(b.reqs, func(x, y setReq) int {
		if x.part != y.part {
			return cmp.Compare(x.part.rows[0], y.part.rows[0])
		}
		if x.start != y.start {
			return cmp.Compare(x.start, y.start)
		}
		return cmp.Compare(x.end, y.end) // an empty set starts where the next one does
	})
	// Room for every value, so that the sets handed out stay where they are.
	b.arena = slices.Grow(b.arena[:0], values)
	for k := 0; k < len(b.reqs); {
		// One read: the requests from k to e of one file.
		p, lo, hi := b.reqs[k].part, b.reqs[k].start, b.reqs[k].end
		e := k + 1
		for e < len(b.reqs) && b.reqs[e].part == p && b.reqs[e].start <= hi+batchGap && b.reqs[e].end-lo <= batchRead {
			hi = max(hi, b.reqs[e].end)
			e++
		}
		f, err := b.file(p)
		if err == nil {
			b.buf = slices.Grow(b.buf[:0], int(hi-lo)*8)[:int(hi-lo)*8]
			if _, err = f.ReadAt(b.buf, int64(lo)*8); err != nil {
				err = fmt.Errorf("cluster: near_text shingles: read %s: %w", p.spill.path, err)
			}
		}
		if err != nil {
			b.err = err
			clear(b.sets)
			return
		}
		var last []uint64
		for j := k; j < e; j++ {
			r := b.reqs[j]
			if j == k || r.start != b.reqs[j-1].start || r.end != b.reqs[j-1].end {
				at := len(b.arena)
				for v := r.start; v < r.end; v++ {
					b.arena = append(b.arena, binary.LittleEndian.Uint64(b.buf[(v-lo)*8:]))
				}
				last = b.arena[at:len(b.arena):len(b.arena)]
			}
			b.sets[r.occ] = last
		}
		k = e
	}
}

// file returns p's file, opened once.
func (b *shingleBatch) file(p *shinglePart) (*os.File, error) {
	if f := b.files[p]; f != nil {
		return f, nil
	}
	f, err := os.Open(p.spill.path)
	if err != nil {
		return nil, fmt.Errorf("cluster: near_text shingles: %w", err)
	}
	b.files[p] = f
	return f, nil
}

// set returns the set of occurrence i, which the batch holds.
func (b *shingleBatch) set(i int) []uint64 { return b.sets[i-b.start] }

// close closes the files b opened and returns its first read error.
func (b *shingleBatch) close() error {
	err := b.err
	for _, f := range b.files {
		err = errors.Join(err, f.Close())
	}
	clear(b.files)
	return err
}
