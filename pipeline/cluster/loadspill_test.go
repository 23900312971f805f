package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"testing"

	"github.com/takedown-research/takedown/internal/pqio"
	"github.com/takedown-research/takedown/internal/progress"
	"github.com/takedown-research/takedown/internal/schema"
)

// TestSplitSortedCut: cutting a signal's sorted spill file into partitions
// gives the runs the in-memory cut gives, whatever the number of parts and
// the items' repeats, and writes only the partitions kept.
func TestSplitSortedCut(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 9))
	for trial := range 40 {
		n := r.IntN(3000)
		distinct := 1 + r.IntN(n+1)
		occs := make([]occ, n)
		for i := range occs {
			occs[i] = occ{item: uint64(r.IntN(distinct)), t: r.Int64N(1000), acc: uint32(r.IntN(50)), post: uint32(i)}
		}
		sortOccs(occs)
		parts := 1 + r.IntN(20)
		sp := &spill{dir: t.TempDir()}
		sd := &signalData{name: "co_x", spilled: true, held: n}
		if n > 0 {
			if err := sp.writeOccsTo(sp.sortedPath(sd.name), occs); err != nil {
				t.Fatal(err)
			}
		}
		odd := func(q int) bool { return q%2 == 1 }
		got, err := sp.splitSorted(0, sd, parts, odd)
		if err != nil {
			t.Fatal(err)
		}
		want := cutOccs(occs, parts)
		if !slices.Equal(got, want) {
			t.Fatalf("trial %d: %d occurrences of %d items in %d parts: cut %v, in memory %v", trial, n, distinct, parts, got, want)
		}
		s := 0
		for q, c := range want {
			if c > 0 && odd(q) {
				back, err := sp.readOccs(0, q, c)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(back, occs[s:s+c]) {
					t.Fatalf("trial %d: partition %d: occurrences differ", trial, q)
				}
			}
			s += c
		}
	}
}

// loadWith runs prepare with ls on the partition fixture's every signal.
func loadWith(t *testing.T, path string, ls *loadSpill) *data {
	t.Helper()
	p := DefaultParams()
	p.Signals = slices.Clone(Signals)
	ls.ctx, ls.p, ls.outDir = context.Background(), p, t.TempDir()
	ls.in = Input{FingerprintsPath: path, ShingleSize: testShingleSize}
	t.Cleanup(ls.remove)
	d, _, _, err := prepare(ls.ctx, ls.in, p, ls, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestLoadHoldsOneSignal: a partitioned run's load holds one signal's
// occurrences at a time, not every signal's, and loads the occurrences the
// in-memory load does; with a budget that the first two signals outgrow, it
// holds those two and spills every signal from then on.
func TestLoadHoldsOneSignal(t *testing.T) {
	path := partitionFixture(t, 2*pqio.RowGroupRows+5000, 3)
	all := loadWith(t, path, &loadSpill{res: Resources{Partitions: 1}})
	var total, largest int64
	for _, sd := range all.signals {
		total += sd.occCount()
		largest = max(largest, sd.occCount())
	}
	if len(all.signals) < 3 || largest == total {
		t.Fatalf("fixture: %d signals, %d of %d occurrences in one", len(all.signals), largest, total)
	}
	same := func(d *data) {
		t.Helper()
		if len(d.signals) != len(all.signals) {
			t.Fatalf("%d signals, want %d", len(d.signals), len(all.signals))
		}
		for i, sd := range d.signals {
			w := all.signals[i]
			if !sd.spilled || sd.occ != nil {
				t.Errorf("%s: not spilled", sd.name)
			}
			if sd.name != w.name || sd.occCount() != w.occCount() || sd.singletons != w.singletons || !slices.Equal(sd.strs.strings(), w.strs.strings()) {
				t.Errorf("%s: %d occurrences, %d singletons; in memory %s: %d, %d", sd.name, sd.occCount(), sd.singletons, w.name, w.occCount(), w.singletons)
			}
		}
	}

	ls := &loadSpill{res: Resources{Partitions: 3}}
	same(loadWith(t, path, ls))
	if int64(ls.maxHeld) != largest {
		t.Errorf("--partitions 3: held %d occurrences at once, want the largest signal's %d (all: %d)", ls.maxHeld, largest, total)
	}

	// Resident data and work of the first two signals, in load order.
	two := *all
	two.signals = all.signals[:2]
	o0, o1 := all.signals[0].occCount(), all.signals[1].occCount()
	if o0 == 0 || o1 == 0 {
		t.Fatalf("fixture: first signals have %d and %d occurrences", o0, o1)
	}
	ls = &loadSpill{res: Resources{Memory: two.residentBytes() + (o0+o1/2)*workPerOcc}}
	same(loadWith(t, path, ls))
	if int64(ls.maxHeld) != max(o0+o1, largest) {
		t.Errorf("budget: held %d occurrences at once, want %d", ls.maxHeld, max(o0+o1, largest))
	}
}

// TestLoadSpillSameBytes: runs whose load spills (--partitions above 1,
// --window auto estimated while loading, the co_url read only for it) write
// the bytes and stats of the in-memory run.
func TestLoadSpillSameBytes(t *testing.T) {
	path := writeFPs(t, windowRows())
	for _, signals := range [][]string{{schema.SignalCoText}, {schema.SignalCoText, schema.SignalCoURL}} {
		p := params(1)
		p.WindowSeconds, p.WindowAuto = 0, true
		p.Signals = signals
		want := runResources(t, path, p, Resources{Partitions: 1})
		for _, parts := range []int{2, 3} {
			got := runResources(t, path, p, Resources{Partitions: parts})
			for name, b := range want.files {
				if !bytes.Equal(got.files[name], b) {
					t.Errorf("signals %v, %d partitions: %s differs", signals, parts, name)
				}
			}
			if fmt.Sprint(got.stats) != fmt.Sprint(want.stats) {
				t.Errorf("signals %v, %d partitions: stats differ:\n%+v\n%+v", signals, parts, got.stats, want.stats)
			}
		}
	}
}

// TestRangedFilter: a filter built in ranges, by two goroutines a read,
// decides once for every occurrence and keeps exactly those that one
// sharedFilter of the same size keeps, for any number of ranges, with each
// range's halves within the bound.
func TestRangedFilter(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	for _, n := range []int{10, 5000, 300000} {
		items := make([]int64, n)
		for i := range items {
			if i > 0 && r.IntN(4) == 0 {
				items[i] = items[r.IntN(i)] // a repeat
			} else {
				items[i] = r.Int64()
			}
		}
		want := newSharedFilter(n)
		for _, it := range items {
			want.addShared(uint64(it))
		}
		full := len(want.seen) * 8
		// One range, 2, 4 and 64 ranges, and as many as the words (8
		// bytes a range) on the smallest input only.
		for _, maxSeen := range []int{1 << 30, full / 2, full / 4, full / 64, 8} {
			if maxSeen == 8 && n > 10 {
				continue
			}
			f := newRangedFilter(n, maxSeen)
			if len(f.seen)*8 > max(maxSeen, 8) || len(f.again) != len(f.seen) {
				t.Fatalf("n %d maxSeen %d: halves of %d and %d bytes", n, maxSeen, len(f.seen)*8, len(f.again)*8)
			}
			if f.ranges == 1 && maxSeen < full {
				t.Fatalf("n %d maxSeen %d: one range", n, maxSeen)
			}
			decided := make([]int8, n)
			for k := range f.ranges + 1 {
				var wg sync.WaitGroup
				for half := range 2 {
					wg.Go(func() {
						lo, hi := half*n/2, (half+1)*n/2
						keep := f.pass(k, items[lo:hi], nil)
						for i, v := range keep {
							if v != 0 {
								if decided[lo+i] != 0 {
									t.Errorf("n %d maxSeen %d: item %d decided twice", n, maxSeen, lo+i)
								}
								decided[lo+i] = v
							}
						}
					})
				}
				wg.Wait()
				f.next()
			}
			for i, it := range items {
				if w := want.has(uint64(it)); decided[i] == 0 || (decided[i] > 0) != w {
					t.Fatalf("n %d maxSeen %d (%d ranges): item %d decided %d, one filter keeps it: %v", n, maxSeen, f.ranges, i, decided[i], w)
				}
			}
		}
	}
}

// TestLoadRuns: a signal read into sorted runs (its occurrences leave
// memory while the column is read; a numeric signal's filter in ranges, a
// string signal's items ranked between two reads) merges back into the
// occurrences the in-memory load sorts, holds about runOccs of them at a time, and the
// runs write the bytes and stats of the in-memory run, whether they begin
// with the signal (--partitions) or partway through it (a budget it
// outgrows).
func TestLoadRuns(t *testing.T) {
	defer func(n, m, b, g int) { runOccs, maxSeenBytes, bucketBytes, groupRecs = n, m, b, g }(runOccs, maxSeenBytes, bucketBytes, groupRecs)
	runOccs = 600
	// The numeric signals' reads one at a time in many buckets of many
	// groups.
	bucketBytes, groupRecs = 1<<14, 64
	path := partitionFixture(t, 2*pqio.RowGroupRows+5000, 4)
	all := loadWith(t, path, &loadSpill{res: Resources{Partitions: 1}})
	p := DefaultParams()
	p.Signals = slices.Clone(Signals)
	want := runResources(t, path, p, Resources{Partitions: 1})
	// The runs' reads with filters in 4 ranges (256 KiB halves).
	maxSeenBytes = 1 << 16
	// The largest signal is near_text, read last: a budget that leaves
	// it half of its occurrences begins its runs partway.
	near := all.signals[len(all.signals)-1]
	if near.name != SignalNearText {
		t.Fatalf("last signal %s", near.name)
	}
	var before int64
	for _, sd := range all.signals[:len(all.signals)-1] {
		before += sd.occCount()
	}
	budget := all.residentBytes() + (before+near.occCount()/2)*workPerOcc

	for _, r := range []Resources{{Partitions: 3}, {Memory: budget}} {
		ls := &loadSpill{res: r}
		d := loadWith(t, path, ls)
		for i, sd := range d.signals {
			w := all.signals[i]
			if !sd.spilled {
				t.Fatalf("%+v: %s not spilled", r, sd.name)
			}
			if r.Memory > 0 && sd != d.signals[len(d.signals)-1] {
				// Read while they fit: spilled once near_text did not.
				if sd.runs != nil {
					t.Errorf("%+v: %s in runs", r, sd.name)
				}
				continue
			}
			if len(sd.runs) < 2 {
				t.Fatalf("%+v: %s: %d runs of %d occurrences", r, sd.name, len(sd.runs), sd.held)
			}
			largest := 0
			for _, f := range sd.runs {
				largest = max(largest, f.n)
			}
			if r.Memory > 0 && int64(largest) < near.occCount()/5 {
				t.Errorf("%+v: %s: runs of at most %d of %d occurrences: they did not begin partway", r, sd.name, largest, near.occCount())
			}
			if r.Partitions > 0 && largest > runOccs {
				t.Errorf("%+v: %s: a run of %d occurrences, more than %d", r, sd.name, largest, runOccs)
			}
			var got []occ
			if err := ls.sp.eachSorted(sd, func(o occ) { got = append(got, o) }); err != nil {
				t.Fatal(err)
			}
			want := slices.Clone(w.occ)
			sortOccs(want)
			if !slices.Equal(got, want) || sd.singletons != w.singletons || !slices.Equal(sd.strs.strings(), w.strs.strings()) {
				t.Errorf("%+v: %s: runs merge to %d occurrences (%d singletons), in memory %d (%d)", r, sd.name, len(got), sd.singletons, len(want), w.singletons)
			}
		}
	}

	sameOutput(t, "--partitions 3", runResources(t, path, p, Resources{Partitions: 3}), want)
}

// loadMeter records the load phase of a cluster run's progress.
type loadMeter struct {
	mu          sync.Mutex
	phase       string
	total, done int64
	over        bool // done went past total
}

func (m *loadMeter) Phase(name string, _ progress.Unit, total int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.phase = name
	if name == "load" {
		m.total = total
	}
}

func (m *loadMeter) Add(n int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.phase == "load" {
		m.done += n
		m.over = m.over || m.done > m.total
	}
}

// readsFixture returns a fixture for the load's reads, and its rows, with
// the numeric filters in ranges and many buckets until the test ends.
func readsFixture(t *testing.T) (string, int64) {
	t.Helper()
	m, b := maxSeenBytes, bucketBytes
	t.Cleanup(func() { maxSeenBytes, bucketBytes = m, b })
	maxSeenBytes = 1 << 16 // filters in ranges
	bucketBytes = 1 << 14  // many buckets
	path := partitionFixture(t, 2*pqio.RowGroupRows+5000, 4)
	rows, err := pqio.NumRows(path)
	if err != nil {
		t.Fatal(err)
	}
	return path, rows
}

// TestLoadProgress: the load phase's total counts every read of the rows
// (the account column; in memory, each numeric signal's column once more
// than its filter has ranges and each string signal's once; one at a time,
// each numeric signal's twice, its read and its buckets, and each string
// signal's three times), and its count reaches the total without passing
// it, band keys (several per row) counted by row.
func TestLoadProgress(t *testing.T) {
	path, rows := readsFixture(t)
	for _, tc := range []struct {
		name       string
		res        Resources
		stringRead int64
	}{
		{"in memory", Resources{Partitions: 1}, 1},
		{"one signal at a time", Resources{Partitions: 3}, 3},
	} {
		oneAtATime := tc.stringRead > 1
		t.Run(tc.name, func(t *testing.T) {
			reads := int64(1)
			ranged := 0
			for _, name := range Signals {
				switch {
				case IsImageSignal(name):
				case numericSignal(name):
					values, err := pqio.NumValues(path, signalColumn[name])
					if err != nil {
						t.Fatal(err)
					}
					_, _, ranges := filterRanges(values, maxSeenBytes)
					if ranges > 1 {
						ranged++
					}
					if oneAtATime {
						reads += 2
					} else {
						reads += int64(ranges) + 1
					}
				default:
					reads += tc.stringRead
				}
			}
			if ranged == 0 {
				t.Fatal("no signal's filter in ranges")
			}
			m := &loadMeter{}
			ls := &loadSpill{res: tc.res}
			p := DefaultParams()
			p.Signals = slices.Clone(Signals)
			ls.ctx, ls.p, ls.outDir = context.Background(), p, t.TempDir()
			ls.in = Input{FingerprintsPath: path, ShingleSize: testShingleSize, Progress: m}
			t.Cleanup(ls.remove)
			if _, _, _, err := prepare(ls.ctx, ls.in, p, ls, slog.New(slog.DiscardHandler)); err != nil {
				t.Fatal(err)
			}
			if want := rows * reads; m.total != want || m.done != want || m.over {
				t.Errorf("load: %d of %d rows (past the total: %v), want %d (%d reads)", m.done, m.total, m.over, want, reads)
			}
		})
	}
}

// stopMeter cancels its context once the load has counted at rows, and
// counts what the load counts after that.
type stopMeter struct {
	loadMeter
	at     int64
	cancel context.CancelFunc
	after  int64
	calls  int // Add calls after the cancel
}

func (m *stopMeter) Add(n int64) {
	m.loadMeter.Add(n)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.at < 0 {
		m.after += n
		m.calls++
	} else if m.done >= m.at {
		m.at = -1
		m.cancel()
	}
}

// TestLoadStopsPromptly: a load cancelled anywhere stops within a batch or
// a bucket of each read: the rows it counts after the cancel are few. (It
// checked the context every 65,536 rows, which the batch reads seldom met,
// and not at all between the buckets of a numeric signal or the pairs of a
// string signal: a stop at 217M posts took 15-25 s.)
func TestLoadStopsPromptly(t *testing.T) {
	path, rows := readsFixture(t)
	p := DefaultParams()
	p.Signals = slices.Clone(Signals)
	step := 1
	if testing.Short() {
		step = 3 // the race detector's run: 6 points of 19
	}
	for _, res := range []Resources{{Partitions: 1}, {Partitions: 3}} {
		var total int64
		for k := 1; k < 20; k += step {
			ctx, cancel := context.WithCancel(context.Background())
			m := &stopMeter{cancel: cancel}
			m.at = int64(k) * max(total, rows*12) / 20
			ls := &loadSpill{ctx: ctx, p: p, res: res, outDir: t.TempDir()}
			ls.in = Input{FingerprintsPath: path, ShingleSize: testShingleSize, Progress: m}
			_, _, _, err := prepare(ctx, ls.in, p, ls, slog.New(slog.DiscardHandler))
			ls.remove()
			cancel()
			total = m.total
			if m.at >= 0 {
				if err != nil {
					t.Fatalf("%+v: %v", res, err)
				}
				continue // loaded before the cancel
			}
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("%+v, cancelled at %d of %d rows: %v", res, m.done-m.after, m.total, err)
			}
			// A batch or a bucket for each read under way, and the
			// passes' ends (which count the rest of a pass). A load that
			// checked every 65,536 rows counted up to 265 more.
			if limit := 4*runtime.GOMAXPROCS(0) + 4; m.calls > limit {
				t.Errorf("%+v, cancelled at %d of %d rows: %d more rows counted in %d calls, want at most %d calls", res, m.done-m.after, m.total, m.after, m.calls, limit)
			}
		}
	}
}

// TestLoadSpillSkipsRowsWithoutIDs: a load that reads the signals one at
// a time (it reads the post ids after them) skips the rows without a post
// or account id, and keeps decimal and other ids, as the in-memory load
// does: the same bytes and stats.
func TestLoadSpillSkipsRowsWithoutIDs(t *testing.T) {
	path := writeFPs(t, rowsWithSkips())
	p := DefaultParams()
	p.Signals = slices.DeleteFunc(slices.Clone(Signals), IsImageSignal)
	want := runResources(t, path, p, Resources{Partitions: 1})
	if want.stats.SkippedRows == 0 || len(want.edges) == 0 {
		t.Fatalf("fixture: %d rows skipped, %d edges", want.stats.SkippedRows, len(want.edges))
	}
	sameOutput(t, "--partitions 3", runResources(t, path, p, Resources{Partitions: 3}), want)
	forceRowFile(t)
	sameOutput(t, "--partitions 3, a row file", runResources(t, path, p, Resources{Partitions: 3}), want)
}

// rowsWithSkips is a synthetic table with rows skipped (no post id, no
// account id) and decimal post ids among the others.
func rowsWithSkips() []schema.Fingerprint {
	rows := synthetic(3000, 5)
	for i := range rows {
		switch i % 13 {
		case 1:
			rows[i].PostID = "" // skipped
		case 2:
			rows[i].AccountID = "" // skipped
		case 3, 4, 5:
			rows[i].PostID = fmt.Sprint(1_000_000 + i) // a decimal id
		}
	}
	return rows
}

// sameOutput checks that got has want's tables, byte for byte, and stats.
func sameOutput(t *testing.T, what string, got, want output) {
	t.Helper()
	for name, b := range want.files {
		if !bytes.Equal(got.files[name], b) {
			t.Errorf("%s: %s differs", what, name)
		}
	}
	if fmt.Sprint(got.stats) != fmt.Sprint(want.stats) {
		t.Errorf("%s: stats differ:\n%+v\n%+v", what, got.stats, want.stats)
	}
}

// TestLoadRepeatsInARow: a row that carries an item twice (a URL, a domain,
// a band key) holds one occurrence of it, in every load: the load that reads
// the signals one at a time (numbered strings' pairs, numeric buckets)
// keeps the in-memory load's occurrences and singletons.
func TestLoadRepeatsInARow(t *testing.T) {
	defer func(b, g int) { bucketBytes, groupRecs = b, g }(bucketBytes, groupRecs)
	bucketBytes, groupRecs = 1<<12, 32
	rows := synthetic(3000, 5)
	repeats := 0
	for i := range rows {
		r := &rows[i]
		if i%3 == 0 && len(r.URLKeys) > 0 {
			r.URLKeys = append(r.URLKeys, r.URLKeys[0])
			r.DomainKeys = append(r.DomainKeys, r.DomainKeys...)
			repeats++
		}
		if i%5 == 0 && len(r.MinHashBands) > 0 {
			r.MinHashBands = append(r.MinHashBands, r.MinHashBands[0])
			repeats++
		}
	}
	if repeats < 100 {
		t.Fatalf("fixture: %d rows with repeats", repeats)
	}
	path := writeFPs(t, rows)
	all := loadWith(t, path, &loadSpill{res: Resources{Partitions: 1}})
	for _, file := range []bool{false, true} {
		if file {
			forceRowFile(t)
		}
		ls := &loadSpill{res: Resources{Partitions: 3}}
		d := loadWith(t, path, ls)
		if (d.rowFile != nil) != file {
			t.Fatalf("row file %v, want %v", d.rowFile, file)
		}
		for i, sd := range d.signals {
			w := all.signals[i]
			var got []occ
			if err := ls.sp.eachSorted(sd, func(o occ) { got = append(got, o) }); err != nil {
				t.Fatal(err)
			}
			want := slices.Clone(w.occ)
			sortOccs(want)
			if !slices.Equal(got, want) || sd.singletons != w.singletons {
				t.Errorf("row file %v: %s: %d occurrences (%d singletons), in memory %d (%d)", file, sd.name, len(got), sd.singletons, len(want), w.singletons)
			}
		}
	}
}
