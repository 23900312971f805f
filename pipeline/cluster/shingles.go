package cluster

import (
	"bufio"
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
// shingleReader.
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

// readerCache is the most values a shingleReader keeps of the sets it read
// from files (16 MB): a sweep reads a set again for every pair it checks
// in a group, and a post's several band keys bring it back in other groups.
var readerCache = 1 << 21

// shingleReader reads the sets of one sweep: those in memory in place,
// those in files with ReadAt, each kept in a cache while it has room. It
// is not safe for concurrent use; each sweep has its own.
type shingleReader struct {
	s     *shingleSets
	files map[*shinglePart]*os.File
	cache map[uint32][]uint64
	arena []uint64
	buf   []byte
	err   error // the first read error; close returns it
}

func (s *shingleSets) reader() *shingleReader {
	return &shingleReader{s: s, files: map[*shinglePart]*os.File{}, cache: map[uint32][]uint64{}}
}

// jaccard returns the Jaccard similarity of the sets of rows x and y (0
// when neither has one, or after a read error).
func (r *shingleReader) jaccard(x, y uint32) float64 {
	if len(r.arena) > readerCache {
		clear(r.cache)
		r.arena = make([]uint64, 0, readerCache) // the sets handed out keep the old one
	}
	return Jaccard(r.get(x), r.get(y))
}

// get returns the set of row, nil when it has none.
func (r *shingleReader) get(row uint32) []uint64 {
	p, start, end := r.s.locate(row)
	if p == nil {
		return nil
	}
	if p.vals != nil || p.spill == nil {
		return p.vals[start:end:end]
	}
	if set, ok := r.cache[row]; ok {
		return set
	}
	if r.err != nil {
		return nil
	}
	f := r.files[p]
	if f == nil {
		var err error
		if f, err = os.Open(p.spill.path); err != nil {
			r.err = fmt.Errorf("cluster: near_text shingles: %w", err)
			return nil
		}
		r.files[p] = f
	}
	n := int(end - start)
	r.buf = slices.Grow(r.buf[:0], n*8)[:n*8]
	if _, err := f.ReadAt(r.buf, int64(start)*8); err != nil {
		r.err = fmt.Errorf("cluster: near_text shingles: read %s: %w", p.spill.path, err)
		return nil
	}
	at := len(r.arena)
	for k := 0; k < n; k++ {
		r.arena = append(r.arena, binary.LittleEndian.Uint64(r.buf[k*8:]))
	}
	set := r.arena[at:len(r.arena):len(r.arena)]
	r.cache[row] = set
	return set
}

// close closes the files r opened and returns its first read error.
func (r *shingleReader) close() error {
	err := r.err
	for _, f := range r.files {
		err = errors.Join(err, f.Close())
	}
	clear(r.files)
	return err
}
