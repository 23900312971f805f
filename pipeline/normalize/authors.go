package normalize

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"

	"github.com/takedown-research/takedown/internal/kmerge"
	"github.com/takedown-research/takedown/internal/schema"
	"github.com/takedown-research/takedown/internal/strindex"
)

// Bounds of the accounts first seen as post authors that are held in
// memory: once the buffer holds authorChunk accounts or authorChunkBytes
// bytes of them, it is sorted by id and spilled to a file, so that the
// stage holds one map entry per account (see authorStore), not a row.
var (
	authorChunk      = 1 << 18
	authorChunkBytes = 4 << 20
)

// authorStore keeps the ids of the accounts seen, one map entry each (ids
// from users files, ids of post authors), and the accounts first seen as
// post authors, as their first post described them.
//
// An author is kept as one compact record (encodeAuthor: the strings with
// their lengths, the ints as varints, dataset and source file as indexes
// into names), appended to an arena: about the bytes of its non-empty
// fields plus 20, where a schema.Account is 248 bytes before its strings.
// A full arena is sorted by id and written to a spill file under dir as
// length-prefixed records; finish merges the files and the last arena by
// id (kmerge), reading each file through a 64 KiB buffer.
type authorStore struct {
	dir   string
	seen  *strindex.Index // the ids seen: an id's number is its index in flags
	flags []uint8         // idInUsers | idAuthor
	// idMem estimates the memory of seen and flags (accountBytes an id
	// plus its bytes); grown, when set, is called with it every
	// growEvery ids.
	idMem int64
	grown func(idMem int64)

	names   []string // dataset and source file names of the records
	nameIdx map[string]uint32

	arena []byte   // records, each prefixed by its length (uvarint)
	offs  []uint32 // where each record of arena starts

	spill  kmerge.Dir
	chunks []string
	tmp    []byte
}

// Flags of authorStore.seen.
const (
	idInUsers = 1 << iota
	idAuthor
)

func newAuthorStore() *authorStore {
	return &authorStore{seen: strindex.New(), nameIdx: map[string]uint32{}}
}

func (s *authorStore) flagged(id string, f uint8) bool {
	i, ok := s.seen.Find(id)
	return ok && s.flags[i]&f != 0
}

// has reports whether an author id was seen.
func (s *authorStore) has(id string) bool { return s.flagged(id, idAuthor) }

// inUsers reports whether an id was seen in a users file.
func (s *authorStore) inUsers(id string) bool { return s.flagged(id, idInUsers) }

// markUsers records an id seen in a users file.
func (s *authorStore) markUsers(id string) { s.mark(id, idInUsers) }

func (s *authorStore) mark(id string, f uint8) {
	if i, isNew := s.seen.Add(id); !isNew {
		s.flags[i] |= f
		return
	}
	s.flags = append(s.flags, f)
	s.idMem += int64(len(id)) + accountBytes
	if s.grown != nil && len(s.flags)%growEvery == 0 {
		s.grown(s.idMem)
	}
}

// growEvery is how many new ids are seen between calls of authorStore.grown.
const growEvery = 1 << 14

// name returns the index of a dataset or source file name in s.names.
func (s *authorStore) name(v string) uint32 {
	if n := len(s.names); n > 0 && s.names[n-1] == v {
		return uint32(n - 1)
	}
	if i, ok := s.nameIdx[v]; ok {
		return i
	}
	i := uint32(len(s.names))
	v = strings.Clone(v)
	s.names = append(s.names, v)
	s.nameIdx[v] = i
	return i
}

// add keeps a (new) author's row. Its strings are copied.
func (s *authorStore) add(a *schema.Account) error {
	s.mark(a.AccountID, idAuthor)
	s.tmp = s.encodeAuthor(s.tmp[:0], a)
	s.offs = append(s.offs, uint32(len(s.arena)))
	s.arena = binary.AppendUvarint(s.arena, uint64(len(s.tmp)))
	s.arena = append(s.arena, s.tmp...)
	if len(s.offs) >= authorChunk || len(s.arena) >= authorChunkBytes {
		return s.flush()
	}
	return nil
}

// Bits of an encoded author's flags byte.
const (
	encIDHashed = 1 << iota
	encInUsersFile
	encFollowers
	encFollowing
	encCreatedAt
)

// encodeAuthor appends the record of a to b: the account id first (its
// length, then its bytes), so that records sort by readID.
func (s *authorStore) encodeAuthor(b []byte, a *schema.Account) []byte {
	b = appendString(b, a.AccountID)
	var fl byte
	if a.IDHashed {
		fl |= encIDHashed
	}
	if a.InUsersFile {
		fl |= encInUsersFile
	}
	if a.Followers != nil {
		fl |= encFollowers
	}
	if a.Following != nil {
		fl |= encFollowing
	}
	if a.CreatedAt != nil {
		fl |= encCreatedAt
	}
	b = append(b, fl)
	b = binary.AppendUvarint(b, uint64(s.name(a.Dataset)))
	b = binary.AppendUvarint(b, uint64(s.name(a.SourceFile)))
	b = binary.AppendVarint(b, a.SourceLine)
	for _, v := range [...]string{a.ScreenName, a.DisplayName, a.Description, a.Location, a.ProfileURL, a.Language, a.Category, a.AccountType} {
		b = appendString(b, v)
	}
	for _, p := range [...]*int64{a.Followers, a.Following, a.CreatedAt} {
		if p != nil {
			b = binary.AppendVarint(b, *p)
		}
	}
	return b
}

func appendString(b []byte, v string) []byte {
	b = binary.AppendUvarint(b, uint64(len(v)))
	return append(b, v...)
}

var errBadAuthor = errors.New("spilled author record is corrupt")

// authorDecoder reads the fields of one record in order: raw, and rec
// (its copy) for the strings.
type authorDecoder struct {
	raw []byte
	rec string
	i   int
	err error
}

func (d *authorDecoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.raw[d.i:])
	if n <= 0 {
		d.err = errBadAuthor
		return 0
	}
	d.i += n
	return v
}

func (d *authorDecoder) varint() int64 {
	u := d.uvarint()
	return int64(u>>1) ^ -int64(u&1)
}

func (d *authorDecoder) str() string {
	n := d.uvarint()
	if d.err != nil || n > uint64(len(d.rec)-d.i) {
		d.err = errBadAuthor
		return ""
	}
	v := d.rec[d.i : d.i+int(n)]
	d.i += int(n)
	return v
}

func (d *authorDecoder) byte() byte {
	if d.err != nil || d.i >= len(d.rec) {
		d.err = errBadAuthor
		return 0
	}
	d.i++
	return d.rec[d.i-1]
}

// decodeAuthor decodes a record made by encodeAuthor. The account's strings
// share one new copy of rec.
func (s *authorStore) decodeAuthor(rec []byte) (schema.Account, error) {
	d := authorDecoder{raw: rec, rec: string(rec)}
	var a schema.Account
	a.AccountID = d.str()
	fl := d.byte()
	ds, src := d.uvarint(), d.uvarint()
	a.SourceLine = d.varint()
	for _, p := range [...]*string{&a.ScreenName, &a.DisplayName, &a.Description, &a.Location, &a.ProfileURL, &a.Language, &a.Category, &a.AccountType} {
		*p = d.str()
	}
	if fl&(encFollowers|encFollowing|encCreatedAt) != 0 {
		vals := new([3]int64)
		for i, p := range [...]**int64{&a.Followers, &a.Following, &a.CreatedAt} {
			if fl&(encFollowers<<i) != 0 {
				vals[i] = d.varint()
				*p = &vals[i]
			}
		}
	}
	if d.err == nil && (d.i != len(d.rec) || ds >= uint64(len(s.names)) || src >= uint64(len(s.names))) {
		d.err = errBadAuthor
	}
	if d.err != nil {
		return schema.Account{}, d.err
	}
	a.Dataset, a.SourceFile = s.names[ds], s.names[src]
	a.IDHashed, a.InUsersFile = fl&encIDHashed != 0, fl&encInUsersFile != 0
	return a, nil
}

// readID returns the account id of a record.
func readID(rec []byte) []byte {
	n, k := binary.Uvarint(rec)
	if k <= 0 || n > uint64(len(rec)-k) {
		return nil
	}
	return rec[k : k+int(n)]
}

// recordAt returns the record (without its length) starting at off in the
// arena.
func (s *authorStore) recordAt(off uint32) []byte {
	n, k := binary.Uvarint(s.arena[off:])
	start := int(off) + k
	return s.arena[start : start+int(n)]
}

// sortArena sorts the offsets of the arena's records by account id.
func (s *authorStore) sortArena() {
	slices.SortFunc(s.offs, func(a, b uint32) int {
		return bytes.Compare(readID(s.recordAt(a)), readID(s.recordAt(b)))
	})
}

// flush spills the arena, sorted, to a new chunk file.
func (s *authorStore) flush() error {
	s.sortArena()
	path, err := s.spill.Next(s.dir, "authors", "chunk-%06d")
	if err != nil {
		return err
	}
	if err := s.writeChunk(path); err != nil {
		return fmt.Errorf("spill authors: %w", err)
	}
	s.chunks = append(s.chunks, path)
	s.arena, s.offs = s.arena[:0], s.offs[:0]
	return nil
}

func (s *authorStore) writeChunk(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 64<<10)
	for _, off := range s.offs {
		n, k := binary.Uvarint(s.arena[off:])
		w.Write(s.arena[off : int(off)+k+int(n)])
	}
	err = w.Flush()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// each calls fn for every author in id order. The account passed is fn's
// to keep.
func (s *authorStore) each(fn func(a *schema.Account) error) error {
	s.sortArena()
	cs := []*authorCursor{{mem: s}}
	defer func() {
		for _, c := range cs {
			if c.f != nil {
				c.f.Close()
			}
		}
	}()
	for _, p := range s.chunks {
		f, err := os.Open(p)
		if err != nil {
			return fmt.Errorf("read spilled authors: %w", err)
		}
		cs = append(cs, &authorCursor{f: f, r: bufio.NewReaderSize(f, 64<<10)})
	}
	return kmerge.Merge(cs, (*authorCursor).next, func(a, b *authorCursor) bool {
		return bytes.Compare(a.id, b.id) < 0
	}, func(c *authorCursor) error {
		a, err := s.decodeAuthor(c.rec)
		if err != nil {
			return fmt.Errorf("read spilled authors: %w", err)
		}
		return fn(&a)
	})
}

func (s *authorStore) cleanup() {
	s.spill.Remove()
}

// authorCursor is the current record of the arena (mem) or of one spill
// file (f, read through r).
type authorCursor struct {
	mem *authorStore
	i   int // index in mem.offs of the next record

	f *os.File
	r *bufio.Reader

	buf []byte
	rec []byte // the current record
	id  []byte // its account id
}

// next moves to the next record; false at the end.
func (c *authorCursor) next() (bool, error) {
	if c.mem != nil {
		if c.i >= len(c.mem.offs) {
			return false, nil
		}
		c.rec = c.mem.recordAt(c.mem.offs[c.i])
		c.i++
	} else {
		n, err := binary.ReadUvarint(c.r)
		if err == io.EOF {
			return false, nil
		}
		if err != nil || n > math.MaxInt32 {
			return false, fmt.Errorf("read spilled authors: %s: %w", c.f.Name(), errors.Join(err, errBadAuthor))
		}
		c.buf = slices.Grow(c.buf[:0], int(n))[:n]
		if _, err := io.ReadFull(c.r, c.buf); err != nil {
			return false, fmt.Errorf("read spilled authors: %s: %w", c.f.Name(), err)
		}
		c.rec = c.buf
	}
	c.id = readID(c.rec)
	if c.id == nil {
		return false, fmt.Errorf("read spilled authors: %w", errBadAuthor)
	}
	return true, nil
}
