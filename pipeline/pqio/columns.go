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
	return eachValue(path, column, func(k parquet.Kind) bool {
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
	return eachValue(path, column, func(k parquet.Kind) bool {
		return k == parquet.ByteArray || k == parquet.FixedLenByteArray
	}, func(row int64, v parquet.Value) error {
		return fn(row, v.ByteArray())
	})
}

// eachValue streams the leaf values of a top-level column, counting rows by
// repetition level.
func eachValue(path, column string, kindOK func(parquet.Kind) bool, fn func(row int64, v parquet.Value) error) error {
	f, pf, err := openFile(path)
	if err != nil {
		return err
	}
	defer f.Close()
	col := pf.Root().Column(column)
	if col == nil {
		return fmt.Errorf("read %s: no column %q", path, column)
	}
	// A list column is a group whose single leaf is the element.
	for !col.Leaf() {
		if len(col.Columns()) != 1 {
			return fmt.Errorf("read %s: column %q is a group of %d columns, not a value or a list", path, column, len(col.Columns()))
		}
		col = col.Columns()[0]
	}
	if !kindOK(col.Type().Kind()) {
		return fmt.Errorf("read %s: column %q has type %s", path, column, col.Type())
	}
	pages := col.Pages()
	defer pages.Close()
	buf := make([]parquet.Value, columnBatch)
	row := int64(-1)
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
