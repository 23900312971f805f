package cluster

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"

	"github.com/takedown-research/takedown/internal/pqio"
)

// rowFile holds, for a load that reads the signals one at a time, each
// row's account number (-1 for a row skipped) and time: rowRecBytes a row
// in a spill file. The signal reads look them up in row order through a
// rowCursor, so that loading holds nothing per post (4 bytes of account and
// 8 of time a post were 2.6 GB at 217M posts); the in-memory path reads the
// times back (restoreTimes).
type rowFile struct {
	path string
	rows int64
}

// rowRecBytes is the size of a rowFile record: the account number (int32)
// and the time (int64), little-endian.
const rowRecBytes = 12

// rowCols are the rows' account numbers (-1 for a row skipped) and times
// that a load reading the signals one at a time looks up in row order: in
// memory (acc, times) or in a rowFile (file).
type rowCols struct {
	acc   []int32
	times []int64
	file  *rowFile
}

// cursor opens a cursor over the rows; close it and check its error.
func (rc *rowCols) cursor() (*rowCursor, error) {
	if rc.file == nil {
		return &rowCursor{mem: rc}, nil
	}
	return rc.file.cursor()
}

// rowCursorRows is the number of records a rowCursor reads at a time.
const rowCursorRows = 8192

// rowCursor reads a rowFile's records, a block at a time from the row
// asked for on. Rows asked for in increasing order are read once; any other
// order is correct but slow.
type rowCursor struct {
	mem   *rowCols // the rows in memory, or nil
	rf    *rowFile
	f     *os.File
	buf   []byte
	first int64 // the row of buf[0:]
	n     int64 // the records in buf
	err   error
}

// cursor opens a cursor over rf; close it and check its error.
func (rf *rowFile) cursor() (*rowCursor, error) {
	f, err := os.Open(rf.path)
	if err != nil {
		return nil, fmt.Errorf("cluster: spill: %w", err)
	}
	return &rowCursor{rf: rf, f: f, buf: make([]byte, rowCursorRows*rowRecBytes)}, nil
}

// at returns row's account number (-1 for a row skipped) and time. After
// an error it returns -1: close reports the error.
func (c *rowCursor) at(row int64) (int32, int64) {
	if c.mem != nil {
		return c.mem.acc[row], c.mem.times[row]
	}
	if k := row - c.first; k < 0 || k >= c.n {
		if !c.fill(row) {
			return -1, 0
		}
	}
	b := c.buf[(row-c.first)*rowRecBytes:]
	return int32(le.Uint32(b)), int64(le.Uint64(b[4:]))
}

// acc returns row's account number, -1 for a row skipped.
func (c *rowCursor) acc(row int64) int32 {
	a, _ := c.at(row)
	return a
}

func (c *rowCursor) fill(row int64) bool {
	if c.err != nil {
		return false
	}
	if row < 0 || row >= c.rf.rows {
		c.err = fmt.Errorf("cluster: row %d of %s, which has %d", row, c.rf.path, c.rf.rows)
		return false
	}
	k := min(c.rf.rows-row, rowCursorRows)
	if _, err := c.f.ReadAt(c.buf[:k*rowRecBytes], row*rowRecBytes); err != nil {
		c.err = fmt.Errorf("cluster: spill %s: %w", c.rf.path, err)
		c.n = 0
		return false
	}
	c.first, c.n = row, k
	return true
}

// close closes the cursor and returns the first error it met.
func (c *rowCursor) close() error {
	if c.f != nil {
		c.f.Close()
	}
	return c.err
}

// times reads the times of every row back.
func (rf *rowFile) times() ([]int64, error) {
	t := make([]int64, rf.rows)
	c, err := rf.cursor()
	if err != nil {
		return nil, err
	}
	for r := range t {
		_, t[r] = c.at(int64(r))
	}
	return t, c.close()
}

// loadRows reads the base columns of the fingerprints table at path (n
// rows) for a load that reads the signals one at a time, into a rowFile in
// sp: it numbers the accounts by sorted order (d.accounts, d.postCount) and
// counts the rows skipped, those without an account or a post id, which
// noID marks once readIDs, run beside the other reads, returns. What it holds per post is noID's bit; the account numbers in
// the order first seen and the times go through spill files:
//
//   - every shard of the account ids (shardedIntern) writes the (row, first
//     seen number) of its rows, in row order, and the times column its
//     values;
//   - a merge of those in row order writes the rowFile with the first seen
//     numbers, marking the accounts of rows kept;
//   - once the accounts are sorted, a pass over the rowFile turns the
//     numbers into ranks in place.
//
// progress counts the account ids' read as the one read of the rows.
func (d *data) loadRows(ctx context.Context, path string, checkRow func(int64) error, readIDs func() error, noID []uint64, sp *spill) (*rowFile, error) {
	accs := newShardedIntern(runtime.GOMAXPROCS(0))
	accPath := func(g int) string { return sp.path(fmt.Sprintf("rows-account-%d", g)) }
	timePath := sp.path("rows-time")
	rf := &rowFile{path: sp.path("rows"), rows: d.rows}
	shards := len(accs.shards)
	defer func() {
		for g := range shards {
			os.Remove(accPath(g))
		}
		os.Remove(timePath)
	}()
	accCount := make([]int64, len(accs.shards))
	var wg sync.WaitGroup
	var accErr, timeErr, idErr error
	wg.Go(func() { idErr = readIDs() })
	wg.Go(func() {
		accErr = d.readAccounts(path, checkRow, accs, func(g int, read func(put func(row int64, id int32) error) error) error {
			return writeSpill(accPath(g), func(w *bufio.Writer) error {
				var rec [8]byte
				return read(func(row int64, id int32) error {
					le.PutUint32(rec[:], uint32(row))
					le.PutUint32(rec[4:], uint32(id))
					accCount[g]++
					_, err := w.Write(rec[:])
					return err
				})
			})
		})
	})
	wg.Go(func() {
		timeErr = writeSpill(timePath, func(w *bufio.Writer) error {
			var rec [8]byte
			next := int64(0)
			return pqio.EachInt64(path, colPostedAt, func(row, v int64) error {
				if err := checkRow(row); err != nil {
					return err
				}
				if row != next {
					return fmt.Errorf("read %s: %s of row %d after row %d", path, colPostedAt, row, next-1)
				}
				next++
				le.PutUint64(rec[:], uint64(v))
				_, err := w.Write(rec[:])
				return err
			})
		})
	})
	wg.Wait()
	if err := errors.Join(accErr, timeErr, idErr); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	// Merge in row order, a block of rows at a time; mark the accounts of
	// the rows kept.
	used := make([]bool, accs.ids())
	err := writeSpill(rf.path, func(w *bufio.Writer) error {
		tf, err := os.Open(timePath)
		if err != nil {
			return fmt.Errorf("cluster: spill: %w", err)
		}
		defer tf.Close()
		// A shard's (row, number) records, read a buffer at a time.
		type accReader struct {
			f        *os.File
			buf      []byte
			pos, end int
			left     int64 // records not read into buf
		}
		readers := make([]*accReader, len(accs.shards))
		for g := range readers {
			f, err := os.Open(accPath(g))
			if err != nil {
				return fmt.Errorf("cluster: spill: %w", err)
			}
			defer f.Close()
			readers[g] = &accReader{f: f, buf: make([]byte, 8*rowCursorRows), left: accCount[g]}
		}
		ids := make([]int32, rowCursorRows)
		times := make([]byte, 8*rowCursorRows)
		out := make([]byte, rowRecBytes*rowCursorRows)
		for first := int64(0); first < d.rows; first += rowCursorRows {
			k := min(d.rows-first, rowCursorRows)
			if _, err := io.ReadFull(tf, times[:8*k]); err != nil {
				return fmt.Errorf("cluster: spill %s: %w", timePath, err)
			}
			for i := range k {
				ids[i] = -1
			}
			for g, a := range readers {
				for {
					if a.pos == a.end {
						n := min(a.left, rowCursorRows)
						if n == 0 {
							break
						}
						if _, err := io.ReadFull(a.f, a.buf[:8*n]); err != nil {
							return fmt.Errorf("cluster: spill %s: %w", accPath(g), err)
						}
						a.pos, a.end, a.left = 0, int(8*n), a.left-n
					}
					row := int64(le.Uint32(a.buf[a.pos:]))
					if row >= first+k {
						break
					}
					if row < first {
						return fmt.Errorf("cluster: spill %s: row %d after row %d", accPath(g), row, first)
					}
					ids[row-first] = int32(le.Uint32(a.buf[a.pos+4:]))
					a.pos += 8
				}
			}
			for i := range k {
				row := first + i
				acc := ids[i]
				if acc >= 0 && noID[row/64]&(1<<(row%64)) != 0 {
					acc = -1
				}
				if acc < 0 {
					d.skipped++
				} else {
					used[acc] = true
				}
				le.PutUint32(out[rowRecBytes*i:], uint32(acc))
				copy(out[rowRecBytes*i+4:], times[8*i:8*i+8])
			}
			if _, err := w.Write(out[:rowRecBytes*k]); err != nil {
				return fmt.Errorf("cluster: spill %s: %w", rf.path, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}

	// Number the accounts by sorted order.
	accRank := d.rankAccounts(accs, used)
	accs, used = nil, nil
	f, err := os.OpenFile(rf.path, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("cluster: spill: %w", err)
	}
	defer f.Close()
	buf := make([]byte, rowCursorRows*rowRecBytes)
	for first := int64(0); first < d.rows; first += rowCursorRows {
		b := buf[:min(d.rows-first, rowCursorRows)*rowRecBytes]
		off := first * rowRecBytes
		if _, err := f.ReadAt(b, off); err != nil {
			return nil, fmt.Errorf("cluster: spill %s: %w", rf.path, err)
		}
		for k := 0; k < len(b); k += rowRecBytes {
			if a := int32(le.Uint32(b[k:])); a >= 0 {
				r := accRank[a]
				le.PutUint32(b[k:], r)
				d.postCount[r]++
			}
		}
		if _, err := f.WriteAt(b, off); err != nil {
			return nil, fmt.Errorf("cluster: spill %s: %w", rf.path, err)
		}
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("cluster: spill %s: %w", rf.path, err)
	}
	sp.bytes.Add(d.rows * rowRecBytes)
	return rf, nil
}

// writeSpill creates the spill file path and calls write with a buffered
// writer to it, then flushes and closes it.
func writeSpill(path string, write func(w *bufio.Writer) error) (err error) {
	f, err := spillCreate(path)
	if err != nil {
		return fmt.Errorf("cluster: spill: %w", err)
	}
	w := bufio.NewWriterSize(f, 1<<16)
	defer func() {
		if ferr := w.Flush(); err == nil && ferr != nil {
			err = fmt.Errorf("cluster: spill %s: %w", path, ferr)
		}
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("cluster: spill %s: %w", path, cerr)
		}
	}()
	return write(w)
}
