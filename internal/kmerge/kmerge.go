// Package kmerge is the one k-way merge of the stages' external sorts:
// sorted runs spilled to disk are read back through cursors and visited in
// order. Ties are visited in an order fixed by the cursors' order, so a
// merge is as deterministic as its inputs.
package kmerge

import (
	"container/heap"
	"fmt"
	"os"
	"path/filepath"
)

// Merge advances every cursor once with next (which reports whether the
// cursor holds an item), then repeatedly calls visit with the cursor whose
// item is least by less and advances it, until every cursor is exhausted.
// The first error of next or visit stops the merge and is returned.
func Merge[C any](cursors []C, next func(C) (bool, error), less func(a, b C) bool, visit func(C) error) error {
	h := &cursorHeap[C]{less: less}
	for _, c := range cursors {
		ok, err := next(c)
		if err != nil {
			return err
		}
		if ok {
			h.cs = append(h.cs, c)
		}
	}
	heap.Init(h)
	for len(h.cs) > 0 {
		top := h.cs[0]
		if err := visit(top); err != nil {
			return err
		}
		ok, err := next(top)
		if err != nil {
			return err
		}
		if ok {
			heap.Fix(h, 0)
		} else {
			heap.Pop(h)
		}
	}
	return nil
}

type cursorHeap[C any] struct {
	cs   []C
	less func(a, b C) bool
}

func (h *cursorHeap[C]) Len() int           { return len(h.cs) }
func (h *cursorHeap[C]) Less(i, j int) bool { return h.less(h.cs[i], h.cs[j]) }
func (h *cursorHeap[C]) Swap(i, j int)      { h.cs[i], h.cs[j] = h.cs[j], h.cs[i] }
func (h *cursorHeap[C]) Push(x any)         { h.cs = append(h.cs, x.(C)) }
func (h *cursorHeap[C]) Pop() any {
	x := h.cs[len(h.cs)-1]
	h.cs = h.cs[:len(h.cs)-1]
	return x
}

// Dir is where a stage spills its sorted runs: a hidden directory
// .<prefix>-spill-* created inside a parent directory on the first run, and
// removed by Remove. The zero value is ready for use.
type Dir struct {
	path string
	n    int
}

// Next returns the path of the next run file, named by pattern (a format
// with one %d, the run's number from 0), creating the directory in parent
// on first use.
func (d *Dir) Next(parent, prefix, pattern string) (string, error) {
	if d.path == "" {
		p, err := os.MkdirTemp(parent, "."+prefix+"-spill-")
		if err != nil {
			return "", fmt.Errorf("spill directory: %w", err)
		}
		d.path = p
	}
	d.n++
	return filepath.Join(d.path, fmt.Sprintf(pattern, d.n-1)), nil
}

// Remove removes the directory and every run in it.
func (d *Dir) Remove() {
	if d.path != "" {
		os.RemoveAll(d.path)
		d.path = ""
	}
}
