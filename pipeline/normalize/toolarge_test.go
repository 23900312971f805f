package normalize

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/takedown-research/takedown/internal/schema"
)

// readAll reads every record of in with the given limit, copying what the
// reader only lends.
func readAll(in []byte, limit int64) ([]record, error) {
	rr := newRecordReaderLimit(bytes.NewReader(in), limit)
	var out []record
	for {
		rec, err := rr.next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		rec.raw = slices.Clone(rec.raw)
		rec.fields = slices.Clone(rec.fields)
		out = append(out, rec)
	}
}

// checkLimit compares reading in with a limit to reading it without one:
// the same records at the same lines, except that each record whose raw
// bytes pass the limit is a too_large record holding a prefix of them.
// Only input that parses strictly is compared (a record over the limit is
// skipped by RFC 4180 quoting, while csv.Reader resumes a malformed one at
// its next line).
func checkLimit(t *testing.T, in []byte, limit int64) (tooLarge int) {
	t.Helper()
	want, err := readAll(in, 1<<40)
	if err != nil {
		t.Fatalf("unlimited: %v", err)
	}
	for _, w := range want {
		if w.perr != nil {
			return -1
		}
	}
	got, err := readAll(in, limit)
	if err != nil {
		t.Fatalf("limit %d: %v", limit, err)
	}
	if len(got) != len(want) {
		t.Fatalf("limit %d: %d records, %d without a limit", limit, len(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.line != w.line || g.nl != w.nl || g.last != w.last || g.perr != nil {
			t.Fatalf("record %d: line %d nl %v last %v perr %v, want line %d nl %v last %v", i, g.line, g.nl, g.last, g.perr, w.line, w.nl, w.last)
		}
		if int64(len(w.raw)) > limit {
			tooLarge++
			if g.tooLarge == "" || g.fields != nil || !bytes.Equal(g.raw, w.raw[:min(len(w.raw), RejectRawPrefix)]) {
				t.Fatalf("record %d (%d bytes): tooLarge %q raw %q, want a prefix of %q", i, len(w.raw), g.tooLarge, g.raw, w.raw)
			}
			continue
		}
		if g.tooLarge != "" || !bytes.Equal(g.raw, w.raw) || !slices.Equal(g.fields, w.fields) {
			t.Fatalf("record %d: raw %q fields %q tooLarge %q, want %q %q", i, g.raw, g.fields, g.tooLarge, w.raw, w.fields)
		}
	}
	return tooLarge
}

func TestRecordLimit(t *testing.T) {
	long := strings.Repeat("x", 100)
	huge := strings.Repeat("y", RejectRawPrefix+100)
	cases := []struct {
		name     string
		in       string
		limit    int64
		tooLarge int
	}{
		{"middle quoted", "a,b\n1,2\n\"" + long + "\nz\",3\n4,5\n", 50, 1},
		{"middle unquoted", "a,b\n1,2\n" + long + ",3\n4,5\n", 50, 1},
		{"escaped quotes", "a,b\n\"" + strings.Repeat(`x""`, 40) + "\",\"\"\"\"\n4,5\n", 50, 1},
		{"crlf", "a,b\r\n1,2\r\n" + long + ",3\r\n4,5\r\n", 50, 1},
		{"blank lines before", "a,b\n\n\r\n\n" + long + ",3\n\n4,5\n", 50, 1},
		{"last, no line end", "a,b\n1,2\n" + long + ",3", 50, 1},
		{"last, line end", "a,b\n1,2\n" + long + ",3\n", 50, 1},
		{"at the limit", "a,b\n" + long[:48] + ",3\n4,5\n", 50, 0},
		{"one over, crlf", "a,b\r\n" + long[:49] + ",3\r\n4,5\r\n", 50, 1},
		{"several", "a,b\n" + long + "\n1,2\n" + long + "," + long + "\n\"" + long + "\"\n5,6", 50, 3},
		{"beyond the raw prefix", "a,b\n\"" + huge + "\",1\n4,5\n", 1000, 1},
		{"small limit", "a,b\nccc,d\ne,f\n", 2, 3},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if n := checkLimit(t, []byte(c.in), c.limit); n != c.tooLarge {
				t.Fatalf("%d records over the limit, want %d", n, c.tooLarge)
			}
		})
	}
	// A quoted field never closed over the limit stops the file.
	_, err := readAll([]byte("a,b\n1,2\n3,\""+long+"\n"+long), 50)
	if !errors.Is(err, ErrRecordTooLarge) || !strings.Contains(err.Error(), "the record at line 3 opens a quoted field that is never closed") {
		t.Fatalf("err = %v", err)
	}
}

// FuzzRecordLimit checks the record reader's size limit on any bytes: with
// a limit, a strictly parsed input gives the records it gives without one,
// at the same lines, those over the limit as too_large prefixes.
func FuzzRecordLimit(f *testing.F) {
	f.Add([]byte("a,b\n1,2\n\"xxxxxxxxxxxxxxxxxxxx\nz\",3\n4,5\n"), uint8(8))
	f.Add([]byte("a,b\r\n\r\n\"x\"\"y\",zzzzzzzzzzzz\r\n4,5"), uint8(3))
	f.Fuzz(func(t *testing.T, in []byte, limit uint8) {
		checkLimit(t, in, int64(limit))
	})
}

// sliceWriter keeps the rows written to it.
type sliceWriter[T any] struct{ rows []T }

func (w *sliceWriter[T]) Write(rows ...T) error {
	w.rows = append(w.rows, rows...)
	return nil
}

// TestTooLargeReject normalizes a file whose middle record is over the
// limit: it is a too_large reject with a prefix of its bytes, and the
// records after it are read, at their lines.
func TestTooLargeReject(t *testing.T) {
	big := strings.Repeat("long text ", 1000) // 10,000 bytes in tweet_text
	body := csvText(tweetsCols, tweet(0, nil), tweet(1, map[string]string{"tweet_text": big + "\n" + big}), tweet(2, map[string]string{"tweet_text": "x\ny"}), tweet(3, nil))
	p := filepath.Join(t.TempDir(), "in")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	var acc sliceWriter[schema.Account]
	var posts sliceWriter[schema.Post]
	var rej sliceWriter[schema.Reject]
	n := newNormalizer("d", formats, slog.New(slog.DiscardHandler), &acc, &posts, &rej)
	n.maxRecord = 4096
	if err := n.file(context.Background(), SourceFile{Name: "big.csv", Path: p}); err != nil {
		t.Fatal(err)
	}
	if err := n.finish(); err != nil {
		t.Fatal(err)
	}
	fs := n.stats.Files[0]
	if fs.RowsIn != 4 || fs.RowsWritten != 3 || fs.RowsRejected != 1 || fs.RejectsByReason[ReasonTooLarge] != 1 {
		t.Fatalf("stats %+v", fs)
	}
	if len(rej.rows) != 1 || len(posts.rows) != 3 {
		t.Fatalf("rejects %d posts %d", len(rej.rows), len(posts.rows))
	}
	r := rej.rows[0]
	lines := strings.Split(body, "\n")
	if r.Reason != ReasonTooLarge || r.SourceLine != 3 || !strings.HasPrefix(lines[2], string(r.Raw[:100])) ||
		!strings.Contains(r.Detail, "(lines 3-4) is longer than the limit of 4096 bytes") {
		t.Fatalf("reject line %d reason %s detail %q raw %q...", r.SourceLine, r.Reason, r.Detail, r.Raw[:100])
	}
	if want := len(lines[2]) + 1 + len(lines[3]); len(r.Raw) != want {
		t.Fatalf("raw %d bytes, want the whole record of %d (under RejectRawPrefix)", len(r.Raw), want)
	}
	for i, want := range []int64{2, 5, 7} {
		if posts.rows[i].SourceLine != want {
			t.Errorf("post %d at line %d, want %d", i, posts.rows[i].SourceLine, want)
		}
	}
}
