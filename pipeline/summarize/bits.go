package summarize

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
)

// bitFile holds one bit per posts row (its repost flag) in a file under
// the output directory, written in row order and read back in row order,
// so that no pass keeps a bit per post in memory.
type bitFile struct {
	f    *os.File
	w    *bufio.Writer
	word uint64
	n    int64 // bits written
}

func newBitFile(dir string) (*bitFile, error) {
	f, err := os.CreateTemp(dir, ".summarize-reposts-")
	if err != nil {
		return nil, fmt.Errorf("summarize: repost flags: %w", err)
	}
	return &bitFile{f: f, w: bufio.NewWriterSize(f, 1<<16)}, nil
}

// add appends the next row's bit.
func (b *bitFile) add(bit bool) error {
	if bit {
		b.word |= 1 << (b.n % 64)
	}
	b.n++
	if b.n%64 == 0 {
		return b.flushWord()
	}
	return nil
}

func (b *bitFile) flushWord() error {
	var buf [8]byte
	binary.LittleEndian.PutUint64(buf[:], b.word)
	b.word = 0
	if _, err := b.w.Write(buf[:]); err != nil {
		return fmt.Errorf("summarize: repost flags: %w", err)
	}
	return nil
}

// finish writes the last bits; the file is then read with reader.
func (b *bitFile) finish() error {
	if b.n%64 != 0 {
		if err := b.flushWord(); err != nil {
			return err
		}
	}
	if err := b.w.Flush(); err != nil {
		return fmt.Errorf("summarize: repost flags: %w", err)
	}
	return nil
}

// remove closes and removes the file; nil-safe.
func (b *bitFile) remove() {
	if b == nil || b.f == nil {
		return
	}
	b.f.Close()
	os.Remove(b.f.Name())
	b.f = nil
}

// bitReader reads a bitFile's bits for rows that never decrease.
type bitReader struct {
	f    *os.File
	r    *bufio.Reader
	n    int64
	word uint64
	wi   int64 // the word loaded; -1 before the first
	err  error
}

// reader opens the bits for reading from row 0; nil-safe (no rows).
func (b *bitFile) reader() (*bitReader, error) {
	if b == nil {
		return &bitReader{wi: -1}, nil
	}
	f, err := os.Open(b.f.Name())
	if err != nil {
		return nil, fmt.Errorf("summarize: repost flags: %w", err)
	}
	return &bitReader{f: f, r: bufio.NewReaderSize(f, 1<<16), n: b.n, wi: -1}, nil
}

// get returns row's bit (false past the last row). A row before the last
// one asked is an error (r.err).
func (r *bitReader) get(row int64) bool {
	if row < 0 || row >= r.n || r.err != nil {
		return false
	}
	w := row / 64
	if w < r.wi {
		r.err = errors.New("summarize: repost flags read out of row order")
		return false
	}
	var buf [8]byte
	for r.wi < w {
		if _, err := io.ReadFull(r.r, buf[:]); err != nil {
			r.err = fmt.Errorf("summarize: repost flags: %w", err)
			return false
		}
		r.word = binary.LittleEndian.Uint64(buf[:])
		r.wi++
	}
	return r.word&(1<<(row%64)) != 0
}

// close closes the reader and returns its first error.
func (r *bitReader) close() error {
	if r.f != nil {
		r.f.Close()
	}
	return r.err
}
