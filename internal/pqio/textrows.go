package pqio

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/parquet-go/parquet-go"

	"github.com/takedown-research/takedown/internal/errkind"
)

// TextRows reads the rows of any Parquet file whose top-level columns are
// scalars or lists of scalars (the files Export reads), each rendered as
// text the way Export's CSV does: null is "", a list is a JSON array,
// timestamps are RFC 3339 UTC with milliseconds, bytes are base64. It is how
// a stage reads a Parquet file of someone else's making by column name.
type TextRows struct {
	t    *table
	r    *parquet.Reader
	rows []parquet.Row
	k, n int // rows[k:n] are read and not yet returned
	done bool
	// byLeaf maps a leaf index to its column.
	byLeaf []int
	cells  []cell
}

// ErrNotParquet means a file opened as Parquet is not one, or uses a column
// shape TextRows cannot render.
var ErrNotParquet = errkind.New(errkind.BadInput, "not a readable parquet file")

// OpenTextRows opens the Parquet file at path.
func OpenTextRows(path string) (*TextRows, error) {
	t, err := openTable(path)
	if err != nil {
		if _, statErr := os.Stat(path); statErr == nil {
			return nil, fmt.Errorf("%w: %w", ErrNotParquet, err)
		}
		return nil, err
	}
	tr := &TextRows{t: t, rows: make([]parquet.Row, 256), byLeaf: make([]int, len(t.cols)), cells: make([]cell, len(t.cols))}
	for i, c := range t.cols {
		tr.byLeaf[c.leaf] = i
	}
	tr.r = parquet.NewReader(t.pf)
	return tr, nil
}

// Names returns the column names, in file order.
func (tr *TextRows) Names() []string {
	out := make([]string, len(tr.t.cols))
	for i, c := range tr.t.cols {
		out[i] = c.Name
	}
	return out
}

// NumRows returns the file's row count.
func (tr *TextRows) NumRows() int64 { return tr.t.pf.NumRows() }

// Next renders the next row into dst (reused when it has room) and returns
// it; io.EOF after the last row.
func (tr *TextRows) Next(dst []string) ([]string, error) {
	for tr.k >= tr.n {
		if tr.done {
			return nil, io.EOF
		}
		for i := range tr.rows {
			tr.rows[i] = tr.rows[i][:0]
		}
		n, err := tr.r.ReadRows(tr.rows)
		tr.k, tr.n = 0, n
		if errors.Is(err, io.EOF) {
			tr.done = true
		} else if err != nil {
			return nil, fmt.Errorf("read %s: %w", tr.t.path, err)
		}
	}
	row := tr.rows[tr.k]
	tr.k++
	for i := range tr.cells {
		tr.cells[i] = cell{}
	}
	row.Range(func(leaf int, vals []parquet.Value) bool {
		if leaf >= len(tr.byLeaf) {
			return true
		}
		i := tr.byLeaf[leaf]
		c := &tr.cells[i]
		if !tr.t.cols[i].List {
			if len(vals) == 0 || vals[0].IsNull() {
				c.null = true
			} else {
				c.v = vals[0]
			}
			return true
		}
		if len(vals) == 1 && vals[0].IsNull() && vals[0].DefinitionLevel() == 0 && tr.t.cols[i].Optional {
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
	dst = dst[:0]
	for i := range tr.cells {
		dst = append(dst, tr.cells[i].text(tr.t.cols[i]))
	}
	return dst, nil
}

// Close closes the file.
func (tr *TextRows) Close() error {
	tr.r.Close()
	return tr.t.f.Close()
}
