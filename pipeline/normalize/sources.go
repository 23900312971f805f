package normalize

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/takedown-research/takedown/internal/errkind"
	"github.com/takedown-research/takedown/internal/pqio"
	"github.com/takedown-research/takedown/internal/progress"
)

// Sources of records other than CSV: JSON lines (one object per line, the
// first line selects the format) and Parquet files (the column names select
// the format, as a CSV header does). Both hand records to the same batch
// pipeline as CSV: a JSON line is a record of one field, a Parquet row a
// record of one field per column.

// jsonFormat is implemented by formats that read JSON lines.
type jsonFormat interface {
	// detectJSON looks at the first line (an object). It returns a binding
	// when the line is the format's; an error (naming what the line is and
	// what to do) when it is a near miss the format recognizes, such as
	// another API version; or nil, nil.
	detectJSON(first []byte) (*binding, error)
}

// peeker is implemented by tables that settle something about a file from
// its first data records before any record is mapped (the generic format's
// time spelling, the coortweet format's time unit). peek sees the records
// in order until it reports done; an error (naming line and column) stops
// the file. undecided is asked when maxPeek records or the end of the file
// came first; it returns nil or an error.
type peeker interface {
	peek(rec record) (done bool, err error)
	undecided(eof bool) error
}

// timeFormatter is implemented by tables whose time spelling is decided per
// file; it goes into FileStats.TimeFormat.
type timeFormatter interface {
	timeFormat() string
}

// maxPeek bounds the records a peeker may see before deciding.
const maxPeek = 1000

// peekRecords shows the first records of src (after pending, already read)
// to t when t is a peeker, and returns every record read: they are mapped
// first, in order.
func peekRecords(src recordSource, t table, pending []record) ([]record, error) {
	pk, ok := t.(peeker)
	if !ok {
		return pending, nil
	}
	for i := 0; ; i++ {
		if i == maxPeek {
			return pending, pk.undecided(false)
		}
		if i >= len(pending) {
			rec, err := src.next()
			if err == io.EOF {
				return pending, pk.undecided(true)
			}
			if err != nil {
				return nil, err
			}
			pending = append(pending, cloneRecord(rec))
		}
		done, err := pk.peek(pending[i])
		if err != nil {
			return nil, err
		}
		if done {
			return pending, nil
		}
	}
}

// isJSONLines reports a stream whose first byte (after a UTF-8 byte order
// mark and white space) opens a JSON object.
func isJSONLines(head []byte) bool {
	head = bytes.TrimPrefix(head, utf8BOM)
	head = bytes.TrimLeft(head, " \t\r\n")
	return len(head) > 0 && head[0] == '{'
}

// jsonLineReader reads JSON lines as records of one field: blank lines are
// skipped, a line longer than limit is a too_large record.
type jsonLineReader struct {
	r     *bufio.Reader
	limit int64
	line  int64 // lines read so far
	buf   []byte
}

func newJSONLineReader(r *bufio.Reader, limit int64) *jsonLineReader {
	if b, err := r.Peek(3); err == nil && bytes.Equal(b, utf8BOM) {
		r.Discard(3)
	}
	return &jsonLineReader{r: r, limit: limit}
}

// next implements recordSource.
func (jr *jsonLineReader) next() (record, error) {
	for {
		jr.buf = jr.buf[:0]
		var size int64 // bytes of the line with its terminator
		nl, eof, over := false, false, false
		for {
			chunk, err := jr.r.ReadSlice('\n')
			size += int64(len(chunk))
			switch {
			case size <= jr.limit+2:
				jr.buf = append(jr.buf, chunk...)
			case len(jr.buf) < RejectRawPrefix:
				jr.buf = append(jr.buf, chunk[:min(len(chunk), RejectRawPrefix-len(jr.buf))]...)
				over = true
			default:
				over = true
			}
			if err == nil {
				nl = true
				break
			}
			if err == io.EOF {
				eof = true
				break
			}
			if err != bufio.ErrBufferFull {
				return record{}, err
			}
		}
		if size == 0 && eof {
			return record{}, io.EOF
		}
		jr.line++
		raw := jr.buf
		whole := int64(len(raw)) == size // raw holds the whole line
		if nl {
			size--
			if whole {
				raw = raw[:len(raw)-1]
				if n := len(raw); n > 0 && raw[n-1] == '\r' {
					raw = raw[:n-1]
					size--
				}
			}
		}
		if !over && size <= jr.limit && len(bytes.TrimSpace(raw)) == 0 {
			if eof {
				return record{}, io.EOF
			}
			continue
		}
		rec := record{line: jr.line, nl: nl, last: eof}
		if !eof {
			if _, err := jr.r.Peek(1); err == io.EOF {
				rec.last = true
			}
		}
		if over || size > jr.limit {
			rec.raw = raw[:min(len(raw), RejectRawPrefix)]
			keep := ""
			if size > RejectRawPrefix {
				keep = fmt.Sprintf("; raw keeps its first %d bytes", RejectRawPrefix)
			}
			rec.tooLarge = fmt.Sprintf("line of %d bytes (line %d) is longer than the limit of %d bytes%s", size, jr.line, jr.limit, keep)
			return rec, nil
		}
		rec.raw = raw
		rec.fields = []string{string(raw)}
		return rec, nil
	}
}

// ErrOtherVersion means a file is of the right family but another version
// or shape than the format reads (a Twitter API v1.1 file given as twarc2,
// twarc2 output not flattened, a coortweet file with times in
// milliseconds). The message says what the file is and what to do.
var ErrOtherVersion = errkind.New(errkind.BadInput, "input of another version or shape")

// jsonKeysHint names the top-level keys of a JSON line, or says it is not
// a JSON object.
func jsonKeysHint(line []byte) string {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(line, &m); err != nil {
		return fmt.Sprintf("it is not a JSON object (%v)", err)
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return "its keys are " + clipN(strings.Join(keys, ", "), 400)
}

// produceJSONLines reads a JSON lines stream: its first line selects the
// format and is then read as data.
func (n *normalizer) produceJSONLines(ctx context.Context, p *producer, jobs chan<- *batch, br *bufio.Reader, setHead func(streamHead), fail func(int64, error) error) {
	t := p.task
	jr := newJSONLineReader(br, n.maxRecord)
	first, err := jr.next()
	switch {
	case err == io.EOF:
		setHead(streamHead{err: fmt.Errorf("%s: %w: the file is empty", t.name, ErrUnknownHeader)})
		return
	case err != nil:
		setHead(streamHead{err: fail(0, err)})
		return
	case first.tooLarge != "":
		setHead(streamHead{err: fmt.Errorf("%s: line %d: %w: the first line is a %s", t.name, first.line, ErrRecordTooLarge, first.tooLarge)})
		return
	}
	first = cloneRecord(first)
	var b *binding
	var readers []string
	for _, f := range n.allowed {
		jf, ok := f.(jsonFormat)
		if !ok {
			continue
		}
		readers = append(readers, f.name())
		b, err = jf.detectJSON(first.raw)
		if err != nil {
			setHead(streamHead{err: fmt.Errorf("%s: line %d: %w", t.name, first.line, err)})
			return
		}
		if b != nil {
			break
		}
	}
	if b == nil {
		why := "no format allowed here reads JSON lines (formats that do: " + strings.Join(jsonFormatNames(), ", ") + ")"
		if len(readers) > 0 {
			why = "the first line is no " + strings.Join(readers, " or ") + " object: " + jsonKeysHint(first.raw)
		}
		setHead(streamHead{err: fmt.Errorf("%s: line %d: %w: a JSON lines file; %s", t.name, first.line, ErrUnknownHeader, why)})
		return
	}
	names := []string{"json"}
	pending, err := peekRecords(jr, b.table, []record{first})
	if err != nil {
		setHead(streamHead{err: fmt.Errorf("%s: %w", t.name, err)})
		return
	}
	setHead(streamHead{b: b, names: names, line: 0})
	n.pump(ctx, p, jobs, jr, 1, pending, first.line, fail)
}

// jsonFormatNames lists the formats that read JSON lines.
func jsonFormatNames() []string {
	var out []string
	for _, f := range formats {
		if _, ok := f.(jsonFormat); ok {
			out = append(out, f.name())
		}
	}
	return out
}

// parquetRows is a recordSource over the rows of a Parquet file. A row's
// line is its number (the first row is 1); its raw bytes are the row
// written as one CSV record of the rendered values.
type parquetRows struct {
	tr     *pqio.TextRows
	row    int64
	fields []string
	buf    bytes.Buffer
	w      *csv.Writer
}

// next implements recordSource.
func (pr *parquetRows) next() (record, error) {
	f, err := pr.tr.Next(pr.fields[:0])
	if err != nil {
		return record{}, err
	}
	pr.fields = f
	pr.row++
	pr.buf.Reset()
	pr.w.Write(f)
	pr.w.Flush()
	raw := bytes.TrimSuffix(pr.buf.Bytes(), []byte{'\n'})
	return record{fields: f, raw: raw, line: pr.row, nl: true, last: pr.row == pr.tr.NumRows()}, nil
}

// produceParquet reads a Parquet file: its column names select the format
// as a CSV header would, each row is a record.
func (n *normalizer) produceParquet(ctx context.Context, p *producer, jobs chan<- *batch, setHead func(streamHead)) {
	t := p.task
	tr, err := pqio.OpenTextRows(t.file.Path)
	if err != nil {
		if errors.Is(err, pqio.ErrNotParquet) {
			err = fmt.Errorf("%w: %w", ErrCorruptArchive, err)
		}
		setHead(streamHead{err: fmt.Errorf("%s: %w", t.name, err)})
		return
	}
	defer tr.Close()
	names := tr.Names()
	b, err := detectFormat(n.allowed, names)
	if err != nil {
		setHead(streamHead{err: fmt.Errorf("%s: parquet columns: %w", t.name, err)})
		return
	}
	pr := &parquetRows{tr: tr}
	pr.w = csv.NewWriter(&pr.buf)
	pending, err := peekRecords(pr, b.table, nil)
	if err != nil {
		setHead(streamHead{err: fmt.Errorf("%s: %w", t.name, err)})
		return
	}
	setHead(streamHead{b: b, names: names})
	fail := func(row int64, err error) error {
		return fmt.Errorf("%s: after row %d: %w: %w", t.name, row, ErrCorruptArchive, err)
	}
	n.pump(ctx, p, jobs, pr, len(names), pending, 0, fail)
	// The file is read by row groups, not as a byte stream: count it whole.
	if st, err := os.Stat(t.file.Path); err == nil {
		progress.Or(n.progress).Add(st.Size())
	}
}
