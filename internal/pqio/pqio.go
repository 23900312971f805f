// Package pqio is the only package that reads and writes Parquet. Every file
// it writes is byte-deterministic for the same rows: the created_by field is
// pinned, row groups are bounded by a row count, pages are compressed with
// Snappy and no wall-clock time is written.
package pqio

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/parquet-go/parquet-go"
)

// CreatedBy is written into every file's footer instead of the library's
// version string, so that upgrading the library does not change output bytes.
const CreatedBy = "takedown"

// FormatVersion names the writer settings below (Snappy compression with
// the fast encoder, no statistics in data page headers, row-group size,
// page size). It enters every stage's run id (see the runner), so change it
// whenever a setting changes: the bytes change.
//
// Version 2 moved zstd from the default to the fastest level: on a 300k-post
// archive normalize took 1.8 s of CPU instead of 2.9 s and fingerprint 3.4 s
// instead of 4.3 s, for posts.parquet 18% larger. Version 3 moved to Snappy,
// the codec Spark and pandas write by default, and dropped the statistics
// of data page headers, which repeat the column index and the column chunk
// statistics (both still written): on the 1M-row benchmark file the
// normalize, fingerprint and cluster chain took 0.92x the wall time and
// 0.91x the CPU, for posts.parquet 34 MB to 42 MB. Version 4 encodes the
// Snappy blocks with s2's fast encoder instead of parquet-go's default
// ("better") one: normalize took 0.96x the wall time and 0.95x the CPU on
// that file, for posts.parquet 48 MB.
const FormatVersion = 4

// RowGroupRows bounds the rows held in memory per row group.
const RowGroupRows = 64 * 1024

const readBatch = 4096

// Writer streams rows of type T into one Parquet file.
type Writer[T any] struct {
	f    *os.File
	buf  *bufio.Writer
	w    *parquet.GenericWriter[T]
	path string
	rows int64
}

// TestHookCreate is for tests only and nil otherwise: when set, Create
// calls it after creating path and writes the rows into the file it returns
// instead (when not nil), e.g. /dev/full to fail with ENOSPC as a full disk
// does, through the real error path of the writer, the stage and the store.
var TestHookCreate func(path string) (*os.File, error)

// Create opens path for writing rows of type T.
func Create[T any](path string) (*Writer[T], error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", path, err)
	}
	if TestHookCreate != nil {
		hf, err := TestHookCreate(path)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("create %s: %w", path, err)
		}
		if hf != nil {
			f.Close()
			f = hf
		}
	}
	buf := bufio.NewWriterSize(f, 1<<20)
	w := parquet.NewGenericWriter[T](buf,
		parquet.CreatedBy(CreatedBy, "", ""),
		parquet.Compression(&snappyCodec{}),
		parquet.DataPageStatistics(false),
		parquet.MaxRowsPerRowGroup(RowGroupRows),
		parquet.PageBufferSize(256*1024),
	)
	return &Writer[T]{f: f, buf: buf, w: w, path: path}, nil
}

// Write appends rows.
func (w *Writer[T]) Write(rows ...T) error {
	if len(rows) == 0 {
		return nil
	}
	if _, err := w.w.Write(rows); err != nil {
		return fmt.Errorf("write %s: %w", w.path, err)
	}
	w.rows += int64(len(rows))
	return nil
}

// Rows reports how many rows were written so far.
func (w *Writer[T]) Rows() int64 { return w.rows }

// Close writes the file footer and closes the file. It does not fsync:
// durability is the store's job, which fsyncs every output of a run once,
// before publishing it.
func (w *Writer[T]) Close() error {
	err := w.w.Close()
	if err == nil {
		err = w.buf.Flush()
	}
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("close %s: %w", w.path, err)
	}
	return nil
}

// Abort closes the file without finishing it and removes it.
func (w *Writer[T]) Abort() {
	w.f.Close()
	os.Remove(w.path)
}

// WriteFile writes all rows to path in one call and returns the row count.
func WriteFile[T any](path string, rows []T) (int64, error) {
	w, err := Create[T](path)
	if err != nil {
		return 0, err
	}
	for i := 0; i < len(rows); i += RowGroupRows {
		j := min(i+RowGroupRows, len(rows))
		if err := w.Write(rows[i:j]...); err != nil {
			w.Abort()
			return 0, err
		}
	}
	if err := w.Close(); err != nil {
		os.Remove(path)
		return 0, err
	}
	return w.Rows(), nil
}

// Each streams the rows of path in batches to fn. The batch slice is reused
// between calls: fn must copy what it keeps beyond the call.
func Each[T any](path string, fn func(batch []T) error) error {
	f, pf, err := openFile(path)
	if err != nil {
		return err
	}
	defer f.Close()
	r := parquet.NewGenericReader[T](pf)
	defer r.Close()
	batch := make([]T, readBatch)
	for {
		clear(batch)
		n, err := r.Read(batch)
		if n > 0 {
			if ferr := fn(batch[:n]); ferr != nil {
				return ferr
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read %s: %w", path, err)
		}
	}
}

// ReadAll reads every row of path.
func ReadAll[T any](path string) ([]T, error) {
	var out []T
	err := Each(path, func(b []T) error {
		out = append(out, b...)
		return nil
	})
	return out, err
}

// NumRows returns the row count recorded in the footer of path.
func NumRows(path string) (int64, error) {
	f, pf, err := openFile(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	return pf.NumRows(), nil
}

// Remote opens files that are not on the local disk, for random access
// (objects of a workspace on object storage, read by ranges): Match says
// whether a path is one, Open opens it. Package runner sets it from package
// store; nil reads local files only.
var Remote struct {
	Match func(path string) bool
	Open  func(path string) (io.ReaderAt, int64, io.Closer, error)
}

// openOptions are how every read opens a file: without the page index and
// the bloom filters, which no read here uses (they go through the pages in
// order). The page index of a 217M-row table with 3,312 row groups took 52
// MB of the 97 MB an open file held, and the cluster stage opens its
// table once per concurrent read.
var openOptions = []parquet.FileOption{parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true)}

// openFile opens a Parquet file and reads its footer. The caller closes the
// returned file.
func openFile(path string) (io.Closer, *parquet.File, error) {
	if Remote.Match != nil && Remote.Match(path) {
		r, size, c, err := Remote.Open(path)
		if err != nil {
			return nil, nil, fmt.Errorf("open %s: %w", path, err)
		}
		pf, err := parquet.OpenFile(r, size, openOptions...)
		if err != nil {
			c.Close()
			return nil, nil, fmt.Errorf("read %s: %w", path, err)
		}
		return c, pf, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("open %s: %w", path, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("stat %s: %w", path, err)
	}
	pf, err := parquet.OpenFile(f, st.Size(), openOptions...)
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("read %s: %w", path, err)
	}
	return f, pf, nil
}

// Reader reads the rows of one Parquet file in order, as many at a time as
// the caller asks (Each gives batches of its own size).
type Reader[T any] struct {
	path string
	f    io.Closer
	r    *parquet.GenericReader[T]
}

// Open opens path for reading rows of type T.
func Open[T any](path string) (*Reader[T], error) {
	f, pf, err := openFile(path)
	if err != nil {
		return nil, err
	}
	return &Reader[T]{path: path, f: f, r: parquet.NewGenericReader[T](pf)}, nil
}

// ReadFull fills rows with the next len(rows) rows; fewer at the end of the
// file (then err is io.EOF).
func (r *Reader[T]) ReadFull(rows []T) (int, error) {
	n := 0
	for n < len(rows) {
		k, err := r.r.Read(rows[n:])
		n += k
		if errors.Is(err, io.EOF) {
			return n, io.EOF
		}
		if err != nil {
			return n, fmt.Errorf("read %s: %w", r.path, err)
		}
	}
	return n, nil
}

// Close closes the file.
func (r *Reader[T]) Close() error {
	r.r.Close()
	return r.f.Close()
}
