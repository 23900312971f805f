package cluster

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"sync"
	"unsafe"
)

// strTable is a table of strings held without pointers: their bytes one
// after another in one slice, and where each ends. The collector scans a
// []string's every header at every cycle; the account ids and the string
// items of a release are millions, and a partitioned run keeps its heap
// near the budget, so that it collects often. A string at returns points
// into the bytes, which never change once the table is made.
type strTable struct {
	blob []byte
	end  []uint64
}

// newStrTable returns a table of strs, in their order.
func newStrTable(strs []string) strTable {
	return makeStrTable(len(strs), func(i int) string { return strs[i] })
}

// makeStrTable returns a table of the n strings at returns, in order.
func makeStrTable[S ~string | ~[]byte](n int, at func(i int) S) strTable {
	size := 0
	for i := range n {
		size += len(at(i))
	}
	t := strTable{blob: make([]byte, 0, size), end: make([]uint64, n)}
	for i := range n {
		t.blob = append(t.blob, at(i)...)
		t.end[i] = uint64(len(t.blob))
	}
	return t
}

func (t strTable) len() int { return len(t.end) }

// at returns string i.
func (t strTable) at(i int) string {
	s := uint64(0)
	if i > 0 {
		s = t.end[i-1]
	}
	if s == t.end[i] {
		return ""
	}
	return unsafe.String(&t.blob[s], t.end[i]-s)
}

// search returns where s is or would be in a sorted table, and whether it
// is there.
func (t strTable) search(s string) (int, bool) {
	i := sort.Search(t.len(), func(i int) bool { return t.at(i) >= s })
	return i, i < t.len() && t.at(i) == s
}

// strings returns the table as a slice (tests).
func (t strTable) strings() []string {
	out := make([]string, t.len())
	for i := range out {
		out[i] = t.at(i)
	}
	return out
}

// bytes estimates the table's memory.
func (t strTable) bytes() int64 { return int64(cap(t.blob)) + 8*int64(cap(t.end)) }

// strBlock is the strings of a strFile one entry of its index covers.
const strBlock = 64

// strFile is a strTable moved to a spill file, for a signal's string items
// past their share of the budget (strShare): each string as its uvarint
// length and its bytes, one after another, with only the offset of every
// strBlock-th string in memory (an eighth of a byte a string where the
// table took its bytes plus 8). at reads a block of strings with ReadAt and
// keeps it in a cache while it has room; it is safe for concurrent use.
type strFile struct {
	path  string
	n     int
	index []int64 // offset of string k*strBlock; the file's size last

	mu         sync.Mutex
	f          *os.File
	cache      map[int][]string // by block
	cacheBytes int
	buf        []byte
	err        error // the first read error (readErr)
}

// strFileCache is the most bytes of strings a strFile keeps read.
var strFileCache = 16 << 20

// writeStrFile writes t to a spill file at path.
func writeStrFile(t strTable, path string) (*strFile, error) {
	sf := &strFile{path: path, n: t.len(), index: make([]int64, 0, (t.len()+strBlock-1)/strBlock+1)}
	err := writeSpill(path, func(w *bufio.Writer) error {
		var off int64
		var lb [binary.MaxVarintLen64]byte
		for i := range t.len() {
			if i%strBlock == 0 {
				sf.index = append(sf.index, off)
			}
			s := t.at(i)
			k := binary.PutUvarint(lb[:], uint64(len(s)))
			if _, err := w.Write(lb[:k]); err != nil {
				return err
			}
			if _, err := w.WriteString(s); err != nil {
				return err
			}
			off += int64(k + len(s))
		}
		sf.index = append(sf.index, off)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return sf, nil
}

func (sf *strFile) len() int { return sf.n }

// bytes estimates the memory sf holds: its index and cache.
func (sf *strFile) bytes() int64 { return 8*int64(cap(sf.index)) + int64(strFileCache) }

// at returns string i; "" after a read error, which readErr then reports.
func (sf *strFile) at(i int) string {
	sf.mu.Lock()
	defer sf.mu.Unlock()
	k := i / strBlock
	if b, ok := sf.cache[k]; ok {
		return b[i%strBlock]
	}
	b, err := sf.readBlock(k)
	if err != nil {
		if sf.err == nil {
			sf.err = fmt.Errorf("cluster: spill %s: %w", sf.path, err)
		}
		return ""
	}
	if sf.cache == nil || sf.cacheBytes > strFileCache {
		sf.cache, sf.cacheBytes = map[int][]string{}, 0
	}
	sf.cache[k] = b
	sf.cacheBytes += len(sf.buf) + 16*len(b)
	return b[i%strBlock]
}

// readBlock reads block k's strings.
func (sf *strFile) readBlock(k int) ([]string, error) {
	if sf.f == nil {
		f, err := os.Open(sf.path)
		if err != nil {
			return nil, err
		}
		sf.f = f
	}
	n := sf.index[k+1] - sf.index[k]
	if cap(sf.buf) < int(n) {
		sf.buf = make([]byte, n)
	}
	sf.buf = sf.buf[:n]
	if _, err := sf.f.ReadAt(sf.buf, sf.index[k]); err != nil {
		return nil, err
	}
	all := string(sf.buf) // one allocation for the block
	strs := make([]string, 0, min(strBlock, sf.n-k*strBlock))
	for off := 0; len(strs) < cap(strs); {
		l, m := binary.Uvarint(sf.buf[off:])
		if m <= 0 || off+m+int(l) > len(all) {
			return nil, fmt.Errorf("block %d: %w", k, io.ErrUnexpectedEOF)
		}
		off += m
		strs = append(strs, all[off:off+int(l)])
		off += int(l)
	}
	return strs, nil
}

// readErr returns the first read error of at.
func (sf *strFile) readErr() error {
	sf.mu.Lock()
	defer sf.mu.Unlock()
	return sf.err
}

// close closes the file, drops the cache and returns the first error.
func (sf *strFile) close() error {
	sf.mu.Lock()
	defer sf.mu.Unlock()
	sf.cache, sf.cacheBytes = nil, 0
	if sf.f == nil {
		return sf.err
	}
	err := sf.f.Close()
	sf.f = nil
	return errors.Join(sf.err, err)
}
