package store

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	gcs "cloud.google.com/go/storage"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"gocloud.dev/blob"
	_ "gocloud.dev/blob/gcsblob" // gs:// workspaces
	_ "gocloud.dev/blob/s3blob"  // s3:// workspaces
	"gocloud.dev/gcerrors"
)

// Schemes of workspace URLs on object storage. file:// names a local
// directory (a plain path does too).
var remoteSchemes = map[string]string{"s3": "Amazon S3 or an S3-compatible store", "gs": "Google Cloud Storage"}

// schemeOf returns the scheme of a workspace URL ("s3", "gs", "file"), or
// "" for a plain path. A Windows drive letter ("C:\...") is a path.
func schemeOf(root string) string {
	i := strings.Index(root, "://")
	if i < 2 {
		return ""
	}
	for _, c := range root[:i] {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '+' || c == '.' || c == '-') {
			return ""
		}
	}
	return strings.ToLower(root[:i])
}

// blobStorage is Storage on a bucket (and a key prefix in it) of an object
// store, through gocloud.dev/blob. Credentials come from the environment
// as each cloud's SDK finds them (AWS_* variables, ~/.aws, instance roles;
// GOOGLE_APPLICATION_CREDENTIALS, gcloud's application default).
type blobStorage struct {
	bucket *blob.Bucket
	scheme string
	// root is the workspace URL without its query ("s3://bucket/prefix").
	root string
}

// openBlob opens the bucket of a workspace URL and checks that it exists
// and that the credentials may list it.
func openBlob(ctx context.Context, raw string) (*blobStorage, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: workspace %s: %v", ErrScheme, raw, err)
	}
	scheme := strings.ToLower(u.Scheme)
	if _, ok := remoteSchemes[scheme]; !ok {
		return nil, fmt.Errorf("%w: workspace %s: scheme %q (use a path, file://, s3:// or gs://)", ErrScheme, raw, u.Scheme)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("%w: workspace %s names no bucket (%s://BUCKET/PREFIX)", ErrWorkspace, raw, scheme)
	}
	prefix := strings.Trim(u.Path, "/")
	root := scheme + "://" + u.Host
	if prefix != "" {
		root += "/" + prefix
	}
	q := u.Query()
	if scheme == "s3" && !q.Has("response_checksum_validation") {
		// Range reads carry no whole-object checksum to validate; the
		// files are checked against their manifest's sha256 instead.
		q.Set("response_checksum_validation", "when_required")
	}
	bu := url.URL{Scheme: scheme, Host: u.Host, RawQuery: q.Encode()}
	b, err := blob.OpenBucket(ctx, bu.String())
	if err != nil {
		return nil, fmt.Errorf("%w: workspace %s: %s", ErrWorkspace, root, oneLine(err))
	}
	if prefix != "" {
		b = blob.PrefixedBucket(b, prefix+"/")
	}
	s := &blobStorage{bucket: b, scheme: scheme, root: root}
	ok, err := b.IsAccessible(ctx)
	if err != nil {
		b.Close()
		return nil, s.fail("open", "", err)
	}
	if !ok {
		b.Close()
		return nil, fmt.Errorf("%w: workspace %s: bucket %s does not exist (create it, or fix the URL)", ErrWorkspace, root, u.Host)
	}
	return s, nil
}

// fail makes a one-line error naming the URL of key out of an error of the
// object store.
func (s *blobStorage) fail(op, key string, err error) error {
	where := s.root
	if key != "" {
		where += "/" + key
	}
	switch gcerrors.Code(err) {
	case gcerrors.NotFound:
		return fmt.Errorf("%s %s: %w", op, where, fs.ErrNotExist)
	case gcerrors.FailedPrecondition:
		return fmt.Errorf("%s %s: %w", op, where, ErrPrecondition)
	case gcerrors.PermissionDenied:
		return fmt.Errorf("%w: %s %s: access denied: check the credentials in the environment (%s)", ErrWorkspace, op, where, credentialHint[s.scheme])
	case gcerrors.Canceled:
		return fmt.Errorf("%s %s: %w", op, where, context.Canceled)
	}
	return fmt.Errorf("%w: %s %s: %s", ErrWorkspace, op, where, oneLine(err))
}

var credentialHint = map[string]string{
	"s3": "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or an instance role",
	"gs": "GOOGLE_APPLICATION_CREDENTIALS or gcloud auth application-default login",
}

// oneLine shortens an SDK error to its first line.
func oneLine(err error) string {
	s := err.Error()
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}

func (s *blobStorage) Stat(ctx context.Context, key string) (Attrs, error) {
	a, err := s.bucket.Attributes(ctx, key)
	if err != nil {
		return Attrs{}, s.fail("stat", key, err)
	}
	v := a.ETag
	var oa gcs.ObjectAttrs
	if a.As(&oa) {
		v = strconv.FormatInt(oa.Generation, 10)
	}
	return Attrs{Size: a.Size, Version: v, Metadata: a.Metadata}, nil
}

func (s *blobStorage) NewRangeReader(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error) {
	r, err := s.bucket.NewRangeReader(ctx, key, offset, length, nil)
	if err != nil {
		return nil, s.fail("read", key, err)
	}
	return r, nil
}

func (s *blobStorage) ReadVersioned(ctx context.Context, key string) ([]byte, string, error) {
	r, err := s.bucket.NewReader(ctx, key, nil)
	if err != nil {
		return nil, "", s.fail("read", key, err)
	}
	defer r.Close()
	// The version is that of the response the bytes came in, not of a
	// second request: the object may change in between.
	var version string
	var out s3.GetObjectOutput
	var gr *gcs.Reader
	switch {
	case r.As(&out):
		version = aws.ToString(out.ETag)
	case r.As(&gr):
		version = strconv.FormatInt(gr.Attrs.Generation, 10)
	default:
		return nil, "", fmt.Errorf("%w: %s/%s: this store reports no object versions", ErrWorkspace, s.root, key)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, "", s.fail("read", key, err)
	}
	return b, version, nil
}

func (s *blobStorage) Upload(ctx context.Context, key string, r io.Reader, meta map[string]string) error {
	opts := &blob.WriterOptions{ContentType: "application/octet-stream", Metadata: meta}
	if err := s.bucket.Upload(ctx, key, r, opts); err != nil {
		return s.fail("write", key, err)
	}
	return nil
}

func (s *blobStorage) WriteIf(ctx context.Context, key string, data []byte, version string) error {
	opts := &blob.WriterOptions{ContentType: "application/json", IfNotExist: version == ""}
	if version != "" {
		opts.BeforeWrite = func(as func(any) bool) error {
			var in *transfermanager.UploadObjectInput
			if as(&in) {
				in.IfMatch = aws.String(version)
				return nil
			}
			var h **gcs.ObjectHandle
			if as(&h) {
				gen, err := strconv.ParseInt(version, 10, 64)
				if err != nil {
					return err
				}
				*h = (*h).If(gcs.Conditions{GenerationMatch: gen})
				return nil
			}
			return fmt.Errorf("%w: %s/%s: this store has no conditional writes", ErrWorkspace, s.root, key)
		}
	}
	if err := s.bucket.WriteAll(ctx, key, data, opts); err != nil {
		return s.fail("write", key, err)
	}
	return nil
}

func (s *blobStorage) Delete(ctx context.Context, key string) error {
	err := s.bucket.Delete(ctx, key)
	if err != nil && gcerrors.Code(err) != gcerrors.NotFound {
		return s.fail("delete", key, err)
	}
	return nil
}

func (s *blobStorage) List(ctx context.Context, prefix string, fn func(key string, size int64) error) error {
	it := s.bucket.List(&blob.ListOptions{Prefix: prefix})
	for {
		o, err := it.Next(ctx)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return s.fail("list", prefix, err)
		}
		if o.IsDir {
			continue
		}
		if err := fn(o.Key, o.Size); err != nil {
			return err
		}
	}
}

func (s *blobStorage) Close() error { return s.bucket.Close() }

// The registry of open remote workspaces, so that paths handed out by a
// Workspace ("s3://bucket/prefix/runs/...") resolve to their bucket and
// key wherever they are read: ReadManifest, FileDigest, OpenRange.
var remotes struct {
	sync.RWMutex
	m map[string]*blobStorage // by cleanRemote(root)
}

// cleanRemote is the form of a remote path that survives filepath.Join
// ("s3://b/p" and "s3:/b/p" are the same path).
func cleanRemote(p string) string { return filepath.ToSlash(filepath.Clean(p)) }

func register(s *blobStorage) {
	remotes.Lock()
	defer remotes.Unlock()
	if remotes.m == nil {
		remotes.m = map[string]*blobStorage{}
	}
	remotes.m[cleanRemote(s.root)] = s
}

// resolve returns the bucket and key of a path in a remote workspace.
func resolve(p string) (*blobStorage, string, bool) {
	if !looksRemote(p) {
		return nil, "", false
	}
	c := cleanRemote(p)
	remotes.RLock()
	defer remotes.RUnlock()
	for root, s := range remotes.m {
		if c == root {
			return s, "", true
		}
		if k, ok := strings.CutPrefix(c, root+"/"); ok {
			return s, k, true
		}
	}
	return nil, "", false
}

func looksRemote(p string) bool {
	for sc := range remoteSchemes {
		if strings.HasPrefix(p, sc+":/") {
			return true
		}
	}
	return false
}

// IsRemote reports whether p is a path in a workspace on object storage.
func IsRemote(p string) bool {
	_, _, ok := resolve(p)
	return ok
}

// Stat returns the size of the file at p, in a local or a remote workspace.
func Stat(p string) (int64, error) {
	if s, key, ok := resolve(p); ok {
		a, err := s.Stat(context.Background(), key)
		return a.Size, err
	}
	info, err := os.Stat(p)
	if err != nil {
		return 0, err
	}
	return info.Size(), nil
}

// readPath reads the file at p, in a local or a remote workspace.
func readPath(p string) ([]byte, error) {
	if s, key, ok := resolve(p); ok {
		b, _, err := s.ReadVersioned(context.Background(), key)
		return b, err
	}
	return os.ReadFile(p)
}

// openPath opens the file at p for reading from its start.
func openPath(p string) (io.ReadCloser, error) {
	if s, key, ok := resolve(p); ok {
		return s.NewRangeReader(context.Background(), key, 0, -1)
	}
	return os.Open(p)
}

// RangeBlock is how many bytes one range read of a remote file fetches
// (aligned to a multiple of it), and RangeCache how many bytes of such
// blocks the process keeps, shared by every open file (a stage opens a
// table several times, once per column or partition it reads). Published
// objects do not change, and a block is cached under its object's version.
var (
	RangeBlock int64 = 256 << 10
	RangeCache int64 = 64 << 20
)

// OpenRange opens the file at p in a remote workspace for random access:
// every ReadAt is served from blocks of RangeBlock bytes fetched by range
// requests, so that a Parquet reader fetches the footer and the column
// chunks it reads, not the whole object.
func OpenRange(p string) (io.ReaderAt, int64, io.Closer, error) {
	s, key, ok := resolve(p)
	if !ok {
		return nil, 0, nil, fmt.Errorf("%s: %w", p, errors.ErrUnsupported)
	}
	a, err := s.Stat(context.Background(), key)
	if err != nil {
		return nil, 0, nil, err
	}
	f := &rangeFile{s: s, key: key, version: a.Version, size: a.Size}
	return f, a.Size, io.NopCloser(nil), nil
}

type rangeFile struct {
	s       *blobStorage
	key     string
	version string
	size    int64
}

func (f *rangeFile) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("read %s/%s: negative offset", f.s.root, f.key)
	}
	n := 0
	for n < len(p) {
		at := off + int64(n)
		if at >= f.size {
			return n, io.EOF
		}
		b, err := f.block(at / RangeBlock)
		if err != nil {
			return n, err
		}
		n += copy(p[n:], b[at%RangeBlock:])
	}
	return n, nil
}

type blockID struct {
	s            *blobStorage
	key, version string
	i            int64
}

// blocks is the process's cache of blocks of remote files, least recently
// used first out.
var blocks struct {
	sync.Mutex
	m     map[blockID]*list.Element // of *cachedBlock
	lru   list.List
	bytes int64
}

type cachedBlock struct {
	id   blockID
	data []byte
}

func (f *rangeFile) block(i int64) ([]byte, error) {
	id := blockID{f.s, f.key, f.version, i}
	blocks.Lock()
	if e, ok := blocks.m[id]; ok {
		blocks.lru.MoveToBack(e)
		b := e.Value.(*cachedBlock).data
		blocks.Unlock()
		return b, nil
	}
	blocks.Unlock()
	start := i * RangeBlock
	length := min(RangeBlock, f.size-start)
	r, err := f.s.NewRangeReader(context.Background(), f.key, start, length)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	b := make([]byte, length)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, f.s.fail("read", f.key, err)
	}
	blocks.Lock()
	defer blocks.Unlock()
	if blocks.m == nil {
		blocks.m = map[blockID]*list.Element{}
	}
	if _, ok := blocks.m[id]; !ok {
		blocks.m[id] = blocks.lru.PushBack(&cachedBlock{id, b})
		blocks.bytes += length
	}
	for blocks.bytes > RangeCache && blocks.lru.Len() > 1 {
		old := blocks.lru.Remove(blocks.lru.Front()).(*cachedBlock)
		delete(blocks.m, old.id)
		blocks.bytes -= int64(len(old.data))
	}
	return b, nil
}

// IsObjectStorageURL reports whether a workspace argument names object
// storage (s3://, gs://): a URL every node resolves alike, not a path.
func IsObjectStorageURL(root string) bool {
	_, ok := remoteSchemes[schemeOf(root)]
	return ok
}
