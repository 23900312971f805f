package pqio

import (
	"errors"
	"fmt"
	"io"

	"github.com/parquet-go/parquet-go"
)

// columnBatch is the number of values read from a page at a time.
const columnBatch = 1024

// EachInt64 calls fn for every non-null value of one column of path, in row
// order, with the value's row number (0-based). The column is a top-level
// field of type int32 or int64 (timestamps and unsigned integers included:
// an unsigned value arrives as its two's-complement int64), or a list of
// them, whose elements then arrive one call each. Only that column's pages
// are read and decompressed, and no row is materialised, which makes this
// several times faster than Each for stages that need a few columns of a
// wide table. An error from fn stops the read and is returned.
func EachInt64(path, column string, fn func(row, v int64) error) error {
	return EachInt64In(path, column, Span{First: 0, Last: -1}, fn)
}

// Span is a run of consecutive row groups of a file, [First, Last); Last -1
// means to the end. Spans lets callers read one column in parts
// concurrently, each part numbering rows from the file's first row.
type Span struct {
	First, Last int
	Rows        int64 // rows in the span (set by Spans)
}

// Spans splits the row groups of path into at most n spans of about equal
// row counts, in file order.
func Spans(path string, n int) ([]Span, error) {
	f, pf, err := openFile(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	groups := pf.RowGroups()
	total := pf.NumRows()
	n = max(1, min(n, len(groups)))
	var spans []Span
	first, rows, spanRows := 0, int64(0), int64(0)
	for g, rg := range groups {
		rows += rg.NumRows()
		spanRows += rg.NumRows()
		// Close a span once it holds its share of the rows.
		if len(spans) < n-1 && rows*int64(n) >= total*int64(len(spans)+1) {
			spans = append(spans, Span{First: first, Last: g + 1, Rows: spanRows})
			first, spanRows = g+1, 0
		}
	}
	if first < len(groups) || len(spans) == 0 {
		spans = append(spans, Span{First: first, Last: len(groups), Rows: spanRows})
	}
	return spans, nil
}

// NumValues returns the number of values, nulls included, the footer of
// path records for one column (for a list column, its elements).
func NumValues(path, column string) (int, error) {
	f, pf, err := openFile(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	col, err := leafColumn(pf, path, column)
	if err != nil {
		return 0, err
	}
	n := int64(0)
	for _, rg := range pf.RowGroups() {
		n += rg.ColumnChunks()[col.Index()].NumValues()
	}
	return int(n), nil
}

// EachInt64BatchIn is EachInt64In with the values handed over in batches:
// fn gets the row numbers and values of up to a page's worth of non-null
// values at a time, in row order. The slices are reused after fn returns.
// Batches let fn run tight loops, which matters when each value costs a
// cache miss (the CPU overlaps the misses of independent iterations).
func EachInt64BatchIn(path, column string, s Span, fn func(rows, vals []int64) error) error {
	rows := make([]int64, 0, columnBatch)
	vals := make([]int64, 0, columnBatch)
	flush := func() error {
		if len(vals) == 0 {
			return nil
		}
		err := fn(rows, vals)
		rows, vals = rows[:0], vals[:0]
		return err
	}
	err := eachValue(path, column, s, func(k parquet.Kind) bool {
		return k == parquet.Int32 || k == parquet.Int64
	}, func(row int64, v parquet.Value) error {
		rows = append(rows, row)
		vals = append(vals, v.Int64())
		if len(vals) == columnBatch {
			return flush()
		}
		return nil
	})
	if err != nil {
		return err
	}
	return flush()
}

// EachInt64In is EachInt64 over the row groups of one span.
func EachInt64In(path, column string, s Span, fn func(row, v int64) error) error {
	return eachValue(path, column, s, func(k parquet.Kind) bool {
		return k == parquet.Int32 || k == parquet.Int64
	}, func(row int64, v parquet.Value) error {
		return fn(row, v.Int64())
	})
}

// EachBytes is EachInt64 for a column of byte arrays (strings) or a list of
// them. b aliases a page buffer: it is valid only during the call, and fn
// must copy what it keeps. An empty string is a value (fn is called with an
// empty b); a null or an empty list is not.
func EachBytes(path, column string, fn func(row int64, b []byte) error) error {
	return EachBytesIn(path, column, Span{First: 0, Last: -1}, fn)
}

// EachBytesIn is EachBytes over the row groups of one span.
func EachBytesIn(path, column string, s Span, fn func(row int64, b []byte) error) error {
	return eachValue(path, column, s, func(k parquet.Kind) bool {
		return k == parquet.ByteArray || k == parquet.FixedLenByteArray
	}, func(row int64, v parquet.Value) error {
		return fn(row, v.ByteArray())
	})
}

// eachValue streams the leaf values of a top-level column, counting rows by
// repetition level.
func eachValue(path, column string, s Span, kindOK func(parquet.Kind) bool, fn func(row int64, v parquet.Value) error) error {
	f, pf, err := openFile(path)
	if err != nil {
		return err
	}
	defer f.Close()
	col, err := leafColumn(pf, path, column)
	if err != nil {
		return err
	}
	if !kindOK(col.Type().Kind()) {
		return fmt.Errorf("read %s: column %q has type %s", path, column, col.Type())
	}
	row := int64(-1)
	var pages parquet.Pages
	if s.First == 0 && s.Last < 0 {
		pages = col.Pages()
	} else {
		groups := pf.RowGroups()
		last := s.Last
		if last < 0 {
			last = len(groups)
		}
		if s.First < 0 || s.First > last || last > len(groups) {
			return fmt.Errorf("read %s: row groups [%d, %d) of %d", path, s.First, s.Last, len(groups))
		}
		for _, rg := range groups[:s.First] {
			row += rg.NumRows()
		}
		pages = &groupPages{groups: groups[s.First:last], leaf: col.Index()}
	}
	defer pages.Close()
	buf := make([]parquet.Value, columnBatch)
	for {
		page, err := pages.ReadPage()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read %s column %q: %w", path, column, err)
		}
		vr := page.Values()
		for {
			n, err := vr.ReadValues(buf)
			for _, v := range buf[:n] {
				if v.RepetitionLevel() == 0 {
					row++
				}
				if v.IsNull() {
					continue
				}
				if ferr := fn(row, v); ferr != nil {
					parquet.Release(page)
					return ferr
				}
			}
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				parquet.Release(page)
				return fmt.Errorf("read %s column %q: %w", path, column, err)
			}
		}
		parquet.Release(page)
	}
}

// groupPages reads one leaf column's pages through a run of row groups.
type groupPages struct {
	groups []parquet.RowGroup
	leaf   int
	cur    parquet.Pages
}

func (g *groupPages) ReadPage() (parquet.Page, error) {
	for {
		if g.cur == nil {
			if len(g.groups) == 0 {
				return nil, io.EOF
			}
			g.cur = g.groups[0].ColumnChunks()[g.leaf].Pages()
			g.groups = g.groups[1:]
		}
		p, err := g.cur.ReadPage()
		if errors.Is(err, io.EOF) {
			g.cur.Close()
			g.cur = nil
			continue
		}
		return p, err
	}
}

func (g *groupPages) SeekToRow(int64) error { return errors.New("groupPages: seek not supported") }

func (g *groupPages) Close() error {
	if g.cur != nil {
		return g.cur.Close()
	}
	return nil
}

// leafColumn returns the leaf of a top-level column: the column itself, or
// the element of a list (a group whose single leaf is the element).
func leafColumn(pf *parquet.File, path, column string) (*parquet.Column, error) {
	col := pf.Root().Column(column)
	if col == nil {
		return nil, fmt.Errorf("read %s: no column %q", path, column)
	}
	for !col.Leaf() {
		if len(col.Columns()) != 1 {
			return nil, fmt.Errorf("read %s: column %q is a group of %d columns, not a value or a list", path, column, len(col.Columns()))
		}
		col = col.Columns()[0]
	}
	return col, nil
}
