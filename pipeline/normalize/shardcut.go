package normalize

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"sort"
)

// Cutting a run's streams into shards (see shard.go).
//
// The streams are laid end to end, each weighing its bytes in its file (a
// zip entry its compressed bytes); shard i of n starts at the i-th of n
// equal cuts of the total. A cut that falls inside a plain CSV file of at
// least rangeMinBytes moves forward to the next record boundary the cut
// rule finds (planCut.find); inside any other stream, or when the rule
// finds none, it moves to the stream's start when the stream's middle is at
// or after the cut, else to its end: the stream is read by the shard whose
// share of the bytes holds its middle. The cuts depend only on
// the files and n: every shard computes them alike.
//
// The cut rule. encoding/csv (strict quotes), which reads the records,
// ends a record only at a line end; at the start of any line it is either
// at a record start (R) or inside a quoted field (Q). Reading one line
// maps R and Q each to R or Q (a quote error drops the rest of its line:
// R). From a line start after the cut point, both possible states are
// carried line by line; once they agree on R, that line start is a record
// start of a parse from the beginning of the file, whatever the state at
// the cut point was. A record tweet with a quoted field (its text) makes
// the states agree at once: a quote read from Q closes the field and the
// next byte is no comma, an error. The search gives up after cutWindow
// bytes. The one case the rule cannot see, a record over MaxRecordBytes
// (skipped by other rules) spanning the cut, is caught by the shard before
// the cut: it must end its range exactly on the cut, else it fails with
// ErrShardCut.

// rangeMinBytes is the smallest plain file cut into byte ranges (tests
// lower it).
var rangeMinBytes int64 = 16 << 20

// cutWindow bounds the bytes findCut reads after a cut point.
const cutWindow = 4 << 20

// byteRange is a part of a plain CSV file: [start, end), offsets in the
// file; end -1 reads to the end.
type byteRange struct{ start, end int64 }

// shardPos is a position in the streams laid end to end: byte off of
// stream task (off 0: its start).
type shardPos struct {
	task int
	off  int64
}

func (a shardPos) less(b shardPos) bool {
	return a.task < b.task || (a.task == b.task && a.off < b.off)
}

// weight is a task's bytes.
func (t streamTask) weight() int64 {
	if r := t.rng; r != nil {
		end := r.end
		if end < 0 {
			end = t.s.size
		}
		return end - r.start
	}
	return t.s.size
}

// shardBounds returns the n+1 positions that cut tasks into n shards.
func shardBounds(tasks []streamTask, n int, limit int64) ([]shardPos, error) {
	cum := make([]int64, len(tasks)+1)
	for k, t := range tasks {
		cum[k+1] = cum[k] + max(t.s.size, 0)
	}
	total := cum[len(tasks)]
	bounds := make([]shardPos, n+1)
	end := shardPos{task: len(tasks)}
	bounds[n] = end
	cuts := map[int]*planCut{}
	for j := 1; j < n; j++ {
		b := end
		if total > 0 {
			// The cut is at total*j/n; tn is n times that. A stream that
			// is not cut goes to the shard whose share [i/n, (i+1)/n) of
			// the bytes holds its middle.
			tn := total * int64(j)
			s := sort.Search(len(tasks), func(k int) bool { return cum[k+1]*int64(n) > tn })
			o := tn/int64(n) - cum[s]
			b = shardPos{task: s + 1}
			if 2*tn <= int64(n)*(cum[s]+cum[s+1]) {
				b = shardPos{task: s}
			}
			if pc := cuts[s]; pc == nil && tasks[s].s.container == containerPlain && tasks[s].s.size >= rangeMinBytes {
				pc, err := newPlanCut(tasks[s].file.Path, limit)
				if err != nil {
					return nil, err
				}
				cuts[s] = pc
			}
			if pc := cuts[s]; pc != nil && pc.ok {
				if c, ok := pc.find(o, tasks[s].s.size); ok {
					b = shardPos{task: s, off: c}
				}
			}
		}
		if b.less(bounds[j-1]) {
			b = bounds[j-1]
		}
		bounds[j] = b
	}
	return bounds, nil
}

// shardTasks returns the tasks between two positions, with their byte
// ranges, and the index of each in tasks.
func shardTasks(tasks []streamTask, from, to shardPos) ([]streamTask, []int) {
	var out []streamTask
	var units []int
	for s := from.task; s < len(tasks); s++ {
		if s > to.task || (s == to.task && to.off == 0) {
			break
		}
		var start, end int64 = 0, -1
		if s == from.task {
			start = from.off
		}
		if s == to.task {
			end = to.off
		}
		t := tasks[s]
		if start != 0 || end >= 0 {
			t.rng = &byteRange{start: start, end: end}
		}
		out = append(out, t)
		units = append(units, s)
	}
	return out, units
}

// planCut finds the cuts of one plain file.
type planCut struct {
	path   string
	ok     bool  // the file can be cut: UTF-8 CSV text, not JSON lines
	minCut int64 // the first offset after the header and the records a format's detection may read
}

func newPlanCut(path string, limit int64) (*planCut, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	pc := &planCut{path: path}
	head := make([]byte, sniffBytes)
	k, _ := io.ReadFull(f, head)
	head = head[:k]
	if kind, _ := sniffText(head); kind != textUTF8 || isJSONLines(head) {
		return pc, nil
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	// The header (or a headerless file's first record) and up to maxPeek
	// records after it are read by detection (peekRecords): no cut before
	// their end.
	rr := newRecordReaderLimit(f, limit)
	for range 1 + maxPeek {
		if _, err := rr.next(); err != nil {
			return pc, nil // a short or unreadable file: whole
		}
	}
	pc.ok = true
	pc.minCut = bomLen(head) + rr.prev
	return pc, nil
}

func bomLen(head []byte) int64 {
	if bytes.HasPrefix(head, utf8BOM) {
		return int64(len(utf8BOM))
	}
	return 0
}

// find returns the first record start the cut rule finds at or after
// offset o, before size.
func (pc *planCut) find(o, size int64) (int64, bool) {
	o = max(o, pc.minCut)
	if o >= size {
		return 0, false
	}
	f, err := os.Open(pc.path)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	from := max(o-1, 0)
	buf := make([]byte, min(cutWindow, size-from))
	k, err := f.ReadAt(buf, from)
	if k < len(buf) && err != nil && err != io.EOF {
		return 0, false
	}
	buf = buf[:k]
	if len(buf) == 0 {
		return 0, false
	}
	if o > 0 && from+1 == pc.minCut && buf[0] == '\n' {
		return pc.minCut, true // a record start of the parse from the beginning
	}
	i, ok := scanCut(buf, o > 0)
	if !ok {
		return 0, false
	}
	if c := from + int64(i); c < size {
		return c, true
	}
	return 0, false
}

// scanCut returns the first record start the cut rule finds in buf: after
// its first line end when mid is set (buf starts inside a line, or one
// byte before a line start), else from its start. It is an index in buf.
func scanCut(buf []byte, mid bool) (int, bool) {
	i := 0
	if mid {
		j := bytes.IndexByte(buf, '\n')
		if j < 0 {
			return 0, false
		}
		i = j + 1
	}
	r, q := false, true // the state at line start i if it was R, if it was Q
	for {
		j := bytes.IndexByte(buf[i:], '\n')
		if j < 0 {
			return 0, false // no agreement in the window, or the end of the file
		}
		line := buf[i : i+j]
		r, q = lineEndsQuoted(line, r), lineEndsQuoted(line, q)
		i += j + 1
		if !r && !q {
			return i, true
		}
	}
}

// lineEndsQuoted reports whether encoding/csv (strict quotes, comma
// separated), reading line (without its '\n') from inside a quoted field
// (quoted) or from a record start, ends it inside a quoted field.
func lineEndsQuoted(line []byte, quoted bool) bool {
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1] // csv.Reader reads "\r\n" as "\n"
	}
	i := 0
	if !quoted && len(line) == 0 {
		return false // a blank line between records
	}
	for {
		if quoted {
			j := bytes.IndexByte(line[i:], '"')
			if j < 0 {
				return true // the field goes on, on the next line
			}
			i += j + 1
			if i == len(line) {
				return false // `"` at the line end: the record ends
			}
			switch line[i] {
			case '"':
				i++ // `""`
			case ',':
				i++
				quoted = false
			default:
				return false // ErrQuote: the rest of the line is dropped
			}
			continue
		}
		// At a field start.
		if i < len(line) && line[i] == '"' {
			quoted = true
			i++
			continue
		}
		j := bytes.IndexByte(line[i:], ',')
		field := line[i:]
		if j >= 0 {
			field = line[i : i+j]
		}
		if bytes.IndexByte(field, '"') >= 0 {
			return false // ErrBareQuote: the rest of the line is dropped
		}
		if j < 0 {
			return false
		}
		i += j + 1
	}
}

// rangeSource reads the records of a byte range: from its start (a record
// start) to the record that starts at its end.
type rangeSource struct {
	rr   *recordReader
	base int64 // the file offset of rr's offset 0
	end  int64 // -1: to the end of the file
	name string
	f    *os.File
}

func (s *rangeSource) next() (record, error) {
	if s.end >= 0 {
		switch at := s.base + s.rr.prev; {
		case at == s.end:
			return record{}, io.EOF
		case at > s.end:
			return record{}, fmt.Errorf("%w: the records read from byte %d run past the cut at byte %d (a record over the size limit spans it?): normalize this dataset unsharded", ErrShardCut, s.base, s.end)
		}
	}
	return s.rr.next()
}

func (s *rangeSource) Close() error {
	if s.f != nil {
		return s.f.Close()
	}
	return nil
}

// source returns the records of the range: from rr, which read the file's
// header (and the records of pending, read by detection, all before any
// cut) for the first range; else from a new reader at the range's start,
// counting lines from there.
func (r *byteRange) source(t streamTask, rr *recordReader, pending *[]record, limit int64) (*rangeSource, error) {
	f, err := os.Open(t.file.Path)
	if err != nil {
		return nil, err
	}
	head := make([]byte, len(utf8BOM))
	k, _ := io.ReadFull(f, head)
	bom := bomLen(head[:k])
	if r.start == 0 {
		f.Close()
		if r.end >= 0 && bom+rr.prev > r.end {
			return nil, fmt.Errorf("%w: the header and the records detection reads run past the cut at byte %d", ErrShardCut, r.end)
		}
		return &rangeSource{rr: rr, base: bom, end: r.end, name: t.name}, nil
	}
	*pending = nil
	// The line of the range's start: 1 + the line ends before it.
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	line := int64(1)
	buf := make([]byte, 1<<20)
	for left := r.start; left > 0; {
		k, err := f.Read(buf[:min(int64(len(buf)), left)])
		line += int64(bytes.Count(buf[:k], []byte{'\n'}))
		left -= int64(k)
		if err != nil && left > 0 {
			f.Close()
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
	}
	rrr := &recordReader{t: &tracker{r: bufio.NewReaderSize(f, 64<<10), limit: limit}, line: line}
	rrr.restart()
	return &rangeSource{rr: rrr, base: r.start, end: r.end, name: t.name, f: f}, nil
}
