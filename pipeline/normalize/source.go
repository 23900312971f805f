package normalize

import (
	"archive/zip"
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strings"
)

// Container kinds of a source file, detected from its first bytes.
const (
	containerPlain = "plain"
	containerZip   = "zip"
	containerGzip  = "gzip"
)

// stream is one CSV byte stream inside a source file: the file itself, its
// gunzipped content, or one zip entry.
type stream struct {
	entry string // zip entry name; empty otherwise
	open  func() (io.ReadCloser, error)
	// compressed streams turn read errors into ErrCorruptArchive.
	compressed bool
}

// source is an opened source file.
type source struct {
	container string
	streams   []stream
	f         *os.File
}

// Close closes the underlying file.
func (s *source) Close() error { return s.f.Close() }

// Magic numbers of containers we read and of some we do not.
var (
	magicZip      = []byte("PK\x03\x04")
	magicZipEmpty = []byte("PK\x05\x06")
	magicGzip     = []byte{0x1f, 0x8b}
	unsupported   = []struct {
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
// no extension.
func openSource(f SourceFile) (*source, error) {
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
	case bytes.HasPrefix(head, magicZip) || bytes.HasPrefix(head, magicZipEmpty):
		s.container = containerZip
		zr, err := zip.NewReader(file, st.Size())
		if err != nil {
			file.Close()
			return nil, fmt.Errorf("%s: %w: %v", f.Name, ErrCorruptArchive, err)
		}
		var files []*zip.File
		for _, zf := range zr.File {
			if skipZipEntry(zf) {
				continue
			}
			files = append(files, zf)
		}
		if len(files) == 0 {
			file.Close()
			return nil, fmt.Errorf("%s: %w: zip holds no data file", f.Name, ErrCorruptArchive)
		}
		sort.SliceStable(files, func(i, j int) bool { return files[i].Name < files[j].Name })
		for _, zf := range files {
			s.streams = append(s.streams, stream{
				entry:      zf.Name,
				compressed: true,
				open: func() (io.ReadCloser, error) {
					rc, err := zf.Open()
					if err != nil {
						return nil, fmt.Errorf("%s!%s: %w: %v", f.Name, zf.Name, ErrCorruptArchive, err)
					}
					return rc, nil
				},
			})
		}
	case bytes.HasPrefix(head, magicGzip):
		s.container = containerGzip
		s.streams = []stream{{
			compressed: true,
			open: func() (io.ReadCloser, error) {
				if _, err := file.Seek(0, io.SeekStart); err != nil {
					return nil, fmt.Errorf("seek %s: %w", f.Name, err)
				}
				zr, err := gzip.NewReader(bufio.NewReaderSize(file, 256<<10))
				if err != nil {
					return nil, fmt.Errorf("%s: %w: %v", f.Name, ErrCorruptArchive, err)
				}
				return zr, nil
			},
		}}
	default:
		for _, u := range unsupported {
			if bytes.HasPrefix(head, u.magic) {
				file.Close()
				return nil, fmt.Errorf("%s: %w: %s compression is not supported (use zip, gzip or plain csv)", f.Name, ErrCorruptArchive, u.name)
			}
		}
		s.container = containerPlain
		s.streams = []stream{{
			open: func() (io.ReadCloser, error) {
				if _, err := file.Seek(0, io.SeekStart); err != nil {
					return nil, fmt.Errorf("seek %s: %w", f.Name, err)
				}
				return io.NopCloser(file), nil
			},
		}}
	}
	return s, nil
}

// skipZipEntry reports zip entries that are not data: directories, macOS
// resource forks and hidden files.
func skipZipEntry(zf *zip.File) bool {
	name := zf.Name
	if zf.FileInfo().IsDir() || strings.HasSuffix(name, "/") {
		return true
	}
	if strings.HasPrefix(name, "__MACOSX/") || strings.Contains(name, "/__MACOSX/") {
		return true
	}
	return strings.HasPrefix(path.Base(name), ".")
}
