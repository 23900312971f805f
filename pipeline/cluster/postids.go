package cluster

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"sync"

	"github.com/takedown-research/takedown/internal/pqio"
)

// postIDs holds the post ids by row number compactly: an id written as a
// decimal number without leading zeros (every platform's numeric ids) as
// that number, 8 bytes; any other id in a map. Ids compare as the strings
// they are, so results do not depend on the representation.
//
// In a run whose ids would take more than their share of the budget
// (postIDShare), the numbers of the table's rows are in a spill file
// instead (file), read with ReadAt through a cache: the sweep compares ids
// only to break ties, and the evidence writes the ids it names.
type postIDs struct {
	// num is the number plus one, or 0 for an id in other or "": of row
	// r, or of row fileRows+r when the table's rows are in file.
	num   []uint64
	other map[uint32]string

	file     *idFile
	fileRows uint32
}

// idFile is the numbers of postIDs.num of a table's rows in a spill file,
// 8 bytes little-endian each, with a cache of those read that goroutines
// share: blocks of idBlock rows, in idCacheShards shards of idCacheWays
// blocks each, by block.
type idFile struct {
	path   string
	f      *os.File
	shards [idCacheShards]idCacheShard

	mu  sync.Mutex
	err error // the first read error (readErr)
}

const (
	// idBlock is the rows an idFile reads and caches at once. A release's
	// posts come account by account (the platforms' files and the
	// synthetic ones), so the evidence rows of one account, which follow
	// one another, name posts in a few blocks: one read serves several.
	idBlock       = 16
	idCacheShards = 256
	idCacheWays   = 256 // blocks of a shard: 1M rows in all, 8.6 MB
)

type idCacheShard struct {
	mu     sync.Mutex
	blocks [idCacheWays]uint32 // block+1, 0 for none
	vals   [idCacheWays][idBlock]uint64
}

// value returns the number of row r (0 after a read error, which readErr
// then reports).
func (f *idFile) value(r uint32) uint64 {
	blk := r / idBlock
	sh := &f.shards[blk%idCacheShards]
	w := (blk / idCacheShards) % idCacheWays
	sh.mu.Lock()
	if sh.blocks[w] == blk+1 {
		v := sh.vals[w][r%idBlock]
		sh.mu.Unlock()
		return v
	}
	sh.mu.Unlock()
	var b [idBlock * 8]byte
	n, err := f.f.ReadAt(b[:], int64(blk)*idBlock*8) // a closed (nil) file's says so
	if n >= int(r%idBlock+1)*8 && errors.Is(err, io.EOF) {
		err = nil // the last block, short
	}
	if err != nil {
		f.mu.Lock()
		if f.err == nil {
			f.err = fmt.Errorf("cluster: post ids: read %s: %w", f.path, err)
		}
		f.mu.Unlock()
		return 0
	}
	var vals [idBlock]uint64
	for k := range n / 8 {
		vals[k] = binary.LittleEndian.Uint64(b[k*8:])
	}
	sh.mu.Lock()
	sh.blocks[w], sh.vals[w] = blk+1, vals
	sh.mu.Unlock()
	return vals[r%idBlock]
}

// Reads of postIDs.nums from an idFile: rows closer than numsGap apart
// are read as one (a read costs about what copying 4 KB does), up to
// numsRead rows (1 MB). Tests lower them.
var (
	numsGap  = uint32(512)
	numsRead = uint32(1 << 17)
)

// nums sets nums[i] to the number of rows[i] (numOf) for many rows at
// once. Rows in the file are read in row order, nearby ones in one read,
// without the cache: the evidence of a whole-archive release names its
// posts in no order, so that a read per row costs more than reading a
// run of the file that holds several. keys is scratch, returned for the
// next call. After a read error the numbers are 0 and readErr reports it.
func (p *postIDs) nums(rows []uint32, nums []uint64, keys []uint64) []uint64 {
	keys = keys[:0]
	for i, r := range rows {
		if p.file == nil || r >= p.fileRows {
			nums[i] = p.numOf(r)
			continue
		}
		keys = append(keys, uint64(r)<<32|uint64(i))
	}
	if len(keys) == 0 {
		return keys
	}
	slices.Sort(keys)
	f := p.file
	var buf []byte
	for k := 0; k < len(keys); {
		lo := uint32(keys[k] >> 32)
		hi := lo + 1
		e := k + 1
		for e < len(keys) {
			r := uint32(keys[e] >> 32)
			if r >= hi+numsGap || r-lo >= numsRead {
				break
			}
			hi = max(hi, r+1)
			e++
		}
		buf = slices.Grow(buf[:0], int(hi-lo)*8)[:int(hi-lo)*8]
		n, err := f.f.ReadAt(buf, int64(lo)*8) // a closed (nil) file's says so
		if n == len(buf) {
			err = nil // EOF at the file's end
		}
		if err != nil {
			f.mu.Lock()
			if f.err == nil {
				f.err = fmt.Errorf("cluster: post ids: read %s: %w", f.path, err)
			}
			f.mu.Unlock()
			for _, key := range keys[k:] {
				nums[uint32(key)] = 0
			}
			return keys
		}
		for _, key := range keys[k:e] {
			nums[uint32(key)] = binary.LittleEndian.Uint64(buf[(uint32(key>>32)-lo)*8:])
		}
		k = e
	}
	return keys
}

// idFileBytes is the memory an idFile holds: its cache.
const idFileBytes = idCacheShards * idCacheWays * (4 + 8*idBlock)

// postIDShare is the share of the budget (1/postIDShare) the post ids of a
// load that reads the signals one at a time may take in memory; beyond
// it, as for a whole-archive release (1.7 GB at 217M posts), they go to an
// idFile. Tests raise it to take the file path on small tables.
var postIDShare int64 = 4

// readErr returns the first error of reading p's file, if any.
func (p *postIDs) readErr() error {
	if p.file == nil {
		return nil
	}
	p.file.mu.Lock()
	defer p.file.mu.Unlock()
	return p.file.err
}

// close closes p's file, if any, and returns the first read error.
func (p *postIDs) close() error {
	if p.file == nil || p.file.f == nil {
		return nil
	}
	err := p.readErr()
	if cerr := p.file.f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("cluster: post ids: %w", cerr)
	}
	p.file.f = nil
	return err
}

// numOf returns the number of row r: num's, or its file's.
func (p *postIDs) numOf(r uint32) uint64 {
	if p.file == nil {
		return p.num[r]
	}
	if r < p.fileRows {
		return p.file.value(r)
	}
	return p.num[r-p.fileRows]
}

func newPostIDs(n int) *postIDs {
	return &postIDs{num: make([]uint64, n), other: map[uint32]string{}}
}

// decimal returns the number b writes and whether it is one: 1 to 19 digits,
// no leading zero (but "0").
func decimal(b []byte) (uint64, bool) {
	if len(b) == 0 || len(b) > 19 || (b[0] == '0' && len(b) > 1) {
		return 0, false
	}
	var v uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + uint64(c-'0')
	}
	return v, true
}

// set records the id of row r, which is in num; b is not kept.
func (p *postIDs) set(r uint32, b []byte) {
	p.setNum(&p.num[r-p.fileRows], r, b)
}

// setNum sets *num, the number of row r, for the id b, and keeps in
// other an id that is no number.
func (p *postIDs) setNum(num *uint64, r uint32, b []byte) {
	if v, ok := decimal(b); ok {
		*num = v + 1
		return
	}
	*num = 0
	if len(b) > 0 {
		p.other[r] = string(b)
	} else {
		delete(p.other, r)
	}
}

// add appends an id and returns its row number.
func (p *postIDs) add(s string) uint32 {
	r := uint32(p.len())
	p.num = append(p.num, 0)
	p.set(r, []byte(s))
	return r
}

func (p *postIDs) len() int { return int(p.fileRows) + len(p.num) }

// empty reports whether row r has no post id.
func (p *postIDs) empty(r uint32) bool {
	if p.numOf(r) != 0 {
		return false
	}
	_, ok := p.other[r]
	return !ok
}

// appendNum appends the id of row r, whose number is v, to b.
func (p *postIDs) appendNum(b []byte, r uint32, v uint64) []byte {
	if v != 0 {
		return strconv.AppendUint(b, v-1, 10)
	}
	return append(b, p.other[r]...)
}

// str returns the id of row r.
func (p *postIDs) str(r uint32) string {
	if v := p.numOf(r); v != 0 {
		return strconv.FormatUint(v-1, 10)
	}
	return p.other[r] // no copy
}

// cmp compares the ids of rows x and y as strings.
func (p *postIDs) cmp(x, y uint32) int {
	vx, vy := p.numOf(x), p.numOf(y)
	if vx != 0 && vy != 0 {
		if vx == vy {
			return 0
		}
		if decLen(vx-1) == decLen(vy-1) {
			if vx < vy {
				return -1
			}
			return 1
		}
	}
	var bx, by [24]byte
	return bytes.Compare(p.appendNum(bx[:0], x, vx), p.appendNum(by[:0], y, vy))
}

// less reports whether the id of row x sorts before that of row y.
func (p *postIDs) less(x, y uint32) bool { return p.cmp(x, y) < 0 }

// decLen is the number of decimal digits of v.
func decLen(v uint64) int {
	n := 1
	for v >= 10 {
		v /= 10
		n++
	}
	return n
}

// residentBytes estimates the memory p holds.
func (p *postIDs) residentBytes() int64 {
	b := int64(cap(p.num)) * 8
	if p.file != nil {
		b += idFileBytes
	}
	for _, s := range p.other {
		b += otherIDBytes(len(s))
	}
	return b
}

// otherIDBytes estimates the memory of an id of n bytes in postIDs.other:
// the bytes, the string header, the key and the map's overhead.
func otherIDBytes(n int) int64 { return int64(n) + 16 + 4 + 16 }

// writeNums writes the numbers of the post ids of span's rows, which
// follow each other, to f at their rows, keeping in p.other the ids that
// are no numbers.
func (p *postIDs) writeNums(f *idFile, path string, span pqio.Span, checkRow func(int64) error) error {
	const chunk = 8192
	nums := make([]uint64, 0, chunk)
	buf := make([]byte, 8*chunk)
	first := int64(-1) // the row of nums[0]
	flush := func() error {
		for i, v := range nums {
			binary.LittleEndian.PutUint64(buf[8*i:], v)
		}
		if _, err := f.f.WriteAt(buf[:8*len(nums)], first*8); err != nil {
			return fmt.Errorf("cluster: spill %s: %w", f.path, err)
		}
		nums = nums[:0]
		return nil
	}
	err := pqio.EachBytesIn(path, colPostID, span, func(row int64, b []byte) error {
		if err := checkRow(row); err != nil {
			return err
		}
		if len(nums) == chunk || (len(nums) > 0 && row != first+int64(len(nums))) {
			if err := flush(); err != nil {
				return err
			}
		}
		if len(nums) == 0 {
			first = row
		}
		nums = append(nums, 0)
		p.setNum(&nums[len(nums)-1], uint32(row), b)
		return nil
	})
	if err != nil {
		return err
	}
	if len(nums) > 0 {
		return flush()
	}
	return nil
}
