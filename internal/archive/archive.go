// Package archive opens the zip and gzip files platforms publish, safely:
// it never writes entries to disk, refuses names that would escape a folder
// (../, absolute or drive paths), symlinks that point out of the archive,
// more entries than a limit, and entries whose expansion ratio or size marks
// a zip bomb. Limits are checked on the declared sizes when an archive is
// opened and again on the bytes actually read, since declared sizes can lie.
//
// It is a helper package, not a stage: fetch validates every archive it lands
// with it, and normalize may read archives through it.
package archive

import (
	"github.com/takedown-research/takedown/internal/errkind"

	"archive/zip"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strings"
)

// Errors of the package. Both mean the archive must not be used.
var (
	// ErrUnsafe means the archive breaks a safety rule: path traversal, a
	// symlink out, too many entries, or a zip bomb.
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
}

// OpenZip opens a zip archive and checks its directory against the limits
// and the safety rules. Close it when done.
func OpenZip(p string, lim Limits) (*Zip, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	r, err := zip.NewReader(f, info.Size())
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
			if err := z.checkSymlink(zf); err != nil {
				return err
			}
			continue
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

func (z *Zip) checkSymlink(zf *zip.File) error {
	rc, err := zf.Open()
	if err != nil {
		return fmt.Errorf("%w: %s: symlink %q: %v", ErrCorrupt, z.path, zf.Name, err)
	}
	defer rc.Close()
	target, err := io.ReadAll(io.LimitReader(rc, 4096))
	if err != nil {
		return fmt.Errorf("%w: %s: symlink %q: %v", ErrCorrupt, z.path, zf.Name, err)
	}
	t := string(target)
	joined := path.Join(path.Dir(zf.Name), t)
	if path.IsAbs(t) || strings.HasPrefix(t, "\\") || joined == ".." || strings.HasPrefix(joined, "../") {
		return fmt.Errorf("%w: %s: entry %q is a symlink to %q, outside the archive", ErrUnsafe, z.path, zf.Name, t)
	}
	return nil
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

// DataEntries lists the entries that hold data: Entries without the
// __MACOSX/ and .DS_Store litter of archives made on a Mac.
func (z *Zip) DataEntries() []Entry {
	var out []Entry
	for _, e := range z.entries {
		base := path.Base(e.Name)
		if strings.HasPrefix(e.Name, "__MACOSX/") || base == ".DS_Store" {
			continue
		}
		out = append(out, e)
	}
	return out
}

// Open returns a reader of one entry that fails once the entry yields more
// bytes than it declared or than the limits allow, and checks its CRC at EOF.
func (z *Zip) Open(name string) (io.ReadCloser, error) {
	zf, ok := z.files[name]
	if !ok {
		return nil, fmt.Errorf("%s: no entry %q", z.path, name)
	}
	rc, err := zf.Open()
	if err != nil {
		return nil, fmt.Errorf("%w: %s: entry %q: %v", ErrCorrupt, z.path, name, err)
	}
	max := int64(zf.UncompressedSize64)
	return &limitedRC{rc: rc, max: max, what: z.path + ": entry " + name}, nil
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
			if errors.Is(err, ErrUnsafe) {
				return err
			}
			return fmt.Errorf("%w: %s: entry %q: %v", ErrCorrupt, z.path, e.Name, err)
		}
	}
	return nil
}

type limitedRC struct {
	rc   io.ReadCloser
	max  int64
	n    int64
	what string
}

func (l *limitedRC) Read(p []byte) (int, error) {
	n, err := l.rc.Read(p)
	l.n += int64(n)
	if l.n > l.max {
		return n, fmt.Errorf("%w: %s yields more bytes than the %d it declares (a zip bomb?)", ErrUnsafe, l.what, l.max)
	}
	return n, err
}

func (l *limitedRC) Close() error { return l.rc.Close() }

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

// GzipReader decompresses r and fails once the output exceeds the limits:
// MaxBytes, or MaxRatio times compressedSize when compressedSize > 0.
func GzipReader(r io.Reader, compressedSize int64, lim Limits) (io.ReadCloser, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	max := lim.MaxBytes
	if compressedSize > 0 {
		if byRatio := int64(float64(compressedSize) * lim.MaxRatio); byRatio < max {
			max = max64(byRatio, lim.RatioFloor)
		}
	}
	return &limitedRC{rc: zr, max: max, what: "gzip stream"}, nil
}

func max64(a, b int64) int64 {
	if a > b {
		return a
	}
	return b
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
