package normalize

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/takedown-research/takedown/internal/progress"
)

// The stage reads its files as a pipeline whose output does not depend on
// scheduling:
//
//	producer per stream (CSV records, raw bytes kept) --batches--> mapper pool (GOMAXPROCS)
//	    --> consumer (this goroutine: stream order, then batch order) --> async Parquet writers
//
// Up to GOMAXPROCS streams (files or zip entries) are read at once; the
// consumer takes their batches strictly in stream order and, within a
// stream, in record order, so accounts, posts and rejects are written in
// the same order as by a sequential reader. Each producer holds at most
// producerQueue batches, so memory is bounded by the number of streams in
// flight, not by file size.

// Batch bounds: a batch closes at batchRecords records or batchBytes raw
// bytes, whichever comes first. They are part of the output bytes: the
// consumer hands rows to the Parquet writers after each batch, and the
// sizes of those writes place the page boundaries (512 records / 256 KiB
// changed posts.parquet of an 8M-post release), so changing them needs a
// Version bump.
const (
	batchRecords  = 1024
	batchBytes    = 512 << 10
	producerQueue = 3
)

// streamTask is one CSV stream to read: a plain or gzipped file, or one
// zip entry.
type streamTask struct {
	file SourceFile
	s    stream
	name string // source_file value: the file name, or "<file>!<entry>"
	// rng, when set, is the part of a plain CSV file the task reads (a
	// shard's byte range, shard.go); nil reads the whole stream.
	rng *byteRange
}

// batch is a run of consecutive records of one stream. A mapper fills res
// and closes done.
type batch struct {
	recs  []record
	arena []byte   // the raw bytes of recs the reader only lends (not owned), which slice into it
	slab  []string // the fields of recs, which slice into it
	table table
	ncol  int
	res   []mapped
	done  chan struct{}
}

// mapped is what a mapper made of one record.
type mapped struct {
	out           row
	err           *rowError
	utf8Field     int // first field whose invalid UTF-8 was repaired; -1 when none
	quoteRepaired bool
}

// streamHead is what a producer learned from a stream's header.
type streamHead struct {
	b     *binding
	names []string
	line  int64
	err   error
}

// producer reads one stream.
type producer struct {
	task      streamTask
	headReady chan struct{} // closed when head is set
	head      streamHead
	batches   chan *batch // closed after the last batch; then err is set
	err       error       // a read error after the last batch
}

// batchPool recycles batches (their record, arena and result buffers):
// a consumed batch goes back, so steady-state reading allocates little.
var batchPool = sync.Pool{New: func() any {
	return &batch{recs: make([]record, 0, batchRecords), arena: make([]byte, 0, batchBytes+batchBytes/4)}
}}

// getBatch returns an empty batch for a stream.
func getBatch(t table, ncol int) *batch {
	b := batchPool.Get().(*batch)
	b.table, b.ncol, b.done = t, ncol, make(chan struct{})
	return b
}

// putBatch recycles a consumed batch. Nothing may refer to its buffers:
// rows copy what they keep, rejects copy the raw bytes.
func putBatch(b *batch) {
	clear(b.recs)
	clear(b.res)
	clear(b.slab)
	b.recs, b.res, b.arena, b.slab = b.recs[:0], b.res[:0], b.arena[:0], b.slab[:0]
	b.table, b.done = nil, nil
	batchPool.Put(b)
}

// mapBatch maps every record of b.
func mapBatch(b *batch) {
	if cap(b.res) < len(b.recs) {
		b.res = make([]mapped, len(b.recs))
	}
	b.res = b.res[:len(b.recs)]
	for i := range b.recs {
		rec := &b.recs[i]
		m := &b.res[i]
		m.utf8Field = -1
		if rec.tooLarge != "" {
			m.err = reject(ReasonTooLarge, "%s", rec.tooLarge)
			continue
		}
		if rec.perr != nil && !rec.last {
			if f := lenientFields(rec.raw, b.ncol); f != nil {
				rec.fields, rec.perr, m.quoteRepaired = f, nil, true
			}
		}
		if e := checkShape(*rec, b.ncol); e != nil {
			m.err = e
			continue
		}
		if !utf8.Valid(rec.raw) {
			for j, v := range rec.fields {
				if !utf8.ValidString(v) {
					rec.fields[j] = strings.ToValidUTF8(v, "\uFFFD")
					if m.utf8Field < 0 {
						m.utf8Field = j
					}
				}
			}
		}
		m.err = b.table.mapRecord(rec.fields, &m.out)
	}
	close(b.done)
}

// produce reads the stream of p and hands batches to the consumer (in
// order, through p.batches) and to the mappers (through jobs).
func (n *normalizer) produce(ctx context.Context, p *producer, jobs chan<- *batch) {
	defer close(p.batches)
	headSet := false
	setHead := func(h streamHead) {
		p.head = h
		headSet = true
		close(p.headReady)
	}
	defer func() {
		if !headSet {
			setHead(streamHead{err: fmt.Errorf("%s: %w", p.task.name, context.Canceled)})
		}
	}()
	t := p.task
	if t.s.container == containerParquet {
		n.produceParquet(ctx, p, jobs, setHead)
		return
	}
	rc, err := t.s.open()
	if err != nil {
		setHead(streamHead{err: err})
		return
	}
	defer rc.Close()
	fail := func(line int64, err error) error {
		if t.s.compressed && !errors.Is(err, ErrRecordTooLarge) && !errors.Is(err, ErrCorruptArchive) {
			err = fmt.Errorf("%w: %w", ErrCorruptArchive, err)
		}
		if line > 0 {
			return fmt.Errorf("%s: after the record at line %d: %w", t.name, line, err)
		}
		return fmt.Errorf("%s: %w", t.name, err)
	}

	// The first bytes say whether the stream is UTF-8 text at all: UTF-16
	// or binary bytes would otherwise surface as bare quote errors.
	br := bufio.NewReaderSize(rc, 64<<10)
	head, err := br.Peek(sniffBytes)
	if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
		setHead(streamHead{err: fail(0, err)})
		return
	}
	if kind, evidence := sniffText(head); kind != textUTF8 {
		setHead(streamHead{err: notTextError(t, t.s.container, kind, evidence)})
		return
	}
	if isJSONLines(head) {
		n.produceJSONLines(ctx, p, jobs, br, setHead, fail)
		return
	}
	rr := newRecordReaderLimit(br, n.maxRecord)
	hrec, err := rr.next()
	switch {
	case err == io.EOF:
		setHead(streamHead{err: fmt.Errorf("%s: %w: the file is empty (no header)", t.name, ErrUnknownHeader)})
		return
	case err != nil:
		setHead(streamHead{err: fail(0, err)})
		return
	case hrec.tooLarge != "":
		setHead(streamHead{err: fmt.Errorf("%s: line %d: %w: the first record (the header) is a %s: not a CSV file?", t.name, hrec.line, ErrRecordTooLarge, hrec.tooLarge)})
		return
	case hrec.perr != nil:
		setHead(streamHead{err: fmt.Errorf("%s: line %d: %w: header is not valid CSV: %v", t.name, hrec.line, ErrUnknownHeader, hrec.perr)})
		return
	}
	names := make([]string, len(hrec.fields))
	for i, c := range hrec.fields {
		names[i] = strings.TrimSpace(c)
	}
	b, err := detectFormat(n.allowed, names)
	if err != nil {
		setHead(streamHead{err: fmt.Errorf("%s: line %d: %w", t.name, hrec.line, err)})
		return
	}
	// A file without a header: its first record is data.
	var pending []record
	if b.headerless {
		pending = append(pending, cloneRecord(hrec))
		for i := range names {
			names[i] = "column " + strconv.Itoa(i+1)
		}
	}
	pending, err = peekRecords(rr, b.table, pending)
	if err != nil {
		setHead(streamHead{err: fmt.Errorf("%s: %w", t.name, err)})
		return
	}
	if n.prescan && !accountsKind(b.kind) {
		// Reading for the account ids of users files only (shard.go).
		setHead(streamHead{b: b, names: names, line: hrec.line})
		return
	}
	var src recordSource = rr
	if t.rng != nil {
		rs, err := t.rng.source(t, rr, &pending, n.maxRecord)
		if err != nil {
			setHead(streamHead{err: fmt.Errorf("%s: %w", t.name, err)})
			return
		}
		defer rs.Close()
		src = rs
	}
	setHead(streamHead{b: b, names: names, line: hrec.line})
	n.pump(ctx, p, jobs, src, len(names), pending, hrec.line, fail)
}

// recordSource is what a producer reads records from: a CSV stream, a
// JSON lines stream or the rows of a Parquet file. next returns io.EOF
// after the last record.
type recordSource interface {
	next() (record, error)
}

// slabSource is a recordSource that can put the fields it reads straight
// into a batch's slab (recordReader.setSlab).
type slabSource interface {
	setSlab(*[]string)
}

// cloneRecord copies a record's fields and raw bytes, which a source may
// reuse on its next read.
func cloneRecord(r record) record {
	r.fields = slices.Clone(r.fields)
	r.raw = slices.Clone(r.raw)
	return r
}

// pump reads the records of src (after the pending ones, already read) in
// batches and hands them to the consumer and to the mappers. fail words a
// read error after the record at a line.
func (n *normalizer) pump(ctx context.Context, p *producer, jobs chan<- *batch, src recordSource, ncol int, pending []record, lastLine int64, fail func(int64, error) error) {
	b := p.head.b
	var offs []int
	slabbed, _ := src.(slabSource)
	if slabbed != nil {
		defer slabbed.setSlab(nil)
	}
	for eof := false; !eof; {
		bt := getBatch(b.table, ncol)
		if slabbed != nil {
			slabbed.setSlab(&bt.slab)
		}
		offs = offs[:0]
		var readErr error
		for size := 0; len(bt.recs) < batchRecords && size < batchBytes; {
			var rec record
			if len(pending) > 0 {
				rec, pending = pending[0], pending[1:]
			} else {
				var err error
				rec, err = src.next()
				if err == io.EOF {
					eof = true
					break
				}
				if err != nil {
					readErr = fail(lastLine, err)
					eof = true
					break
				}
				if rec.fields != nil && !rec.inSlab {
					// One slab per batch instead of one slice per record. A
					// slab that grows leaves earlier records on the old
					// array, which stays valid.
					start := len(bt.slab)
					bt.slab = append(bt.slab, rec.fields...)
					rec.fields = bt.slab[start:len(bt.slab):len(bt.slab)]
				}
			}
			lastLine = rec.line
			size += len(rec.raw)
			start := -1 // owned: the record keeps its raw bytes
			if !rec.owned {
				// Raw bytes the reader only lends: copied to the arena.
				start = len(bt.arena)
				bt.arena = append(bt.arena, rec.raw...)
				rec.raw = nil
			}
			offs = append(offs, start, len(bt.arena))
			bt.recs = append(bt.recs, rec)
		}
		for i := range bt.recs {
			if start, end := offs[2*i], offs[2*i+1]; start >= 0 {
				bt.recs[i].raw = bt.arena[start:end:end]
			}
		}
		if len(bt.recs) == 0 {
			putBatch(bt)
		} else {
			select {
			case p.batches <- bt:
			case <-ctx.Done():
				return
			}
			select {
			case jobs <- bt:
			case <-ctx.Done():
				return
			}
		}
		if readErr != nil {
			p.err = readErr
			return
		}
		if err := ctx.Err(); err != nil {
			p.err = err
			return
		}
	}
}

// files reads every CSV stream of files (already sorted) and hands the rows
// to the writers in order.
func (n *normalizer) files(ctx context.Context, files []SourceFile) error {
	m := progress.Or(n.progress)
	var total int64
	for _, f := range files {
		if st, err := os.Stat(f.Path); err == nil {
			total += st.Size()
		}
	}
	m.Phase("", progress.Bytes, total)
	tasks, closeAll, err := openTasks(files, m)
	if err != nil {
		return err
	}
	defer closeAll()
	return n.tasks(ctx, tasks)
}

// openTasks opens files (already sorted) and lists their CSV streams in
// order; closeAll closes the files.
func openTasks(files []SourceFile, m progress.Meter) (tasks []streamTask, closeAll func(), err error) {
	var srcs []*source
	closeAll = func() {
		for _, s := range srcs {
			s.Close()
		}
	}
	for _, f := range files {
		src, err := openSource(f, m)
		if err != nil {
			closeAll()
			return nil, nil, err
		}
		srcs = append(srcs, src)
		for _, s := range src.streams {
			name := f.Name
			if s.entry != "" {
				name = f.Name + "!" + s.entry
			}
			tasks = append(tasks, streamTask{file: f, s: s, name: name})
		}
	}
	return tasks, closeAll, nil
}

// tasks reads the streams of tasks, in order, and hands the rows to the
// writers in order.
func (n *normalizer) tasks(ctx context.Context, tasks []streamTask) error {
	if len(tasks) == 0 {
		return nil
	}

	ctx, cancel := context.WithCancel(ctx)
	workers := max(1, runtime.GOMAXPROCS(0))
	jobs := make(chan *batch, workers)
	var mappers, producers sync.WaitGroup
	for range workers {
		mappers.Add(1)
		go func() {
			defer mappers.Done()
			for b := range jobs {
				mapBatch(b)
			}
		}()
	}
	prods := make([]*producer, len(tasks))
	for i, t := range tasks {
		prods[i] = &producer{task: t, headReady: make(chan struct{}), batches: make(chan *batch, producerQueue)}
	}
	// Up to `workers` streams are read at once; the consumer frees a slot
	// when it has taken a stream's last batch.
	slots := make(chan struct{}, workers)
	producers.Add(1)
	go func() {
		defer producers.Done()
		for _, p := range prods {
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				// Unstarted streams: release anyone waiting on them.
				// The error is set before headReady closes: closing
				// publishes it to the consumer.
				p.head.err = ctx.Err()
				close(p.headReady)
				close(p.batches)
				continue
			}
			producers.Add(1)
			go func() {
				defer producers.Done()
				n.produce(ctx, p, jobs)
			}()
		}
	}()
	defer func() {
		cancel()
		producers.Wait()
		close(jobs)
		mappers.Wait()
	}()

	for _, p := range prods {
		if err := n.consume(ctx, p); err != nil {
			return err
		}
		<-slots
	}
	return nil
}

// consume takes the batches of one stream, in order, and applies them.
func (n *normalizer) consume(ctx context.Context, p *producer) error {
	select {
	case <-p.headReady:
	case <-ctx.Done():
		return ctx.Err()
	}
	if p.head.err != nil {
		return p.head.err
	}
	b, names, srcName := p.head.b, p.head.names, p.task.name
	fs := FileStats{
		File: p.task.file.Name, Entry: p.task.s.entry, Format: b.format, Kind: b.kind,
		RejectsByReason: map[string]int64{}, Warnings: map[string]int64{},
		MissingColumns: b.missing, ExtraColumns: b.extra,
	}
	if tf, ok := b.table.(timeFormatter); ok {
		fs.TimeFormat = tf.timeFormat()
	}
	if len(b.missing) > 0 {
		n.log.Warn("columns missing: their values are null", "file", srcName, "columns", b.missing)
	}
	if len(b.extra) > 0 {
		n.log.Info("columns not read", "file", srcName, "columns", b.extra)
	}
	n.log.Debug("layout detected", "file", srcName, "format", b.format, "kind", b.kind)

	repairLogs := 0
	for bt := range p.batches {
		select {
		case <-bt.done:
		case <-ctx.Done():
			return ctx.Err()
		}
		for i := range bt.recs {
			rec, m := &bt.recs[i], &bt.res[i]
			if n.recLog != nil {
				n.recLog.record(n, len(rec.raw))
			}
			fs.RowsIn++
			if m.err != nil {
				n.reject(&fs, srcName, *rec, m.err)
				continue
			}
			if m.out.hasAccount {
				if e := n.addAccount(&m.out.account, srcName, rec.line); e != nil {
					n.reject(&fs, srcName, *rec, e)
					continue
				}
			}
			if m.out.hasSeed {
				if err := n.addAuthor(&m.out.author, srcName, rec.line); err != nil && n.authorErr == nil {
					n.authorErr = err
				}
			}
			if m.out.hasPost {
				n.addPost(&m.out, srcName, rec.line)
				at := m.out.post.PostedAt
				if fs.FirstPostAt == nil || at < *fs.FirstPostAt {
					fs.FirstPostAt = &at
				}
				if fs.LastPostAt == nil || at > *fs.LastPostAt {
					v := at
					fs.LastPostAt = &v
				}
				if m.out.timeDisagreement {
					fs.Warnings[WarnTimeDisagreement]++
					n.stats.TimeDisagreements++
				}
			}
			if m.utf8Field >= 0 {
				fs.Warnings[WarnUTF8Repaired]++
				if repairLogs < maxRepairLogs {
					repairLogs++
					n.log.Warn("invalid UTF-8 replaced by U+FFFD", "file", srcName, "line", rec.line, "field", names[m.utf8Field])
				}
			}
			if m.quoteRepaired {
				fs.Warnings[WarnQuoteRepaired]++
			}
			fs.RowsWritten++
		}
		putBatch(bt)
		if err := n.flush(false); err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	if p.err != nil {
		return p.err
	}
	if n.recLog != nil {
		if err := n.recLog.end(n); err != nil {
			return err
		}
	}
	if err := n.flush(true); err != nil {
		return err
	}
	if fs.RowsIn != fs.RowsWritten+fs.RowsRejected {
		// Unreachable by construction; guard the contract anyway.
		return fmt.Errorf("%s: internal error: %d rows in, %d written, %d rejected", srcName, fs.RowsIn, fs.RowsWritten, fs.RowsRejected)
	}
	n.log.Info("file normalized", "file", srcName, "kind", fs.Kind, "rows_in", fs.RowsIn,
		"rows_written", fs.RowsWritten, "rows_rejected", fs.RowsRejected)
	n.stats.Files = append(n.stats.Files, fs)
	return nil
}

// file reads one source file; it is files for a single file.
func (n *normalizer) file(ctx context.Context, f SourceFile) error {
	return n.files(ctx, []SourceFile{f})
}
