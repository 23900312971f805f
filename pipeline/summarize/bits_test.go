package summarize

import (
	"math/rand/v2"
	"testing"
)

// TestBitFile: bits read back in row order, some rows skipped, are the
// bits written; rows past the end are false; a row before one already
// read is an error.
func TestBitFile(t *testing.T) {
	for _, n := range []int{0, 1, 63, 64, 65, 1000} {
		r := rand.New(rand.NewPCG(5, uint64(n)))
		want := make([]bool, n)
		b, err := newBitFile(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		for i := range want {
			want[i] = r.IntN(3) == 0
			if err := b.add(want[i]); err != nil {
				t.Fatal(err)
			}
		}
		if err := b.finish(); err != nil {
			t.Fatal(err)
		}
		rd, err := b.reader()
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < n+70; i += 1 + r.IntN(3) {
			if got := rd.get(int64(i)); got != (i < n && want[i]) {
				t.Fatalf("n %d: row %d = %v", n, i, got)
			}
		}
		if err := rd.close(); err != nil {
			t.Fatal(err)
		}
		if n >= 200 {
			rd, _ := b.reader()
			rd.get(150)
			rd.get(10)
			if rd.close() == nil {
				t.Errorf("n %d: reading back was not an error", n)
			}
		}
		b.remove()
	}
}
