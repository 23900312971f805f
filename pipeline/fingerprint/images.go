package fingerprint

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"runtime"
	"sync"

	"github.com/takedown-research/takedown/internal/archive"
	"github.com/takedown-research/takedown/internal/imagehash"
	"github.com/takedown-research/takedown/internal/pqio"
	"github.com/takedown-research/takedown/internal/progress"
	"github.com/takedown-research/takedown/internal/schema"
)

// ImageInput names the media the stage hashes: the media table of the
// normalize run and, for every archive that table names, where its bytes
// are. Zero (MediaPath "") hashes nothing and writes no image table.
type ImageInput struct {
	// MediaPath is the absolute path of the media table.
	MediaPath string
	// Archives maps a media row's Archive (the zip's path relative to the
	// dataset's source folder) to the file holding its bytes.
	Archives map[string]string
}

// ImageStats are deterministic counts about the images of one run.
type ImageStats struct {
	// Media is the media table's row count; Images the rows hashed (images
	// and GIFs, a GIF by its first frame), one image_fingerprints row each.
	Media  int64 `json:"media"`
	Images int64 `json:"images"`
	// Videos and Other are rows of those kinds, listed in media and not
	// hashed; Unreadable rows normalize gave a reason; Orphans rows whose
	// post is not in the posts table.
	Videos     int64 `json:"videos"`
	Other      int64 `json:"other"`
	Unreadable int64 `json:"unreadable"`
	Orphans    int64 `json:"orphans"`
	// Undecodable counts images whose bytes do not decode (by reason, the
	// imagehash.Reason names); they have no row.
	Undecodable map[string]int64 `json:"undecodable,omitempty"`
	// LowQuality counts hashed images whose PDQ quality is below
	// imagehash.PDQMinQuality (they have a row; the cluster stage's
	// near_image leaves them out).
	LowQuality int64 `json:"low_quality"`
	// FastDecoded counts the rows hashed by the fast decode route (the
	// rest were decoded in full; see Params.ImageDecode).
	FastDecoded int64 `json:"fast_decoded"`
}

// imageJob is one media row to hash: its position among the rows hashed
// (the output order) and what it needs besides the bytes.
type imageJob struct {
	seq      int
	postID   string
	account  string
	postedAt int64
	mediaKey string
	archive  string
	entry    string
	data     []byte
}

// imageResult is a hashed job, or why it has no row.
type imageResult struct {
	seq    int
	row    schema.ImageFingerprint
	reason imagehash.Reason
	fast   bool // hashed by the fast route
}

// ImageInFlight bounds the images read and not yet written per worker:
// memory is about this many compressed files plus one decoded image per
// worker.
const ImageInFlight = 4

// fingerprintImages hashes the images of the media table and writes
// outDir/image_fingerprints.parquet, one row per hashed image in media
// table order. Entries are read from each archive in table order (the
// zip is streamed, nothing is extracted); GOMAXPROCS workers decode and
// hash; a reorder buffer restores the order, so the bytes do not depend on
// GOMAXPROCS. At most ImageInFlight images per worker are in flight.
func fingerprintImages(ctx context.Context, in ImageInput, postsPath, outDir string, route imagehash.Route, m progress.Meter) (*ImageStats, error) {
	m = progress.Or(m)
	media, err := pqio.ReadAll[schema.Media](in.MediaPath)
	if err != nil {
		return nil, err
	}
	st := &ImageStats{Media: int64(len(media))}
	want := map[string]int64{}
	for _, r := range media {
		if r.Kind == schema.MediaImage || r.Kind == schema.MediaGIF {
			want[r.PostID] = noTime
		}
	}
	if err := postTimes(postsPath, want); err != nil {
		return nil, err
	}
	var jobs []imageJob
	for _, r := range media {
		switch {
		case r.Kind == schema.MediaVideo:
			st.Videos++
			continue
		case r.Kind != schema.MediaImage && r.Kind != schema.MediaGIF:
			st.Other++
			continue
		case r.Reason != "":
			st.Unreadable++
			continue
		}
		t, ok := want[r.PostID]
		if r.AccountID == nil || !ok || t == noTime {
			st.Orphans++
			continue
		}
		if _, ok := in.Archives[r.Archive]; !ok {
			return nil, fmt.Errorf("%s: media row %s/%s names archive %q, which is not among the normalize run's source files",
				in.MediaPath, r.Archive, r.Entry, r.Archive)
		}
		jobs = append(jobs, imageJob{seq: len(jobs), postID: r.PostID, account: *r.AccountID, postedAt: t,
			mediaKey: r.MediaKey, archive: r.Archive, entry: r.Entry})
	}
	m.Phase("images", progress.Items, int64(len(jobs)))

	w, err := pqio.Create[schema.ImageFingerprint](filepath.Join(outDir, schema.TableImageFingerprints+".parquet"))
	if err != nil {
		return nil, err
	}
	err = hashJobs(ctx, jobs, in.Archives, route, func(r imageResult) error {
		m.Add(1)
		if r.reason != 0 {
			if st.Undecodable == nil {
				st.Undecodable = map[string]int64{}
			}
			st.Undecodable[r.reason.String()]++
			return nil
		}
		st.Images++
		if r.fast {
			st.FastDecoded++
		}
		if r.row.PDQQuality < imagehash.PDQMinQuality {
			st.LowQuality++
		}
		return w.Write(r.row)
	})
	if err != nil {
		w.Abort()
		return nil, err
	}
	return st, w.Close()
}

// noTime marks a post id whose post has not been found.
const noTime = math.MinInt64

// postTimes sets want[post id] to the post's time for every post id in want
// that the posts table has.
func postTimes(postsPath string, want map[string]int64) error {
	if len(want) == 0 {
		return nil
	}
	g, err := pqio.OpenGroups(postsPath)
	if err != nil {
		return err
	}
	defer g.Close()
	var ids pqio.Strings
	var times pqio.Int64s
	for gi := range g.Len() {
		if err := g.ReadStrings(gi, postColumn("PostID"), &ids); err != nil {
			return err
		}
		if err := g.ReadInt64s(gi, postColumn("PostedAt"), &times); err != nil {
			return err
		}
		for r := range g.Rows(gi) {
			id := ids.One(r)
			if t, ok := want[id]; ok && t == noTime {
				want[id] = times.One(r)
			}
		}
	}
	return nil
}

// hashJobs reads every job's bytes, hashes them on GOMAXPROCS workers and
// calls emit with the results in job order.
func hashJobs(ctx context.Context, jobs []imageJob, archives map[string]string, route imagehash.Route, emit func(imageResult) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	workers := max(1, runtime.GOMAXPROCS(0))
	slots := make(chan struct{}, workers*ImageInFlight) // a slot per job read and not yet emitted
	todo := make(chan imageJob)
	done := make(chan imageResult, workers*ImageInFlight)
	readErr := make(chan error, 1)
	go func() {
		defer close(todo)
		readErr <- readJobs(ctx, jobs, archives, slots, todo)
	}()
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for j := range todo {
				done <- hashJob(j, route)
			}
		})
	}
	go func() {
		wg.Wait()
		close(done)
	}()
	pending := map[int]imageResult{}
	next := 0
	var emitErr error
	for r := range done {
		pending[r.seq] = r
		for {
			x, ok := pending[next]
			if !ok {
				break
			}
			delete(pending, next)
			next++
			<-slots
			if emitErr == nil {
				if emitErr = emit(x); emitErr != nil {
					cancel()
				}
			}
		}
	}
	if err := <-readErr; err != nil && emitErr == nil {
		return err
	}
	if emitErr != nil {
		return emitErr
	}
	if next != len(jobs) {
		if err := ctx.Err(); err != nil {
			return err
		}
		return fmt.Errorf("internal: hashed %d of %d images", next, len(jobs))
	}
	return nil
}

// readJobs reads the jobs' bytes in job order, opening each archive once
// for each run of jobs in it, and sends them to out, taking a slot first.
func readJobs(ctx context.Context, jobs []imageJob, archives map[string]string, slots chan struct{}, out chan<- imageJob) error {
	var z *archive.Zip
	open := ""
	defer func() {
		if z != nil {
			z.Close()
		}
	}()
	for _, j := range jobs {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
		if j.archive != open {
			if z != nil {
				z.Close()
				z = nil
			}
			var err error
			if z, err = archive.OpenZip(archives[j.archive], archive.DefaultLimits()); err != nil {
				return fmt.Errorf("media archive %s: %w", j.archive, err)
			}
			open = j.archive
		}
		rc, err := z.Open(j.entry)
		if err != nil {
			return fmt.Errorf("media archive %s: %w", j.archive, err)
		}
		j.data, err = io.ReadAll(rc)
		rc.Close()
		if err != nil {
			return fmt.Errorf("media archive %s, entry %s: %w", j.archive, j.entry, err)
		}
		select {
		case out <- j:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// hashJob hashes one image.
func hashJob(j imageJob, route imagehash.Route) imageResult {
	sum := sha256.Sum256(j.data)
	h, err := HashImageBytesWith(j.data, route)
	if err != nil {
		reason := imagehash.ReasonOf(err)
		if reason == 0 {
			reason = imagehash.Corrupt
		}
		return imageResult{seq: j.seq, reason: reason}
	}
	return imageResult{seq: j.seq, fast: h.Fast, row: schema.ImageFingerprint{
		PostID: j.postID, AccountID: j.account, PostedAt: j.postedAt, MediaKey: j.mediaKey,
		SHA256: hex.EncodeToString(sum[:]), PDQ: append([]byte(nil), h.PDQ[:]...),
		PDQQuality: int32(h.Quality), DHash: h.DHash,
	}}
}

// HashImageBytes is the hashing the stage does for one file's bytes by
// the default route (DefaultParams' ImageDecode).
func HashImageBytes(data []byte) (imagehash.Hashes, error) {
	return HashImageBytesWith(data, imageRoute(DefaultParams()))
}

// HashImageBytesWith is the hashing the stage does for one file's bytes:
// imagehash.HashWith with the default pixel bound and the given route.
func HashImageBytesWith(data []byte, route imagehash.Route) (imagehash.Hashes, error) {
	h, err := imagehash.HashWith(data, imagehash.Options{Decode: route})
	if err != nil && !errors.As(err, new(*imagehash.DecodeError)) {
		return h, &imagehash.DecodeError{Reason: imagehash.Corrupt, Err: err}
	}
	return h, err
}

// imageRoute is p's image decode route (Validate has checked it).
func imageRoute(p Params) imagehash.Route {
	r, _ := imagehash.ParseRoute(p.ImageDecode)
	return r
}
