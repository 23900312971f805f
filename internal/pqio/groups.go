package pqio

import (
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/parquet-go/parquet-go"
)

// Groups reads a file one row group at a time, one column at a time, into
// typed buffers that are reused from group to group. It is the fast way to
// read several columns of every row: no row is assembled through
// reflection, and pages without a dictionary are read straight from their
// buffers. The columns of one group are then zipped into rows by the
// caller, who knows their types.
type Groups struct {
	f    io.Closer
	pf   *parquet.File
	path string
	rows []int64 // rows per row group
}

// OpenGroups opens path for reading by row group.
func OpenGroups(path string) (*Groups, error) {
	f, pf, err := openFile(path)
	if err != nil {
		return nil, err
	}
	g := &Groups{f: f, pf: pf, path: path}
	for _, rg := range pf.RowGroups() {
		g.rows = append(g.rows, rg.NumRows())
	}
	return g, nil
}

// Len returns the number of row groups.
func (g *Groups) Len() int { return len(g.rows) }

// Rows returns the number of rows in row group i.
func (g *Groups) Rows(i int) int { return int(g.rows[i]) }

// Close closes the file.
func (g *Groups) Close() error { return g.f.Close() }

// GroupColumn holds one column, or list column, over the rows of one row
// group: row r's values are Values[Starts[r]:Starts[r+1]]. A required
// column has one value per row; a null or an empty list has none. A read
// overwrites the slices Values and Starts.
type GroupColumn[V any] struct {
	Values []V
	Starts []int32
}

// Row returns the values of row r.
func (c *GroupColumn[V]) Row(r int) []V {
	return c.Values[c.Starts[r]:c.Starts[r+1]:c.Starts[r+1]]
}

// One returns the first value of row r, or the zero value when it has none.
func (c *GroupColumn[V]) One(r int) V {
	if c.Starts[r] == c.Starts[r+1] {
		var zero V
		return zero
	}
	return c.Values[c.Starts[r]]
}

// Opt returns a copy of the first value of row r, or nil when it has none
// (a null of an optional column).
func (c *GroupColumn[V]) Opt(r int) *V {
	if c.Starts[r] == c.Starts[r+1] {
		return nil
	}
	v := c.Values[c.Starts[r]]
	return &v
}

// Strings is a column of strings (byte arrays). The values of a page
// without a dictionary are substrings of one string allocated for the
// page, so they cost no allocation each, and they stay valid after the
// next read.
type Strings = GroupColumn[string]

// Int64s is a column of int32 or int64 values (timestamps and unsigned
// integers included, as their two's-complement int64).
type Int64s = GroupColumn[int64]

// Bools is a column of booleans.
type Bools = GroupColumn[bool]

// ReadStrings reads one byte-array column (or list of them) of row group
// group into s.
func (g *Groups) ReadStrings(group int, column string, s *Strings) error {
	return readColumn(g, group, column, isBytes, s, func(v parquet.Value) string { return string(v.ByteArray()) },
		func(page parquet.Page, maxDef byte, next func() int32) (bool, error) {
			if page.Dictionary() != nil || page.Type().Kind() != parquet.ByteArray {
				return false, nil
			}
			d := page.Data()
			data, offsets := d.ByteArray()
			// The page's values are consecutive in data: one string holds
			// them all, and each value is a substring of it.
			all := string(data)
			if len(page.RepetitionLevels()) == 0 && len(page.DefinitionLevels()) == 0 {
				// A required top-level column: one value per row.
				for k := range len(offsets) - 1 {
					s.Starts = append(s.Starts, next())
					s.Values = append(s.Values, all[offsets[k]:offsets[k+1]])
				}
				return true, nil
			}
			return true, g.fastSlots(page, maxDef, column, &s.Starts, next, len(offsets)-1, func(k int) {
				s.Values = append(s.Values, all[offsets[k]:offsets[k+1]])
			})
		})
}

// ReadInt64s reads one int32 or int64 column (or list of them) of row group
// group into s.
func (g *Groups) ReadInt64s(group int, column string, s *Int64s) error {
	var wide []int64
	return readColumn(g, group, column, isInt, s, parquet.Value.Int64,
		func(page parquet.Page, maxDef byte, next func() int32) (bool, error) {
			data, ok := int64Data(page, &wide)
			if !ok {
				return false, nil
			}
			return true, g.fastSlots(page, maxDef, column, &s.Starts, next, len(data), func(k int) {
				s.Values = append(s.Values, data[k])
			})
		})
}

// ReadBools reads one boolean column (or list of them) of row group group
// into s.
func (g *Groups) ReadBools(group int, column string, s *Bools) error {
	return readColumn(g, group, column, func(k parquet.Kind) bool { return k == parquet.Boolean }, s, parquet.Value.Boolean,
		func(parquet.Page, byte, func() int32) (bool, error) { return false, nil })
}

// readColumn reads one column of row group group into c: each page through
// fast, which reports whether it took the page, or else value by value
// through parquet.Value, converted by conv.
func readColumn[V any](g *Groups, group int, column string, kindOK func(parquet.Kind) bool, c *GroupColumn[V],
	conv func(parquet.Value) V, fast func(page parquet.Page, maxDef byte, next func() int32) (bool, error)) error {
	c.Values, c.Starts = c.Values[:0], c.Starts[:0]
	next := func() int32 { return int32(len(c.Values)) }
	vals := make([]parquet.Value, columnBatch)
	err := g.eachPage(group, column, kindOK, func(page parquet.Page, maxDef byte) error {
		if len(c.Values) > math.MaxInt32-int(page.NumValues()) {
			return fmt.Errorf("read %s column %q: row group %d holds over 2^31 values", g.path, column, group)
		}
		if ok, err := fast(page, maxDef, next); ok || err != nil {
			return err
		}
		return pageSlots(page, vals, &c.Starts, next, func(v parquet.Value) { c.Values = append(c.Values, conv(v)) })
	})
	if err != nil {
		return err
	}
	c.Starts = append(c.Starts, next())
	return g.checkRows(group, column, c.Starts)
}

// fastSlots walks the level slots of a page whose n non-null values the
// caller reads from its buffers: value(k) takes the k-th. It reports a page
// whose levels and values disagree.
func (g *Groups) fastSlots(page parquet.Page, maxDef byte, column string, starts *[]int32, next func() int32, n int, value func(k int)) error {
	k := 0
	err := levelSlots(page, maxDef, starts, next, func() error {
		if k >= n {
			return fmt.Errorf("read %s column %q: a page has more non-null level slots than its %d values", g.path, column, n)
		}
		value(k)
		k++
		return nil
	})
	if err == nil && k != n {
		err = fmt.Errorf("read %s column %q: a page with %d values has %d non-null level slots", g.path, column, n, k)
	}
	return err
}

// isBytes accepts the physical types ReadStrings and EachBytes read.
func isBytes(k parquet.Kind) bool { return k == parquet.ByteArray || k == parquet.FixedLenByteArray }

// eachPage calls fn for every page of one column's leaf in one row group.
func (g *Groups) eachPage(group int, column string, kindOK func(parquet.Kind) bool, fn func(page parquet.Page, maxDef byte) error) error {
	if group < 0 || group >= len(g.rows) {
		return fmt.Errorf("read %s: row group %d of %d", g.path, group, len(g.rows))
	}
	col, err := leafColumn(g.pf, g.path, column)
	if err != nil {
		return err
	}
	if !kindOK(col.Type().Kind()) {
		return fmt.Errorf("read %s: column %q has type %s", g.path, column, col.Type())
	}
	maxDef := byte(col.MaxDefinitionLevel())
	pages := g.pf.RowGroups()[group].ColumnChunks()[col.Index()].Pages()
	defer pages.Close()
	for {
		page, err := pages.ReadPage()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read %s column %q row group %d: %w", g.path, column, group, err)
		}
		err = fn(page, maxDef)
		parquet.Release(page)
		if err != nil {
			return err
		}
	}
}

// checkRows reports a column whose row count disagrees with its group's.
func (g *Groups) checkRows(group int, column string, starts []int32) error {
	if got := len(starts) - 1; int64(got) != g.rows[group] {
		return fmt.Errorf("read %s column %q row group %d: %d rows, the footer says %d", g.path, column, group, got, g.rows[group])
	}
	return nil
}

// levelSlots walks the level slots of a page without a dictionary: a slot
// with repetition level 0 starts a row (its first value index, next(), is
// appended to starts), and value is called for every slot that holds a
// non-null value, in order.
func levelSlots(page parquet.Page, maxDef byte, starts *[]int32, next func() int32, value func() error) error {
	rep, def := page.RepetitionLevels(), page.DefinitionLevels()
	for i := range int(page.NumValues()) {
		if len(rep) == 0 || rep[i] == 0 {
			*starts = append(*starts, next())
		}
		if len(def) == 0 || def[i] == maxDef {
			if err := value(); err != nil {
				return err
			}
		}
	}
	return nil
}

// pageSlots is levelSlots through parquet.Value, for the pages the fast
// paths do not cover (dictionaries, other physical types).
func pageSlots(page parquet.Page, buf []parquet.Value, starts *[]int32, next func() int32, value func(parquet.Value)) error {
	vr := page.Values()
	for {
		n, err := vr.ReadValues(buf)
		for _, v := range buf[:n] {
			if v.RepetitionLevel() == 0 {
				*starts = append(*starts, next())
			}
			if !v.IsNull() {
				value(v)
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
