package cluster

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"maps"
	"math"
	"math/bits"
	"os"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/takedown-research/takedown/internal/pqio"
	"github.com/takedown-research/takedown/internal/progress"
	"github.com/takedown-research/takedown/internal/rules"
	"github.com/takedown-research/takedown/internal/schema"
	"github.com/takedown-research/takedown/internal/strindex"
)

// data is the fingerprints table reduced to what the sweep needs. Accounts
// are numbered in the order of their ids, so comparing numbers compares ids.
// A post is numbered by its row: rows without an account or a post id keep
// their number but take no part in any signal.
type data struct {
	rows, skipped int64
	accounts      strTable // account ids, sorted
	posts         *postIDs // post ids by row number
	postBytes     int64    // their memory, while loading before they are read
	times         []int64  // posted_at by row number, ms
	// rowFile, for a load that read the signals one at a time, holds the
	// times instead (restoreTimes reads them back) until dropTimes.
	rowFile   *rowFile
	postCount []int32         // posts per account number
	signals   []*signalData   // in signal-name order
	shingles  *shingleSets    // sorted shingle hashes of the posts near_text may pair (loadShingles)
	images    *imageData      // the image fingerprints (loadImages); nil without image signals
	window    *windowEstimate // --window auto's, when made while loading (loadSpill)
	progress  progress.Meter  // the stage's Meter (Input.Progress); use meter()
}

// meter is the stage's Meter, never nil.
func (d *data) meter() progress.Meter { return progress.Or(d.progress) }

// occ is one occurrence of an item: a post that carries it.
type occ struct {
	item uint64 // the text key, or the rank of a string item
	t    int64  // posted_at, ms
	acc  uint32 // account number
	post uint32 // row number
}

// signalData holds the occurrences of one signal's items.
type signalData struct {
	name    string
	numeric bool     // items are uint64 text keys, not strings
	strs    strTable // the string items of occ, sorted: an item is its rank here
	// strFile, when not nil, holds strs instead: a run that spills moves
	// a signal's string items there past their share of the budget
	// (loadSpill.holdStrings).
	strFile *strFile
	occ     []occ // occurrences of the items that occur more than once
	// singletons is the number of items that occur once, whose
	// occurrences load dropped (dropSingletons).
	singletons int64
	// spilled is set when occ was written, sorted, to the signal's spill
	// file while loading (loadSpill); occ is nil then and held its count.
	spilled bool
	held    int
	// runs, when not nil, are the sorted runs it was spilled in while it
	// was read (occRuns), instead of one sorted file.
	runs []runFile
}

// occCount is the number of occurrences of items that occur more than once,
// in memory or spilled.
func (sd *signalData) occCount() int64 {
	if sd.spilled {
		return int64(sd.held)
	}
	return int64(len(sd.occ))
}

// keyErr returns the first error of reading an item_key from strFile.
func (sd *signalData) keyErr() error {
	if sd.strFile == nil {
		return nil
	}
	return sd.strFile.readErr()
}

// itemKey returns the evidence item_key of an item: a text key as 16
// lower-case hex digits (so that string order is numeric order), a string
// item as itself.
func (sd *signalData) itemKey(item uint64) string {
	if sd.numeric {
		return fmt.Sprintf("%016x", item)
	}
	if sd.strFile != nil {
		return sd.strFile.at(int(item))
	}
	return sd.strs.at(int(item))
}

// signalColumn names the fingerprints column each signal reads its items
// from. Every name is a column of schema.Fingerprint (a test checks).
var signalColumn = map[string]string{
	schema.SignalCoText:   "text_key",
	SignalCoHashtagSeq:    "hashtag_seq_key",
	schema.SignalCoRepost: "repost_key",
	SignalCoReply:         "reply_key",
	schema.SignalCoURL:    "url_keys",
	SignalCoDomain:        "domain_keys",
	SignalNearText:        "minhash_bands",
}

// Columns read for every signal.
const (
	colPostID            = "post_id"
	colAccountID         = "account_id"
	colPostedAt          = "posted_at"
	colNormalizerVersion = "normalizer_version"
	colNormalizedText    = "normalized_text"
)

// internTable numbers distinct strings in first-seen order. It is an
// index without pointers (internal/strindex), so that the collector does
// not scan the millions of account ids and string items of a large
// release, as it did a Go map of them.
type internTable struct{ ix *strindex.Index }

func newInternTable() *internTable { return &internTable{ix: strindex.New()} }

// id returns the number of b, adding a copy of it when it is new. Looking up
// an existing string does not allocate.
func (t *internTable) id(b []byte) uint32 {
	i, _ := t.ix.AddBytes(b)
	return uint32(i)
}

// len returns the number of strings.
func (t *internTable) len() int { return t.ix.Len() }

// str returns string id.
func (t *internTable) str(id uint32) string { return t.ix.String(int(id)) }

// find returns the number of s and whether it was added.
func (t *internTable) find(s string) (uint32, bool) {
	i, ok := t.ix.Find(s)
	return uint32(i), ok
}

// strings returns every string, in the order of their numbers.
func (t *internTable) strings() []string {
	strs := make([]string, t.len())
	for i := range strs {
		strs[i] = t.ix.String(i)
	}
	return strs
}

// readAccounts numbers the account ids of path's rows in accs, every
// shard on its own core, and counts it as one read of the rows. shard g
// calls read with what takes each row whose id is of shard g and its
// number, in row order.
func (d *data) readAccounts(path string, checkRow func(int64) error, accs *shardedIntern, shard func(g int, read func(put func(row int64, id int32) error) error) error) error {
	pass := d.readPass()
	defer pass.end()
	return accs.read(func(g int, add func(b []byte) int32) error {
		tick := func() {}
		if g == 0 {
			tick = pass.ticker() // the rows once
		}
		return shard(g, func(put func(row int64, id int32) error) error {
			return pqio.EachBytes(path, colAccountID, func(row int64, b []byte) error {
				if err := checkRow(row); err != nil {
					return err
				}
				tick()
				if id := add(b); id >= 0 {
					return put(row, id)
				}
				return nil
			})
		})
	})
}

// shardedIntern numbers distinct strings in shards of their hash, a
// goroutine each, so that a column's strings are numbered on every core:
// shard g numbers its strings g, g+n, g+2n, ... in the order it sees them.
// Only sorted order is used of the numbers (load ranks the accounts), so
// the data do not depend on the shards.
type shardedIntern struct {
	seed   maphash.Seed
	shards []*internTable
}

func newShardedIntern(n int) *shardedIntern {
	s := &shardedIntern{seed: maphash.MakeSeed(), shards: make([]*internTable, max(n, 1))}
	for g := range s.shards {
		s.shards[g] = newInternTable()
	}
	return s
}

// read calls each with every shard concurrently; each reads the strings
// in order and calls add with each, which numbers the strings of shard g
// and returns -1 for the others and for an empty string.
func (s *shardedIntern) read(each func(g int, add func(b []byte) int32) error) error {
	n := uint64(len(s.shards))
	errs := make([]error, n)
	var wg sync.WaitGroup
	for g, t := range s.shards {
		wg.Go(func() {
			errs[g] = each(g, func(b []byte) int32 {
				if len(b) == 0 || maphash.Bytes(s.seed, b)%n != uint64(g) {
					return -1
				}
				return int32(uint64(t.id(b))*n + uint64(g))
			})
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// ids bounds the numbers given.
func (s *shardedIntern) ids() int {
	m := 0
	for g, t := range s.shards {
		if t.len() > 0 {
			m = max(m, (t.len()-1)*len(s.shards)+g+1)
		}
	}
	return m
}

// str returns the string numbered id.
func (s *shardedIntern) str(id int32) string {
	n := int32(len(s.shards))
	return s.shards[id%n].str(uint32(id / n))
}

// view returns the bytes of the string numbered id, a view into its shard
// (strindex.Index.View).
func (s *shardedIntern) view(id int32) []byte {
	n := int32(len(s.shards))
	return s.shards[id%n].ix.View(int(id / n))
}

// id returns the number of a string numbered.
func (s *shardedIntern) id(str string) int32 {
	n := uint64(len(s.shards))
	g := maphash.String(s.seed, str) % n
	i, _ := s.shards[g].find(str)
	return int32(uint64(i)*n + g)
}

// rowItems collects the items of one column, row by row, keeping each
// row's distinct items once: occurrences whose t and acc the base columns
// fill in later. They are kept in fixed-size chunks, not one growing slice
// (fresh memory is what costs most here).
type rowItems struct {
	chunks [][]occ
	row    int64 // row of the items in cur
	cur    []uint64
	// dropped counts, per row, the occurrences of a numeric signal's
	// items that occur once, dropped while reading (nil for a string
	// signal, whose occurrences are all kept while reading and filtered
	// after, and for one read into runs). A row has at most 1024 band
	// keys.
	dropped []uint16

	// A signal read one at a time (load with a holder), after the base
	// columns: its occurrences are complete (account and time looked up in
	// rowCols, the skipped rows' dropped) as they are read (addOccs), and
	// go to runs once they outgrow the room it has. add and flush are the
	// in-memory load's, whose occurrences finish completes.
	runs       *occRuns
	count      int   // occurrences in chunks
	singletons int64 // occurrences dropped by the filter on rows kept
	err        error // of writing a run
	filtered   bool  // the parts joined were read so: finish keeps all
}

const occChunk = 1 << 15

func (ri *rowItems) add(row int64, item uint64) {
	if row != ri.row {
		ri.flush()
		ri.row = row
	}
	ri.cur = append(ri.cur, item)
}

func (ri *rowItems) flush() {
	if len(ri.cur) > 1 {
		if !slices.IsSorted(ri.cur) {
			slices.Sort(ri.cur)
		}
		ri.cur = slices.Compact(ri.cur)
	}
	o := occ{post: uint32(ri.row)}
	for _, it := range ri.cur {
		if len(ri.chunks) == 0 || len(ri.chunks[len(ri.chunks)-1]) == occChunk {
			ri.chunks = append(ri.chunks, make([]occ, 0, occChunk))
		}
		c := &ri.chunks[len(ri.chunks)-1]
		o.item = it
		*c = append(*c, o)
	}
	ri.cur = ri.cur[:0]
}

// addOccs appends complete occurrences (acc and t set), which need not
// follow the part's rows, to a part whose occurrences go to runs.
func (ri *rowItems) addOccs(occs []occ) {
	for len(occs) > 0 {
		if len(ri.chunks) == 0 || len(ri.chunks[len(ri.chunks)-1]) == occChunk {
			ri.chunks = append(ri.chunks, make([]occ, 0, occChunk))
		}
		c := &ri.chunks[len(ri.chunks)-1]
		k := min(len(occs), occChunk-len(*c), max(1, ri.runs.runLen-ri.count))
		*c = append(*c, occs[:k]...)
		occs = occs[k:]
		if ri.err == nil {
			ri.count += k
			if ri.runs.full(ri.count, k) {
				ri.err = ri.runs.write(ri)
			}
		}
	}
}

// tableRows returns the row count of the fingerprints table at path, which
// must leave row numbers within uint32, and a check for each row a column
// read gives: within the footer's count, and every 65,536 rows ctx. A batch
// read checks the last row of each batch and ctx (batchCheck): its last
// rows seldom fall on a multiple of 65,536.
func tableRows(ctx context.Context, path string) (int, func(row int64) error, error) {
	total, err := pqio.NumRows(path)
	if err != nil {
		return 0, nil, err
	}
	if total >= math.MaxUint32 {
		return 0, nil, fmt.Errorf("read %s: %d posts, more than %d", path, total, uint32(math.MaxUint32)-1)
	}
	check := func(row int64) error {
		if row >= total {
			return fmt.Errorf("read %s: more rows than the footer's %d", path, total)
		}
		if row%65536 == 0 {
			return ctx.Err()
		}
		return nil
	}
	return int(total), check, nil
}

// batchCheck returns the check of a batch read: checkRow of the batch's
// last row, and ctx at every batch. (With checkRow alone a stop waited for
// the end of a read: a stop at 217M posts took 15-25 s.)
func batchCheck(ctx context.Context, checkRow func(int64) error) func(last int64) error {
	return func(last int64) error {
		if err := checkRow(last); err != nil {
			return err
		}
		return ctx.Err()
	}
}

// load reads the columns of the fingerprints table that the signals need.
// Every column is read on its own (pqio.EachInt64, pqio.EachBytes), all of
// them concurrently; the results are combined by row number, so the data
// do not depend on scheduling.
//
// With hold nil every signal column is read at the same time as the base
// columns. Otherwise the base columns are read first and then the signals
// one at a time, each finished (its singletons dropped, its string items
// ranked) and handed to hold before the next is read, so that hold can
// spill it (loadSpill) and only one signal's occurrences are in memory.
// Both ways give the same data.
//
// A numeric signal read one at a time is complete as it is read (the
// base columns are known), so that its occurrences can leave memory in
// sorted runs before the column is read to the end (holder.runs).
func load(ctx context.Context, path string, signals []string, m progress.Meter, hold holder) (*data, error) {
	n, checkRow, err := tableRows(ctx, path)
	if err != nil {
		return nil, err
	}
	checkBatch := batchCheck(ctx, checkRow)
	// The image signals read another table (loadImages).
	signals = slices.DeleteFunc(slices.Clone(signals), IsImageSignal)
	total := int64(n)
	d := &data{rows: total, progress: m}
	reads, err := loadReads(path, signals, hold != nil)
	if err != nil {
		return nil, err
	}
	d.meter().Phase("load", progress.Rows, total*reads)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	fail := func(err error) {
		mu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		mu.Unlock()
	}
	run := func(f func() error) {
		wg.Go(func() {
			if err := f(); err != nil {
				fail(err)
			}
		})
	}

	// Base columns: account ids (numbered in first-seen order, -1 for an
	// empty id), post ids, times and the normalizer version. A load that
	// reads the signals one at a time keeps the accounts and times of the
	// rows in a rowFile, not in memory (loadRows), when they would take
	// more than a share of the budget (holder.rowsInMemory).
	fileRows := hold != nil && !hold.rowsInMemory(total)
	// Likewise the post ids' numbers go to an idFile (readPostIDs).
	fileIDs := hold != nil && !hold.idsInMemory(total)
	var (
		rowAcc []int32
		accs   *shardedIntern
		rows   *rowCols // the accounts and times the signals read one at a time look up
	)
	if !fileRows {
		rowAcc = make([]int32, n)
		accs = newShardedIntern(runtime.GOMAXPROCS(0))
		run(func() error {
			for i := range rowAcc {
				rowAcc[i] = -1
			}
			return d.readAccounts(path, checkRow, accs, func(_ int, read func(put func(row int64, id int32) error) error) error {
				return read(func(row int64, id int32) error {
					rowAcc[row] = id
					return nil
				})
			})
		})
	}
	// Post ids: which rows have none (the skip rule) now; the ids
	// themselves with the other columns when every signal is read at once,
	// else once the signals are read (readPostIDs), so that loading them
	// holds no memory while the signals are: the room the signals have
	// counts them (postBytes) all the same.
	noID := make([]uint64, (n+63)/64) // rows without a post id
	for i := range noID {
		noID[i] = ^uint64(0)
	}
	if hold == nil {
		d.posts = newPostIDs(n)
	}
	readIDs := func() error {
		other := int64(0)
		err := pqio.EachBytes(path, colPostID, func(row int64, b []byte) error {
			if err := checkRow(row); err != nil {
				return err
			}
			if len(b) > 0 {
				noID[row/64] &^= 1 << (row % 64)
			}
			if d.posts != nil {
				d.posts.set(uint32(row), b)
			} else if _, ok := decimal(b); !ok && len(b) > 0 {
				other += otherIDBytes(len(b))
			}
			return nil
		})
		d.postBytes = int64(n)*8 + other
		if fileIDs {
			d.postBytes = idFileBytes + other // in an idFile
		}
		return err
	}
	run(func() error {
		return pqio.EachInt64(path, colNormalizerVersion, func(row, v int64) error {
			if v != rules.Version {
				return fmt.Errorf("%s row %d: normalizer_version %d, this cluster stage expects %d (rules.Version): %w",
					path, row+1, v, rules.Version, ErrNormalizerVersion)
			}
			return nil
		})
	})
	if !fileRows {
		run(readIDs)
		d.times = make([]int64, n)
		run(func() error {
			return pqio.EachInt64(path, colPostedAt, func(row, v int64) error {
				if err := checkRow(row); err != nil {
					return err
				}
				d.times[row] = v
				return nil
			})
		})
	} else {
		sp, err := hold.spill()
		if err != nil {
			return nil, err
		}
		rf, err := d.loadRows(ctx, path, checkRow, readIDs, noID, sp)
		if err != nil {
			wg.Wait()
			return nil, err
		}
		d.rowFile = rf
		rows = &rowCols{file: rf}
	}

	// Signal columns.
	spans, err := pqio.Spans(path, runtime.GOMAXPROCS(0))
	if err != nil {
		return nil, err
	}
	readers := make([]func() error, len(signals)) // read signal i's column
	joins := make([]func(), len(signals))         // join the parts of columns read in spans
	items := make([]*rowItems, len(signals))
	tables := make([]*internTable, len(signals))
	for i, name := range signals {
		sd := &signalData{name: name, numeric: numericSignal(name)}
		d.signals = append(d.signals, sd)
		ri := &rowItems{row: -1}
		items[i] = ri
		col := signalColumn[name]
		if sd.numeric && hold != nil {
			readers[i] = func() error {
				return readNumericExact(path, col, spans, sd, ri, hold.runs(d, sd, len(spans)), rows, checkBatch, d.readPass)
			}
			joins[i] = func() {}
			continue
		}
		if sd.numeric {
			// Numeric items need no interning, so the column is read in
			// spans of row groups, concurrently, to find the items that
			// may occur more than once and to keep only their
			// occurrences (most band and text keys occur once): once more
			// than the filter has ranges (rangedFilter). The parts are
			// joined in span order; finish drops the items left that
			// occur once.
			parts := make([]*rowItems, len(spans))
			ri.dropped = make([]uint16, n)
			readers[i] = func() error {
				values, err := pqio.NumValues(path, col)
				if err != nil {
					return err
				}
				f := newRangedFilter(values, maxSeenBytes)
				errs := make([]error, len(spans))
				var pwg sync.WaitGroup
				for j := range spans {
					parts[j] = &rowItems{row: -1}
				}
				// The filter is built one range of its bits at a time,
				// a read of the column each; the read that builds range
				// k keeps the occurrences of the items of range k-1
				// that occur again, and one more read those of the last.
				for k := range f.ranges + 1 {
					pass := d.readPass()
					for j, sp := range spans {
						part := parts[j]
						pwg.Go(func() {
							var keep []int8   // -1 dropped, 1 kept, 0 another range
							last := int64(-1) // the row read last (a row has several band keys)
							errs[j] = pqio.EachInt64BatchIn(path, col, sp, func(rows, vals []int64) error {
								if err := checkBatch(rows[len(rows)-1]); err != nil {
									return err
								}
								keep = f.pass(k, vals, keep)
								newRows := 0
								for i, row := range rows {
									if row != last {
										newRows++
										last = row
									}
									switch keep[i] {
									case 1:
										part.add(row, uint64(vals[i]))
									case -1:
										ri.dropped[row]++ // rows of different spans differ
									}
								}
								pass.add(int64(newRows))
								return nil
							})
							part.flush()
						})
					}
					pwg.Wait()
					if err := errors.Join(errs...); err != nil {
						return err
					}
					pass.end()
					f.next()
				}
				return nil
			}
			joins[i] = func() {
				for _, part := range parts {
					ri.chunks = append(ri.chunks, part.chunks...)
				}
			}
			continue
		}
		joins[i] = func() {}
		if hold != nil {
			// Numbered and ranked by readStrings.
			readers[i] = func() error {
				return readStrings(path, col, spans, sd, ri, hold.runs(d, sd, len(spans)), rows, checkRow, d.readPass)
			}
			continue
		}
		t := newInternTable()
		tables[i] = t
		readers[i] = func() error {
			pass := d.readPass()
			defer pass.end()
			tick := pass.ticker()
			err := pqio.EachBytes(path, col, func(row int64, b []byte) error {
				if err := checkRow(row); err != nil {
					return err
				}
				if len(b) > 0 { // no empty item: an empty repost_key or URL is none
					ri.add(row, uint64(t.id(b)))
				}
				tick()
				return nil
			})
			ri.flush()
			return err
		}
	}
	if hold == nil {
		for _, read := range readers {
			run(read)
		}
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	if hold == nil {
		for _, join := range joins {
			join()
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	// Mark the skipped rows, then number the accounts of the other rows
	// by sorted order (an account seen only on skipped rows is none).
	if !fileRows {
		used := make([]bool, accs.ids())
		for r, a := range rowAcc {
			if a < 0 || noID[r/64]&(1<<(r%64)) != 0 {
				rowAcc[r] = -1
				d.skipped++
				continue
			}
			used[a] = true
		}
		accRank := d.rankAccounts(accs, used)
		accs = nil
		for r, a := range rowAcc {
			if a >= 0 {
				rowAcc[r] = int32(accRank[a])
				d.postCount[rowAcc[r]]++
			}
		}
		rows = &rowCols{acc: rowAcc, times: d.times}
	}

	// Fill in time and account, drop the skipped rows' occurrences and
	// those of items that occur once, and number string items by sorted
	// order.
	finish := func(i int) {
		sd := d.signals[i]
		ri := items[i]
		if sd.spilled { // read into runs
			items[i], tables[i] = nil, nil
			return
		}
		if ri.filtered {
			// Read one at a time: complete, filtered and counted
			// already (the items numbered by sorted order).
			n := 0
			for _, c := range ri.chunks {
				n += len(c)
			}
			sd.occ = make([]occ, 0, n)
			for ci, c := range ri.chunks {
				sd.occ = append(sd.occ, c...)
				ri.chunks[ci] = nil
			}
			items[i], tables[i] = nil, nil
			return
		}
		var counts []uint8 // string signals: filter now
		lone := false      // numeric signals: drop the items left that occur once
		if ri.dropped != nil {
			// Dropped while reading: count those of rows kept.
			for r, k := range ri.dropped {
				if rowAcc[r] >= 0 {
					sd.singletons += int64(k)
				}
			}
			ri.dropped = nil
			lone = true
		} else {
			// Occurrences per item on the rows kept, up to 2: the
			// items that occur once are exactly those readStrings
			// drops, so that every load of a table drops the same.
			counts = make([]uint8, tables[i].len())
			for _, c := range ri.chunks {
				for _, o := range c {
					if rowAcc[o.post] >= 0 {
						counts[o.item] = min(counts[o.item]+1, 2)
					}
				}
			}
		}
		keep := func(item uint64) bool { return counts == nil || counts[item] > 1 }
		kept := 0
		for _, c := range ri.chunks {
			for _, o := range c {
				if rowAcc[o.post] >= 0 && keep(o.item) {
					kept++
				}
			}
		}
		sd.occ = make([]occ, 0, kept)
		for ci, c := range ri.chunks {
			for _, o := range c {
				a := rowAcc[o.post]
				if a < 0 {
					continue
				}
				if !keep(o.item) {
					sd.singletons++
					continue
				}
				o.acc = uint32(a)
				o.t = d.times[o.post]
				sd.occ = append(sd.occ, o)
			}
			ri.chunks[ci] = nil
		}
		if lone {
			// The filter passes some items that occur once; every load
			// drops exactly the items that occur once on the rows kept
			// (readNumericExact, readStrings).
			sortOccs(sd.occ)
			var dropped int64
			sd.occ, dropped = dropLone(sd.occ)
			sd.singletons += dropped
		}
		if t := tables[i]; t != nil {
			// Number the string items kept by their sorted order: the
			// order of all of them, which is all that the sweep, the
			// fold and the evidence use of an item's number, and the
			// strings of the items dropped are not kept.
			used := make([]bool, t.len())
			for _, o := range sd.occ {
				used[o.item] = true
			}
			var strs []string
			for id, u := range used {
				if u {
					strs = append(strs, t.str(uint32(id)))
				}
			}
			slices.Sort(strs)
			itemRank := make([]uint32, t.len())
			for r, s := range strs {
				id, _ := t.find(s)
				itemRank[id] = uint32(r)
			}
			for k := range sd.occ {
				sd.occ[k].item = uint64(itemRank[sd.occ[k].item])
			}
			sd.strs = newStrTable(strs)
		}
		items[i], tables[i] = nil, nil
	}
	if hold == nil { // signals in parallel
		for i := range d.signals {
			wg.Go(func() { finish(i) })
		}
		wg.Wait()
		return d, nil
	}
	for i, sd := range d.signals {
		if err := readers[i](); err != nil {
			return nil, err
		}
		joins[i]()
		readers[i], joins[i] = nil, nil // they hold the column's items
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		finish(i)
		if err := hold.hold(d, sd); err != nil {
			return nil, err
		}
	}
	var idSpill *spill
	if fileIDs {
		if idSpill, err = hold.spill(); err != nil {
			return nil, err
		}
	}
	if err := d.readPostIDs(path, checkRow, idSpill); err != nil {
		return nil, err
	}
	return d, nil
}

// rankAccounts numbers the accounts used (by their number in accs) by
// sorted order: it sets d.accounts and makes d.postCount, and returns the
// rank of each number. It sorts the numbers, comparing views of the
// strings in accs, so that it holds 4 bytes an account beside accs and the
// table it makes, not a string header and a copy of every id (16 bytes
// plus the id's, 262 MB for the 10.9M 8-byte ids of a 217M-post synthetic
// release).
func (d *data) rankAccounts(accs *shardedIntern, used []bool) []uint32 {
	n := 0
	for _, u := range used {
		if u {
			n++
		}
	}
	ids := make([]int32, 0, n)
	for id, u := range used {
		if u {
			ids = append(ids, int32(id))
		}
	}
	slices.SortFunc(ids, func(x, y int32) int { return bytes.Compare(accs.view(x), accs.view(y)) })
	accRank := make([]uint32, len(used))
	for r, id := range ids {
		accRank[id] = uint32(r)
	}
	d.accounts = makeStrTable(len(ids), func(r int) []byte { return accs.view(ids[r]) })
	d.postCount = make([]int32, d.accounts.len())
	return accRank
}

// readPostIDs sets d.posts to the post ids of path's rows, read in spans
// of row groups concurrently: the spans set distinct rows, and each keeps
// its ids that are not numbers in a map of its own until they are joined.
// With sp not nil the numbers go to an idFile in it, not to memory.
func (d *data) readPostIDs(path string, checkRow func(int64) error, sp *spill) error {
	spans, err := pqio.Spans(path, runtime.GOMAXPROCS(0))
	if err != nil {
		return err
	}
	var posts *postIDs
	if sp == nil {
		posts = newPostIDs(int(d.rows))
	} else {
		posts = &postIDs{other: map[uint32]string{}, fileRows: uint32(d.rows), file: &idFile{path: sp.path("ids")}}
		f, err := spillCreate(posts.file.path)
		if err != nil {
			return fmt.Errorf("cluster: spill: %w", err)
		}
		posts.file.f = f
	}
	parts := make([]*postIDs, len(spans))
	errs := make([]error, len(spans))
	var wg sync.WaitGroup
	for j, span := range spans {
		part := &postIDs{num: posts.num, other: map[uint32]string{}}
		parts[j] = part
		wg.Go(func() {
			if sp != nil {
				errs[j] = part.writeNums(posts.file, path, span, checkRow)
				return
			}
			errs[j] = pqio.EachBytesIn(path, colPostID, span, func(row int64, b []byte) error {
				if err := checkRow(row); err != nil {
					return err
				}
				part.set(uint32(row), b)
				return nil
			})
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		posts.close()
		return err
	}
	if sp != nil {
		sp.bytes.Add(d.rows * 8)
	}
	for _, part := range parts {
		maps.Copy(posts.other, part.other)
	}
	d.posts = posts
	return nil
}

// readStrings reads a string signal's column twice, for a load that reads
// the signals one at a time (after the base columns, rowAcc and times):
// first into a sharedFilter of the items' hashes, so that the items that
// certainly occur once (most reposted posts and URLs) are never interned;
// then to number the other items and count their occurrences on the rows
// kept, a row's repeats once (numberStrings), writing each (row, item
// number) to a spill file of its shard. The items that occur more than
// once are numbered by their sorted order (sd.strs), and a pass over the
// spilled pairs keeps their occurrences, complete, going to runs once they
// outgrow the room they have (runs), as a numeric signal's do. The first
// read goes through spans of row groups concurrently, the second in
// shards of the items' hashes, and the pass over the pairs a shard at a
// time on every core; the data are those of the in-memory load.
func readStrings(path, col string, spans []pqio.Span, sd *signalData, ri *rowItems, runs *occRuns, rf *rowCols, checkRow func(int64) error, newPass func() *readPass) error {
	// The filter's bits are per non-null value: most rows have no repost,
	// reply or URL key (at 43M posts, 5-29% of a column's values; for the
	// repost keys 34 MB of bits for 12.6M items, where 43M values took
	// 134 MB).
	items, err := pqio.NumNonNull(path, col)
	if err != nil {
		return err
	}
	sp, err := runs.ls.spill()
	if err != nil {
		return err
	}
	seed := maphash.MakeSeed() // the items kept do not depend on it
	f := newSharedFilter(items)
	pass := newPass()
	errs := make([]error, len(spans))
	var wg sync.WaitGroup
	for j, span := range spans {
		wg.Go(func() {
			rows, err := rf.cursor()
			if err != nil {
				errs[j] = err
				return
			}
			tick := pass.ticker()
			err = pqio.EachBytesIn(path, col, span, func(r int64, b []byte) error {
				if err := checkRow(r); err != nil {
					return err
				}
				if len(b) > 0 && rows.acc(r) >= 0 { // an empty repost_key or URL is none
					f.addShared(maphash.Bytes(seed, b))
				}
				tick()
				return nil
			})
			errs[j] = errors.Join(err, rows.close())
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	pass.end()

	pairsPath := func(g int) string { return sp.path(fmt.Sprintf("pairs-%s-%d", sd.name, g)) }
	defer func() {
		for g := range runtime.GOMAXPROCS(0) {
			os.Remove(pairsPath(g))
		}
	}()
	shards, err := numberStrings(path, col, seed, f, rf, pairsPath, checkRow, newPass)
	if err != nil {
		return err
	}
	for g := range shards {
		if fi, err := os.Stat(pairsPath(g)); err == nil {
			sp.bytes.Add(fi.Size())
		}
	}
	parts := make([]*rowItems, len(shards))
	for g := range parts {
		parts[g] = &rowItems{row: -1, runs: runs} // complete occurrences: addOccs
	}
	var strs []string
	for _, sh := range shards {
		for id, c := range sh.counts {
			if c > 1 {
				strs = append(strs, sh.t.str(uint32(id)))
			} else {
				parts[0].singletons++ // one occurrence, on one row
			}
		}
		parts[0].singletons += sh.singletons
	}
	slices.Sort(strs)
	for r, s := range strs {
		sh := shards[maphash.String(seed, s)%uint64(len(shards))]
		id, _ := sh.t.find(s)
		sh.rank[id] = uint32(r)
	}
	sd.strs = newStrTable(strs)
	strs = nil

	// The pairs of each shard, on every core.
	pass = newPass()
	perr := make([]error, len(shards))
	for g, sh := range shards {
		sh.t = nil // the strings are in sd.strs
		part := parts[g]
		wg.Go(func() {
			rows, err := rf.cursor()
			if err != nil {
				perr[g] = err
				return
			}
			defer func() { perr[g] = errors.Join(perr[g], rows.close()) }()
			buf := make([]occ, 0, 4096)
			perr[g] = readPairs(runs.ls.ctx, pairsPath(g), sh.pairs, func(row, id uint32) {
				if sh.counts[id] > 1 {
					acc, t := rows.at(int64(row))
					buf = append(buf, occ{item: uint64(sh.rank[id]), t: t, acc: uint32(acc), post: row})
					if len(buf) == cap(buf) {
						part.addOccs(buf)
						buf = buf[:0]
					}
				}
			})
			part.addOccs(buf)
			if perr[g] == nil {
				perr[g] = part.err
			}
			pass.add(pass.rows / int64(len(shards)))
		})
	}
	wg.Wait()
	if err := errors.Join(perr...); err != nil {
		return err
	}
	pass.end()
	return finishParts(sd, ri, runs, parts)
}

// pairBytes is the size of a spilled (row, item number) pair.
const pairBytes = 8

// readPairs reads the n (row, item number) pairs of a spill file, and
// stops with ctx.
func readPairs(ctx context.Context, path string, n int64, fn func(row, id uint32)) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("cluster: spill: %w", err)
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 1<<16)
	var buf [pairBytes * 1024]byte
	for n > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		k := min(n, int64(len(buf)/pairBytes))
		b := buf[:k*pairBytes]
		if _, err := io.ReadFull(br, b); err != nil {
			return fmt.Errorf("cluster: spill %s: %w", path, err)
		}
		for off := 0; off < len(b); off += pairBytes {
			fn(le.Uint32(b[off:]), le.Uint32(b[off+4:]))
		}
		n -= k
	}
	return nil
}

// dropLone drops, from occurrences sorted by item, those of items that
// occur once, and returns the others and the count dropped.
func dropLone(occs []occ) ([]occ, int64) {
	out := occs[:0]
	for i := 0; i < len(occs); {
		j := i + 1
		for j < len(occs) && occs[j].item == occs[i].item {
			j++
		}
		if j-i > 1 {
			out = append(out, occs[i:j]...)
		}
		i = j
	}
	return slices.Clip(out), int64(len(occs) - len(out))
}

// finishParts ends the read of sd into parts, filtered exactly: when its
// runs began, the parts are written as runs too and sd is spilled;
// otherwise ri takes their occurrences, in part order.
func finishParts(sd *signalData, ri *rowItems, runs *occRuns, parts []*rowItems) error {
	if err := runs.finish(sd, parts); err != nil || sd.spilled {
		return err
	}
	for _, part := range parts {
		ri.chunks = append(ri.chunks, part.chunks...)
		sd.singletons += part.singletons
	}
	ri.filtered = true
	return nil
}

// stringShard numbers the string items of one shard of their hashes.
type stringShard struct {
	t          *internTable
	counts     []uint8  // occurrences per item number on the rows kept, up to 2
	rank       []uint32 // per item number, its rank in sd.strs (readStrings sets it)
	singletons int64    // occurrences the filter shows to be of an item that occurs once
	pairs      int64    // (row, item number) pairs written to the shard's spill file
}

// numberStrings is readStrings' second read: in shards of the items'
// hashes, a goroutine each (GOMAXPROCS), every one reading the whole column
// in row order, it numbers the items the filter passes and counts their
// occurrences on the rows kept, a row's repeats once. An item belongs to
// one shard, so the counts are those of one read.
func numberStrings(path, col string, seed maphash.Seed, f *sharedFilter, rf *rowCols, pairsPath func(g int) string, checkRow func(int64) error, newPass func() *readPass) ([]*stringShard, error) {
	shards := make([]*stringShard, runtime.GOMAXPROCS(0))
	errs := make([]error, len(shards))
	pass := newPass()
	var wg sync.WaitGroup
	for g := range shards {
		sh := &stringShard{t: newInternTable()}
		shards[g] = sh
		wg.Go(func() { errs[g] = sh.number(path, col, seed, f, rf, g, len(shards), pairsPath(g), checkRow, pass) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	pass.end()
	return shards, nil
}

// number reads the column for shard g of n: it numbers and counts the
// items of its shard that the filter passes and writes each (row, item
// number), a row's repeats once, to the spill file at pairs.
func (sh *stringShard) number(path, col string, seed maphash.Seed, f *sharedFilter, rf *rowCols, g, n int, pairs string, checkRow func(int64) error, pass *readPass) (err error) {
	tick := func() {}
	if g == 0 {
		tick = pass.ticker() // the rows once
	}
	rows, err := rf.cursor()
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, rows.close()) }()
	return writeSpill(pairs, func(w *bufio.Writer) error {
		return sh.numberTo(w, path, col, seed, f, rows, g, n, pairs, checkRow, tick)
	})
}

// numberTo is number's read, writing the pairs to w.
func (sh *stringShard) numberTo(w *bufio.Writer, path, col string, seed maphash.Seed, f *sharedFilter, rows *rowCursor, g, n int, pairs string, checkRow func(int64) error, tick func()) error {
	var rec [pairBytes]byte
	var cur []uint32 // the items of the row read
	row := int64(-1)
	var werr error
	count := func() {
		if len(cur) > 1 {
			slices.Sort(cur)
			cur = slices.Compact(cur)
		}
		for _, id := range cur {
			sh.counts[id] = min(sh.counts[id]+1, 2)
			le.PutUint32(rec[:], uint32(row))
			le.PutUint32(rec[4:], id)
			if _, err := w.Write(rec[:]); err != nil && werr == nil {
				werr = fmt.Errorf("cluster: spill %s: %w", pairs, err)
			}
			sh.pairs++
		}
		cur = cur[:0]
	}
	err := pqio.EachBytes(path, col, func(r int64, b []byte) error {
		tick()
		if err := checkRow(r); err != nil {
			return err
		}
		if len(b) == 0 {
			return nil
		}
		h := maphash.Bytes(seed, b)
		if h%uint64(n) != uint64(g) || rows.acc(r) < 0 {
			return nil // another shard's, or a row skipped
		}
		if !f.has(h) {
			sh.singletons++ // one occurrence in all
			return nil
		}
		if r != row {
			count()
			row = r
		}
		id := sh.t.id(b)
		if int(id) == len(sh.counts) {
			sh.counts = append(sh.counts, 0)
		}
		cur = append(cur, id)
		return werr
	})
	count()
	sh.rank = make([]uint32, sh.t.len())
	return errors.Join(err, werr)
}

// sharedFilter tells the items that occur more than once from most of
// those that occur once (they pair with nothing). Most MinHash band keys and
// text keys occur once; dropping their occurrences first spares keeping,
// filling in and sorting them. Two bit sets indexed by a hash of the item,
// "seen" and "seen again", are set in one pass over the occurrences; an
// item that occurs once but shares its bit with another item passes as
// shared, which costs only time and memory, never a result. With 8 bits
// per occurrence about 1 in 9 such items passes.
type sharedFilter struct {
	shift       uint
	seen, again []uint64
}

// addShared records one occurrence of item; goroutines may share f, and
// the bits it sets do not depend on the order of the adds.
func (f *sharedFilter) addShared(item uint64) {
	h := mix64(item) >> f.shift
	w, m := h>>6, uint64(1)<<(h&63)
	if atomic.OrUint64(&f.seen[w], m)&m != 0 {
		atomic.OrUint64(&f.again[w], m)
	}
}

// newSharedFilter returns an empty filter sized for about n occurrences,
// with at least 8 bits each.
func newSharedFilter(n int) *sharedFilter {
	logSize := max(16, bits.Len(uint(n))+3)
	words := 1 << logSize / 64
	return &sharedFilter{shift: uint(64 - logSize), seen: make([]uint64, words), again: make([]uint64, words)}
}

// maxSeenBytes bounds each half of a rangedFilter's range: near_text's
// band keys on a 43M-post release would otherwise need 512 MiB for each
// (tests lower it).
var maxSeenBytes = 64 << 20

// rangedFilter is a sharedFilter for the numeric signals' concurrent
// reads, built one range of its bits at a time so that no more than three
// ranges' halves are in memory (the "seen" and "again" bits of the range
// being built, the "again" bits of the one before): read k (pass) builds
// range k and keeps the occurrences of range k-1 whose "again" bit is
// set. The bits of a range are those one sharedFilter of the same size
// sets (TestRangedFilter), whatever the number of ranges.
type rangedFilter struct {
	shift     uint // of the hash: the filter's bits
	rangeBits uint // the bits of one range
	ranges    int
	cur       int // the range being built, ranges when all are
	seen      []uint64
	again     []uint64 // of range cur
	prev      []uint64 // "again" of range cur-1
}

// newRangedFilter returns an empty filter sized for about n occurrences,
// with at least 8 bits each, in as few ranges as keep each half within
// maxSeen bytes.
func newRangedFilter(n, maxSeen int) *rangedFilter {
	logSize, words, k := filterRanges(n, maxSeen)
	return &rangedFilter{
		shift: uint(64 - logSize), rangeBits: uint(logSize - bits.Len(uint(k)) + 1), ranges: k,
		seen: make([]uint64, words/k), again: make([]uint64, words/k),
	}
}

// filterRanges returns the size of a rangedFilter for about n occurrences
// (the log2 of its bits and its words) and its number of ranges.
func filterRanges(n, maxSeen int) (logSize, words, ranges int) {
	logSize = max(16, bits.Len(uint(n))+3)
	words = 1 << logSize / 64
	ranges = 1
	for words*8/ranges > maxSeen && words/ranges > 1 {
		ranges *= 2
	}
	return logSize, words, ranges
}

// pass is read k's work on a batch of values: it records those of range k
// (when k is a range) and returns in keep, per value, 1 for one of range
// k-1 that may occur more than once, -1 for one that occurs once and 0 for
// the others. Goroutines may share it within a read.
func (f *rangedFilter) pass(k int, vals []int64, keep []int8) []int8 {
	keep = keep[:0]
	for _, v := range vals {
		h := mix64(uint64(v)) >> f.shift
		r := int(h >> f.rangeBits)
		l := h & (1<<f.rangeBits - 1)
		w, m := l>>6, uint64(1)<<(l&63)
		switch r {
		case k:
			if atomic.OrUint64(&f.seen[w], m)&m != 0 {
				atomic.OrUint64(&f.again[w], m)
			}
			keep = append(keep, 0)
		case k - 1:
			if f.prev[w]&m != 0 {
				keep = append(keep, 1)
			} else {
				keep = append(keep, -1)
			}
		default:
			keep = append(keep, 0)
		}
	}
	return keep
}

// next ends a read: the range built becomes the one kept from.
func (f *rangedFilter) next() {
	f.cur++
	if f.cur >= f.ranges {
		f.prev, f.again, f.seen = f.again, nil, nil
		return
	}
	if f.prev == nil {
		f.prev = make([]uint64, len(f.again))
	}
	f.prev, f.again = f.again, f.prev
	clear(f.again)
	clear(f.seen)
}

// has reports whether item may occur more than once; it is true for every
// item that does.
func (f *sharedFilter) has(item uint64) bool {
	h := mix64(item) >> f.shift
	return f.again[h>>6]&(1<<(h&63)) != 0
}

// mix64 is MurmurHash3's 64-bit finalizer: every input bit affects every
// output bit, so that item ranks and structured keys spread over the bit sets.
func mix64(x uint64) uint64 {
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	return x ^ x>>33
}

// numericSignal reports whether a signal's items are numbers (hashes) that
// need no interning; the others are strings.
func numericSignal(name string) bool {
	return name == schema.SignalCoText || name == SignalCoHashtagSeq || name == SignalNearText
}

// loadReads returns how many times load reads the rows of path, the total
// of its progress phase (in rows): the account column once; when the
// signals are read one at a time, a numeric signal's column twice (its
// read, and its buckets, counted as rows in proportion to their records:
// readNumericExact) and a string signal's three times (readStrings);
// otherwise a numeric signal's column once more than its filter has ranges
// and a string signal's once.
func loadReads(path string, signals []string, oneAtATime bool) (int64, error) {
	reads := int64(1)
	for _, name := range signals {
		switch {
		case numericSignal(name) && oneAtATime:
			reads += 2
		case numericSignal(name):
			values, err := pqio.NumValues(path, signalColumn[name])
			if err != nil {
				return 0, err
			}
			_, _, ranges := filterRanges(values, maxSeenBytes)
			reads += int64(ranges) + 1
		case oneAtATime:
			reads += 3
		default:
			reads++
		}
	}
	return reads, nil
}

// readPass counts one read of the rows on the load's progress meter: add
// as the read goes (from any goroutine), end when it is over, which counts
// the rows that had no value.
type readPass struct {
	m    progress.Meter
	rows int64
	done atomic.Int64
}

func (d *data) readPass() *readPass { return &readPass{m: d.meter(), rows: d.rows} }

func (p *readPass) add(k int64) {
	p.done.Add(k)
	p.m.Add(k)
}

func (p *readPass) end() {
	if k := p.rows - p.done.Swap(p.rows); k > 0 {
		p.m.Add(k)
	}
}

// ticker returns a function that one goroutine calls once per row read;
// it adds to p every 65,536 calls.
func (p *readPass) ticker() func() {
	c := int64(0)
	return func() {
		if c++; c == 1<<16 {
			p.add(c)
			c = 0
		}
	}
}
