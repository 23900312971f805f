package cluster

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"os"
	"sync"
	"sync/atomic"

	"github.com/takedown-research/takedown/internal/pqio"
)

// bucketBytes bounds the records of one bucket of readNumericExact, so that
// a bucket is grouped in the cache (tests lower it).
var bucketBytes = 8 << 20

// groupRecs bounds the records of one group of a bucket: its table of
// items stays within the core's cache.
var groupRecs = 1 << 13

// bucketRecBytes is the size of a scattered (item, row) record, and
// wideRecBytes of one that carries the row's account and time too.
const (
	bucketRecBytes = 12
	wideRecBytes   = 24
)

// bucketRecBytes is the size of readNumericExact's records: they carry the
// row's account and time when the rows are in a file.
func (rc *rowCols) bucketRecBytes() int {
	if rc.file != nil {
		return wideRecBytes
	}
	return bucketRecBytes
}

// readNumericExact keeps the occurrences of a numeric signal's items that
// occur on two kept rows or more, exactly, for a load that reads the
// signals one at a time. It reads the column once, in spans of row groups
// concurrently, and scatters every value of a kept row, with its row, to
// one of a power of two of buckets on disk by a hash of the value (mix64),
// each span to files of its own, so that a bucket's records are in row
// order. Each bucket is then read back and cut by more of the hash into
// groups small enough for the cache, and each group's items are counted in
// a table: an item's occurrences on two rows or more go to runs, complete,
// and every other occurrence counts as a singleton. A row's repeats of an
// item count once. The ranged filter it replaces probed memory at random
// twice a value and read the column once more per range; this reads it
// once and writes and reads 12 bytes a value, the value and its row. When
// the rows' accounts and times are in a rowFile, not in memory, a record
// carries them too, 24 bytes: a span reads them from the file in row order
// beside the column, where the groups, counted in hash order, would need
// them in memory.
func readNumericExact(path, col string, spans []pqio.Span, sd *signalData, ri *rowItems, runs *occRuns, rows *rowCols, checkBatch func(last int64) error, newPass func() *readPass) error {
	values, err := pqio.NumValues(path, col)
	if err != nil {
		return err
	}
	sp, err := runs.ls.spill()
	if err != nil {
		return err
	}
	recBytes := rows.bucketRecBytes()
	logB := 0
	for int64(values)*int64(recBytes)>>logB > int64(bucketBytes) && logB < 16 {
		logB++
	}
	nb := 1 << logB
	bucketOf := func(h uint64) int { return int(h >> (64 - logB) & uint64(nb-1)) }
	if logB == 0 {
		bucketOf = func(uint64) int { return 0 }
	}
	name := func(j, b int) string { return sp.path(fmt.Sprintf("bucket-%s-%d-%d", sd.name, j, b)) }
	counts := make([][]int64, len(spans)) // records per span and bucket
	defer func() {
		for j := range spans {
			for b := range nb {
				os.Remove(name(j, b))
			}
		}
	}()

	// Scatter.
	pass := newPass()
	errs := make([]error, len(spans))
	var wg sync.WaitGroup
	for j, span := range spans {
		counts[j] = make([]int64, nb)
		wg.Go(func() {
			errs[j] = scatterSpan(path, col, span, nb, bucketOf, func(b int) string { return name(j, b) }, counts[j], rows, checkBatch, pass)
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	pass.end()
	var total int64
	for j := range spans {
		for _, c := range counts[j] {
			total += c
		}
	}
	for j := range spans {
		for b := range nb {
			if counts[j][b] > 0 {
				if fi, err := os.Stat(name(j, b)); err == nil {
					sp.bytes.Add(fi.Size())
				}
			}
		}
	}

	// Group the buckets, GOMAXPROCS at a time, each worker into its own
	// part of the runs.
	pass = newPass()
	var next, done atomic.Int64
	var reported atomic.Int64
	parts := make([]*rowItems, len(spans))
	for w := range parts {
		parts[w] = &rowItems{row: -1, runs: runs} // complete occurrences: addOccs
	}
	for w := range parts {
		part := parts[w]
		wg.Go(func() {
			g := &grouper{}
			if rows.file == nil {
				g.mem = rows
			}
			for {
				b := int(next.Add(1) - 1)
				if b >= nb || errs[w] != nil {
					return
				}
				if err := runs.ls.ctx.Err(); err != nil {
					errs[w] = err // a bucket at a time: the pass may take minutes
					return
				}
				var n int64
				for j := range spans {
					n += counts[j][b]
				}
				if n == 0 {
					continue
				}
				recs, err := g.read(nb, b, spans, counts, name)
				if err != nil {
					errs[w] = err
					return
				}
				g.group(recs, logB, part)
				if part.err != nil {
					errs[w] = part.err
					return
				}
				for j := range spans {
					os.Remove(name(j, b))
				}
				// Progress in rows, in proportion to the records.
				c := done.Add(n)
				to := pass.rows * c / max(total, 1)
				for {
					r := reported.Load()
					if to <= r || reported.CompareAndSwap(r, to) {
						if to > r {
							pass.add(to - r)
						}
						break
					}
				}
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	pass.end()
	return finishParts(sd, ri, runs, parts)
}

// scatterSpan reads one span of col and appends each value of a kept row,
// with its row, account and time, to the file of its bucket, counting the
// records.
func scatterSpan(path, col string, span pqio.Span, nb int, bucketOf func(uint64) int, name func(b int) string, counts []int64, rc *rowCols, checkBatch func(last int64) error, pass *readPass) (err error) {
	recBytes := rc.bucketRecBytes()
	rows, err := rc.cursor()
	if err != nil {
		return err
	}
	files := make([]*os.File, nb)
	bufs := make([][]byte, nb)
	bufLen := max(recBytes*64, min(32<<10, bucketBytes/4)/recBytes*recBytes)
	flush := func(b int) error {
		if files[b] == nil {
			f, err := spillCreate(name(b))
			if err != nil {
				return fmt.Errorf("cluster: spill: %w", err)
			}
			files[b] = f
		}
		if _, err := files[b].Write(bufs[b]); err != nil {
			return fmt.Errorf("cluster: spill %s: %w", name(b), err)
		}
		bufs[b] = bufs[b][:0]
		return nil
	}
	defer func() {
		if cerr := rows.close(); err == nil && cerr != nil {
			err = cerr
		}
		for b, f := range files {
			if f == nil {
				continue
			}
			if cerr := f.Close(); err == nil && cerr != nil {
				err = fmt.Errorf("cluster: spill %s: %w", name(b), cerr)
			}
		}
	}()
	last := int64(-1)
	acc, t := int32(-1), int64(0) // of row last
	err = pqio.EachInt64BatchIn(path, col, span, func(batch, vals []int64) error {
		if err := checkBatch(batch[len(batch)-1]); err != nil {
			return err
		}
		newRows := 0
		for i, row := range batch {
			if row != last {
				newRows++
				last = row
				acc, t = rows.at(row)
			}
			if acc < 0 {
				continue
			}
			v := uint64(vals[i])
			b := bucketOf(mix64(v))
			if bufs[b] == nil {
				bufs[b] = make([]byte, 0, bufLen)
			}
			bufs[b] = le.AppendUint64(bufs[b], v)
			bufs[b] = le.AppendUint32(bufs[b], uint32(row))
			if recBytes == wideRecBytes {
				bufs[b] = le.AppendUint32(bufs[b], uint32(acc))
				bufs[b] = le.AppendUint64(bufs[b], uint64(t))
			}
			counts[b]++
			if len(bufs[b]) == cap(bufs[b]) {
				if err := flush(b); err != nil {
					return err
				}
			}
		}
		pass.add(int64(newRows))
		return nil
	})
	if err != nil {
		return err
	}
	for b := range nb {
		if len(bufs[b]) > 0 {
			if err := flush(b); err != nil {
				return err
			}
		}
	}
	return nil
}

// bucketRec is one scattered value with its row and the row's account and
// time (from a wide record, or looked up in memory).
type bucketRec struct {
	item uint64
	t    int64
	row  uint32
	acc  uint32
}

// grouper groups buckets; its memory is reused from bucket to bucket.
type grouper struct {
	mem       *rowCols // the rows' accounts and times when in memory; else the records carry them
	recs, cut []bucketRec
	raw       []byte
	// The table of one group: an item's count of rows (up to 2) and the
	// last row it was seen on (plus one), by open addressing on its hash.
	keys []uint64
	cnt  []uint8
	last []uint32
	occs []occ
}

// read reads bucket b's records, span by span: in row order.
func (g *grouper) read(nb, b int, spans []pqio.Span, counts [][]int64, name func(j, b int) string) ([]bucketRec, error) {
	g.recs = g.recs[:0]
	for j := range spans {
		n := counts[j][b]
		if n == 0 {
			continue
		}
		f, err := os.Open(name(j, b))
		if err != nil {
			return nil, fmt.Errorf("cluster: spill: %w", err)
		}
		size := wideRecBytes
		if g.mem != nil {
			size = g.mem.bucketRecBytes()
		}
		if cap(g.raw) < int(n)*size {
			g.raw = make([]byte, int(n)*size)
		}
		raw := g.raw[:int(n)*size]
		_, err = io.ReadFull(bufio.NewReaderSize(f, 1<<16), raw)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("cluster: spill %s: %w (wrote %d records)", name(j, b), err, n)
		}
		for off := 0; off < len(raw); off += size {
			r := bucketRec{item: le.Uint64(raw[off:]), row: le.Uint32(raw[off+8:])}
			if size == wideRecBytes {
				r.acc, r.t = le.Uint32(raw[off+12:]), int64(le.Uint64(raw[off+16:]))
			}
			g.recs = append(g.recs, r)
		}
	}
	return g.recs, nil
}

// group cuts a bucket's records (in row order) into groups by the hash bits
// below the bucket's, keeping the order, and counts each group's items:
// the occurrences of items on two rows or more go to part, complete, the
// others count as its singletons.
func (g *grouper) group(recs []bucketRec, logB int, part *rowItems) {
	ng := 1
	for len(recs)/ng > groupRecs && ng < 1<<12 {
		ng <<= 1
	}
	shift := 64 - logB - bits.Len(uint(ng-1))
	groupOf := func(r bucketRec) int { return int(mix64(r.item)>>shift) & (ng - 1) }
	// A stable counting sort by group.
	start := make([]int, ng+1)
	for _, r := range recs {
		start[groupOf(r)+1]++
	}
	for i := 1; i <= ng; i++ {
		start[i] += start[i-1]
	}
	if cap(g.cut) < len(recs) {
		g.cut = make([]bucketRec, len(recs))
	}
	cut := g.cut[:len(recs)]
	pos := append([]int(nil), start[:ng]...)
	for _, r := range recs {
		k := groupOf(r)
		cut[pos[k]] = r
		pos[k]++
	}
	for k := range ng {
		g.groupOne(cut[start[k]:start[k+1]], part)
	}
}

// groupOne counts one group's items and hands on its occurrences.
func (g *grouper) groupOne(recs []bucketRec, part *rowItems) {
	if len(recs) == 0 {
		return
	}
	size := 1 << bits.Len(uint(2*len(recs)-1))
	if cap(g.keys) < size {
		g.keys = make([]uint64, size)
		g.cnt = make([]uint8, size)
		g.last = make([]uint32, size)
	}
	keys, cnt, last := g.keys[:size], g.cnt[:size], g.last[:size]
	clear(cnt)
	mask := uint64(size - 1)
	slot := func(item uint64) uint64 {
		i := mix64(item) & mask
		for cnt[i] != 0 && keys[i] != item {
			i = (i + 1) & mask
		}
		return i
	}
	for _, r := range recs {
		i := slot(r.item)
		switch {
		case cnt[i] == 0:
			keys[i], cnt[i], last[i] = r.item, 1, r.row+1
		case last[i] != r.row+1:
			cnt[i], last[i] = 2, r.row+1
		}
	}
	// Each (item, row) once: last marks the rows handed on.
	clear(last)
	occs := g.occs[:0]
	for _, r := range recs {
		i := slot(r.item)
		if last[i] == r.row+1 {
			continue // a repeat within the row
		}
		last[i] = r.row + 1
		if cnt[i] < 2 {
			part.singletons++
			continue
		}
		if g.mem != nil {
			r.acc, r.t = uint32(g.mem.acc[r.row]), g.mem.times[r.row]
		}
		occs = append(occs, occ{item: r.item, t: r.t, acc: r.acc, post: r.row})
	}
	part.addOccs(occs)
	g.occs = occs[:0]
}
