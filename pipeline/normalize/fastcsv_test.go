package normalize

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
)

// readRecords reads every record of in, fast path on or off, copying what
// the reader lends (not owned); small makes the input arrive a byte at a
// time.
func readRecords(in []byte, limit int64, fast, small bool) ([]record, error) {
	var r io.Reader = bytes.NewReader(in)
	if small {
		r = iotest.OneByteReader(r)
	}
	rr := newRecordReaderLimit(r, limit)
	rr.noFast = !fast
	var out []record
	for {
		rec, err := rr.next()
		if err != nil {
			if err == io.EOF {
				err = nil
			}
			return out, err
		}
		// Only what the reader lends is copied: an owned record must stay
		// valid after the reads that follow it.
		if !rec.owned {
			rec.raw = slices.Clone(rec.raw)
		}
		rec.fields = slices.Clone(rec.fields) // the slice; its strings are kept
		out = append(out, rec)
	}
}

// checkFast compares the records read with the fast path to those read by
// csv.Reader alone: the same fields, raw bytes, lines, parse errors, ends.
func checkFast(t *testing.T, in []byte, limit int64) {
	t.Helper()
	want, werr := readRecords(in, limit, false, false)
	for _, small := range []bool{false, true} {
		got, gerr := readRecords(in, limit, true, small)
		if (werr == nil) != (gerr == nil) || werr != nil && werr.Error() != gerr.Error() {
			t.Fatalf("small %v: error %v, want %v", small, gerr, werr)
		}
		if len(got) != len(want) {
			t.Fatalf("small %v: %d records, want %d", small, len(got), len(want))
		}
		for i, w := range want {
			g := got[i]
			if !slices.Equal(g.fields, w.fields) || (g.fields == nil) != (w.fields == nil) || !bytes.Equal(g.raw, w.raw) ||
				g.line != w.line || g.nl != w.nl || g.tooLarge != w.tooLarge || (g.last != w.last && (!w.nl || w.perr != nil)) {
				t.Fatalf("small %v: record %d: fields %q raw %q line %d nl %v last %v tooLarge %q\nwant fields %q raw %q line %d nl %v last %v tooLarge %q",
					small, i, g.fields, g.raw, g.line, g.nl, g.last, g.tooLarge, w.fields, w.raw, w.line, w.nl, w.last, w.tooLarge)
			}
			if (g.perr == nil) != (w.perr == nil) || g.perr != nil && (*g.perr != *w.perr) {
				t.Fatalf("small %v: record %d: parse error %v, want %v", small, i, g.perr, w.perr)
			}
		}
	}
}

func TestFastRecords(t *testing.T) {
	long := strings.Repeat("x", 100)
	cases := []struct {
		name  string
		in    string
		limit int64
	}{
		{"quoted", `"a","b"` + "\n" + `"1","2"` + "\n", MaxRecordBytes},
		{"unquoted", "a,b\n1,2\n,\n,,x\n", MaxRecordBytes},
		{"escapes", "\"a\"\"b\",\"\"\"\"\n\"\"\"x\",\"y\"\"\"\n", MaxRecordBytes},
		{"line ends in quotes", "\"a\nb\",c\n\"\n\",\"\n\n\"\n", MaxRecordBytes},
		{"crlf", "a,b\r\n\"1\",\"2\"\r\n3,\r\n", MaxRecordBytes},
		{"cr in fields", "a\rb,c\n\"a\rb\",c\n\"a\r\nb\",c\r\r\n", MaxRecordBytes},
		{"blank lines", "a,b\n\n\r\n1,2\n\n", MaxRecordBytes},
		{"bare quote", "a,b\"c\n1,2\nx\"\n", MaxRecordBytes},
		{"after a closing quote", "\"a\"b,c\n1,2\n\"a\" \n", MaxRecordBytes},
		{"no line end", "a,b\n\"1\",\"2\"", MaxRecordBytes},
		{"open quote at the end", "a,b\n\"1,2\n", MaxRecordBytes},
		{"cr at the end", "a,b\r", MaxRecordBytes},
		{"over the limit", "a,b\n" + long + "\n\"" + long + "\",1\n3,4\n", 50},
		{"at the limit", "a,b\n" + long[:48] + ",3\n4,5\n", 50},
		{"bom", "\xEF\xBB\xBFa,b\n1,2\n", MaxRecordBytes},
		{"invalid utf-8", "\"a\"\xff,b\n\xff,\"\xfe\"\n", MaxRecordBytes},
		{"many", strings.Repeat("\"1\",\"two, three\",\"\"\"4\"\"\",,5\n", 5000), MaxRecordBytes},
		{"several arrays", arrays(), MaxRecordBytes},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { checkFast(t, []byte(c.in), c.limit) })
	}
}

// arrays is a CSV text over several of the tracker's arrays, each record
// different from the others.
func arrays() string {
	var b strings.Builder
	for i := range 600 {
		fmt.Fprintf(&b, "\"%d\",\"%s\",%d\nx%d,\"y\n%d\"\n", i, strings.Repeat(string(rune('a'+i%26)), 1000+i*7%2000), i, i, i)
	}
	return b.String()
}

// FuzzFastRecords checks the fast path against csv.Reader on any bytes.
func FuzzFastRecords(f *testing.F) {
	f.Add([]byte("\"a\",\"b\"\n\"1\",\"x\"\"y\"\n"), uint8(0))
	f.Add([]byte("a,b\r\n\r\n\"x\"\"y\",zz\r\n4,\"5\n6\"\r\n"), uint8(3))
	f.Add([]byte("a,\"b\"c\n\"\r\",\n"), uint8(0))
	f.Fuzz(func(t *testing.T, in []byte, limit uint8) {
		l := int64(limit)
		if l == 0 {
			l = MaxRecordBytes
		}
		checkFast(t, in, l)
	})
}

// TestFastRecordsReadError checks that a read error mid-record reaches the
// caller with the fast path as without it.
func TestFastRecordsReadError(t *testing.T) {
	boom := errors.New("boom")
	in := "\"a\",\"b\"\n\"1\",\"2\"\n\"3\",\"4"
	for _, fast := range []bool{false, true} {
		rr := newRecordReader(io.MultiReader(strings.NewReader(in), iotest.ErrReader(boom)))
		rr.noFast = !fast
		n := 0
		var err error
		for err == nil {
			_, err = rr.next()
			n++
		}
		if !errors.Is(err, boom) || n != 3 {
			t.Fatalf("fast %v: %d reads, err %v", fast, n, err)
		}
	}
}

// TestLastRecordRepaired checks that a bare quote in the last record, which
// has its line end, is repaired like one in any other record, and that a
// quoted field the file leaves open is "truncated": whether a record is the
// last does not depend on how the input was read.
func TestLastRecordRepaired(t *testing.T) {
	bare := strings.Replace(csvText(tweetsCols, tweet(0, nil), tweet(1, nil)), `"Twitter Web Client"`, `Twitter "Web" Client`, 2)
	if strings.Count(bare, `Twitter "Web" Client`) != 2 {
		t.Fatalf("no client field to break in %q", bare)
	}
	r := run(t, writeSource(t, t.TempDir(), "bare.csv", []byte(bare)))
	if fs := r.stats.Files[0]; len(r.posts) != 2 || fs.Warnings[WarnQuoteRepaired] != 2 {
		t.Fatalf("posts %d, warnings %v, rejects %v", len(r.posts), fs.Warnings, reasons(r))
	}
	open := csvText(tweetsCols, tweet(0, nil)) + `"1","x` + "\n"
	r = run(t, writeSource(t, t.TempDir(), "open.csv", []byte(open)))
	if got := reasons(r); len(r.posts) != 1 || len(got) != 1 || got[0] != ReasonTruncated {
		t.Fatalf("posts %d, rejects %v", len(r.posts), got)
	}
}
