package normalize

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/takedown-research/takedown/internal/errkind"
	"github.com/takedown-research/takedown/internal/kmerge"
	"github.com/takedown-research/takedown/internal/pqio"
	"github.com/takedown-research/takedown/internal/progress"
	"github.com/takedown-research/takedown/internal/schema"
)

// A normalize run in shards. The run reads its streams (the source files
// sorted by name; a zip's entries) one after another: the units of work
// are these streams, and the bytes of a large plain CSV file, which can be
// cut at record boundaries (shardcut.go). Shard i of n reads a contiguous
// run of units: the streams, whole or in part, between the i-th and the
// (i+1)-th of n cuts of the streams' bytes laid end to end (see
// shardBounds). A compressed stream (gzip, a zip entry), a Parquet file,
// JSON lines and a small or unsplittable plain file are read whole: a cut
// inside one moves to its nearer end.
//
// What a run decides from all its streams, the merge re-derives:
//
//   - a users file's account already read from an earlier users file is a
//     duplicate_id reject: a shard first reads the users files before its
//     own units (only they), so its rows are those of an unsharded run;
//   - the accounts first seen as post authors, as their first post
//     describes them: each shard keeps its own first-seen authors sorted by
//     id (authors.parquet), the merge takes each id from the first shard
//     that has it, drops the ids of users files and appends them as Run's
//     finish does;
//   - the Parquet bytes, which depend on the rows given to each writer
//     call: a shard records the sizes of its calls per stream and the merge
//     writes the shards' rows in order with the same calls; for a stream
//     read in byte ranges, whose batches restart at each range, the shards
//     log each record's size and outcome and the merge replays the
//     batching of an unsharded run (replayCalls);
//   - the stats: the shards' counts summed, a file read in parts by several
//     shards counted once; the media table, written by the merge.

// TableAuthors is a shard's file of the accounts it first saw as post
// authors, sorted by id.
const TableAuthors = "authors"

// ErrShardCut means a byte range of a plain CSV file did not end on the
// record boundary the cut rule found (a record over MaxRecordBytes spans the
// cut): normalize the dataset unsharded.
var ErrShardCut = errkind.New(errkind.BadInput, "shard cut is not a record boundary")

// ShardMeta is what a shard hands to the merge besides its files.
type ShardMeta struct {
	// Units is the number of streams of the dataset; Streams the ones the
	// shard read (Part: a byte range of a plain file), in order.
	Units   int           `json:"units"`
	Streams []ShardStream `json:"streams"`
	// The shard's counts: accounts of users files, posts, rejects.
	Accounts          int64  `json:"accounts"`
	Posts             int64  `json:"posts"`
	Rejects           int64  `json:"rejects"`
	Authors           int64  `json:"authors"`
	Hex64             int64  `json:"hex64"`
	Base64            int64  `json:"base64"`
	TimeDisagreements int64  `json:"time_disagreements"`
	FirstPostAt       *int64 `json:"first_post_at"`
	LastPostAt        *int64 `json:"last_post_at"`
}

// ShardStream is one stream a shard read.
type ShardStream struct {
	Unit  int       `json:"unit"`
	Part  bool      `json:"part,omitempty"`
	Start int64     `json:"start,omitempty"`
	End   int64     `json:"end,omitempty"`
	Stats FileStats `json:"stats"`
	// Writes are the writer calls the stream made (those of a stream read
	// in part are not the unsharded run's: the merge makes them again
	// from the parts' record logs).
	Writes ShardWrites `json:"writes"`
}

// ShardWrites are the sizes of the writer calls of each table, run-length
// coded: [size, times].
type ShardWrites struct {
	Accounts [][2]int `json:"accounts"`
	Posts    [][2]int `json:"posts"`
	Rejects  [][2]int `json:"rejects"`
}

// ShardInput is one published shard: its directory and meta.
type ShardInput struct {
	Dir  string
	Meta ShardMeta
}

// allowedFormats returns the formats a run with p detects.
func allowedFormats(p Params) ([]format, error) {
	switch {
	case p.Map != "":
		m, _ := ParseMap(p.Map) // checked by Validate
		return []format{generic{m: &m}}, nil
	case p.Format == FormatGeneric:
		return nil, fmt.Errorf("%w: the %s format needs a column map (--map account=COLUMN,post=COLUMN,time=COLUMN, or `takedown datasets add --map`)", ErrNoColumnMap, FormatGeneric)
	case p.Format != FormatAuto:
		var allowed []format
		for _, f := range formats {
			if f.name() == p.Format {
				allowed = append(allowed, f)
			}
		}
		return allowed, nil
	}
	return formats, nil
}

// sortFiles returns the files in the order a run reads them: by name.
func sortFiles(in []SourceFile) []SourceFile {
	files := append([]SourceFile(nil), in...)
	sort.SliceStable(files, func(i, j int) bool {
		if files[i].Name != files[j].Name {
			return files[i].Name < files[j].Name
		}
		return files[i].Path < files[j].Path
	})
	return files
}

// accountsKind reports a stream kind whose records may be accounts (the
// users files of twitter-io, nbc and reddit): the only streams whose rows
// depend on the streams before them (duplicate_id).
func accountsKind(kind string) bool { return kind == "users" }

// callLog passes rows on to a writer and records the size of each call,
// by stream (the number of streams read so far).
type callLog[T any] struct {
	w      rowWriter[T]
	stream func() int
	calls  map[int][][2]int
}

func newCallLog[T any](w rowWriter[T], stream func() int) *callLog[T] {
	return &callLog[T]{w: w, stream: stream, calls: map[int][][2]int{}}
}

func (c *callLog[T]) note(n int) {
	if n == 0 {
		return
	}
	k := c.stream()
	c.calls[k] = appendCall(c.calls[k], n)
}

// appendCall adds a call of n rows to run-length coded calls.
func appendCall(calls [][2]int, n int) [][2]int {
	if k := len(calls); k > 0 && calls[k-1][0] == n {
		calls[k-1][1]++
		return calls
	}
	return append(calls, [2]int{n, 1})
}

func (c *callLog[T]) Write(rows ...T) error {
	c.note(len(rows))
	return c.w.Write(rows...)
}

func (c *callLog[T]) Hand(rows []T) ([]T, error) {
	if h, ok := c.w.(hander[T]); ok {
		c.note(len(rows))
		return h.Hand(rows)
	}
	if err := c.Write(rows...); err != nil {
		return nil, err
	}
	clear(rows)
	return rows[:0], nil
}

// discard is a rowWriter that keeps nothing.
type discard[T any] struct{}

func (discard[T]) Write(...T) error { return nil }

// shardSetup opens the sorted files of in, lists their streams and cuts
// them into n shards.
func shardSetup(in Input, n int, m progress.Meter) (all []streamTask, bounds []shardPos, closeAll func(), err error) {
	all, closeAll, err = openTasks(sortFiles(in.Files), m)
	if err != nil {
		return nil, nil, nil, err
	}
	bounds, err = shardBounds(all, n, MaxRecordBytes)
	if err != nil {
		closeAll()
		return nil, nil, nil, err
	}
	return all, bounds, closeAll, nil
}

// RunShard normalizes shard i of n of in into outDir: the posts,
// accounts (of users files) and rejects of its units as Run writes them,
// and authors.parquet, the accounts its posts name, as they first describe
// them, sorted by id. The meta says what the merge needs.
func RunShard(ctx context.Context, in Input, p Params, i, n int, outDir string, log *slog.Logger) (ShardMeta, error) {
	if err := p.Validate(); err != nil {
		return ShardMeta{}, err
	}
	if n < 1 || i < 0 || i >= n {
		return ShardMeta{}, fmt.Errorf("shard %d/%d: want 0 <= i < n", i, n)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	restore, grown := limitMemory()
	defer restore()
	allowed, err := allowedFormats(p)
	if err != nil {
		return ShardMeta{}, err
	}
	if err := checkHashing(in.Files); err != nil {
		return ShardMeta{}, err
	}
	m := progress.Or(in.Progress)
	all, bounds, closeAll, err := shardSetup(in, n, m)
	if err != nil {
		return ShardMeta{}, err
	}
	defer closeAll()
	mine, units := shardTasks(all, bounds[i], bounds[i+1])
	var total int64
	for _, t := range mine {
		total += t.weight()
	}
	m.Phase("", progress.Bytes, total)

	// The account ids of the users files before the shard's units.
	pre := newNormalizer(in.Dataset, allowed, slog.New(slog.DiscardHandler), discard[schema.Account]{}, discard[schema.Post]{}, discard[schema.Reject]{})
	pre.prescan = true
	pre.authors.dir = outDir
	pre.authors.grown = grown
	defer pre.authors.cleanup()
	if before, _ := shardTasks(all, shardPos{}, bounds[i]); len(before) > 0 {
		if err := pre.tasks(ctx, before); err != nil {
			return ShardMeta{}, err
		}
	}

	w, err := createOutputs(outDir)
	if err != nil {
		return ShardMeta{}, err
	}
	var nz *normalizer
	streams := func() int { return len(nz.stats.Files) }
	acc := newCallLog[schema.Account](w.accountsQ, streams)
	posts := newCallLog[schema.Post](w.postsQ, streams)
	rej := newCallLog[schema.Reject](w.rejectsQ, streams)
	nz = newNormalizer(in.Dataset, allowed, log, acc, posts, rej)
	nz.progress = in.Progress
	if nz.recLog, err = newRecordLog(outDir, mine, units); err != nil {
		w.abort()
		return ShardMeta{}, err
	}
	defer nz.recLog.close()
	nz.authors.dir = outDir
	nz.authors.grown = grown
	defer nz.authors.cleanup()
	for k, f := range pre.authors.flags {
		if f&idInUsers != 0 {
			nz.authors.markUsers(pre.authors.seen.String(k))
		}
	}
	pre = nil
	meta, err := nz.shard(ctx, mine, units, outDir)
	if err == nil {
		err = w.close()
	}
	if err != nil {
		w.abort()
		return ShardMeta{}, err
	}
	meta.Units = len(all)
	for k := range meta.Streams {
		meta.Streams[k].Writes = ShardWrites{Accounts: acc.calls[k], Posts: posts.calls[k], Rejects: rej.calls[k]}
	}
	if err := nz.recLog.close(); err != nil {
		return ShardMeta{}, err
	}
	log.Info("normalized shard", "shard", fmt.Sprintf("%d/%d", i, n), "streams", len(mine), "posts", meta.Posts)
	return meta, nil
}

// shard reads the shard's tasks and writes its authors.
func (n *normalizer) shard(ctx context.Context, tasks []streamTask, units []int, outDir string) (ShardMeta, error) {
	if err := n.tasks(ctx, tasks); err != nil {
		return ShardMeta{}, err
	}
	if err := n.flush(true); err != nil {
		return ShardMeta{}, err
	}
	if n.authorErr != nil {
		return ShardMeta{}, n.authorErr
	}
	if len(n.stats.Files) != len(tasks) {
		return ShardMeta{}, fmt.Errorf("internal: %d streams read of %d", len(n.stats.Files), len(tasks))
	}
	meta := ShardMeta{Accounts: n.stats.Accounts, Posts: n.stats.Posts, Rejects: n.stats.Rejects,
		Hex64: n.hex64, Base64: n.base64, TimeDisagreements: n.stats.TimeDisagreements,
		FirstPostAt: n.stats.FirstPostAt, LastPostAt: n.stats.LastPostAt, Streams: []ShardStream{}}
	for k, fs := range n.stats.Files {
		s := ShardStream{Unit: units[k], Stats: fs}
		if r := tasks[k].rng; r != nil {
			s.Part, s.Start, s.End = true, r.start, r.end
		}
		meta.Streams = append(meta.Streams, s)
	}
	aw, err := pqio.Create[schema.Account](filepath.Join(outDir, TableAuthors+".parquet"))
	if err != nil {
		return ShardMeta{}, err
	}
	buf := make([]schema.Account, 0, batchRows)
	err = n.authors.each(func(a *schema.Account) error {
		meta.Authors++
		buf = append(buf, *a)
		if len(buf) == batchRows {
			err := aw.Write(buf...)
			buf = buf[:0]
			return err
		}
		return nil
	})
	if err == nil {
		err = aw.Write(buf...)
	}
	if err == nil {
		err = aw.Close()
	}
	if err != nil {
		aw.Abort()
		return ShardMeta{}, err
	}
	return meta, nil
}

// Merge writes the run of in from its n shards (in shard order) into
// outDir: the bytes and the stats of Run.
func Merge(ctx context.Context, in Input, p Params, shards []ShardInput, outDir string, log *slog.Logger) (Stats, error) {
	if err := p.Validate(); err != nil {
		return Stats{}, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := checkShardMetas(shards); err != nil {
		return Stats{}, err
	}
	m := progress.Or(in.Progress)
	var total int64
	for _, s := range shards {
		total += s.Meta.Posts + s.Meta.Accounts + s.Meta.Rejects
	}
	m.Phase("", progress.Rows, total)
	w, err := createOutputs(outDir)
	if err != nil {
		return Stats{}, err
	}
	// The rows read from the shards share the reader's buffers: they are
	// written at once, not queued.
	n := newNormalizer(in.Dataset, nil, log, w.accounts, w.posts, w.rejects)
	if len(in.Media) > 0 {
		n.index = newPostIndex()
	}
	if err := n.merge(ctx, shards, w, m); err != nil {
		w.abort()
		return Stats{}, err
	}
	if err := n.end(ctx, in.Media, outDir, w); err != nil {
		return Stats{}, err
	}
	return n.stats, nil
}

// checkShardMetas checks that the shards read every stream once, in order.
func checkShardMetas(shards []ShardInput) error {
	if len(shards) == 0 {
		return fmt.Errorf("internal: merge of no shards")
	}
	units := shards[0].Meta.Units
	next, part := 0, int64(0) // the next unit, and where its next part starts
	for i, s := range shards {
		if s.Meta.Units != units {
			return fmt.Errorf("shard %d/%d counts %d streams, shard 0 %d: the shards were cut from different files", i, len(shards), s.Meta.Units, units)
		}
		for _, st := range s.Meta.Streams {
			ok := st.Unit == next && st.Start == part
			if !ok {
				return fmt.Errorf("shard %d/%d reads stream %d from byte %d where stream %d from byte %d was expected: the shards were cut differently", i, len(shards), st.Unit, st.Start, next, part)
			}
			if st.Part && st.End > 0 {
				part = st.End
			} else {
				next, part = next+1, 0
			}
		}
	}
	if next != units && units > 0 {
		return fmt.Errorf("the shards read %d of %d streams", next, units)
	}
	return nil
}

// merge writes the shards' rows and the accounts only seen in posts, and
// sums their stats.
func (n *normalizer) merge(ctx context.Context, shards []ShardInput, w *outputs, m progress.Meter) error {
	calls, err := mergeCalls(shards)
	if err != nil {
		return err
	}
	table := func(name string) []string {
		paths := make([]string, len(shards))
		for k, s := range shards {
			paths[k] = filepath.Join(s.Dir, name+".parquet")
		}
		return paths
	}
	users := map[string]struct{}{}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		return copyCalls(gctx, w.posts, table(schema.TablePosts), calls.Posts, func(p *schema.Post) {
			if n.index != nil {
				n.index.add(p.PostID, p.AccountID)
			}
		}, m)
	})
	g.Go(func() error {
		err := copyCalls(gctx, w.rejects, table(schema.TableRejects), calls.Rejects, nil, m)
		if err != nil {
			return err
		}
		return copyCalls(gctx, w.accounts, table(schema.TableAccounts), calls.Accounts, func(a *schema.Account) {
			users[strings.Clone(a.AccountID)] = struct{}{}
		}, m)
	})
	if err := g.Wait(); err != nil {
		return err
	}

	st := &n.stats
	for _, s := range shards {
		sm := s.Meta
		st.Accounts += sm.Accounts
		st.Posts += sm.Posts
		st.Rejects += sm.Rejects
		st.TimeDisagreements += sm.TimeDisagreements
		n.hex64 += sm.Hex64
		n.base64 += sm.Base64
		st.FirstPostAt = minTime(st.FirstPostAt, sm.FirstPostAt)
		st.LastPostAt = maxTime(st.LastPostAt, sm.LastPostAt)
		for _, ss := range sm.Streams {
			k := len(st.Files) - 1
			if ss.Part && ss.Start > 0 && k >= 0 {
				addFileStats(&st.Files[k], ss.Stats)
				continue
			}
			st.Files = append(st.Files, ss.Stats)
		}
	}
	// The accounts seen only as post authors, by id: each from the first
	// shard that saw it.
	cs := make([]*shardAuthors, 0, len(shards))
	done := make(chan struct{})
	defer close(done)
	for k, path := range table(TableAuthors) {
		c := &shardAuthors{chunkReader: chunkReader{rows: make(chan []schema.Account, 1), errc: make(chan error, 1)}, shard: k}
		go c.read(path, done)
		cs = append(cs, c)
	}
	var only int64
	last, seen := "", false
	err = kmerge.Merge(cs, func(c *shardAuthors) (bool, error) { return c.next() }, func(a, b *shardAuthors) bool {
		x, y := a.batch[a.i].AccountID, b.batch[b.i].AccountID
		return x < y || (x == y && a.shard < b.shard)
	}, func(c *shardAuthors) error {
		a := &c.batch[c.i]
		if seen && a.AccountID == last {
			return nil
		}
		last, seen = a.AccountID, true
		if _, ok := users[a.AccountID]; ok {
			return nil
		}
		only++
		return n.addAuthorOnly(a)
	})
	if err != nil {
		return err
	}
	st.Accounts += only
	// finish, with no authors left, flushes and names the hash family.
	n.authors = newAuthorStore()
	if err := n.finish(); err != nil {
		return err
	}
	st.AccountsOnlyInPosts = only
	return nil
}

// mergeCalls returns the writer calls of the unsharded run, table by
// table, over the shards' streams: those of a stream read whole are the
// shard's; those of a stream read in parts are made again from the parts'
// record logs, as consume makes them.
func mergeCalls(shards []ShardInput) (ShardWrites, error) {
	var out ShardWrites
	add := func(w ShardWrites) {
		for _, t := range []struct {
			dst *[][2]int
			src [][2]int
		}{{&out.Accounts, w.Accounts}, {&out.Posts, w.Posts}, {&out.Rejects, w.Rejects}} {
			for _, c := range t.src {
				for range c[1] {
					*t.dst = appendCall(*t.dst, c[0])
				}
			}
		}
	}
	var logs []string // the record logs of the stream read in parts so far
	for _, s := range shards {
		for _, ss := range s.Meta.Streams {
			if !ss.Part {
				add(ss.Writes)
				continue
			}
			logs = append(logs, filepath.Join(s.Dir, recordLogName(ss.Unit)))
			if ss.End > 0 {
				continue // more parts follow
			}
			w, err := replayCalls(logs)
			if err != nil {
				return out, err
			}
			add(w)
			logs = nil
		}
	}
	if len(logs) > 0 {
		return out, fmt.Errorf("the shards end inside a stream read in parts")
	}
	return out, nil
}

// shardAuthors reads one shard's authors.parquet.
type shardAuthors struct {
	chunkReader
	shard int
}

// copyCalls writes the rows of a table's files (the shards', in order)
// to w, with the given writer calls; each, when set, sees every row. One
// goroutine decodes the rows of the next calls while another encodes:
// the rows own their strings (parquet-go copies byte arrays into them), so
// a buffer is only reused once written.
func copyCalls[T any](ctx context.Context, w *pqio.Writer[T], paths []string, calls [][2]int, each func(*T), m progress.Meter) error {
	size := 0
	for _, c := range calls {
		size = max(size, c[0])
	}
	const inFlight = 3
	free := make(chan []T, inFlight)
	for range inFlight {
		free <- make([]T, size)
	}
	full := make(chan []T, inFlight)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		defer close(full)
		return readCalls(gctx, paths, calls, each, free, full)
	})
	g.Go(func() error {
		for buf := range full {
			if err := w.Write(buf...); err != nil {
				return err
			}
			m.Add(int64(len(buf)))
			free <- buf[:cap(buf)]
		}
		return nil
	})
	return g.Wait()
}

// readCalls reads the rows of copyCalls' calls from the files, a call's
// rows to a buffer taken from free and handed to full.
func readCalls[T any](ctx context.Context, paths []string, calls [][2]int, each func(*T), free, full chan []T) error {
	var r *pqio.Reader[T]
	file := -1
	defer func() {
		if r != nil {
			r.Close()
		}
	}()
	// read fills buf from the files, moving to the next at the end of one.
	read := func(buf []T) error {
		for len(buf) > 0 {
			if r == nil {
				if file++; file == len(paths) {
					return fmt.Errorf("the shards' %s files have fewer rows than their writer calls", filepath.Base(paths[0]))
				}
				var err error
				if r, err = pqio.Open[T](paths[file]); err != nil {
					return err
				}
			}
			got, err := r.ReadFull(buf)
			buf = buf[got:]
			if len(buf) > 0 {
				if err != nil && !errors.Is(err, io.EOF) {
					return err
				}
				r.Close()
				r = nil
			}
		}
		return nil
	}
	for _, c := range calls {
		for range c[1] {
			var buf []T
			select {
			case buf = <-free:
			case <-ctx.Done():
				return ctx.Err()
			}
			buf = buf[:c[0]]
			clear(buf)
			if err := read(buf); err != nil {
				return err
			}
			if each != nil {
				for i := range buf {
					each(&buf[i])
				}
			}
			select {
			case full <- buf:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	for {
		if r != nil {
			var extra [1]T
			if k, _ := r.ReadFull(extra[:]); k > 0 {
				return fmt.Errorf("%s has more rows than its shard wrote", paths[file])
			}
			r.Close()
			r = nil
		}
		if file++; file >= len(paths) {
			return nil
		}
		var err error
		if r, err = pqio.Open[T](paths[file]); err != nil {
			return err
		}
	}
}

func minTime(a, b *int64) *int64 {
	if a == nil || (b != nil && *b < *a) {
		return b
	}
	return a
}

func maxTime(a, b *int64) *int64 {
	if a == nil || (b != nil && *b > *a) {
		return b
	}
	return a
}

// addFileStats adds the counts of a later part of the same stream to fs.
func addFileStats(fs *FileStats, b FileStats) {
	fs.RowsIn += b.RowsIn
	fs.RowsWritten += b.RowsWritten
	fs.RowsRejected += b.RowsRejected
	for k, v := range b.RejectsByReason {
		fs.RejectsByReason[k] += v
	}
	for k, v := range b.Warnings {
		fs.Warnings[k] += v
	}
	fs.FirstPostAt = minTime(fs.FirstPostAt, b.FirstPostAt)
	fs.LastPostAt = maxTime(fs.LastPostAt, b.LastPostAt)
}

// Outcomes of a record in a record log.
const (
	recReject = 1 << iota
	recAccount
	recPost
)

func recordLogName(unit int) string { return fmt.Sprintf("records-%06d.bin", unit) }

// recordLog writes, for each stream a shard reads in part, a file of one
// uvarint per record: its raw bytes << 3 | what it became (recReject,
// recAccount, recPost). It is told of a record before the record is
// applied, so it writes each one when told of the next, or at the end of
// the stream.
type recordLog struct {
	files   map[int]*os.File      // by stream of the shard
	ws      map[int]*bufio.Writer // by stream of the shard
	pending bool
	raw     int
	stream  int
	posts   int64
	rejects int64
	accts   int64
	buf     [binary.MaxVarintLen64]byte
	err     error
}

func newRecordLog(dir string, tasks []streamTask, units []int) (*recordLog, error) {
	l := &recordLog{files: map[int]*os.File{}, ws: map[int]*bufio.Writer{}}
	for k, t := range tasks {
		if t.rng == nil {
			continue
		}
		f, err := os.Create(filepath.Join(dir, recordLogName(units[k])))
		if err != nil {
			l.close()
			return nil, err
		}
		l.files[k], l.ws[k] = f, bufio.NewWriterSize(f, 256<<10)
	}
	return l, nil
}

func (l *recordLog) record(n *normalizer, raw int) {
	l.emit(n)
	k := len(n.stats.Files)
	if _, ok := l.ws[k]; !ok {
		return
	}
	l.pending, l.raw, l.stream = true, raw, k
	l.posts, l.rejects, l.accts = n.stats.Posts, n.stats.Rejects, n.stats.Accounts
}

func (l *recordLog) emit(n *normalizer) {
	if !l.pending {
		return
	}
	l.pending = false
	v := uint64(l.raw) << 3
	if n.stats.Rejects > l.rejects {
		v |= recReject
	}
	if n.stats.Accounts > l.accts {
		v |= recAccount
	}
	if n.stats.Posts > l.posts {
		v |= recPost
	}
	k := binary.PutUvarint(l.buf[:], v)
	if _, err := l.ws[l.stream].Write(l.buf[:k]); err != nil && l.err == nil {
		l.err = err
	}
}

func (l *recordLog) end(n *normalizer) error {
	l.emit(n)
	return l.err
}

// close flushes and closes the files.
func (l *recordLog) close() error {
	for k, f := range l.files {
		if err := l.ws[k].Flush(); err != nil && l.err == nil {
			l.err = err
		}
		if err := f.Close(); err != nil && l.err == nil {
			l.err = err
		}
	}
	l.files, l.ws = nil, nil
	return l.err
}

// replayCalls returns the writer calls a run makes for a stream whose
// records the logs list (its parts, in order): the consumer takes batches
// of batchRecords records or batchBytes raw bytes (pump), flushes a table
// after a batch when it holds batchRows rows or more, and flushes every
// table at the end of the stream.
func replayCalls(logs []string) (ShardWrites, error) {
	var out ShardWrites
	var held [3]int // accounts, posts, rejects
	dst := [3]*[][2]int{&out.Accounts, &out.Posts, &out.Rejects}
	recs, bytes := 0, 0
	endBatch := func(all bool) {
		for t := range held {
			if held[t] > 0 && (all || held[t] >= batchRows) {
				*dst[t] = appendCall(*dst[t], held[t])
				held[t] = 0
			}
		}
		recs, bytes = 0, 0
	}
	for _, path := range logs {
		f, err := os.Open(path)
		if err != nil {
			return out, err
		}
		br := bufio.NewReaderSize(f, 256<<10)
		for {
			v, err := binary.ReadUvarint(br)
			if err == io.EOF {
				break
			}
			if err != nil {
				f.Close()
				return out, fmt.Errorf("%s: %w", path, err)
			}
			if v&recAccount != 0 {
				held[0]++
			}
			if v&recPost != 0 {
				held[1]++
			}
			if v&recReject != 0 {
				held[2]++
			}
			recs++
			bytes += int(v >> 3)
			if recs == batchRecords || bytes >= batchBytes {
				endBatch(false)
			}
		}
		f.Close()
	}
	if recs > 0 {
		endBatch(false)
	}
	endBatch(true)
	return out, nil
}

// chunkReader reads one shard's authors.parquet in a goroutine, a batch at
// a time.
type chunkReader struct {
	rows  chan []schema.Account
	errc  chan error
	batch []schema.Account
	i     int
}

// errStop ends a read the merge no longer needs.
var errStop = errors.New("stopped")

func (c *chunkReader) read(path string, done <-chan struct{}) {
	err := pqio.Each(path, func(batch []schema.Account) error {
		out := make([]schema.Account, len(batch))
		for i, a := range batch {
			out[i] = cloneAccount(a)
		}
		select {
		case c.rows <- out:
			return nil
		case <-done:
			return errStop
		}
	})
	if errors.Is(err, errStop) {
		err = nil
	}
	c.errc <- err
	close(c.rows)
}

// next moves to the next row; false at the end.
func (c *chunkReader) next() (bool, error) {
	c.i++
	if c.i < len(c.batch) {
		return true, nil
	}
	for {
		b, ok := <-c.rows
		if !ok {
			if err := <-c.errc; err != nil {
				return false, fmt.Errorf("read a shard's authors: %w", err)
			}
			return false, nil
		}
		if len(b) > 0 {
			c.batch, c.i = b, 0
			return true, nil
		}
	}
}

// cloneAccount copies a's strings and pointers, which parquet-go may reuse.
func cloneAccount(a schema.Account) schema.Account {
	a.Dataset, a.AccountID = strings.Clone(a.Dataset), strings.Clone(a.AccountID)
	a.ScreenName, a.DisplayName = strings.Clone(a.ScreenName), strings.Clone(a.DisplayName)
	a.Description, a.Location = strings.Clone(a.Description), strings.Clone(a.Location)
	a.ProfileURL, a.Language = strings.Clone(a.ProfileURL), strings.Clone(a.Language)
	a.Category, a.AccountType = strings.Clone(a.Category), strings.Clone(a.AccountType)
	a.SourceFile = strings.Clone(a.SourceFile)
	for _, p := range []**int64{&a.Followers, &a.Following, &a.CreatedAt} {
		if *p != nil {
			v := **p
			*p = &v
		}
	}
	return a
}
