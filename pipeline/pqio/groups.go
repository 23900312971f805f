package pqio

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"

	"github.com/parquet-go/parquet-go"
)

// Groups reads a file one row group at a time, one column at a time, into
// typed buffers that are reused from group to group. It is the fast way to
// read several columns of every row: no row is assembled through
// reflection, and pages without a dictionary are read straight from their
// buffers. The columns of one group are then zipped into rows by the
// caller, who knows their types.
type Groups struct {
	f    *os.File
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

// Strings holds one column of strings, or of lists of strings, over the
// rows of one row group: row r's values are Values[Starts[r]:Starts[r+1]].
// A required column has one value per row; a null or an empty list has
// none. The values of a page without a dictionary are substrings of one
// string allocated for the page, so they cost no allocation each. Values
// stay valid after the next read, while the slices Values and Starts are
// overwritten by it.
type Strings struct {
	Values []string
	Starts []int32
}

// Row returns the values of row r.
func (s *Strings) Row(r int) []string {
	return s.Values[s.Starts[r]:s.Starts[r+1]:s.Starts[r+1]]
}

// One returns the first value of row r, or "" when it has none.
func (s *Strings) One(r int) string {
	if s.Starts[r] == s.Starts[r+1] {
		return ""
	}
	return s.Values[s.Starts[r]]
}

// Int64s is Strings for a column of int32 or int64 values (timestamps and
// unsigned integers included, as their two's-complement int64).
type Int64s struct {
	Values []int64
	Starts []int32
}

// One returns the first value of row r, or 0 when it has none.
func (s *Int64s) One(r int) int64 {
	if s.Starts[r] == s.Starts[r+1] {
		return 0
	}
	return s.Values[s.Starts[r]]
}

// Bools is Strings for a column of booleans.
type Bools struct {
	Values []bool
	Starts []int32
}

// One returns the first value of row r, or false when it has none.
func (s *Bools) One(r int) bool {
	return s.Starts[r] != s.Starts[r+1] && s.Values[s.Starts[r]]
}

// ReadStrings reads one byte-array column (or list of them) of row group
// group into s.
func (g *Groups) ReadStrings(group int, column string, s *Strings) error {
	s.Values, s.Starts = s.Values[:0], s.Starts[:0]
	next := func() int32 { return int32(len(s.Values)) }
	vals := make([]parquet.Value, columnBatch)
	err := g.eachPage(group, column, isBytes, func(page parquet.Page, maxDef byte) error {
		if len(s.Values) > math.MaxInt32-int(page.NumValues()) {
			return fmt.Errorf("read %s column %q: row group %d holds over 2^31 values", g.path, column, group)
		}
		if page.Dictionary() != nil || page.Type().Kind() != parquet.ByteArray {
			return pageSlots(page, vals, &s.Starts, next, func(v parquet.Value) {
				s.Values = append(s.Values, string(v.ByteArray()))
			})
		}
		d := page.Data()
		data, offsets := d.ByteArray()
		// The page's values are consecutive in data: one string holds them
		// all, and each value is a substring of it.
		all := string(data)
		if len(page.RepetitionLevels()) == 0 && len(page.DefinitionLevels()) == 0 {
			// A required top-level column: one value per row.
			for k := range len(offsets) - 1 {
				s.Starts = append(s.Starts, next())
				s.Values = append(s.Values, all[offsets[k]:offsets[k+1]])
			}
			return nil
		}
		k := 0
		err := levelSlots(page, maxDef, &s.Starts, next, func() error {
			if k+1 >= len(offsets) {
				return fmt.Errorf("read %s column %q: a page has more non-null level slots than its %d values", g.path, column, len(offsets)-1)
			}
			s.Values = append(s.Values, all[offsets[k]:offsets[k+1]])
			k++
			return nil
		})
		if err == nil && k != len(offsets)-1 {
			err = fmt.Errorf("read %s column %q: a page with %d values has %d non-null level slots", g.path, column, len(offsets)-1, k)
		}
		return err
	})
	if err != nil {
		return err
	}
	s.Starts = append(s.Starts, next())
	return g.checkRows(group, column, s.Starts)
}

// ReadInt64s reads one int32 or int64 column (or list of them) of row group
// group into s.
func (g *Groups) ReadInt64s(group int, column string, s *Int64s) error {
	s.Values, s.Starts = s.Values[:0], s.Starts[:0]
	next := func() int32 { return int32(len(s.Values)) }
	vals := make([]parquet.Value, columnBatch)
	var wide []int64
	err := g.eachPage(group, column, isInt, func(page parquet.Page, maxDef byte) error {
		data, ok := int64Data(page, &wide)
		if !ok {
			return pageSlots(page, vals, &s.Starts, next, func(v parquet.Value) { s.Values = append(s.Values, v.Int64()) })
		}
		k := 0
		err := levelSlots(page, maxDef, &s.Starts, next, func() error {
			if k >= len(data) {
				return fmt.Errorf("read %s column %q: a page has more non-null level slots than its %d values", g.path, column, len(data))
			}
			s.Values = append(s.Values, data[k])
			k++
			return nil
		})
		if err == nil && k != len(data) {
			err = fmt.Errorf("read %s column %q: a page with %d values has %d non-null level slots", g.path, column, len(data), k)
		}
		return err
	})
	if err != nil {
		return err
	}
	s.Starts = append(s.Starts, next())
	return g.checkRows(group, column, s.Starts)
}

// ReadBools reads one boolean column (or list of them) of row group group
// into s.
func (g *Groups) ReadBools(group int, column string, s *Bools) error {
	s.Values, s.Starts = s.Values[:0], s.Starts[:0]
	next := func() int32 { return int32(len(s.Values)) }
	vals := make([]parquet.Value, columnBatch)
	err := g.eachPage(group, column, func(k parquet.Kind) bool { return k == parquet.Boolean }, func(page parquet.Page, _ byte) error {
		return pageSlots(page, vals, &s.Starts, next, func(v parquet.Value) { s.Values = append(s.Values, v.Boolean()) })
	})
	if err != nil {
		return err
	}
	s.Starts = append(s.Starts, next())
	return g.checkRows(group, column, s.Starts)
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
