package normalize

import (
	"bytes"
	"slices"
	"unsafe"
)

// The fast path of recordReader. Nearly every record of a real export is
// plain: fields either unquoted without quotes or line ends, or quoted with
// "" as the only escape, ended by "\n" or "\r\n", with no other '\r'. The
// fast path parses such a record straight from the tracker's buffer and
// copies its fields into a shared chunk, where csv.Reader copies each line
// twice and allocates one string per record.
//
// Anything else goes to csv.Reader, which stays the reference for what a
// record is: a record that starts with a blank line, a quote inside an
// unquoted field, a byte after a closing quote other than a comma or a line
// end, a '\r' other than that of a "\r\n" line end, a last record without a
// line end, a record over the size limit, a read error. csv.Reader then
// reads that record and the next slowRun-1 ones (so that a file full of
// such records is read at csv.Reader's speed, not restarted at each), and
// the fast path resumes after them. The fields and raw bytes are those
// csv.Reader gives (FuzzFastRecords compares the two on any input).

const (
	// fillSize is how much the fast path reads from the input at a time.
	fillSize = 64 << 10
	// fieldChunk is the size of a chunk of records' raw bytes and
	// unescaped fields. A chunk is never written again once its bytes are
	// handed out, so the raw bytes and the fields stay valid after the
	// record (batches and rows keep them: record.owned); it is freed when
	// none of them is referenced. Whoever keeps a field beyond the rows written
	// copies it (strings.Clone), as it would a csv.Reader record.
	fieldChunk = 256 << 10
	// fastMax bounds what the fast path scans for one record: it starts
	// over after each fill, so a longer record (rare) goes to csv.Reader,
	// which reads it once.
	fastMax = 1 << 20
	// slowRun is how many records csv.Reader reads once the fast path
	// hands it one.
	slowRun = 64
)

// fieldSpan is where a field's bytes are in its record: [from, to), between
// the quotes when quoted; esc when they hold "" pairs to unescape.
type fieldSpan struct {
	from, to int
	esc      bool
}

// Results of scanRecord.
type scanResult int

const (
	scanDone scanResult = iota // a plain record, whole in the buffer
	scanMore                   // the buffer ends inside the record
	scanSlow                   // not plain: csv.Reader reads it
)

// fill reads up to fillSize more bytes of the input into buf.
func (t *tracker) fill() {
	if t.eof || t.err != nil {
		return
	}
	t.buf = slices.Grow(t.buf, fillSize)
	n, err := t.r.Read(t.buf[len(t.buf) : len(t.buf)+fillSize])
	t.buf = t.buf[:len(t.buf)+n]
	t.total += int64(n)
	t.noteErr(err)
}

// fastNext reads the record at prev when it is plain. ok is false when
// csv.Reader must read it (see above); nothing is consumed then.
func (rr *recordReader) fastNext() (rec record, ok bool) {
	t := rr.t
	for {
		end, res := rr.scanRecord()
		switch res {
		case scanDone:
			return rr.fastRecord(end), true
		case scanMore:
			if t.eof || t.err != nil || t.total-rr.prev > min(t.limit+2, fastMax) {
				return record{}, false
			}
			t.fill()
		default:
			return record{}, false
		}
	}
}

// scanRecord finds the end of the plain record at prev (the offset after
// its line end, relative to prev) and its fields (rr.spans).
func (rr *recordReader) scanRecord() (int, scanResult) {
	t := rr.t
	b := t.buf[rr.prev-t.base : t.total-t.base]
	rr.spans = rr.spans[:0]
	if len(b) == 0 {
		return 0, scanMore
	}
	if b[0] == '\n' || b[0] == '\r' {
		return 0, scanSlow // blank lines before the record
	}
	nl := -1 // the first '\n' at or after i, once looked for
	for i := 0; ; {
		if i < len(b) && b[i] == '"' {
			esc := false
			for j := i + 1; ; {
				k := bytes.IndexByte(b[j:], '"')
				if k < 0 {
					return 0, scanMore
				}
				q := j + k
				if q+1 >= len(b) {
					return 0, scanMore
				}
				if b[q+1] == '"' {
					esc, j = true, q+2
					continue
				}
				rr.spans = append(rr.spans, fieldSpan{i + 1, q, esc})
				switch b[q+1] {
				case ',':
					i = q + 2
				case '\n':
					return rr.plainEnd(b, q+2)
				case '\r':
					if q+2 >= len(b) {
						return 0, scanMore
					}
					if b[q+2] != '\n' {
						return 0, scanSlow
					}
					return rr.plainEnd(b, q+3)
				default:
					return 0, scanSlow // csv.ErrQuote
				}
				break
			}
			continue
		}
		if nl < i {
			k := bytes.IndexByte(b[i:], '\n')
			if k < 0 {
				return 0, scanMore
			}
			nl = i + k
		}
		if k := bytes.IndexByte(b[i:nl], ','); k >= 0 {
			if bytes.IndexByte(b[i:i+k], '"') >= 0 {
				return 0, scanSlow // csv.ErrBareQuote
			}
			rr.spans = append(rr.spans, fieldSpan{i, i + k, false})
			i += k + 1
			continue
		}
		e := nl
		if e > i && b[e-1] == '\r' {
			e--
		}
		if bytes.IndexByte(b[i:e], '"') >= 0 {
			return 0, scanSlow
		}
		rr.spans = append(rr.spans, fieldSpan{i, e, false})
		return rr.plainEnd(b, nl+1)
	}
}

// plainEnd accepts a record of b ending at end (after its '\n') when the
// only '\r' in it is that of a "\r\n" line end and it is within the size
// limit.
func (rr *recordReader) plainEnd(b []byte, end int) (int, scanResult) {
	n := end - 1 // the record's bytes without its line end
	if n > 0 && b[n-1] == '\r' {
		n--
	}
	if int64(n) > rr.t.limit || bytes.IndexByte(b[:n], '\r') >= 0 {
		return 0, scanSlow
	}
	return end, scanDone
}

// fastRecord returns the plain record of end bytes at prev, whose fields
// scanRecord found, and moves past it. The fields go to the end of
// *rr.slab when set (see setSlab), else to rr.fields.
func (rr *recordReader) fastRecord(end int) record {
	t := rr.t
	raw := t.slice(rr.prev, rr.prev+int64(end))
	rec := record{line: rr.line, nl: true}
	rr.line += int64(bytes.Count(raw, []byte{'\n'}))
	rr.prev += int64(end)
	rec.last = t.eof && rr.prev == t.total
	raw = raw[:len(raw)-1]
	if n := len(raw); n > 0 && raw[n-1] == '\r' {
		raw = raw[:n-1]
	}
	// The raw bytes go to the chunk, and the fields are strings of them;
	// only a field with "" pairs takes bytes of its own after them.
	need := len(raw)
	for _, s := range rr.spans {
		if s.esc {
			need += s.to - s.from
		}
	}
	if cap(rr.chunk)-len(rr.chunk) < need {
		rr.chunk = make([]byte, 0, max(fieldChunk, need))
	}
	at := len(rr.chunk)
	rr.chunk = append(rr.chunk, raw...)
	raw = rr.chunk[at:]
	rec.raw, rec.owned = raw[:len(raw):len(raw)], true
	fields := rr.fields[:0]
	if rr.slab != nil {
		fields = *rr.slab
	}
	first := len(fields)
	for _, s := range rr.spans {
		var f []byte
		if !s.esc {
			f = raw[s.from:s.to]
		} else {
			start := len(rr.chunk)
			for v := raw[s.from:s.to]; len(v) > 0; {
				k := bytes.IndexByte(v, '"')
				if k < 0 {
					rr.chunk = append(rr.chunk, v...)
					break
				}
				rr.chunk = append(rr.chunk, v[:k+1]...)
				v = v[k+2:] // the second quote of the pair
			}
			f = rr.chunk[start:]
		}
		fields = append(fields, unsafe.String(unsafe.SliceData(f), len(f)))
	}
	if rr.slab != nil {
		*rr.slab = fields
		rec.inSlab = true
	} else {
		rr.fields = fields
	}
	rec.fields = fields[first:len(fields):len(fields)]
	return rec
}

// setSlab makes the fast path append the fields of the next records to
// *slab, a batch's, instead of its own slice that pump would copy from;
// nil stops it. A slab that grows leaves earlier records on the old array,
// which stays valid.
func (rr *recordReader) setSlab(slab *[]string) { rr.slab = slab }
