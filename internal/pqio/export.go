package pqio

import (
	"github.com/takedown-research/takedown/internal/csvfield"
	"github.com/takedown-research/takedown/internal/errkind"

	"bufio"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/ipc"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"
)

// Export formats.
const (
	FormatCSV   = "csv"   // RFC 4180 CSV with a header row
	FormatJSONL = "jsonl" // one JSON object per row
	FormatArrow = "arrow" // Arrow IPC file format (Feather v2), uncompressed
)

// Formats lists the export formats.
var Formats = []string{FormatCSV, FormatJSONL, FormatArrow}

// ErrUnsupportedColumn means a Parquet column has a shape the exporter does
// not convert (anything but a scalar or a list of scalars).
var ErrUnsupportedColumn = errkind.New(errkind.Failure, "unsupported column")

// ErrNotSeekable means Arrow IPC file output was asked for on a stream such
// as a pipe; the file format writes its footer with seeks.
var ErrNotSeekable = errkind.New(errkind.Usage, "arrow output needs a file (use --out FILE)")

// leafKind is the value kind of one exported column's leaf.
type leafKind int

const (
	kString leafKind = iota
	kBytes
	kBool
	kInt32
	kInt64
	kUint64
	kFloat32
	kFloat64
	kTimestampMillis
	kTimestampMicros
	kTimestampNanos
)

// Column describes one top-level column of a table as the exporter sees it.
type Column struct {
	Name     string
	List     bool // a LIST of Kind values
	Optional bool // the value (or list) may be null
	ID       bool // an identifier: CSV quotes it, so that readers take it as text
	kind     leafKind
	leaf     int // index of the column's leaf in a parquet.Row
}

// tableSchema derives the exported columns from a Parquet schema: every
// top-level field must be a scalar leaf or a LIST of scalar leaves.
func tableSchema(s *parquet.Schema) ([]Column, error) {
	var cols []Column
	leaf := 0
	for _, f := range s.Fields() {
		c := Column{Name: f.Name(), Optional: f.Optional()}
		node := parquet.Node(f)
		if !f.Leaf() {
			// LIST: <name> (LIST) { repeated group list { element } }
			inner := f.Fields()
			if len(inner) != 1 || inner[0].Leaf() || !inner[0].Repeated() || len(inner[0].Fields()) != 1 || !inner[0].Fields()[0].Leaf() {
				return nil, fmt.Errorf("column %s: %w: only scalars and lists of scalars are exported", f.Name(), ErrUnsupportedColumn)
			}
			c.List = true
			node = inner[0].Fields()[0]
		} else if f.Repeated() {
			c.List = true
		}
		k, err := kindOf(node.Type())
		if err != nil {
			return nil, fmt.Errorf("column %s: %w", f.Name(), err)
		}
		c.kind, c.leaf = k, leaf
		leaf++
		cols = append(cols, c)
	}
	return cols, nil
}

func kindOf(t parquet.Type) (leafKind, error) {
	lt := t.LogicalType()
	switch t.Kind() {
	case parquet.Boolean:
		return kBool, nil
	case parquet.Int32:
		return kInt32, nil
	case parquet.Int64:
		if lt != nil {
			switch v := lt.Value.(type) {
			case *format.TimestampType:
				switch v.Unit.Value.(type) {
				case *format.MilliSeconds:
					return kTimestampMillis, nil
				case *format.MicroSeconds:
					return kTimestampMicros, nil
				case *format.NanoSeconds:
					return kTimestampNanos, nil
				}
			case *format.IntType:
				if !v.IsSigned {
					return kUint64, nil
				}
			}
		}
		return kInt64, nil
	case parquet.Float:
		return kFloat32, nil
	case parquet.Double:
		return kFloat64, nil
	case parquet.ByteArray, parquet.FixedLenByteArray:
		if lt != nil {
			if _, ok := lt.Value.(*format.StringType); ok {
				return kString, nil
			}
		}
		return kBytes, nil
	}
	return 0, fmt.Errorf("%w: physical type %s", ErrUnsupportedColumn, t)
}

// table is an open Parquet file being exported.
type table struct {
	f    io.Closer
	pf   *parquet.File
	path string
	cols []Column
}

func openTable(path string) (*table, error) {
	f, pf, err := openFile(path)
	if err != nil {
		return nil, err
	}
	cols, err := tableSchema(pf.Schema())
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return &table{f: f, pf: pf, path: path, cols: cols}, nil
}

// each streams the rows of t, converted to one []cell per row, to fn; at
// most limit rows when limit >= 0. The cells slice is reused.
func (t *table) each(limit int64, fn func(cells []cell) error) (int64, error) {
	r := parquet.NewReader(t.pf)
	defer r.Close()
	rows := make([]parquet.Row, 1024)
	cells := make([]cell, len(t.cols))
	byLeaf := make([]int, len(t.cols))
	for i, c := range t.cols {
		byLeaf[c.leaf] = i
	}
	var n int64
	for limit < 0 || n < limit {
		k, err := r.ReadRows(rows)
		for _, row := range rows[:k] {
			if limit >= 0 && n >= limit {
				break
			}
			for i := range cells {
				cells[i] = cell{}
			}
			row.Range(func(leaf int, vals []parquet.Value) bool {
				if leaf >= len(byLeaf) {
					return true
				}
				i := byLeaf[leaf]
				c := &cells[i]
				if !t.cols[i].List {
					if len(vals) == 0 || vals[0].IsNull() {
						c.null = true
					} else {
						c.v = vals[0]
					}
					return true
				}
				c.list = c.list[:0]
				if len(vals) == 1 && vals[0].IsNull() && vals[0].DefinitionLevel() == 0 && t.cols[i].Optional {
					c.null = true
					return true
				}
				for _, v := range vals {
					if !v.IsNull() {
						c.list = append(c.list, v)
					}
				}
				return true
			})
			if err := fn(cells); err != nil {
				return n, err
			}
			n++
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return n, fmt.Errorf("read %s: %w", t.path, err)
		}
	}
	return n, nil
}

// cell is one value of one row: a scalar, a list or a null.
type cell struct {
	null bool
	v    parquet.Value
	list []parquet.Value
}

// text renders a scalar for CSV and the terminal: timestamps in RFC 3339
// UTC with milliseconds, bytes in standard base64.
func text(k leafKind, v parquet.Value) string {
	switch k {
	case kString:
		return string(v.ByteArray())
	case kBytes:
		return base64.StdEncoding.EncodeToString(v.ByteArray())
	case kBool:
		return strconv.FormatBool(v.Boolean())
	case kInt32:
		return strconv.FormatInt(int64(v.Int32()), 10)
	case kInt64:
		return strconv.FormatInt(v.Int64(), 10)
	case kUint64:
		return strconv.FormatUint(v.Uint64(), 10)
	case kFloat32:
		return strconv.FormatFloat(float64(v.Float()), 'g', -1, 32)
	case kFloat64:
		return strconv.FormatFloat(v.Double(), 'g', -1, 64)
	case kTimestampMillis:
		return time.UnixMilli(v.Int64()).UTC().Format(timeLayout)
	case kTimestampMicros:
		return time.UnixMicro(v.Int64()).UTC().Format(timeLayout)
	case kTimestampNanos:
		return time.Unix(0, v.Int64()).UTC().Format(timeLayout)
	}
	return ""
}

const timeLayout = "2006-01-02T15:04:05.000Z07:00"

// appendJSON appends a scalar as JSON: numbers as numbers (non-finite floats
// as null), timestamps and bytes as strings.
func appendJSON(b []byte, k leafKind, v parquet.Value) []byte {
	switch k {
	case kBool, kInt32, kInt64, kUint64:
		return append(b, text(k, v)...)
	case kFloat32, kFloat64:
		f := v.Double()
		if k == kFloat32 {
			f = float64(v.Float())
		}
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return append(b, "null"...)
		}
		return append(b, text(k, v)...)
	}
	s, _ := json.Marshal(text(k, v))
	return append(b, s...)
}

func (c *cell) json(b []byte, col Column) []byte {
	switch {
	case c.null:
		return append(b, "null"...)
	case col.List:
		b = append(b, '[')
		for i, v := range c.list {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSON(b, col.kind, v)
		}
		return append(b, ']')
	}
	return appendJSON(b, col.kind, c.v)
}

// Text renders a cell for CSV and the terminal: null is empty, a list is a
// JSON array.
func (c *cell) text(col Column) string {
	switch {
	case c.null:
		return ""
	case col.List:
		return string(c.json(nil, col))
	}
	return text(col.kind, c.v)
}

// Export streams every row of the Parquet file at path to w in the given
// format and returns the row count. Any table of the pipeline can be
// exported: the columns come from the file's own schema. Arrow output needs
// w to be an io.WriteSeeker (a file).
//
// idColumns names the table's identifier columns (schema.IDColumns), which
// must be string columns. CSV writes every id value quoted, even one that
// needs no quotes, and a null as an empty unquoted field; JSON lines writes
// ids as strings (as every string) and null as null.
func Export(path, format string, w io.Writer, idColumns []string) (int64, error) {
	t, err := openTable(path)
	if err != nil {
		return 0, err
	}
	defer t.f.Close()
	for _, name := range idColumns {
		i := slices.IndexFunc(t.cols, func(c Column) bool { return c.Name == name })
		if i < 0 || t.cols[i].kind != kString || t.cols[i].List {
			return 0, fmt.Errorf("export %s: id column %q: %w: not a string column of the file", path, name, ErrUnsupportedColumn)
		}
		t.cols[i].ID = true
	}
	switch format {
	case FormatCSV:
		return t.exportCSV(w)
	case FormatJSONL:
		return t.exportJSONL(w)
	case FormatArrow:
		ws, ok := w.(io.WriteSeeker)
		if !ok {
			return 0, ErrNotSeekable
		}
		if _, err := ws.Seek(0, io.SeekCurrent); err != nil {
			return 0, ErrNotSeekable
		}
		return t.exportArrow(ws)
	}
	return 0, fmt.Errorf("unknown export format %q (want csv, jsonl or arrow)", format)
}

func (t *table) exportCSV(w io.Writer) (int64, error) {
	bw := bufio.NewWriterSize(w, 1<<16)
	var line []byte
	for i, c := range t.cols {
		if i > 0 {
			line = append(line, ',')
		}
		line = csvfield.Append(line, c.Name, false)
	}
	line = append(line, '\n')
	if _, err := bw.Write(line); err != nil {
		return 0, err
	}
	n, err := t.each(-1, func(cells []cell) error {
		line = line[:0]
		for i := range cells {
			if i > 0 {
				line = append(line, ',')
			}
			c := &cells[i]
			line = csvfield.Append(line, c.text(t.cols[i]), t.cols[i].ID && !c.null)
		}
		line = append(line, '\n')
		_, err := bw.Write(line)
		return err
	})
	if err != nil {
		return n, err
	}
	return n, bw.Flush()
}

func (t *table) exportJSONL(w io.Writer) (int64, error) {
	bw := bufio.NewWriterSize(w, 1<<16)
	keys := make([][]byte, len(t.cols))
	for i, c := range t.cols {
		k, _ := json.Marshal(c.Name)
		keys[i] = k
	}
	var line []byte
	n, err := t.each(-1, func(cells []cell) error {
		line = append(line[:0], '{')
		for i := range cells {
			if i > 0 {
				line = append(line, ',')
			}
			line = append(line, keys[i]...)
			line = append(line, ':')
			line = cells[i].json(line, t.cols[i])
		}
		line = append(line, '}', '\n')
		_, err := bw.Write(line)
		return err
	})
	if err != nil {
		return n, err
	}
	return n, bw.Flush()
}

// arrowType maps a leaf kind to its Arrow type.
func arrowType(k leafKind) arrow.DataType {
	switch k {
	case kString:
		return arrow.BinaryTypes.String
	case kBytes:
		return arrow.BinaryTypes.Binary
	case kBool:
		return arrow.FixedWidthTypes.Boolean
	case kInt32:
		return arrow.PrimitiveTypes.Int32
	case kInt64:
		return arrow.PrimitiveTypes.Int64
	case kUint64:
		return arrow.PrimitiveTypes.Uint64
	case kFloat32:
		return arrow.PrimitiveTypes.Float32
	case kFloat64:
		return arrow.PrimitiveTypes.Float64
	case kTimestampMillis:
		return &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"}
	case kTimestampMicros:
		return &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
	default:
		return &arrow.TimestampType{Unit: arrow.Nanosecond, TimeZone: "UTC"}
	}
}

// arrowSchema is the Arrow schema of the exported columns.
func (t *table) arrowSchema() *arrow.Schema {
	fields := make([]arrow.Field, len(t.cols))
	for i, c := range t.cols {
		dt := arrowType(c.kind)
		if c.List {
			dt = arrow.ListOf(dt)
		}
		fields[i] = arrow.Field{Name: c.Name, Type: dt, Nullable: c.Optional || c.List}
	}
	return arrow.NewSchema(fields, nil)
}

// appendArrow appends one scalar to an Arrow builder of kind k.
func appendArrow(b array.Builder, k leafKind, v parquet.Value) {
	switch k {
	case kString:
		b.(*array.StringBuilder).Append(string(v.ByteArray()))
	case kBytes:
		b.(*array.BinaryBuilder).Append(v.ByteArray())
	case kBool:
		b.(*array.BooleanBuilder).Append(v.Boolean())
	case kInt32:
		b.(*array.Int32Builder).Append(v.Int32())
	case kInt64:
		b.(*array.Int64Builder).Append(v.Int64())
	case kUint64:
		b.(*array.Uint64Builder).Append(v.Uint64())
	case kFloat32:
		b.(*array.Float32Builder).Append(v.Float())
	case kFloat64:
		b.(*array.Float64Builder).Append(v.Double())
	default:
		b.(*array.TimestampBuilder).Append(arrow.Timestamp(v.Int64()))
	}
}

// arrowBatch is the number of rows per Arrow record batch.
const arrowBatch = 16 * 1024

func (t *table) exportArrow(w io.WriteSeeker) (int64, error) {
	mem := memory.NewGoAllocator()
	schema := t.arrowSchema()
	fw, err := ipc.NewFileWriter(w, ipc.WithSchema(schema), ipc.WithAllocator(mem))
	if err != nil {
		return 0, fmt.Errorf("arrow writer: %w", err)
	}
	rb := array.NewRecordBuilder(mem, schema)
	defer rb.Release()
	pending := 0
	flush := func() error {
		if pending == 0 {
			return nil
		}
		rec := rb.NewRecord()
		defer rec.Release()
		pending = 0
		return fw.Write(rec)
	}
	n, err := t.each(-1, func(cells []cell) error {
		for i := range cells {
			c, col, fb := &cells[i], t.cols[i], rb.Field(i)
			switch {
			case c.null:
				fb.AppendNull()
			case col.List:
				lb := fb.(*array.ListBuilder)
				lb.Append(true)
				for _, v := range c.list {
					appendArrow(lb.ValueBuilder(), col.kind, v)
				}
			default:
				appendArrow(fb, col.kind, c.v)
			}
		}
		pending++
		if pending == arrowBatch {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if cerr := fw.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return n, fmt.Errorf("write arrow: %w", err)
	}
	return n, nil
}

// Head returns the column names, up to n rows rendered as text (null as
// "null"), and the table's total row count.
func Head(path string, n int64) (names []string, rows [][]string, total int64, err error) {
	t, err := openTable(path)
	if err != nil {
		return nil, nil, 0, err
	}
	defer t.f.Close()
	for _, c := range t.cols {
		names = append(names, c.Name)
	}
	_, err = t.each(n, func(cells []cell) error {
		rec := make([]string, len(cells))
		for i := range cells {
			if cells[i].null {
				rec[i] = "null"
			} else {
				rec[i] = cells[i].text(t.cols[i])
			}
		}
		rows = append(rows, rec)
		return nil
	})
	return names, rows, t.pf.NumRows(), err
}
