package cluster

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// TestPostIDs checks that compact post ids read back as written and compare
// as the strings they are, numeric or not.
func TestPostIDs(t *testing.T) {
	ids := []string{"", "0", "00", "01", "1", "9", "10", "99", "100", "1234567890123456789", "9999999999999999999",
		"18446744073709551615", "12345678901234567890", "-1", "+1", "1e3", "abc", "1a", "９", "123", "1230", "12"}
	p := newPostIDs(0)
	for _, s := range ids {
		p.add(s)
	}
	for i, s := range ids {
		r := uint32(i)
		if got := p.str(r); got != s {
			t.Errorf("row %d: %q, want %q", i, got, s)
		}
		if p.empty(r) != (s == "") {
			t.Errorf("row %d (%q): empty %v", i, s, p.empty(r))
		}
		for j, u := range ids {
			if got, want := p.cmp(r, uint32(j)), strings.Compare(s, u); got != want {
				t.Errorf("cmp(%q, %q) = %d, want %d", s, u, got, want)
			}
		}
	}
}

func FuzzPostIDs(f *testing.F) {
	f.Add("1", "10")
	f.Add("0", "00")
	f.Add("99", "100")
	f.Fuzz(func(t *testing.T, a, b string) {
		p := newPostIDs(0)
		p.add(a)
		p.add(b)
		if p.str(0) != a || p.str(1) != b {
			t.Fatalf("read back %q %q, want %q %q", p.str(0), p.str(1), a, b)
		}
		if got, want := p.cmp(0, 1), strings.Compare(a, b); got != want {
			t.Fatalf("cmp(%q, %q) = %d, want %d", a, b, got, want)
		}
	})
}

// TestLoadKeepsPostIDsOnDisk: a load that reads the signals one at a time
// keeps the post ids in memory while their numbers take at most a quarter
// of the budget, else in an idFile. Every row's id, its emptiness and the
// order of ids are the in-memory load's; an id added after the rows (an
// image's) follows them; the plan counts the file's cache, not 8 bytes a
// post; and a read from a closed file is an error readErr reports.
func TestLoadKeepsPostIDsOnDisk(t *testing.T) {
	path := writeFPs(t, rowsWithSkips())
	all := loadWith(t, path, &loadSpill{res: Resources{Partitions: 1}})
	for _, tc := range []struct {
		mem  int64
		file bool
	}{{4 * 3000 * 8, false}, {4*3000*8 - 1, true}} {
		ls := &loadSpill{res: Resources{Memory: tc.mem}}
		if got := ls.idsInMemory(3000); got == tc.file {
			t.Errorf("--memory %d: ids in memory %v, want %v", tc.mem, got, !tc.file)
		}
	}
	old := postIDShare
	postIDShare = 1 << 62
	t.Cleanup(func() { postIDShare = old })
	d := loadWith(t, path, &loadSpill{res: Resources{Partitions: 3}})
	p, q := d.posts, all.posts
	if p.file == nil || len(p.num) != 0 || p.len() != q.len() {
		t.Fatalf("file %v, %d numbers in memory, %d rows; want a file, none, %d", p.file != nil, len(p.num), p.len(), q.len())
	}
	if got, want := p.residentBytes()-idFileBytes, q.residentBytes()-8*int64(cap(q.num)); got != want {
		t.Errorf("resident: %d bytes beside the cache, want %d (the ids that are no numbers)", got, want)
	}
	for r := range uint32(q.len()) {
		if p.str(r) != q.str(r) || p.empty(r) != q.empty(r) || string(p.appendNum(nil, r, p.numOf(r))) != q.str(r) {
			t.Fatalf("row %d: %q (empty %v), want %q (empty %v)", r, p.str(r), p.empty(r), q.str(r), q.empty(r))
		}
	}
	rnd := rand.New(rand.NewPCG(3, 4))
	for range 20000 {
		x, y := uint32(rnd.IntN(q.len())), uint32(rnd.IntN(q.len()))
		if got, want := p.cmp(x, y), q.cmp(x, y); got != want {
			t.Fatalf("cmp(%q, %q) = %d, want %d", q.str(x), q.str(y), got, want)
		}
	}
	// Many rows at once: every row and 50,000 random ones (repeats, any
	// order), with reads of whole runs and of a few rows.
	rows := make([]uint32, q.len())
	for r := range rows {
		rows[r] = uint32(r)
	}
	for range 50000 {
		rows = append(rows, uint32(rnd.IntN(q.len())))
	}
	rnd.Shuffle(len(rows), func(i, j int) { rows[i], rows[j] = rows[j], rows[i] })
	for _, lim := range [][2]uint32{{numsGap, numsRead}, {0, 1}, {3, 5}} {
		gap, read := numsGap, numsRead
		numsGap, numsRead = lim[0], lim[1]
		nums := make([]uint64, len(rows))
		p.nums(rows, nums, nil)
		numsGap, numsRead = gap, read
		for i, r := range rows {
			if nums[i] != q.numOf(r) {
				t.Fatalf("reads within %d rows up to %d: row %d: number %d, want %d", lim[0], lim[1], r, nums[i], q.numOf(r))
			}
		}
	}
	if a, b := p.add("0123"), q.add("0123"); a != b || p.str(a) != "0123" || p.cmp(a, 5) != q.cmp(b, 5) {
		t.Errorf("added: row %d %q, want row %d", a, p.str(a), b)
	}
	if err := p.readErr(); err != nil {
		t.Fatal(err)
	}
	if err := p.close(); err != nil {
		t.Fatal(err)
	}
	p.file.shards = [idCacheShards]idCacheShard{}               // nothing cached
	if q.str(3) == "" || p.str(3) != "" || p.readErr() == nil { // row 3's id is a number
		t.Errorf("closed file: row 3 %q, readErr %v; want \"\" and an error", p.str(3), p.readErr())
	}
	p.file.err = nil
	nums := []uint64{9, 9}
	if p.nums([]uint32{3, 7}, nums, nil); nums[0] != 0 || nums[1] != 0 || p.readErr() == nil {
		t.Errorf("closed file: nums %v, readErr %v; want 0 and an error", nums, p.readErr())
	}
}
