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
type Span struct{ First, Last int }

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
	first, rows := 0, int64(0)
	for g, rg := range groups {
		rows += rg.NumRows()
		// Close a span once it holds its share of the rows.
		if len(spans) < n-1 && rows*int64(n) >= total*int64(len(spans)+1) {
			spans = append(spans, Span{First: first, Last: g + 1})
			first = g + 1
		}
	}
	if first < len(groups) || len(spans) == 0 {
		spans = append(spans, Span{First: first, Last: len(groups)})
	}
	return spans, nil
}

// NumValues returns the number of values, nulls included, the footer of
// path records for one column (for a list column, its elements).
func NumValues(path, column string) (int, error) { return countValues(path, column, false) }

// NumNonNull returns the number of non-null values of column in path's
// footer: NumValues less the null counts of the column chunks' statistics
// (none where a chunk has no statistics), so that a caller sizing a
// structure by it never gets less than the values read. Columns that are
// mostly null (a repost key, a reply key) have a fraction of NumValues.
func NumNonNull(path, column string) (int, error) { return countValues(path, column, true) }

// countValues sums the values of column's chunks in path's footer, less
// their null counts when nonNull.
func countValues(path, column string, nonNull bool) (int, error) {
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
	for _, rg := range pf.Metadata().RowGroups {
		md := rg.Columns[col.Index()].MetaData
		n += md.NumValues
		if nonNull {
			n -= min(md.NumValues, max(0, md.Statistics.NullCount))
		}
	}
	return int(n), nil
}

// EachInt64BatchIn is EachInt64In with the values handed over in batches:
// fn gets the row numbers and values of up to a page's worth of non-null
// values at a time, in row order. The slices are reused after fn returns.
// Batches let fn run tight loops, which matters when each value costs a
// cache miss (the CPU overlaps the misses of independent iterations).
func EachInt64BatchIn(path, column string, s Span, fn func(rows, vals []int64) error) error {
	var rows, vals, wide []int64
	buf := make([]parquet.Value, columnBatch)
	return eachPage(path, column, s, isInt, func(page parquet.Page, row *int64, maxDef byte) error {
		rows, vals = rows[:0], vals[:0]
		if data, ok := int64Data(page, &wide); ok {
			k := 0
			err := pageLevels(page, maxDef, row, func(r int64, ok bool) error {
				if ok {
					rows = append(rows, r)
					vals = append(vals, data[k])
					k++
				}
				return nil
			})
			if err != nil {
				return err
			}
			if k != len(data) {
				return fmt.Errorf("read %s column %q: a page with %d values has %d non-null level slots", path, column, len(data), k)
			}
		} else if err := pageValues(page, buf, row, func(r int64, v parquet.Value) error {
			rows = append(rows, r)
			vals = append(vals, v.Int64())
			return nil
		}); err != nil {
			return err
		}
		if len(vals) == 0 {
			return nil
		}
		return fn(rows, vals)
	})
}

// isInt accepts the physical types EachInt64 reads.
func isInt(k parquet.Kind) bool { return k == parquet.Int32 || k == parquet.Int64 }

// int64Data returns the non-null values of a page without a dictionary as
// int64s (int32 values widened into *wide, which is reused from page to
// page); ok is false for pages the fast path does not cover.
func int64Data(page parquet.Page, wide *[]int64) ([]int64, bool) {
	if page.Dictionary() != nil {
		return nil, false
	}
	switch page.Type().Kind() {
	case parquet.Int64:
		d := page.Data()
		return d.Int64(), true
	case parquet.Int32:
		d := page.Data()
		out := (*wide)[:0]
		for _, x := range d.Int32() {
			out = append(out, int64(x))
		}
		*wide = out
		return out, true
	}
	return nil, false
}

// EachInt64In is EachInt64 over the row groups of one span.
func EachInt64In(path, column string, s Span, fn func(row, v int64) error) error {
	return EachInt64BatchIn(path, column, s, func(rows, vals []int64) error {
		for i, v := range vals {
			if err := fn(rows[i], v); err != nil {
				return err
			}
		}
		return nil
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
	buf := make([]parquet.Value, columnBatch)
	return eachPage(path, column, s, func(k parquet.Kind) bool {
		return k == parquet.ByteArray || k == parquet.FixedLenByteArray
	}, func(page parquet.Page, row *int64, maxDef byte) error {
		if page.Dictionary() != nil || page.Type().Kind() != parquet.ByteArray {
			return pageValues(page, buf, row, func(r int64, v parquet.Value) error {
				return fn(r, v.ByteArray())
			})
		}
		d := page.Data()
		data, offsets := d.ByteArray()
		k := 0
		err := pageLevels(page, maxDef, row, func(r int64, ok bool) error {
			if !ok {
				return nil
			}
			if k+1 >= len(offsets) {
				return fmt.Errorf("read %s column %q: a page has more non-null level slots than its %d values", path, column, len(offsets)-1)
			}
			b := data[offsets[k]:offsets[k+1]:offsets[k+1]]
			k++
			return fn(r, b)
		})
		if err == nil && k != len(offsets)-1 {
			err = fmt.Errorf("read %s column %q: a page with %d values has %d non-null level slots", path, column, len(offsets)-1, k)
		}
		return err
	})
}

// eachValue streams the leaf values of a top-level column, counting rows by
// repetition level, through parquet.Value: the general path, which the
// typed readers below take for pages they have no fast path for.
func eachValue(path, column string, s Span, kindOK func(parquet.Kind) bool, fn func(row int64, v parquet.Value) error) error {
	buf := make([]parquet.Value, columnBatch)
	return eachPage(path, column, s, kindOK, func(page parquet.Page, row *int64, _ byte) error {
		return pageValues(page, buf, row, fn)
	})
}

// pageValues calls fn for every non-null value of page, advancing *row at
// every value that starts a row.
func pageValues(page parquet.Page, buf []parquet.Value, row *int64, fn func(row int64, v parquet.Value) error) error {
	vr := page.Values()
	for {
		n, err := vr.ReadValues(buf)
		for _, v := range buf[:n] {
			if v.RepetitionLevel() == 0 {
				*row++
			}
			if v.IsNull() {
				continue
			}
			if ferr := fn(*row, v); ferr != nil {
				return ferr
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// pageLevels calls slot for every value slot of a page without a
// dictionary, nulls included: the row it belongs to and whether it holds a
// value, the k-th non-null value of the page's Data being the k-th slot
// with ok true. It is the fast path: levels and values are read from the
// page's buffers, no parquet.Value is made.
func pageLevels(page parquet.Page, maxDef byte, row *int64, slot func(row int64, ok bool) error) error {
	rep, def := page.RepetitionLevels(), page.DefinitionLevels()
	for i := range int(page.NumValues()) {
		if len(rep) == 0 || rep[i] == 0 {
			*row++
		}
		if err := slot(*row, len(def) == 0 || def[i] == maxDef); err != nil {
			return err
		}
	}
	return nil
}

// eachPage opens path and calls fn for every page of one column's leaf in
// the span, with the row counter (the row of the last value read, -1 before
// the span's first row) and the leaf's maximum definition level. It
// releases each page after fn.
func eachPage(path, column string, s Span, kindOK func(parquet.Kind) bool, fn func(page parquet.Page, row *int64, maxDef byte) error) error {
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
	// The pages are read one row group's chunk at a time, each chunk's
	// reader closed at its end, also for the whole file: the column's
	// own reader (Column.Pages) keeps what it read of every chunk until
	// it is closed, which on a 217M-row table (3,312 row groups) held
	// hundreds of MB by the end of each column.
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
	pages := &groupPages{groups: groups[s.First:last], leaf: col.Index()}
	defer pages.Close()
	maxDef := byte(col.MaxDefinitionLevel())
	for {
		page, err := pages.ReadPage()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read %s column %q: %w", path, column, err)
		}
		err = fn(page, &row, maxDef)
		parquet.Release(page)
		if err != nil {
			return err
		}
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
