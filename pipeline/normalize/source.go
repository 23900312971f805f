package normalize

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"

	"github.com/klauspost/readahead"

	"github.com/takedown-research/takedown/internal/archive"
	"github.com/takedown-research/takedown/internal/progress"
)

// Container kinds of a source file, detected from its first bytes.
const (
	containerPlain = "plain"
	containerZip   = "zip"
	containerGzip  = "gzip"
	// containerParquet is a plain Parquet file (magic "PAR1"), read by
	// column name through internal/pqio (see sources.go).
	containerParquet = "parquet"
)

// stream is one CSV byte stream inside a source file: the file itself, its
// gunzipped content, or one zip entry.
type stream struct {
	entry     string // zip entry name; empty otherwise
	container string // the source file's container: containerPlain, containerZip or containerGzip
	open      func() (io.ReadCloser, error)
	// compressed streams turn read errors into ErrCorruptArchive.
	compressed bool
	// size is the stream's bytes in its file (a zip entry's compressed
	// size): the weight of a shard unit (shard.go).
	size int64
}

// source is an opened source file.
type source struct {
	container string
	streams   []stream
	f         *os.File
	zip       *archive.Zip // set for a zip; it owns the file
}

// Close closes the underlying file.
func (s *source) Close() error {
	if s.zip != nil {
		return s.zip.Close()
	}
	if s.f == nil {
		return nil
	}
	return s.f.Close()
}

// archiveLimits bound what normalize decompresses (see internal/archive).
var archiveLimits = archive.DefaultLimits()

// archiveError names the source file in an error of the archive package; it
// is an ErrCorruptArchive and keeps archive.ErrUnsafe or archive.ErrCorrupt.
func archiveError(name string, err error) error {
	return fmt.Errorf("%s: %w: %w", name, ErrCorruptArchive, err)
}

// parquetMagic starts a Parquet file.
var parquetMagic = []byte("PAR1")

// Magic numbers of containers we read and of some we do not.
var (
	unsupported = []struct {
		magic []byte
		name  string
	}{
		{[]byte("BZh"), "bzip2"},
		{[]byte{0xfd, '7', 'z', 'X', 'Z', 0x00}, "xz"},
		{[]byte{'7', 'z', 0xbc, 0xaf, 0x27, 0x1c}, "7z"},
		{[]byte{0x28, 0xb5, 0x2f, 0xfd}, "zstd"},
		{[]byte("Rar!"), "rar"},
	}
)

// openSource opens f and lists the CSV streams it holds. The container is
// detected from magic bytes, never from the name: content-store paths have
// no extension. The bytes of the file read through its streams (for a zip,
// its directory and the compressed entries) are counted on m.
func openSource(f SourceFile, m progress.Meter) (*source, error) {
	file, err := os.Open(f.Path)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", f.Name, err)
	}
	st, err := file.Stat()
	if err != nil {
		file.Close()
		return nil, fmt.Errorf("stat %s: %w", f.Name, err)
	}
	head := make([]byte, 8)
	n, _ := file.ReadAt(head, 0)
	head = head[:n]
	s := &source{f: file}
	switch {
	case archive.IsZip(head):
		// The zip is read through internal/archive: its safety rules (names,
		// symlinks, entry count, declared sizes) are checked here, and its
		// limits on the bytes actually inflated run as each entry is read.
		file.Close()
		z, err := archive.OpenZipCounted(f.Path, archiveLimits, m.Add)
		if err != nil {
			return nil, archiveError(f.Name, err)
		}
		s.container, s.zip = containerZip, z
		entries := z.DataEntries() // by name; without folders, __MACOSX/ and hidden files
		if len(entries) == 0 {
			z.Close()
			return nil, fmt.Errorf("%s: %w: zip holds no data file", f.Name, ErrCorruptArchive)
		}
		for _, e := range entries {
			s.streams = append(s.streams, stream{
				entry:      e.Name,
				container:  containerZip,
				compressed: true,
				size:       e.CompressedSize,
				open: func() (io.ReadCloser, error) {
					rc, err := z.Open(e.Name)
					if err != nil {
						return nil, archiveError(f.Name, err)
					}
					return inflateAhead(rc), nil
				},
			})
		}
	case archive.IsGzip(head):
		s.container = containerGzip
		size := st.Size()
		s.streams = []stream{{
			container:  containerGzip,
			compressed: true,
			size:       size,
			open: func() (io.ReadCloser, error) {
				if _, err := file.Seek(0, io.SeekStart); err != nil {
					return nil, fmt.Errorf("seek %s: %w", f.Name, err)
				}
				zr, err := archive.GzipReader(bufio.NewReaderSize(progress.Reader(file, m), 256<<10), size, archiveLimits)
				if err != nil {
					return nil, archiveError(f.Name, err)
				}
				return inflateAhead(zr), nil
			},
		}}
	case bytes.HasPrefix(head, parquetMagic):
		file.Close()
		s.container = containerParquet
		s.f = nil
		s.streams = []stream{{container: containerParquet, size: st.Size()}}
	default:
		for _, u := range unsupported {
			if bytes.HasPrefix(head, u.magic) {
				file.Close()
				return nil, fmt.Errorf("%s: %w: %s compression is not supported (use zip, gzip or plain csv)", f.Name, ErrCorruptArchive, u.name)
			}
		}
		s.container = containerPlain
		s.streams = []stream{{
			container: containerPlain,
			size:      st.Size(),
			open: func() (io.ReadCloser, error) {
				if _, err := file.Seek(0, io.SeekStart); err != nil {
					return nil, fmt.Errorf("seek %s: %w", f.Name, err)
				}
				return io.NopCloser(progress.Reader(file, m)), nil
			},
		}}
	}
	return s, nil
}

// inflateAhead inflates a compressed stream on a goroutine of its own, a
// few MiB ahead of the reader (klauspost/readahead: 4 buffers of 1 MiB), so
// that inflating and parsing the records run at once: both ran on the one
// goroutine that reads the records, the stage's slowest step. The bytes and
// errors (in their place, after the bytes before them) are those of rc.
func inflateAhead(rc io.ReadCloser) io.ReadCloser { return readahead.NewReadCloser(rc) }
