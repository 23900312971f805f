package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/takedown-research/takedown/internal/errkind"
)

// Storage is where the objects of a workspace live: a directory on a local
// disk (dirStorage) or a bucket of an object store (blobStorage: S3, GCS).
// Keys are slash-separated names relative to the workspace root
// ("runs/demo/fetch/<id>/manifest.json"). Every operation is on a whole
// object except NewRangeReader, and every write replaces an object whole:
// a reader sees the old bytes or the new ones, never a mix.
//
// A local workspace publishes runs by renaming directories and serializes
// writes of takedown.lock with flock(2) (workspace.go); a workspace on
// object storage publishes by uploading the outputs first and the manifest
// last, and updates takedown.lock by compare-and-swap (WriteIf), since an
// object store has neither rename nor locks (remote.go).
type Storage interface {
	// Stat returns the size, version and metadata of the object at key;
	// an error wrapping fs.ErrNotExist when there is none.
	Stat(ctx context.Context, key string) (Attrs, error)
	// NewRangeReader reads length bytes of the object from offset
	// (length < 0: to its end).
	NewRangeReader(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error)
	// ReadVersioned reads an object whole and returns the version the
	// bytes are of (an ETag, a GCS generation), for WriteIf.
	ReadVersioned(ctx context.Context, key string) ([]byte, string, error)
	// Upload writes the object at key from r; meta is stored with it.
	Upload(ctx context.Context, key string, r io.Reader, meta map[string]string) error
	// WriteIf writes data to key only if the object still has version
	// ("" means: only if there is no object at key). When it does not, the
	// error wraps ErrPrecondition and nothing is written.
	WriteIf(ctx context.Context, key string, data []byte, version string) error
	// Delete removes the object at key; a missing object is no error.
	Delete(ctx context.Context, key string) error
	// List calls fn for every object whose key starts with prefix, in key
	// order.
	List(ctx context.Context, prefix string, fn func(key string, size int64) error) error
	// Close releases the connection.
	Close() error
}

// Attrs are an object's size, version and metadata.
type Attrs struct {
	Size     int64
	Version  string
	Metadata map[string]string
}

// ErrPrecondition means a conditional write found the object changed
// (HTTP 412 Precondition Failed): another process wrote it first.
var ErrPrecondition = errkind.New(errkind.Busy, "object changed since it was read")

// dirStorage is Storage on a local directory. Its versions are the sha256
// of the bytes, and WriteIf is atomic only among writers that serialize
// themselves (a local workspace holds a flock around it).
type dirStorage struct{ root string }

func (d dirStorage) path(key string) string { return filepath.Join(d.root, filepath.FromSlash(key)) }

func (d dirStorage) Stat(_ context.Context, key string) (Attrs, error) {
	info, err := os.Stat(d.path(key))
	if err != nil {
		return Attrs{}, err
	}
	if info.IsDir() {
		return Attrs{}, fmt.Errorf("%s: %w", d.path(key), fs.ErrNotExist)
	}
	return Attrs{Size: info.Size()}, nil
}

func (d dirStorage) NewRangeReader(_ context.Context, key string, offset, length int64) (io.ReadCloser, error) {
	f, err := os.Open(d.path(key))
	if err != nil {
		return nil, err
	}
	if length < 0 {
		length = 1<<63 - 1 - offset
	}
	return struct {
		io.Reader
		io.Closer
	}{io.NewSectionReader(f, offset, length), f}, nil
}

func (d dirStorage) ReadVersioned(_ context.Context, key string) ([]byte, string, error) {
	b, err := os.ReadFile(d.path(key))
	if err != nil {
		return nil, "", err
	}
	return b, contentVersion(b), nil
}

func contentVersion(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func (d dirStorage) Upload(_ context.Context, key string, r io.Reader, _ map[string]string) error {
	p := d.path(key)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	return writeFileAtomic(p, b)
}

func (d dirStorage) WriteIf(ctx context.Context, key string, data []byte, version string) error {
	_, have, err := d.ReadVersioned(ctx, key)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if version != "" {
			return fmt.Errorf("%s: %w", key, ErrPrecondition)
		}
	case err != nil:
		return err
	case version == "" || have != version:
		return fmt.Errorf("%s: %w", key, ErrPrecondition)
	}
	return d.Upload(ctx, key, bytes.NewReader(data), nil)
}

func (d dirStorage) Delete(_ context.Context, key string) error {
	err := os.Remove(d.path(key))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

func (d dirStorage) List(_ context.Context, prefix string, fn func(key string, size int64) error) error {
	type obj struct {
		key  string
		size int64
	}
	var objs []obj
	err := filepath.WalkDir(d.root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if e.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(d.root, p)
		if err != nil {
			return err
		}
		key := filepath.ToSlash(rel)
		if !strings.HasPrefix(key, prefix) {
			return nil
		}
		info, err := e.Info()
		if err != nil {
			return err
		}
		objs = append(objs, obj{key, info.Size()})
		return nil
	})
	if err != nil {
		return err
	}
	sort.Slice(objs, func(i, j int) bool { return objs[i].key < objs[j].key })
	for _, o := range objs {
		if err := fn(o.key, o.size); err != nil {
			return err
		}
	}
	return nil
}

func (dirStorage) Close() error { return nil }

// keyJoin joins key elements with '/'.
func keyJoin(elem ...string) string { return path.Join(elem...) }
