package normalize

import (
	"sync"
	"sync/atomic"
)

// asyncWriter hands batches of rows to a goroutine that writes them in the
// order they were handed over, so that Parquet encoding overlaps with CSV
// parsing. The file bytes are the same as with a direct writer:
//
//	parse goroutine --batch--> chan (asyncQueue batches) --> write goroutine --> pqio.Writer
type asyncWriter[T any] struct {
	w      rowWriter[T]
	ch     chan []T
	free   chan []T // written batches, cleared, for reuse by Write
	wg     sync.WaitGroup
	err    error // set by the write goroutine; read after wg.Wait or when failed is set
	failed atomic.Bool
	closed bool
}

// asyncQueue is how many batches may wait for the write goroutine.
const asyncQueue = 2

// newAsyncWriter starts the write goroutine for w.
func newAsyncWriter[T any](w rowWriter[T]) *asyncWriter[T] {
	a := &asyncWriter[T]{w: w, ch: make(chan []T, asyncQueue), free: make(chan []T, asyncQueue+1)}
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		for b := range a.ch {
			if a.err != nil {
				continue // drain
			}
			if err := a.w.Write(b...); err != nil {
				a.err = err
				a.failed.Store(true)
			}
			clear(b) // drop references to the rows' strings
			select {
			case a.free <- b[:0]:
			default:
			}
		}
	}()
	return a
}

// Write queues a copy of rows. It reports an earlier write's error.
func (a *asyncWriter[T]) Write(rows ...T) error {
	if a.failed.Load() {
		return a.wait()
	}
	if len(rows) == 0 {
		return nil
	}
	var b []T
	select {
	case b = <-a.free:
	default:
	}
	a.ch <- append(b, rows...)
	return nil
}

// Hand queues rows themselves, without a copy: the caller must not touch
// them again. It returns an empty buffer to fill next (a written batch's,
// or nil) and reports an earlier write's error.
func (a *asyncWriter[T]) Hand(rows []T) ([]T, error) {
	if a.failed.Load() {
		return nil, a.wait()
	}
	var b []T
	select {
	case b = <-a.free:
	default:
	}
	if len(rows) > 0 {
		a.ch <- rows
	}
	return b, nil
}

// wait stops the goroutine once the queue is written and returns the first
// write error. It may be called more than once.
func (a *asyncWriter[T]) wait() error {
	if !a.closed {
		a.closed = true
		close(a.ch)
	}
	a.wg.Wait()
	return a.err
}
