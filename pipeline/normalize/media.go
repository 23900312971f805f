package normalize

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path"
	"runtime"
	"sort"
	"strings"
	"sync"

	"golang.org/x/sync/semaphore"

	"github.com/takedown-research/takedown/internal/archive"
	"github.com/takedown-research/takedown/internal/errkind"
	"github.com/takedown-research/takedown/internal/imagehash"
	"github.com/takedown-research/takedown/internal/pqio"
	"github.com/takedown-research/takedown/internal/progress"
	"github.com/takedown-research/takedown/internal/schema"
)

// Reasons of the media table's reason column (docs/tables/media.md). A row
// has at most one: no_tweet_id first, else the one its bytes give.
const (
	// MediaNoTweetID: the entry's base name does not start with a tweet id
	// (ParseMediaEntry).
	MediaNoTweetID = "no_tweet_id"
	// MediaUnknownFormat: an image by its name whose bytes are no JPEG,
	// PNG, GIF or WebP, or a file that is neither image nor video.
	MediaUnknownFormat = "unknown_format"
	// MediaTruncated: the file ends before its image does.
	MediaTruncated = "truncated"
	// MediaTooLarge: the header declares more pixels than the limit (a
	// decompression bomb such as 60000x60000), or a side of zero.
	MediaTooLarge = "too_large"
	// MediaCorrupt: the header does not parse.
	MediaCorrupt = "corrupt"
	// MediaUnsupported: a valid header of a variant the decoders lack.
	MediaUnsupported = "unsupported"
	// MediaFileTooBig: an image file over MaxMediaImageBytes, not read
	// into memory (its digest is still computed).
	MediaFileTooBig = "file_too_big"
)

// MaxMediaImageBytes is the largest image or GIF file whose header is
// checked: Twitter accepted images up to 5 MB and GIFs up to 15 MB.
const MaxMediaImageBytes = 64 << 20

// mediaInFlightBytes bounds the bytes of entries held in memory at once by
// the workers; mediaWindow bounds the entries dispatched but not yet
// written (their rows wait for the earlier ones, to keep the order).
const (
	mediaInFlightBytes = 256 << 20
	mediaWindow        = 4096
)

// MediaStats counts the media table of a run.
type MediaStats struct {
	Archives []MediaArchiveStats `json:"archives"`
	// Files is the number of rows of the media table; Bytes their sizes.
	Files    int64            `json:"files"`
	Bytes    int64            `json:"bytes"`
	ByKind   map[string]int64 `json:"by_kind"`
	ByReason map[string]int64 `json:"by_reason"`
	// Orphans counts files whose tweet id names no post of the dataset
	// (kept, with a null account_id).
	Orphans int64 `json:"orphans"`
}

// MediaArchiveStats counts one media archive.
type MediaArchiveStats struct {
	Archive  string           `json:"archive"`
	Files    int64            `json:"files"`
	Bytes    int64            `json:"bytes"`
	ByReason map[string]int64 `json:"by_reason"`
	Orphans  int64            `json:"orphans"`
}

// mediaFile is what a worker learns of one entry.
type mediaFile struct {
	row schema.Media
	err error
}

var (
	imageExts = map[string]bool{".jpg": true, ".jpeg": true, ".png": true, ".webp": true, ".bmp": true, ".tif": true, ".tiff": true}
	videoExts = map[string]bool{".mp4": true, ".m4v": true, ".mov": true, ".webm": true, ".avi": true, ".mkv": true, ".3gp": true, ".ts": true}
)

// isVideoHead reports an ISO media (MP4, MOV) or Matroska/WebM header.
func isVideoHead(head []byte) bool {
	return len(head) >= 8 && string(head[4:8]) == "ftyp" || bytes.HasPrefix(head, []byte{0x1a, 0x45, 0xdf, 0xa3})
}

// mediaKind names a file's kind from its leading bytes, else its
// extension.
func mediaKind(name string, head []byte) string {
	switch imagehash.Sniff(head) {
	case "gif":
		return schema.MediaGIF
	case "jpeg", "png", "webp":
		return schema.MediaImage
	}
	ext := strings.ToLower(path.Ext(name))
	switch {
	case isVideoHead(head), videoExts[ext]:
		return schema.MediaVideo
	case ext == ".gif":
		return schema.MediaGIF
	case imageExts[ext]:
		return schema.MediaImage
	}
	return schema.MediaOther
}

var reasonCodes = map[imagehash.Reason]string{
	imagehash.UnknownFormat: MediaUnknownFormat,
	imagehash.Truncated:     MediaTruncated,
	imagehash.TooLarge:      MediaTooLarge,
	imagehash.Corrupt:       MediaCorrupt,
	imagehash.Unsupported:   MediaUnsupported,
}

// describeMedia fills kind, size and reason of a row from the file's bytes
// (all of them, or only the head when the file is over the image limit).
func describeMedia(row *schema.Media, data []byte, whole bool) {
	row.Kind = mediaKind(row.Entry, data)
	switch row.Kind {
	case schema.MediaVideo:
		return
	case schema.MediaOther:
		setReason(row, MediaUnknownFormat)
		return
	}
	if !whole {
		setReason(row, MediaFileTooBig)
		return
	}
	info, err := imagehash.Probe(data, imagehash.Options{})
	if err != nil {
		code, ok := reasonCodes[imagehash.ReasonOf(err)]
		if !ok {
			code = MediaCorrupt
		}
		setReason(row, code)
		return
	}
	w, h := int32(info.Width), int32(info.Height)
	row.Width, row.Height = &w, &h
}

func setReason(row *schema.Media, code string) {
	if row.Reason == "" {
		row.Reason = code
	}
}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// readMedia reads one entry: its digest, and the row without its account.
func readMedia(z *archive.Zip, archiveName string, e archive.Entry) mediaFile {
	row := schema.Media{Archive: archiveName, Entry: e.Name}
	id, key, ok := ParseMediaEntry(e.Name)
	row.PostID, row.MediaKey = id, key
	if !ok {
		row.Reason = MediaNoTweetID
	}
	rc, err := z.Open(e.Name)
	if err != nil {
		return mediaFile{err: err}
	}
	defer rc.Close()
	h := sha256.New()
	buf := bufPool.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= 16<<20 {
			buf.Reset()
			bufPool.Put(buf)
		}
	}()
	buf.Reset()
	whole := e.Size <= MaxMediaImageBytes
	var n int64
	if whole {
		buf.Grow(int(e.Size))
		n, err = io.Copy(io.MultiWriter(h, buf), rc)
	} else {
		n, err = copyHead(h, buf, rc, 64)
	}
	if err != nil {
		if !errors.Is(err, archive.ErrUnsafe) && !errors.Is(err, archive.ErrCorrupt) {
			err = fmt.Errorf("%w: %s: entry %q: %v", archive.ErrCorrupt, archiveName, e.Name, err)
		}
		return mediaFile{err: err}
	}
	row.Bytes = n
	row.SHA256 = hex.EncodeToString(h.Sum(nil))
	describeMedia(&row, buf.Bytes(), whole)
	return mediaFile{row: row}
}

// copyHead hashes all of r and keeps its first n bytes in head.
func copyHead(h hash.Hash, head *bytes.Buffer, r io.Reader, n int64) (int64, error) {
	k, err := io.CopyN(io.MultiWriter(h, head), r, n)
	if err != nil {
		if err == io.EOF {
			err = nil
		}
		return k, err
	}
	m, err := io.Copy(h, r)
	return k + m, err
}

// ErrMediaArchive means a media file of the dataset is not a zip.
var ErrMediaArchive = errkind.New(errkind.BadInput, "media file is not a zip archive")

// media reads the media archives (sorted by name) and writes one row per
// entry, in (archive, entry) order, whatever the number of workers.
func (n *normalizer) media(ctx context.Context, files []SourceFile, out *pqio.Writer[schema.Media]) error {
	m := progress.Or(n.progress)
	var total int64
	for _, f := range files {
		if st, err := os.Stat(f.Path); err == nil {
			total += st.Size()
		}
	}
	m.Phase("media", progress.Bytes, total)
	st := &MediaStats{Archives: []MediaArchiveStats{}, ByKind: map[string]int64{}, ByReason: map[string]int64{}}
	n.stats.Media = st
	for _, f := range files {
		head, err := archive.Sniff(f.Path)
		if err != nil {
			return err
		}
		if !archive.IsZip(head) {
			return fmt.Errorf("%w: %s (media archives are zips of image and video files; was a README or another file given the media role?)", ErrMediaArchive, f.Name)
		}
		z, err := archive.OpenZipCounted(f.Path, archive.MediaLimits(), m.Add)
		if err != nil {
			return err
		}
		as := MediaArchiveStats{Archive: f.Name, ByReason: map[string]int64{}}
		err = n.mediaArchive(ctx, z, f.Name, func(row *schema.Media) {
			row.Dataset = n.dataset
			if row.PostID != "" {
				if acct, ok := n.index.lookup(row.PostID); ok {
					a := acct
					row.AccountID = &a
				} else {
					as.Orphans++
				}
			}
			as.Files++
			as.Bytes += row.Bytes
			st.ByKind[row.Kind]++
			if row.Reason != "" {
				as.ByReason[row.Reason]++
				st.ByReason[row.Reason]++
			}
		}, out)
		z.Close()
		if err != nil {
			return err
		}
		st.Files += as.Files
		st.Bytes += as.Bytes
		st.Orphans += as.Orphans
		st.Archives = append(st.Archives, as)
	}
	return nil
}

// mediaArchive reads the data entries of one zip with a pool of workers:
// the producer dispatches entries in name order, holding at most
// mediaInFlightBytes of entry bytes and mediaWindow entries in flight; the
// consumer takes the results in the same order, completes each row and
// writes it.
func (n *normalizer) mediaArchive(ctx context.Context, z *archive.Zip, name string, complete func(*schema.Media), out *pqio.Writer[schema.Media]) error {
	entries := z.DataEntries()
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name < entries[j].Name })
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type job struct {
		e      archive.Entry
		weight int64
		res    chan mediaFile
	}
	workers := max(1, runtime.GOMAXPROCS(0))
	jobs := make(chan job)
	order := make(chan chan mediaFile, mediaWindow)
	sem := semaphore.NewWeighted(mediaInFlightBytes)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				j.res <- readMedia(z, name, j.e)
				sem.Release(j.weight)
			}
		}()
	}
	var prodErr error
	go func() {
		defer close(order)
		defer close(jobs)
		for _, e := range entries {
			w := min(max(e.Size, 1), MaxMediaImageBytes, mediaInFlightBytes)
			if err := sem.Acquire(ctx, w); err != nil {
				prodErr = err
				return
			}
			res := make(chan mediaFile, 1)
			select {
			case order <- res:
			case <-ctx.Done():
				sem.Release(w)
				prodErr = ctx.Err()
				return
			}
			select {
			case jobs <- job{e: e, weight: w, res: res}:
			case <-ctx.Done():
				sem.Release(w)
				prodErr = ctx.Err()
				return
			}
		}
	}()
	var err error
	batch := make([]schema.Media, 0, batchRows)
	for res := range order {
		var r mediaFile
		select {
		case r = <-res:
		case <-ctx.Done():
		}
		if err != nil {
			continue
		}
		if ctx.Err() != nil {
			err = ctx.Err()
			cancel()
			continue
		}
		if r.err != nil {
			err = r.err
			cancel()
			continue
		}
		complete(&r.row)
		batch = append(batch, r.row)
		if len(batch) == batchRows {
			if err = out.Write(batch...); err != nil {
				cancel()
			}
			clear(batch)
			batch = batch[:0]
		}
	}
	wg.Wait()
	if err == nil && prodErr != nil {
		err = prodErr
	}
	if err == nil && len(batch) > 0 {
		err = out.Write(batch...)
	}
	return err
}
