package summarize

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/takedown-research/takedown/internal/kmerge"
)

// spillBudget is roughly how many bytes of keys a spillCounter keeps in
// memory (each entry counted as its key plus spillEntryBytes) before it
// writes them, sorted, as a run to disk.
var spillBudget = 32 << 20

// spillEntryBytes is what one map entry costs besides its key bytes.
const spillEntryBytes = 64

// spillMaxRuns is how many runs a spillCounter keeps before it merges them
// into one, so that merging never holds more files open.
var spillMaxRuns = 64

// spillCounter counts byte-string keys, combining the values of equal keys
// with combine: in memory up to spillBudget, then as sorted runs spilled to
// files under dir, merged in key order by each. Memory is bounded by
// spillBudget whatever the number of distinct keys.
type spillCounter struct {
	dir     string
	combine func(a, b int64) int64
	index   map[string]int32
	keys    []string
	vals    []int64
	bytes   int
	spill   kmerge.Dir
	runs    []string
}

func newSpillCounter(dir string, combine func(a, b int64) int64) *spillCounter {
	return &spillCounter{dir: dir, combine: combine, index: map[string]int32{}}
}

func sumCombine(a, b int64) int64 { return a + b }

// add combines v into key's value.
func (c *spillCounter) add(key []byte, v int64) error {
	if i, ok := c.index[string(key)]; ok {
		c.vals[i] = c.combine(c.vals[i], v)
		return nil
	}
	k := string(key)
	c.index[k] = int32(len(c.keys))
	c.keys = append(c.keys, k)
	c.vals = append(c.vals, v)
	c.bytes += len(k) + spillEntryBytes
	if c.bytes >= spillBudget {
		return c.flush()
	}
	return nil
}

// sorted returns the in-memory entries' indexes in key order.
func (c *spillCounter) sorted() []int32 {
	order := make([]int32, len(c.keys))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(a, b int32) int { return strings.Compare(c.keys[a], c.keys[b]) })
	return order
}

func (c *spillCounter) newRun() (*os.File, error) {
	path, err := c.spill.Next(c.dir, "summarize", "run-%06d")
	if err != nil {
		return nil, err
	}
	return os.Create(path)
}

// flush writes the in-memory entries, sorted, as a new run.
func (c *spillCounter) flush() error {
	f, err := c.newRun()
	if err != nil {
		return err
	}
	w := newRunWriter(f)
	for _, i := range c.sorted() {
		w.write(c.keys[i], c.vals[i])
	}
	if err := w.close(); err != nil {
		return err
	}
	c.runs = append(c.runs, f.Name())
	clear(c.index)
	c.keys, c.vals, c.bytes = c.keys[:0], c.vals[:0], 0
	if len(c.runs) >= spillMaxRuns {
		return c.compact()
	}
	return nil
}

// compact merges the runs into one.
func (c *spillCounter) compact() error {
	f, err := c.newRun()
	if err != nil {
		return err
	}
	w := newRunWriter(f)
	err = c.mergeRuns(c.runs, func(k []byte, v int64) error {
		w.write(string(k), v)
		return nil
	})
	if cerr := w.close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	for _, p := range c.runs {
		os.Remove(p)
	}
	c.runs = append(c.runs[:0], f.Name())
	return nil
}

// each calls fn for every key in byte order with its combined value. The
// key is valid during the call only. The counter is empty afterwards.
func (c *spillCounter) each(fn func(key []byte, v int64) error) error {
	if len(c.runs) == 0 {
		for _, i := range c.sorted() {
			if err := fn([]byte(c.keys[i]), c.vals[i]); err != nil {
				return err
			}
		}
		c.index, c.keys, c.vals = map[string]int32{}, nil, nil
		return nil
	}
	if len(c.keys) > 0 {
		if err := c.flush(); err != nil {
			return err
		}
	}
	c.index, c.keys, c.vals = map[string]int32{}, nil, nil
	return c.mergeRuns(c.runs, fn)
}

// mergeRuns merges sorted runs, combining equal keys.
func (c *spillCounter) mergeRuns(runs []string, fn func(key []byte, v int64) error) error {
	rs := make([]*kvReader, 0, len(runs))
	for _, p := range runs {
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		rs = append(rs, &kvReader{r: bufio.NewReaderSize(f, 1<<16), path: p})
	}
	var key []byte
	var val int64
	have := false
	err := kmerge.Merge(rs, (*kvReader).next, func(a, b *kvReader) bool { return bytes.Compare(a.key, b.key) < 0 },
		func(r *kvReader) error {
			if have && bytes.Equal(key, r.key) {
				val = c.combine(val, r.val)
				return nil
			}
			if have {
				if err := fn(key, val); err != nil {
					return err
				}
			}
			key = append(key[:0], r.key...)
			val, have = r.val, true
			return nil
		})
	if err != nil {
		return err
	}
	if have {
		return fn(key, val)
	}
	return nil
}

// cleanup removes the spilled runs.
func (c *spillCounter) cleanup() {
	c.spill.Remove()
}

// runWriter writes one run: per entry the key's length (uvarint), the key
// and the value (varint).
type runWriter struct {
	f   *os.File
	w   *bufio.Writer
	b   [2 * binary.MaxVarintLen64]byte
	err error
}

func newRunWriter(f *os.File) *runWriter {
	return &runWriter{f: f, w: bufio.NewWriterSize(f, 1<<16)}
}

func (w *runWriter) write(k string, v int64) {
	if w.err != nil {
		return
	}
	n := binary.PutUvarint(w.b[:], uint64(len(k)))
	if _, w.err = w.w.Write(w.b[:n]); w.err != nil {
		return
	}
	if _, w.err = w.w.WriteString(k); w.err != nil {
		return
	}
	n = binary.PutVarint(w.b[:], v)
	_, w.err = w.w.Write(w.b[:n])
}

func (w *runWriter) close() error {
	err := w.err
	if err == nil {
		err = w.w.Flush()
	}
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write spilled run: %w", err)
	}
	return nil
}

type kvReader struct {
	r    *bufio.Reader
	path string
	key  []byte
	val  int64
}

func (r *kvReader) next() (bool, error) {
	n, err := binary.ReadUvarint(r.r)
	if errors.Is(err, io.EOF) {
		return false, nil
	}
	if err == nil {
		r.key = slices.Grow(r.key[:0], int(n))[:n]
		_, err = io.ReadFull(r.r, r.key)
	}
	if err == nil {
		r.val, err = binary.ReadVarint(r.r)
	}
	if err != nil {
		return false, fmt.Errorf("read spilled run %s: %w", r.path, err)
	}
	return true, nil
}

// topList keeps the n entries of largest count (ties by value ascending)
// of a stream of distinct values: the result of topN over the same counts.
type topList struct {
	n   int
	all []ranked
}

func (t *topList) add(value string, count int64) {
	t.all = append(t.all, ranked{value, count})
	if len(t.all) >= 2*t.n+64 {
		t.trim()
	}
}

func (t *topList) trim() {
	slices.SortFunc(t.all, rankedCmp)
	if len(t.all) > t.n {
		clear(t.all[t.n:])
		t.all = t.all[:t.n]
	}
}

// result returns the ranked list.
func (t *topList) result() []ranked {
	t.trim()
	return t.all
}
