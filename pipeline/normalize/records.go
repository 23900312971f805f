package normalize

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
)

// tracker is an io.Reader that keeps the bytes it passed on until they are
// released, so that the raw bytes of a CSV record can be recovered from the
// offsets csv.Reader reports. It holds at most one record plus csv.Reader's
// read-ahead.
//
// It also bounds a record: it hands csv.Reader at most limit+2 bytes (a
// record of limit bytes and a CRLF) past the start of the record being read,
// and fails with errTooLarge when asked for more. recordReader then skips
// the record itself (skipTooLarge) and starts a new csv.Reader after it.
type tracker struct {
	r        io.Reader
	buf      []byte
	base     int64 // absolute offset of buf[0]
	pos      int64 // bytes handed to csv.Reader so far (absolute offset)
	total    int64 // bytes read from r so far: base+len(buf)
	released int64 // bytes before this offset are no longer needed
	limit    int64 // the largest record, in bytes without its line terminator
	eof      bool
	err      error // the first read error other than io.EOF
	tooLarge bool  // csv.Reader asked for more than limit+2 bytes of one record
}

// errTooLarge is the tracker's read error for a record over the limit; it
// never leaves recordReader.
var errTooLarge = errors.New("record over the size limit")

// Read implements io.Reader.
func (t *tracker) Read(p []byte) (int, error) {
	if t.err != nil {
		return 0, t.err
	}
	allowed := t.released + t.limit + 2 - t.pos
	if t.tooLarge || allowed <= 0 {
		t.tooLarge = true
		return 0, errTooLarge
	}
	if int64(len(p)) > allowed {
		p = p[:allowed]
	}
	if t.pos < t.total {
		// Bytes read ahead while a record over the limit was skipped.
		n := copy(p, t.buf[t.pos-t.base:])
		t.pos += int64(n)
		return n, nil
	}
	if t.eof {
		return 0, io.EOF
	}
	n, err := t.r.Read(p)
	if n > 0 {
		t.buf = append(t.buf, p[:n]...)
		t.total += int64(n)
		t.pos += int64(n)
	}
	t.noteErr(err)
	return n, err
}

// noteErr records the end of the input or a read error.
func (t *tracker) noteErr(err error) {
	switch {
	case err == io.EOF:
		t.eof = true
	case err != nil:
		t.err = err
	}
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
	raw    []byte          // the record's bytes without its line terminator; valid until the next read, unless owned
	perr   *csv.ParseError // set when the record could not be parsed
	// last says that reading the record ran into the end of the input: it
	// has no line end, or a quoted field runs to the end. (A record whose
	// line end is the input's last byte may have it or not, depending on
	// the reads; it matters only for a record with perr set or nl unset.)
	last bool
	nl   bool // the record ended with a line terminator
	// tooLarge, when set, says how the record passed the size limit; raw
	// then holds only its first RejectRawPrefix bytes and fields is nil.
	tooLarge string
	// owned says that raw and fields are never written again (the fast
	// path's chunks), so they may be kept without a copy.
	owned bool
	// inSlab says that fields is already in the batch's slab (setSlab).
	inSlab bool
}

// RejectRawPrefix is how many bytes of a record over MaxRecordBytes the
// rejects table keeps in raw (reason too_large).
const RejectRawPrefix = 64 << 10

// recordReader reads CSV records strictly (RFC 4180 quoting, no lazy
// quotes) and keeps the raw bytes of each record. A record longer than the
// limit is skipped (its end found by RFC 4180 quoting) and returned with
// tooLarge set and a prefix of its bytes; reading goes on after it.
type recordReader struct {
	t    *tracker
	csv  *csv.Reader
	prev int64 // offset where the next record starts
	line int64 // line at offset prev (1-based)
	// offBase and lineBase are the offset and the line before the start of
	// the current csv.Reader, which counts from 0 and 1.
	offBase, lineBase int64
	prefix            []byte // raw prefix of the last record over the limit

	// The fast path (fastcsv.go); noFast turns it off (tests compare).
	noFast   bool
	slowLeft int         // records csv.Reader still reads before the fast path resumes
	spans    []fieldSpan // the fields of the record being scanned
	fields   []string    // the fields of the last fast record, when slab is nil
	slab     *[]string   // where the fast path puts fields: see setSlab
	chunk    []byte      // field bytes; see fieldChunk
}

// utf8BOM is the byte order mark some exports put before the header.
var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// newRecordReader reads records of up to MaxRecordBytes from r. A leading
// UTF-8 byte order mark is skipped.
func newRecordReader(r io.Reader) *recordReader { return newRecordReaderLimit(r, MaxRecordBytes) }

// newRecordReaderLimit reads records of up to limit bytes from r.
func newRecordReaderLimit(r io.Reader, limit int64) *recordReader {
	br := bufio.NewReaderSize(r, 64<<10)
	if b, err := br.Peek(3); err == nil && bytes.Equal(b, utf8BOM) {
		br.Discard(3)
	}
	rr := &recordReader{t: &tracker{r: br, limit: limit}, line: 1}
	rr.restart()
	return rr
}

// restart starts a new csv.Reader at offset prev, line line.
func (rr *recordReader) restart() {
	c := csv.NewReader(rr.t)
	c.ReuseRecord = true
	c.LazyQuotes = false
	c.FieldsPerRecord = -1
	rr.csv, rr.offBase, rr.lineBase = c, rr.prev, rr.line-1
}

// next reads one record. It returns io.EOF at the end of the input; any
// other error is a read error of the underlying stream (see tracker.err),
// or ErrRecordTooLarge for a quoted field never closed over the limit.
func (rr *recordReader) next() (record, error) {
	rr.t.release(rr.prev)
	if rr.slowLeft == 0 && !rr.noFast {
		if rec, ok := rr.fastNext(); ok {
			return rec, nil
		}
		rr.t.pos = rr.prev
		rr.restart()
		rr.slowLeft = slowRun
	}
	rr.slowLeft--
	fields, err := rr.csv.Read()
	if rr.t.tooLarge {
		return rr.skipTooLarge()
	}
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
	off := rr.offBase + rr.csv.InputOffset()
	raw := rr.t.slice(rr.prev, off)
	rr.line += int64(bytes.Count(raw, []byte{'\n'}))
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
		p := *perr
		p.StartLine += int(rr.lineBase)
		p.Line += int(rr.lineBase)
		rec.perr = &p
		rec.line = int64(p.StartLine)
	} else {
		line, _ := rr.csv.FieldPos(0)
		rec.line = int64(line) + rr.lineBase
		rec.fields = fields
	}
	if int64(len(raw)) > rr.t.limit {
		// Within limit+2 bytes with its terminator, yet over the limit.
		rec.raw, rec.fields, rec.perr = raw[:min(len(raw), RejectRawPrefix)], nil, nil
		rec.tooLarge = rr.tooLargeDetail(int64(len(raw)), rec.line, rec.line+int64(bytes.Count(raw, []byte{'\n'})))
	}
	return rec, nil
}

func (rr *recordReader) tooLargeDetail(size, from, to int64) string {
	lines := fmt.Sprintf("line %d", from)
	if to > from {
		lines = fmt.Sprintf("lines %d-%d", from, to)
	}
	keep := ""
	if size > RejectRawPrefix {
		keep = fmt.Sprintf("; raw keeps its first %d bytes", RejectRawPrefix)
	}
	return fmt.Sprintf("record of %d bytes (%s) is longer than the limit of %d bytes%s", size, lines, rr.t.limit, keep)
}

// Quoting states of skipTooLarge.
const (
	skipStart         = iota // before the record's first byte (blank lines are skipped)
	skipFieldStart           // at the start of a field
	skipUnquoted             // in an unquoted field (a quote is a plain byte)
	skipQuoted               // in a quoted field
	skipQuoteInQuoted        // after a quote in a quoted field: closing, or the first of ""
)

// skipTooLarge reads the record that starts at prev to its end, without
// holding it: it keeps RejectRawPrefix bytes, and counts bytes and lines.
// The end is the first line end outside a quoted field (RFC 4180; a quote
// inside an unquoted field is a plain byte). Reading then resumes after it
// with a new csv.Reader. A quoted field still open at the end of the input
// is ErrRecordTooLarge: the rest of the file would be one record.
func (rr *recordReader) skipTooLarge() (record, error) {
	t := rr.t
	state := skipStart
	cr := false // skipStart: a '\r' that may begin a blank "\r\n"
	line := rr.line
	var startLine, start, size int64 = 0, -1, 0
	rr.prefix = rr.prefix[:0]
	var rec record
	prevCR := false  // the last byte of the record was '\r'
	crlf := false    // the record ended with "\r\n"
	end := int64(-1) // offset after the record's terminator
	off := t.released
	// A record within the limit can get here when blank lines before it
	// took the budget: it must be kept whole to be parsed.
	keep := max(RejectRawPrefix, int(min(t.limit, 1<<40)))
	scan := func(chunk []byte) {
		for i, c := range chunk {
			at := off + int64(i)
			if state == skipStart {
				switch {
				case c == '\n':
					line++
					cr = false
					continue
				case c == '\r' && !cr:
					cr = true
					continue
				}
				state, start, startLine = skipFieldStart, at, line
				if cr {
					start--
					rr.prefix = append(rr.prefix, '\r')
					cr = false
				}
			}
			if c == '\n' && state != skipQuoted {
				size = at - start
				end = at + 1
				rec.nl = true
				if prevCR {
					size-- // a CRLF terminator
					crlf = true
				}
				return
			}
			prevCR = c == '\r'
			if c == '\n' {
				line++
			}
			if len(rr.prefix) < keep {
				rr.prefix = append(rr.prefix, c)
			}
			switch state {
			case skipFieldStart:
				switch c {
				case '"':
					state = skipQuoted
				case ',':
				default:
					state = skipUnquoted
				}
			case skipUnquoted:
				if c == ',' {
					state = skipFieldStart
				}
			case skipQuoted:
				if c == '"' {
					state = skipQuoteInQuoted
				}
			case skipQuoteInQuoted:
				switch c {
				case '"':
					state = skipQuoted
				case ',':
					state = skipFieldStart
				default:
					state = skipUnquoted
				}
			}
		}
	}
	// First the bytes already read, then the rest of the stream.
	buffered := t.buf[t.released-t.base:]
	scan(buffered)
	var leftover []byte
	if end >= 0 {
		leftover = append([]byte(nil), t.buf[end-t.base:]...)
	} else {
		off += int64(len(buffered))
		chunk := make([]byte, 64<<10)
		for end < 0 && !t.eof {
			if t.err != nil {
				return record{}, t.err
			}
			n, err := t.r.Read(chunk)
			scan(chunk[:n])
			if end >= 0 {
				leftover = append(leftover, chunk[end-off:n]...)
			}
			off += int64(n)
			t.total = off
			switch {
			case err == io.EOF:
				t.eof = true
			case err != nil:
				t.err = err
				return record{}, err
			}
		}
	}
	if end < 0 {
		// The input ended inside the record.
		switch state {
		case skipStart:
			return record{}, io.EOF
		case skipQuoted:
			return record{}, fmt.Errorf("%w: the record at line %d opens a quoted field that is never closed: %d bytes to the end of the file, more than the limit of %d (close the quote, or cut the file before line %d)",
				ErrRecordTooLarge, startLine, off-start, t.limit, startLine)
		}
		size = off - start
		end = off
		rec.last = true
	}
	if int64(len(rr.prefix)) > size {
		rr.prefix = rr.prefix[:size] // the '\r' of a CRLF terminator
	}
	rec.line = startLine
	rec.raw = rr.prefix
	if size <= t.limit {
		// Over the budget only with the blank lines before it: parse it,
		// with its line end (csv.Reader drops a '\r' that ends the
		// input, and reads "\r\n" as a line end, "\r\r\n" as '\r' and one).
		in := rec.raw
		switch {
		case crlf:
			in = append(slices.Clip(in), '\r', '\n')
		case rec.nl:
			in = append(slices.Clip(in), '\n')
		}
		c := csv.NewReader(bytes.NewReader(in))
		c.FieldsPerRecord = -1
		fields, err := c.Read()
		var perr *csv.ParseError
		switch {
		case errors.As(err, &perr):
			p := *perr
			p.StartLine += int(startLine - 1)
			p.Line += int(startLine - 1)
			rec.perr = &p
		case err != nil:
			rec.perr = &csv.ParseError{StartLine: int(startLine), Line: int(startLine), Column: 1, Err: err}
		default:
			rec.fields = fields
		}
	} else {
		rec.raw = rec.raw[:min(len(rec.raw), RejectRawPrefix)]
		rec.tooLarge = rr.tooLargeDetail(size, startLine, line)
	}
	// Resume after the record.
	t.buf = append(t.buf[:0], leftover...)
	t.base, t.pos, t.released = end, end, end
	t.total = end + int64(len(leftover))
	t.tooLarge = false
	rr.prev = end
	rr.line = line
	if rec.nl {
		rr.line++
	}
	rr.restart()
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
