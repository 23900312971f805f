package normalize

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
)

// tracker is an io.Reader that keeps the bytes it passed on until they are
// released, so that the raw bytes of a CSV record can be recovered from the
// offsets csv.Reader reports. It holds at most one record plus csv.Reader's
// read-ahead.
type tracker struct {
	r        io.Reader
	buf      []byte
	base     int64 // absolute offset of buf[0]
	released int64 // bytes before this offset are no longer needed
	total    int64 // bytes read so far
	eof      bool
	err      error // the first read error other than io.EOF
}

// Read implements io.Reader.
func (t *tracker) Read(p []byte) (int, error) {
	if t.err != nil {
		return 0, t.err
	}
	n, err := t.r.Read(p)
	if n > 0 {
		t.buf = append(t.buf, p[:n]...)
		t.total += int64(n)
	}
	switch {
	case err == io.EOF:
		t.eof = true
	case err != nil:
		t.err = err
	case t.total-t.released > MaxRecordBytes:
		t.err = fmt.Errorf("%w: more than %d bytes without a record end (a quote never closed?)", ErrRecordTooLarge, MaxRecordBytes)
		err = t.err
	}
	return n, err
}

// slice returns the bytes between two absolute offsets. The result is valid
// until the next call to release.
func (t *tracker) slice(from, to int64) []byte {
	return t.buf[from-t.base : to-t.base]
}

// release declares the bytes before off no longer needed. Memory is
// compacted only when that frees at least half the buffer, so the copying
// stays proportional to the input.
func (t *tracker) release(off int64) {
	t.released = off
	drop := int(off - t.base)
	if drop <= 0 {
		return
	}
	if drop >= len(t.buf) {
		t.buf = t.buf[:0]
		t.base = off
		return
	}
	if drop*2 >= len(t.buf) || drop >= 1<<20 {
		n := copy(t.buf, t.buf[drop:])
		t.buf = t.buf[:n]
		t.base = off
	}
}

// record is one CSV record as read, with its raw bytes.
type record struct {
	fields []string        // nil when perr is set
	line   int64           // line on which the record starts (1-based)
	raw    []byte          // the record's bytes without its line terminator; valid until the next read
	perr   *csv.ParseError // set when the record could not be parsed
	last   bool            // the record runs to the end of the input
	nl     bool            // the record ended with a line terminator
}

// recordReader reads CSV records strictly (RFC 4180 quoting, no lazy
// quotes) and keeps the raw bytes of each record.
type recordReader struct {
	t    *tracker
	csv  *csv.Reader
	prev int64 // offset where the next record starts
}

// utf8BOM is the byte order mark some exports put before the header.
var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// newRecordReader reads records from r. A leading UTF-8 byte order mark is
// skipped.
func newRecordReader(r io.Reader) *recordReader {
	br := bufio.NewReaderSize(r, 64<<10)
	if b, err := br.Peek(3); err == nil && bytes.Equal(b, utf8BOM) {
		br.Discard(3)
	}
	t := &tracker{r: br}
	c := csv.NewReader(t)
	c.ReuseRecord = true
	c.LazyQuotes = false
	c.FieldsPerRecord = -1
	return &recordReader{t: t, csv: c}
}

// next reads one record. It returns io.EOF at the end of the input; any
// other error is a read error of the underlying stream (see tracker.err).
func (rr *recordReader) next() (record, error) {
	rr.t.release(rr.prev)
	fields, err := rr.csv.Read()
	if err == io.EOF {
		return record{}, io.EOF
	}
	var perr *csv.ParseError
	if err != nil && !errors.As(err, &perr) {
		if rr.t.err != nil {
			return record{}, rr.t.err
		}
		return record{}, err
	}
	if perr != nil && rr.t.err != nil {
		// A parse error caused by a read error: report the read error.
		return record{}, rr.t.err
	}
	off := rr.csv.InputOffset()
	raw := rr.t.slice(rr.prev, off)
	rr.prev = off
	rec := record{last: rr.t.eof && off == rr.t.total}
	raw = trimLeadingBlankLines(raw)
	if n := len(raw); n > 0 && raw[n-1] == '\n' {
		rec.nl = true
		raw = raw[:n-1]
		if n := len(raw); n > 0 && raw[n-1] == '\r' {
			raw = raw[:n-1]
		}
	}
	rec.raw = raw
	if perr != nil {
		rec.perr = perr
		rec.line = int64(perr.StartLine)
		return rec, nil
	}
	line, _ := rr.csv.FieldPos(0)
	rec.line = int64(line)
	rec.fields = fields
	return rec, nil
}

// trimLeadingBlankLines drops the empty lines csv.Reader skips before a
// record.
func trimLeadingBlankLines(b []byte) []byte {
	for {
		switch {
		case len(b) > 0 && b[0] == '\n':
			b = b[1:]
		case len(b) > 1 && b[0] == '\r' && b[1] == '\n':
			b = b[2:]
		default:
			return b
		}
	}
}

// errQuote is csv.ErrQuote, named for checkShape.
var errQuote = csv.ErrQuote

// lenientFields re-reads the raw bytes of a record that strict parsing
// rejected, allowing quotes inside unquoted fields and bare quotes inside
// quoted ones (csv.Reader's LazyQuotes). It returns the fields only when
// the result is unambiguous: the bytes form exactly one record with the
// header's field count. Otherwise it returns nil and the record stays a
// bad_quote reject.
func lenientFields(raw []byte, ncol int) []string {
	c := csv.NewReader(bytes.NewReader(raw))
	c.LazyQuotes = true
	c.FieldsPerRecord = -1
	fields, err := c.Read()
	if err != nil || len(fields) != ncol {
		return nil
	}
	if _, err := c.Read(); err != io.EOF {
		return nil
	}
	return fields
}
