package cluster

import (
	"bufio"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestRowCursor: a cursor returns every row's record in increasing order
// with gaps, across its blocks, and in any other order; a row outside the
// file is an error that close reports.
func TestRowCursor(t *testing.T) {
	const rows = 3*rowCursorRows + 17
	rf := &rowFile{path: filepath.Join(t.TempDir(), "rows"), rows: rows}
	acc := func(r int64) int32 { return int32(r%7) - 1 } // -1: skipped
	tm := func(r int64) int64 { return r*1000 - 5 }
	err := writeSpill(rf.path, func(w *bufio.Writer) error {
		var rec [rowRecBytes]byte
		for r := range int64(rows) {
			le.PutUint32(rec[:], uint32(acc(r)))
			le.PutUint64(rec[4:], uint64(tm(r)))
			if _, err := w.Write(rec[:]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	seq := func(from, step int64) []int64 {
		var s []int64
		for r := from; r < rows; r += step {
			s = append(s, r)
		}
		return s
	}
	backwards := seq(0, 3001)
	slices.Reverse(backwards)
	for _, tc := range []struct {
		name string
		rows []int64
	}{
		{"every row", seq(0, 1)},
		{"gaps", seq(3, 997)},
		{"a block apart", seq(0, rowCursorRows)},
		{"backwards", backwards},
		{"the last", []int64{rows - 1}},
	} {
		c, err := rf.cursor()
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range tc.rows {
			if a, ti := c.at(r); a != acc(r) || ti != tm(r) {
				t.Errorf("%s: row %d: (%d, %d), want (%d, %d)", tc.name, r, a, ti, acc(r), tm(r))
				break
			}
		}
		if err := c.close(); err != nil {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	c, err := rf.cursor()
	if err != nil {
		t.Fatal(err)
	}
	if a, _ := c.at(rows); a != -1 {
		t.Errorf("row %d of %d: account %d, want -1", rows, rows, a)
	}
	if err := c.close(); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("row %d", rows)) {
		t.Errorf("row %d of %d: close returned %v, want an error naming the row", rows, rows, err)
	}
}

// forceRowFile makes every load that reads the signals one at a time keep
// the rows' accounts and times in a rowFile until the test ends.
func forceRowFile(t testing.TB) {
	old := rowFileShare
	rowFileShare = 1 << 62
	t.Cleanup(func() { rowFileShare = old })
}

// TestLoadKeepsRowsOnDisk: a load that reads the signals one at a time
// keeps the rows in memory while they take at most half the budget, else
// holds no times by post (its rowFile does) and owes them to the plan; it
// numbers the accounts and counts the posts and rows skipped as the
// in-memory load does, and the times it reads back are the in-memory
// load's.
func TestLoadKeepsRowsOnDisk(t *testing.T) {
	path := writeFPs(t, rowsWithSkips())
	all := loadWith(t, path, &loadSpill{res: Resources{Partitions: 1}})
	for _, tc := range []struct {
		mem  int64
		file bool
	}{{2 * 3000 * rowRecBytes, false}, {2*3000*rowRecBytes - 1, true}} {
		ls := &loadSpill{res: Resources{Memory: tc.mem}}
		if got := ls.rowsInMemory(3000); got == tc.file {
			t.Errorf("--memory %d: rows in memory %v, want %v", tc.mem, got, !tc.file)
		}
	}
	forceRowFile(t)
	d := loadWith(t, path, &loadSpill{res: Resources{Partitions: 3}})
	if d.times != nil || d.rowFile == nil {
		t.Fatalf("held %d times, row file %v", len(d.times), d.rowFile)
	}
	if d.timeBytes() != all.timeBytes() || d.timeBytes() == 0 {
		t.Errorf("times owed: %d bytes, the in-memory load holds %d", d.timeBytes(), all.timeBytes())
	}
	if !slices.Equal(d.accounts.strings(), all.accounts.strings()) || !slices.Equal(d.postCount, all.postCount) || d.skipped != all.skipped || all.skipped == 0 {
		t.Errorf("%d accounts, %d rows skipped; in memory %d, %d (or the posts per account differ)", d.accounts.len(), d.skipped, all.accounts.len(), all.skipped)
	}
	d.images = &imageData{times: []int64{7, 8}} // an image's time follows the posts'
	if err := d.restoreTimes(); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(d.times, append(slices.Clone(all.times), 7, 8)) {
		t.Errorf("times read back differ from the in-memory load's and the images'")
	}
	if _, err := d.dropTimes(Resources{Partitions: 3}, path, 2); err != nil {
		t.Fatal(err)
	}
	if d.timeBytes() != 0 || d.rowFile != nil {
		t.Errorf("after dropTimes: %d bytes of times, row file %v", d.timeBytes(), d.rowFile)
	}
}
