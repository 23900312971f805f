package normalize

import (
	"bytes"
	"io"
	"math/rand/v2"
	"testing"
)

// recordEnds returns the offsets where a parse of b from its start (the
// record reader of the stage) ends a record: the record starts a byte
// range may begin at.
func recordEnds(t testing.TB, b []byte) map[int]bool {
	t.Helper()
	rr := newRecordReaderLimit(bytes.NewReader(b), MaxRecordBytes)
	ends := map[int]bool{}
	for {
		if _, err := rr.next(); err == io.EOF {
			return ends
		} else if err != nil {
			t.Fatal(err)
		}
		ends[int(rr.prev)] = true
	}
}

// randomCSV is a few lines of commas, quotes, line ends, carriage returns
// and letters: quoted fields over several lines, doubled quotes, bare and
// misplaced quotes, blank lines.
func randomCSV(r *rand.Rand, n int) []byte {
	alphabet := []string{"a", "b", ",", ",", "\"", "\"", "\"\"", "\n", "\r\n", "\r", " ", "\",", ",\"", "\"\n"}
	var b bytes.Buffer
	b.WriteString("h1,h2,h3\n")
	for range n {
		b.WriteString(alphabet[r.IntN(len(alphabet))])
	}
	b.WriteString("\n")
	return b.Bytes()
}

// TestScanCutIsRecordStart: every cut the rule finds, from any byte of a
// random CSV text, is where a parse from the start ends a record.
func TestScanCutIsRecordStart(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	found := 0
	for range 300 {
		b := randomCSV(r, 20+r.IntN(400))
		ends := recordEnds(t, b)
		for o := 1; o < len(b); o++ {
			from := o - 1
			i, ok := scanCut(b[from:], true)
			if !ok {
				continue
			}
			found++
			if c := from + i; !ends[c] {
				t.Fatalf("cut at %d (searched from %d) is no record boundary of\n%q\nboundaries %v", c, o, b, ends)
			}
		}
	}
	if found == 0 {
		t.Fatal("no cut found")
	}
}

// FuzzScanCut: the same property on any bytes.
func FuzzScanCut(f *testing.F) {
	f.Add([]byte("a,b\n\"x\ny\",z\n1,2\n"), uint16(3))
	f.Add([]byte("a\n\"\"\"\n\",\"\n\"q\"r\n\n\"s\"\n"), uint16(1))
	f.Fuzz(func(t *testing.T, b []byte, at uint16) {
		if len(b) < 2 || len(b) > 4096 {
			return
		}
		o := 1 + int(at)%(len(b)-1)
		i, ok := scanCut(b[o-1:], true)
		if !ok {
			return
		}
		if c := o - 1 + i; !recordEnds(t, b)[c] && c < len(b) {
			t.Fatalf("cut at %d is no record boundary of %q", c, b)
		}
	})
}
