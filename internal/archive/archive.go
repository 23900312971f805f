// Package archive opens the zip and gzip files platforms publish, safely:
// it never writes entries to disk, refuses names that would escape a folder
// (../, absolute or drive paths), symlink entries, more entries than a limit,
// and entries whose expansion ratio or size marks a zip bomb. Limits are
// checked on the declared sizes when an archive is opened and again on the
// bytes actually decompressed, since declared sizes can lie: Zip.Open
// inflates an entry itself and counts what it produces, so the limits stop a
// lying entry before anything else reads its bytes.
//
// It is a helper package, not a stage: fetch validates every archive it lands
// with it, and normalize reads every zip and gzip through it.
package archive

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"os"
	"path"
	"sort"
	"strings"
	"sync/atomic"

	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/gzip"

	"github.com/takedown-research/takedown/internal/errkind"
)

// Errors of the package. Both mean the archive must not be used.
var (
	// ErrUnsafe means the archive breaks a safety rule: path traversal, a
	// symlink, too many entries, or a zip bomb (declared or actual sizes
	// over the limits).
	ErrUnsafe = errkind.New(errkind.BadInput, "unsafe archive")
	// ErrCorrupt means the bytes are not a readable archive.
	ErrCorrupt = errkind.New(errkind.BadInput, "corrupt archive")
)

// Limits bound what an archive may hold.
type Limits struct {
	// MaxEntries is the largest number of entries.
	MaxEntries int
	// MaxRatio is the largest uncompressed/compressed ratio of an entry (and
	// of the whole archive), checked once an entry exceeds RatioFloor bytes.
	MaxRatio float64
	// RatioFloor is the uncompressed size below which the ratio is not
	// checked (tiny files compress absurdly well and are harmless).
	RatioFloor int64
	// MaxBytes is the largest uncompressed size of the whole archive.
	MaxBytes int64
}

// DefaultLimits are generous for the published releases (the biggest tweets
// CSV is about 25 GB, CSV text compresses about 5-15x) and stop zip bombs.
func DefaultLimits() Limits {
	return Limits{MaxEntries: 10_000, MaxRatio: 200, RatioFloor: 1 << 20, MaxBytes: 1 << 40}
}

// MediaLimits are the limits for the media archives of a release: many
// small files (a 2018 release zip holds tens of thousands of images and
// videos), which hardly compress, so the ratio stays as strict as for data.
func MediaLimits() Limits {
	l := DefaultLimits()
	l.MaxEntries = 5_000_000
	return l
}

// Entry is one file in an archive.
type Entry struct {
	Name           string `json:"name"`
	Size           int64  `json:"size"`
	CompressedSize int64  `json:"compressed_size"`
}

// IsZip reports whether the first bytes are a zip local file header (or the
// end record of an empty zip).
func IsZip(head []byte) bool {
	return bytes.HasPrefix(head, []byte("PK\x03\x04")) || bytes.HasPrefix(head, []byte("PK\x05\x06"))
}

// IsGzip reports whether the first bytes are a gzip header.
func IsGzip(head []byte) bool { return bytes.HasPrefix(head, []byte{0x1f, 0x8b}) }

// Sniff reads the first bytes of a file.
func Sniff(p string) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	buf := make([]byte, 4)
	n, err := io.ReadFull(f, buf)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return nil, err
	}
	return buf[:n], nil
}

// Zip is an opened, checked zip archive.
type Zip struct {
	path    string
	f       *os.File
	r       *zip.Reader
	lim     Limits
	entries []Entry
	files   map[string]*zip.File
	// read counts the bytes decompressed from all entries opened so far
	// (entries may be read concurrently).
	read atomic.Int64
}

// OpenZip opens a zip archive and checks its directory against the limits
// and the safety rules. Close it when done.
func OpenZip(p string, lim Limits) (*Zip, error) {
	return OpenZipCounted(p, lim, nil)
}

// OpenZipCounted is OpenZip that calls onRead with the number of bytes of
// every read of the archive file (its directory and the compressed data of
// the entries read), so that a caller can tell how much of the file it has
// gone through. A nil onRead counts nothing.
func OpenZipCounted(p string, lim Limits, onRead func(n int64)) (*Zip, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	var ra io.ReaderAt = f
	if onRead != nil {
		ra = countingReaderAt{f, onRead}
	}
	r, err := zip.NewReader(ra, info.Size())
	if errors.Is(err, zip.ErrInsecurePath) {
		f.Close()
		return nil, fmt.Errorf("%w: %s: %v", ErrUnsafe, p, err)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%w: %s: %v (the download may be truncated: fetch it again)", ErrCorrupt, p, err)
	}
	z := &Zip{path: p, f: f, r: r, lim: lim, files: map[string]*zip.File{}}
	if err := z.check(); err != nil {
		f.Close()
		return nil, err
	}
	return z, nil
}

func (z *Zip) check() error {
	if len(z.r.File) > z.lim.MaxEntries {
		return fmt.Errorf("%w: %s has %d entries, more than the limit of %d", ErrUnsafe, z.path, len(z.r.File), z.lim.MaxEntries)
	}
	var total, totalComp uint64
	for _, zf := range z.r.File {
		name := zf.Name
		if err := SafeName(name); err != nil {
			return fmt.Errorf("%w: %s: entry %q: %v", ErrUnsafe, z.path, name, err)
		}
		mode := zf.Mode()
		if mode&os.ModeSymlink != 0 {
			return z.symlinkError(zf)
		}
		if mode.IsDir() || strings.HasSuffix(name, "/") {
			continue
		}
		total += zf.UncompressedSize64
		totalComp += zf.CompressedSize64
		if err := z.lim.ratio(zf.UncompressedSize64, zf.CompressedSize64); err != nil {
			return fmt.Errorf("%w: %s: entry %q declares %d bytes from %d compressed: %v (a zip bomb?)", ErrUnsafe, z.path, name, zf.UncompressedSize64, zf.CompressedSize64, err)
		}
		if _, dup := z.files[name]; dup {
			return fmt.Errorf("%w: %s: entry %q appears twice", ErrUnsafe, z.path, name)
		}
		z.files[name] = zf
		z.entries = append(z.entries, Entry{Name: name, Size: int64(zf.UncompressedSize64), CompressedSize: int64(zf.CompressedSize64)})
	}
	if total > uint64(z.lim.MaxBytes) {
		return fmt.Errorf("%w: %s expands to %d bytes, more than the limit of %d (a zip bomb?)", ErrUnsafe, z.path, total, z.lim.MaxBytes)
	}
	if err := z.lim.ratio(total, totalComp); err != nil {
		return fmt.Errorf("%w: %s expands %d compressed bytes to %d: %v (a zip bomb?)", ErrUnsafe, z.path, totalComp, total, err)
	}
	sort.Slice(z.entries, func(i, j int) bool { return z.entries[i].Name < z.entries[j].Name })
	return nil
}

func (l Limits) ratio(size, comp uint64) error {
	if size <= uint64(l.RatioFloor) {
		return nil
	}
	if comp == 0 || float64(size)/float64(comp) > l.MaxRatio {
		return fmt.Errorf("expansion ratio above the limit of %g", l.MaxRatio)
	}
	return nil
}

// symlinkError refuses a symlink entry, naming its target. Published
// releases hold no links, and a link is never read as data: one pointing
// out of the archive could expose a file of the host once extracted, one
// inside would read the same data twice.
func (z *Zip) symlinkError(zf *zip.File) error {
	target := "?"
	if rc, err := zf.Open(); err == nil {
		b, _ := io.ReadAll(io.LimitReader(rc, 4096))
		rc.Close()
		target = string(b)
	}
	joined := path.Join(path.Dir(zf.Name), target)
	where := "inside the archive"
	if path.IsAbs(target) || strings.HasPrefix(target, "\\") || joined == ".." || strings.HasPrefix(joined, "../") {
		where = "outside the archive"
	}
	return fmt.Errorf("%w: %s: entry %q is a symlink to %q, %s: archives of data files must hold no links (extract the archive and zip the files the links point to)", ErrUnsafe, z.path, zf.Name, target, where)
}

// SafeName checks an entry name: relative, no "..", no backslashes or drive
// letters that would escape a folder on some system.
func SafeName(name string) error {
	switch {
	case name == "":
		return errors.New("empty name")
	case strings.ContainsRune(name, '\\'):
		return errors.New("backslash in name")
	case strings.HasPrefix(name, "/"), len(name) >= 2 && name[1] == ':':
		return errors.New("absolute path")
	case strings.ContainsRune(name, 0):
		return errors.New("NUL in name")
	}
	for _, part := range strings.Split(name, "/") {
		if part == ".." {
			return errors.New("path traversal (..)")
		}
	}
	return nil
}

// Entries lists the archive's files (not folders or symlinks), by name.
func (z *Zip) Entries() []Entry { return z.entries }

// Skipped reports whether an entry holds no data and is not read: a path
// with a __MACOSX folder (the resource forks of archives made on a Mac), or
// a hidden file (a base name starting with "."; .DS_Store, ._name). Folders
// and symlinks are never entries (Entries). This is the one rule for both
// fetch (which checks the inner file a descriptor names) and normalize
// (which reads every data entry).
func Skipped(name string) bool {
	if strings.HasPrefix(path.Base(name), ".") {
		return true
	}
	for _, part := range strings.Split(name, "/") {
		if part == "__MACOSX" {
			return true
		}
	}
	return false
}

// DataEntries lists the entries that hold data: Entries without those
// Skipped reports, by name.
func (z *Zip) DataEntries() []Entry {
	var out []Entry
	for _, e := range z.entries {
		if !Skipped(e.Name) {
			out = append(out, e)
		}
	}
	return out
}

// Open returns a reader of one entry. It inflates the entry itself from the
// zip's raw bytes (stored and deflated entries; other methods are
// ErrCorrupt) and counts the bytes it produces, so its limits run before
// any other check: it fails with ErrUnsafe once the entry yields more bytes
// than it declares, or expands beyond MaxRatio times its compressed size
// (past RatioFloor), or the entries read from this archive together pass
// MaxBytes. At the end of the entry it checks the size and the CRC-32
// (ErrCorrupt).
func (z *Zip) Open(name string) (io.ReadCloser, error) {
	zf, ok := z.files[name]
	if !ok {
		return nil, fmt.Errorf("%s: no entry %q", z.path, name)
	}
	raw, err := zf.OpenRaw()
	if err != nil {
		return nil, fmt.Errorf("%w: %s: entry %q: %v", ErrCorrupt, z.path, name, err)
	}
	var rc io.ReadCloser
	switch zf.Method {
	case zip.Store:
		rc = io.NopCloser(raw)
	case zip.Deflate:
		rc = flate.NewReader(raw)
	default:
		return nil, fmt.Errorf("%w: %s: entry %q: compression method %d is not supported (only stored and deflated entries are)", ErrCorrupt, z.path, name, zf.Method)
	}
	what := z.path + ": entry " + name
	return &countingRC{
		rc:  rc,
		lim: z.lim, what: what,
		declared: int64(zf.UncompressedSize64), hasDeclared: true,
		compressed: int64(zf.CompressedSize64),
		total:      &z.read,
		crc:        crc32.NewIEEE(), wantCRC: zf.CRC32,
	}, nil
}

// Close closes the archive file.
func (z *Zip) Close() error { return z.f.Close() }

// Verify reads every entry to the end, checking CRCs and the limits on the
// bytes actually produced. It returns the entries.
func (z *Zip) Verify() error {
	for _, e := range z.entries {
		rc, err := z.Open(e.Name)
		if err != nil {
			return err
		}
		_, err = io.Copy(io.Discard, rc)
		rc.Close()
		if err != nil {
			if errors.Is(err, ErrUnsafe) || errors.Is(err, ErrCorrupt) {
				return err
			}
			return fmt.Errorf("%w: %s: entry %q: %v", ErrCorrupt, z.path, e.Name, err)
		}
	}
	return nil
}

// countingRC counts the bytes a decompressor actually yields and fails with
// ErrUnsafe as soon as they pass a limit: the size the entry declares (zip),
// MaxRatio times the compressed size once past RatioFloor, or MaxBytes for
// all the streams sharing total. At EOF a zip entry's size and CRC-32 are
// checked (ErrCorrupt). Errors of the decompressor are ErrCorrupt.
type countingRC struct {
	rc          io.ReadCloser
	lim         Limits
	what        string
	declared    int64 // the entry's declared size, when hasDeclared
	hasDeclared bool
	compressed  int64 // compressed bytes; 0 when unknown
	total       *atomic.Int64
	crc         hash.Hash32 // nil: no checksum to check
	wantCRC     uint32
	n           int64
	err         error // sticky
}

func (c *countingRC) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.rc.Read(p)
	c.n += int64(n)
	total := c.total.Add(int64(n))
	switch {
	case c.hasDeclared && c.n > c.declared:
		c.err = fmt.Errorf("%w: %s yields more bytes than the %d it declares (a zip bomb?)", ErrUnsafe, c.what, c.declared)
	case c.compressed > 0 && c.n > c.lim.RatioFloor && float64(c.n) > float64(c.compressed)*c.lim.MaxRatio:
		c.err = fmt.Errorf("%w: %s expands %d compressed bytes to more than %d, above the ratio limit of %g (a zip bomb?)", ErrUnsafe, c.what, c.compressed, c.n-1, c.lim.MaxRatio)
	case total > c.lim.MaxBytes:
		c.err = fmt.Errorf("%w: %s: the archive yields more than %d bytes, the limit (a zip bomb?)", ErrUnsafe, c.what, c.lim.MaxBytes)
	}
	if c.err != nil {
		return 0, c.err
	}
	if c.crc != nil {
		c.crc.Write(p[:n])
	}
	switch {
	case err == io.EOF:
		if c.hasDeclared && c.n != c.declared {
			c.err = fmt.Errorf("%w: %s yields %d bytes, not the %d it declares (the archive may be truncated: fetch it again)", ErrCorrupt, c.what, c.n, c.declared)
		} else if c.crc != nil && c.wantCRC != 0 && c.crc.Sum32() != c.wantCRC {
			c.err = fmt.Errorf("%w: %s: checksum mismatch (the archive is damaged: fetch it again)", ErrCorrupt, c.what)
		}
		if c.err != nil {
			return n, c.err
		}
	case err != nil:
		if !errors.Is(err, ErrUnsafe) && !errors.Is(err, ErrCorrupt) {
			err = fmt.Errorf("%w: %s: %v", ErrCorrupt, c.what, err)
		}
		c.err = err
	}
	return n, err
}

func (c *countingRC) Close() error { return c.rc.Close() }

// Match maps a wanted inner file name to an entry: the exact name, else the
// one entry with that base name (downloads often flatten or add folders),
// else the only data entry when there is exactly one. It says which entries
// there are when none fits.
func Match(entries []Entry, want string) (Entry, error) {
	for _, e := range entries {
		if e.Name == want {
			return e, nil
		}
	}
	var byBase []Entry
	for _, e := range entries {
		b := path.Base(e.Name)
		if b == path.Base(want) || strings.HasSuffix(b, "_"+path.Base(want)) {
			byBase = append(byBase, e)
		}
	}
	if len(byBase) == 1 {
		return byBase[0], nil
	}
	if want == "" && len(entries) == 1 {
		return entries[0], nil
	}
	names := make([]string, len(entries))
	for i, e := range entries {
		names[i] = e.Name
	}
	return Entry{}, fmt.Errorf("no entry matches %q (entries: %s)", want, strings.Join(names, ", "))
}

// GzipReader decompresses r and counts the bytes it yields: it fails with
// ErrUnsafe once they pass MaxBytes, or MaxRatio times compressedSize (past
// RatioFloor) when compressedSize > 0. A damaged stream is ErrCorrupt.
func GzipReader(r io.Reader, compressedSize int64, lim Limits) (io.ReadCloser, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	return &countingRC{rc: zr, lim: lim, what: "gzip stream", compressed: compressedSize, total: new(atomic.Int64)}, nil
}

// Check validates the archive at p when it is one (by its first bytes): a
// zip's directory is checked by OpenZip, a gzip header is read. It returns
// the data entries of a zip, nil for gzip and plain files.
func Check(p string, lim Limits) ([]Entry, error) {
	head, err := Sniff(p)
	if err != nil {
		return nil, err
	}
	switch {
	case IsZip(head):
		z, err := OpenZip(p, lim)
		if err != nil {
			return nil, err
		}
		defer z.Close()
		return z.DataEntries(), nil
	case IsGzip(head):
		f, err := os.Open(p)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		if _, err := gzip.NewReader(f); err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrCorrupt, p, err)
		}
	}
	return nil, nil
}

// countingReaderAt reports the bytes of every ReadAt.
type countingReaderAt struct {
	r      io.ReaderAt
	onRead func(int64)
}

func (c countingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	n, err := c.r.ReadAt(p, off)
	if n > 0 {
		c.onRead(int64(n))
	}
	return n, err
}
