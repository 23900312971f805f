// Package normalize is the stage that turns published takedown archives
// (CSV files, plain, gzipped or zipped) into the canonical accounts, posts
// and rejects tables.
//
// Every input record ends up in exactly one place: a row of accounts or
// posts, or a row of rejects that keeps its raw bytes and says why. Files
// are read as streams; memory grows only with the number of distinct
// accounts. The layout of each file is detected from its header (see
// format); columns are always mapped by name.
package normalize

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strings"

	"github.com/takedown-research/takedown/internal/pqio"
	"github.com/takedown-research/takedown/internal/progress"
	"github.com/takedown-research/takedown/internal/schema"
	"github.com/takedown-research/takedown/internal/sysmem"
)

// Name is the stage name.
const Name = "normalize"

// Version is bumped when the stage's output semantics change. Version 3
// splits a cnt file's urls field on single spaces only, keeping empty items,
// as the coordination-network-toolkit does. Version 4 rejects a record over
// MaxRecordBytes (too_large, raw cut to RejectRawPrefix bytes) and reads on,
// where version 3 stopped with ErrRecordTooLarge. Version 5 writes absent
// post ids (reply, quote, repost) as null, not "" (posts layout 2). Version
// 6 keeps a '\r' before a CRLF in the last field of a record that is read
// again whole because blank lines before it took its read window (version
// 5 dropped it there, and only there).
const Version = 6

// FormatAuto detects each file's format from its header.
const FormatAuto = "auto"

// Params are the stage's parameters. They enter the run id.
type Params struct {
	// Format is "auto" (detect from each file's header) or a format name:
	// "twitter-io".
	Format string `json:"format"`
	// Map is the column map of the generic format
	// ("account=author_id,post=id,time=created_at", see ParseMap); empty
	// for the other formats. With a map every file is read as generic.
	Map string `json:"map,omitempty"`
}

// DefaultParams returns the default parameters.
func DefaultParams() Params { return Params{Format: FormatAuto} }

// Validate reports a usage error naming the parameter.
func (p Params) Validate() error {
	if p.Map != "" {
		if _, err := ParseMap(p.Map); err != nil {
			return fmt.Errorf("map: %v", err)
		}
		if p.Format != FormatAuto && p.Format != FormatGeneric {
			return fmt.Errorf("map: a column map is for the %s format, not %s (use --format %s, or auto)", FormatGeneric, p.Format, FormatGeneric)
		}
	}
	if p.Format == FormatAuto {
		return nil
	}
	names := []string{FormatAuto}
	for _, f := range formats {
		if f.name() == p.Format {
			return nil
		}
		names = append(names, f.name())
	}
	return fmt.Errorf("format: unknown format %q (want one of %s)", p.Format, strings.Join(names, ", "))
}

// SourceFile is one fetched archive file.
type SourceFile struct {
	// Name is the file's original name; it goes into source_file.
	Name string
	// Path is where its bytes are. It has no extension: zip and gzip are
	// detected from magic bytes.
	Path string
}

// Input lists what the stage reads.
type Input struct {
	Dataset string
	Files   []SourceFile
	// Media are the release's media archives (zips of images and videos
	// named by tweet id); with any, the run also writes media.parquet.
	Media []SourceFile
	// Progress counts the bytes of the files read; nil counts nothing.
	Progress progress.Meter
}

// FileStats counts one CSV stream: a plain or gzipped file, or one zip
// entry. RowsIn = RowsWritten + RowsRejected always.
type FileStats struct {
	File            string           `json:"file"`
	Entry           string           `json:"entry,omitempty"`
	Format          string           `json:"format"`
	Kind            string           `json:"kind"` // users | tweets
	RowsIn          int64            `json:"rows_in"`
	RowsWritten     int64            `json:"rows_written"`
	RowsRejected    int64            `json:"rows_rejected"`
	RejectsByReason map[string]int64 `json:"rejects_by_reason"`
	// Warnings counts rows written with a repair or a doubt (Warn* codes).
	Warnings map[string]int64 `json:"warnings"`
	// MissingColumns lists optional columns of the layout the header lacks;
	// their values are null or empty in every row.
	MissingColumns []string `json:"missing_columns,omitempty"`
	// ExtraColumns lists header columns the layout does not read.
	ExtraColumns []string `json:"extra_columns,omitempty"`
	// TimeFormat is how a generic file's time column was read (rfc3339,
	// epoch_s or epoch_ms, with "detected" or "map"); empty for the formats
	// whose time spelling is fixed.
	TimeFormat string `json:"time_format,omitempty"`
	// FirstPostAt and LastPostAt are the date coverage of the posts written
	// from this stream (ms since the epoch, UTC); absent without posts.
	FirstPostAt *int64 `json:"first_post_at,omitempty"`
	LastPostAt  *int64 `json:"last_post_at,omitempty"`
}

// Stats are the deterministic facts of a run, recorded in the manifest.
type Stats struct {
	Files               []FileStats `json:"files"`
	Accounts            int64       `json:"accounts"`
	AccountsOnlyInPosts int64       `json:"accounts_only_in_posts"`
	Posts               int64       `json:"posts"`
	Rejects             int64       `json:"rejects"`
	// IDHashFamily is the hash form of the hashed account ids: hex64,
	// base64, none, or mixed (both: a warning, as a release uses one).
	IDHashFamily      string `json:"id_hash_family"`
	FirstPostAt       *int64 `json:"first_post_at"`
	LastPostAt        *int64 `json:"last_post_at"`
	TimeDisagreements int64  `json:"time_disagreements"`
	// Media counts the media table; absent when the dataset has no media
	// archives (and no media.parquet is written).
	Media *MediaStats `json:"media,omitempty"`
}

// memoryTarget is the soft heap limit while the stage runs, unless the
// process has one (GOMEMLIMIT): it keeps the collector from letting the heap
// double. The live heap is a fixed part (the record batches in flight, the
// Parquet writers' row groups, the authors' arena: under 100 MiB) and the
// accounts' part, accountBytes each; past accountBudget of the latter the
// limit rises by twice the excess (memoryLimit), so that the collector
// always has some 48 MiB beyond the live heap and never runs without pause
// with a live heap near the limit. With a fixed 160 MiB, a 10M-post file of
// about 900,000 accounts spent 80 s in the stage instead of 36 s; with an
// accountBudget of 64 MiB, the limit stayed at 176 MiB while the accounts
// took up to 64 MiB, so that a 30M-post synthetic release of 1.5M
// accounts (about 63 MiB of them) ran 1,218 collections in its first 70 s,
// with 145-152 MB live against a 154 MB goal: 139 s and 264 CPU s instead
// of 85 s and 158. 176 MiB rather than 192: on 8M posts by 400,000 accounts
// the live heap stays under 120 MiB, the collector ran 112 times instead of
// 110 (6% of the stage's CPU instead of 5%) and peak RSS was 217 MiB, not
// 233-243; with the limit rising past 16 MiB of ids it is 234-235 MiB there
// (the ids take about 35 MiB), in the same time.
const (
	memoryTarget  = 176 << 20
	accountBudget = 16 << 20
)

// accountBytes is the memory one account id costs the stage besides its
// bytes: its end in the index of ids (8 bytes), its slot in the index's
// table (8 bytes at a load of 3/8 to 3/4: 11 to 21 bytes) and its flags.
const accountBytes = 28

// memoryLimit is the soft heap limit for accounts taking acct bytes.
func memoryLimit(acct int64) int64 {
	return memoryTarget + 2*max(0, acct-accountBudget)
}

// limitMemory sets the stage's soft heap limit, memoryLimit(0), unless the
// user set one (GOMEMLIMIT, which is respected); never above the limit the
// process had (from its memory cgroup, sysmem.LimitHeap). Under its own
// limit it also paces the collector at gcPercent, unless the process sets
// GOGC. It returns what restores both as they were, and what an
// authorStore calls as its ids grow (its grown) to raise the limit: nil
// when the limit is the user's.
func limitMemory() (restore func(), grown func(acct int64)) {
	if sysmem.UserLimit() {
		return func() {}, nil
	}
	prev := debug.SetMemoryLimit(-1)
	limit := func(acct int64) int64 { return min(memoryLimit(acct), prev) }
	debug.SetMemoryLimit(limit(0))
	prevGC, setGC := 0, os.Getenv("GOGC") == ""
	if setGC {
		prevGC = debug.SetGCPercent(gcPercent)
	}
	restore = func() {
		debug.SetMemoryLimit(prev)
		if setGC {
			debug.SetGCPercent(prevGC)
		}
	}
	return restore, func(acct int64) { debug.SetMemoryLimit(limit(acct)) }
}

// gcPercent is the collector's pace under the stage's own heap limit: a
// collection when the heap has grown by twice the live heap (GOGC=200), not
// once, for the limit bounds the heap either way. On the bench-normalize
// file (1.9M posts, five alternating runs each) it took 5.24 CPU s instead
// of 5.54 and 2.88 s instead of 3.07 (medians), peaking at 211 MiB instead
// of 197; on 43M posts in 16 gzip parts, where the limit sets the pace, the
// same: 111.6 s and 468 MiB against 110.0 s and 472 MiB.
const gcPercent = 200

// batchRows is how many rows are buffered before a write.
const batchRows = 4096

// ctxCheckEvery is how many records are read between cancellation checks.
const ctxCheckEvery = 4096

// maxRepairLogs bounds the per-file log lines about repaired UTF-8.
const maxRepairLogs = 5

// Run reads the files of in, writes accounts.parquet, posts.parquet and
// rejects.parquet into outDir and returns the run's stats. Files are read
// in order of Name; see the package documentation for the contract.
func Run(ctx context.Context, in Input, p Params, outDir string, log *slog.Logger) (Stats, error) {
	if err := p.Validate(); err != nil {
		return Stats{}, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	// The stage promises a peak memory bounded by the number of accounts,
	// whatever the number of posts. A soft limit keeps the garbage
	// collector from letting the heap double above memoryTarget. A limit
	// set by the user (GOMEMLIMIT) is respected.
	restore, grown := limitMemory()
	defer restore()
	allowed, err := allowedFormats(p)
	if err != nil {
		return Stats{}, err
	}
	if err := checkHashing(in.Files); err != nil {
		return Stats{}, err
	}
	w, err := createOutputs(outDir)
	if err != nil {
		return Stats{}, err
	}
	n := newNormalizer(in.Dataset, allowed, log, w.accountsQ, w.postsQ, w.rejectsQ)
	n.progress = in.Progress
	n.authors.dir = outDir
	n.authors.grown = grown
	defer n.authors.cleanup()
	if len(in.Media) > 0 {
		n.index = newPostIndex()
	}
	if err := n.files(ctx, sortFiles(in.Files)); err != nil {
		w.abort()
		return Stats{}, err
	}
	if err := n.finish(); err != nil {
		w.abort()
		return Stats{}, err
	}
	if err := n.end(ctx, in.Media, outDir, w); err != nil {
		return Stats{}, err
	}
	return n.stats, nil
}

// outputs are the three Parquet files of a run, each written by its own
// goroutine.
type outputs struct {
	accounts *pqio.Writer[schema.Account]
	posts    *pqio.Writer[schema.Post]
	rejects  *pqio.Writer[schema.Reject]

	accountsQ *asyncWriter[schema.Account]
	postsQ    *asyncWriter[schema.Post]
	rejectsQ  *asyncWriter[schema.Reject]
}

// createOutputs creates the three output files in outDir.
func createOutputs(outDir string) (*outputs, error) {
	w := &outputs{}
	var err error
	if w.accounts, err = pqio.Create[schema.Account](filepath.Join(outDir, schema.TableAccounts+".parquet")); err != nil {
		return nil, err
	}
	if w.posts, err = pqio.Create[schema.Post](filepath.Join(outDir, schema.TablePosts+".parquet")); err != nil {
		w.accounts.Abort()
		return nil, err
	}
	if w.rejects, err = pqio.Create[schema.Reject](filepath.Join(outDir, schema.TableRejects+".parquet")); err != nil {
		w.accounts.Abort()
		w.posts.Abort()
		return nil, err
	}
	w.accountsQ = newAsyncWriter[schema.Account](w.accounts)
	w.postsQ = newAsyncWriter[schema.Post](w.posts)
	w.rejectsQ = newAsyncWriter[schema.Reject](w.rejects)
	return w, nil
}

// wait waits for the queued rows to be written.
func (w *outputs) wait() error {
	return errors.Join(w.accountsQ.wait(), w.postsQ.wait(), w.rejectsQ.wait())
}

// close finishes the three files.
// addAuthorOnly writes the row of an account seen only as a post author.
func (n *normalizer) addAuthorOnly(a *schema.Account) error {
	n.countFamily(a.AccountID)
	n.accBuf = append(n.accBuf, *a)
	return n.flush(false)
}

// end writes the media table (when there are media archives) and closes
// the outputs; on error it aborts them.
func (n *normalizer) end(ctx context.Context, media []SourceFile, outDir string, w *outputs) error {
	if len(media) > 0 {
		if err := n.writeMedia(ctx, media, outDir); err != nil {
			w.abort()
			return err
		}
	}
	if err := w.close(); err != nil {
		w.abort()
		return err
	}
	return nil
}

func (w *outputs) close() error {
	if err := w.wait(); err != nil {
		return err
	}
	for _, c := range []interface{ Close() error }{w.accounts, w.posts, w.rejects} {
		if err := c.Close(); err != nil {
			return err
		}
	}
	return nil
}

// abort removes the partly written files.
func (w *outputs) abort() {
	w.wait()
	w.accounts.Abort()
	w.posts.Abort()
	w.rejects.Abort()
}

// rowWriter receives rows of one table, in order.
type rowWriter[T any] interface {
	Write(rows ...T) error
}

// hander is a rowWriter that can also take a buffer of rows over without
// copying it (asyncWriter.Hand).
type hander[T any] interface {
	Hand(rows []T) ([]T, error)
}

// normalizer holds the state of one run.
type normalizer struct {
	dataset  string
	progress progress.Meter
	allowed  []format
	log      *slog.Logger
	// maxRecord is the largest record read (MaxRecordBytes; tests lower it).
	maxRecord int64

	accounts rowWriter[schema.Account]
	posts    rowWriter[schema.Post]
	rejects  rowWriter[schema.Reject]
	accBuf   []schema.Account
	postBuf  []schema.Post
	// lastAuthor is the account id addAuthor saw last, known to be kept.
	lastAuthor string
	rejBuf     []schema.Reject

	// authors holds, per account id seen as a post author, the account as
	// its first post described it (spilled to disk in sorted chunks).
	authors *authorStore
	hex64   int64
	base64  int64
	// index maps post ids to accounts for the media table; nil without
	// media archives.
	index *postIndex
	// authorErr is the first error spilling authors, returned by finish.
	authorErr error
	// prescan reads only the streams of users files, for their account
	// ids (a shard learning the accounts of the files before its own).
	prescan bool
	// recLog, when set, records what each record of a stream read in
	// part became (a shard's byte range, shard.go).
	recLog *recordLog

	stats Stats
}

// newNormalizer returns a normalizer that hands its rows to the given writers.
func newNormalizer(dataset string, allowed []format, log *slog.Logger,
	accounts rowWriter[schema.Account], posts rowWriter[schema.Post], rejects rowWriter[schema.Reject]) *normalizer {
	return &normalizer{
		dataset:   dataset,
		maxRecord: MaxRecordBytes,
		allowed:   allowed,
		log:       log,
		accounts:  accounts,
		posts:     posts,
		rejects:   rejects,
		authors:   newAuthorStore(),
	}
}

// checkShape rejects records that did not parse as CSV or have the wrong
// number of fields. A short or unparsable record at the very end of a
// stream that stops mid-record is "truncated".
func checkShape(rec record, ncol int) *rowError {
	if rec.perr != nil {
		if rec.last && rec.perr.Err == errQuote && oddQuotes(rec.raw) {
			return reject(ReasonTruncated, "the last record stops inside a quoted field (file cut short)")
		}
		return reject(ReasonBadQuote, "%v", rec.perr)
	}
	if len(rec.fields) != ncol {
		if rec.last && !rec.nl && len(rec.fields) < ncol {
			return reject(ReasonTruncated, "the last record has %d of %d fields and no line end (file cut short)", len(rec.fields), ncol)
		}
		return reject(ReasonFieldCount, "record has %d fields, header has %d", len(rec.fields), ncol)
	}
	return nil
}

// oddQuotes reports an odd number of '"' bytes: a quoted field left open.
func oddQuotes(b []byte) bool {
	n := 0
	for _, c := range b {
		if c == '"' {
			n++
		}
	}
	return n%2 == 1
}

// reject records a rejected record.
func (n *normalizer) reject(fs *FileStats, srcName string, rec record, e *rowError) {
	fs.RowsRejected++
	fs.RejectsByReason[e.reason]++
	n.stats.Rejects++
	n.rejBuf = append(n.rejBuf, schema.Reject{
		Dataset:    n.dataset,
		SourceFile: srcName,
		SourceLine: rec.line,
		Reason:     e.reason,
		Detail:     e.detail,
		Raw:        append([]byte(nil), rec.raw...),
	})
}

// addAccount adds an account from a users file.
func (n *normalizer) addAccount(a *schema.Account, srcName string, line int64) *rowError {
	if n.authors.inUsers(a.AccountID) {
		return reject(ReasonDuplicateID, "field userid: account %q already read from a users file", clip(a.AccountID))
	}
	n.authors.markUsers(a.AccountID)
	a.Dataset = n.dataset
	a.SourceFile = srcName
	a.SourceLine = line
	n.countFamily(a.AccountID)
	n.accBuf = append(n.accBuf, *a)
	n.stats.Accounts++
	return nil
}

// addPost adds a post and remembers its author the first time it is seen.
func (n *normalizer) addPost(r *row, srcName string, line int64) {
	p := &r.post
	p.Dataset = n.dataset
	p.SourceFile = srcName
	p.SourceLine = line
	n.postBuf = append(n.postBuf, *p)
	n.stats.Posts++
	if n.index != nil {
		n.index.add(p.PostID, p.AccountID)
	}
	if n.stats.FirstPostAt == nil || p.PostedAt < *n.stats.FirstPostAt {
		v := p.PostedAt
		n.stats.FirstPostAt = &v
	}
	if n.stats.LastPostAt == nil || p.PostedAt > *n.stats.LastPostAt {
		v := p.PostedAt
		n.stats.LastPostAt = &v
	}
	if err := n.addAuthor(&r.author, srcName, line); err != nil && n.authorErr == nil {
		n.authorErr = err
	}
}

// addAuthor remembers an account named by a post or a seed list, the first
// time it is seen.
func (n *normalizer) addAuthor(author *schema.Account, srcName string, line int64) error {
	if author.AccountID == n.lastAuthor && n.lastAuthor != "" {
		return nil // a run of posts by one account, as archives often hold
	}
	if !n.authors.has(author.AccountID) {
		a := *author
		a.Dataset = n.dataset
		a.InUsersFile = false
		a.SourceFile = srcName
		a.SourceLine = line
		if err := n.authors.add(&a); err != nil {
			return err
		}
	}
	n.lastAuthor = author.AccountID
	return nil
}

// countFamily counts the hash family of an account id.
func (n *normalizer) countFamily(id string) {
	switch idKind(id) {
	case idHex64:
		n.hex64++
	case idBase64:
		n.base64++
	}
}

// flush writes buffered rows when a buffer is full, or all of them.
func (n *normalizer) flush(all bool) error {
	if len(n.accBuf) > 0 && (all || len(n.accBuf) >= batchRows) {
		if err := n.accounts.Write(n.accBuf...); err != nil {
			return err
		}
		n.accBuf = n.accBuf[:0]
	}
	if len(n.postBuf) > 0 && (all || len(n.postBuf) >= batchRows) {
		if h, ok := n.posts.(hander[schema.Post]); ok {
			// Posts are the bulk of the bytes: hand the buffer over
			// rather than copy it.
			next, err := h.Hand(n.postBuf)
			if err != nil {
				return err
			}
			if next == nil {
				// No written buffer free yet: a full-size one, not one
				// grown by append (copying the rows at each doubling).
				next = make([]schema.Post, 0, batchRows)
			}
			n.postBuf = next
		} else {
			if err := n.posts.Write(n.postBuf...); err != nil {
				return err
			}
			clear(n.postBuf)
			n.postBuf = n.postBuf[:0]
		}
	}
	if len(n.rejBuf) > 0 && (all || len(n.rejBuf) >= batchRows) {
		if err := n.rejects.Write(n.rejBuf...); err != nil {
			return err
		}
		clear(n.rejBuf)
		n.rejBuf = n.rejBuf[:0]
	}
	return nil
}

// finish appends the accounts seen only as post authors, sorted by id,
// and flushes every buffer.
func (n *normalizer) finish() error {
	if n.authorErr != nil {
		return n.authorErr
	}
	var only int64
	err := n.authors.each(func(a *schema.Account) error {
		if n.authors.inUsers(a.AccountID) {
			return nil
		}
		only++
		return n.addAuthorOnly(a)
	})
	if err != nil {
		return err
	}
	n.stats.AccountsOnlyInPosts = only
	n.stats.Accounts += only
	if err := n.flush(true); err != nil {
		return err
	}
	switch {
	case n.hex64 > 0 && n.base64 > 0:
		n.stats.IDHashFamily = FamilyMixed
		n.log.Warn("account ids use two hash families: ids from different releases were mixed?",
			"hex64", n.hex64, "base64", n.base64)
	case n.hex64 > 0:
		n.stats.IDHashFamily = FamilyHex64
	case n.base64 > 0:
		n.stats.IDHashFamily = FamilyBase64
	default:
		n.stats.IDHashFamily = FamilyNone
	}
	if n.stats.Files == nil {
		n.stats.Files = []FileStats{}
	}
	return nil
}

// writeMedia writes media.parquet from the media archives, sorted by name.
func (n *normalizer) writeMedia(ctx context.Context, media []SourceFile, outDir string) error {
	files := append([]SourceFile(nil), media...)
	sort.SliceStable(files, func(i, j int) bool {
		if files[i].Name != files[j].Name {
			return files[i].Name < files[j].Name
		}
		return files[i].Path < files[j].Path
	})
	out, err := pqio.Create[schema.Media](filepath.Join(outDir, schema.TableMedia+".parquet"))
	if err != nil {
		return err
	}
	if err := n.media(ctx, files, out); err != nil {
		out.Abort()
		return err
	}
	if err := out.Close(); err != nil {
		out.Abort()
		return err
	}
	return nil
}

// checkHashing refuses a dataset holding both the hashed and the unhashed
// form of a release, told apart by the published file names
// (<campaign>_tweets_csv_hashed.zip, <campaign>_tweets_csv_unhashed.csv.gz).
func checkHashing(files []SourceFile) error {
	var hashed, unhashed string
	for _, f := range files {
		n := strings.ToLower(f.Name)
		switch {
		case strings.Contains(n, "unhashed"):
			unhashed = f.Name
		case strings.Contains(n, "_hashed"):
			hashed = f.Name
		}
	}
	if hashed != "" && unhashed != "" {
		return fmt.Errorf("%w: %s is hashed, %s is not; normalize them as two datasets", ErrMixedHashing, hashed, unhashed)
	}
	return nil
}
