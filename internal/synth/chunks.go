package synth

import (
	"context"
	"runtime"
	"sync"
)

// inOrderChunks renders the rows [lo, hi) in chunks of size rows by
// GOMAXPROCS workers (each made by newWorker, so that it owns its scratch)
// and hands each chunk's bytes to write in row order. At most two chunks
// per worker are in flight, so memory does not grow with the rows. The
// first error (of write, or ctx's) stops the rest.
func inOrderChunks(ctx context.Context, lo, hi, size int, newWorker func() func(from, to int, buf []byte) []byte, write func([]byte) error) error {
	if hi <= lo {
		return nil
	}
	workers := runtime.GOMAXPROCS(0)
	chunks := (hi - lo + size - 1) / size
	workers = min(workers, chunks)
	type job struct {
		k   int
		out chan []byte
	}
	jobs := make(chan job)
	// pending holds the jobs in chunk order; its capacity bounds the
	// chunks in flight.
	pending := make(chan job, 2*workers)
	free := make(chan []byte, 2*workers+1)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			render := newWorker()
			for j := range jobs {
				var buf []byte
				select {
				case buf = <-free:
				default:
				}
				from := lo + j.k*size
				j.out <- render(from, min(from+size, hi), buf[:0])
			}
		}()
	}
	go func() {
		defer close(jobs)
		defer close(pending)
		for k := range chunks {
			j := job{k: k, out: make(chan []byte, 1)}
			select {
			case pending <- j:
			case <-ctx.Done():
				return
			}
			select {
			case jobs <- j:
			case <-ctx.Done():
				return
			}
		}
	}()
	var err error
	for j := range pending {
		if err != nil {
			continue // drain: a job may never have reached a worker
		}
		var b []byte
		select {
		case b = <-j.out:
		case <-ctx.Done():
			err = ctx.Err()
			continue
		}
		if err = ctx.Err(); err == nil {
			err = write(b)
		}
		if err != nil {
			cancel()
		}
		select {
		case free <- b:
		default:
		}
	}
	wg.Wait()
	if err == nil {
		err = ctx.Err() // the producer stopped early
	}
	return err
}
