// Package strindex numbers distinct strings in the order they are added,
// without pointers for the garbage collector to scan: the strings are kept
// one after another in a byte slice, and an open-addressing table of
// integers finds them. A Go map of millions of string keys is scanned by
// every collection (each key is a pointer), which is what a stage holding
// the account ids of a large release spent its time on; this index is
// three slices the collector marks without looking inside.
package strindex

import (
	"hash/maphash"
	"unsafe"
)

// Index numbers distinct strings 0, 1, 2, ... in the order they are added.
// The zero value is not usable: use New. It is not safe for concurrent use.
type Index struct {
	seed maphash.Seed
	blob []byte // the strings, one after another
	ends []int  // where string i ends in blob
	// slots is the open-addressing table (linear probing, at most 3/4
	// full): 0 for an empty slot, else the upper 32 bits of the string's
	// hash above its number plus one.
	slots []uint64
}

// MaxLen is the most strings an Index holds.
const MaxLen = 1<<32 - 2

// New returns an empty Index.
func New() *Index {
	return &Index{seed: maphash.MakeSeed(), slots: make([]uint64, 16)}
}

// Len returns the number of strings.
func (x *Index) Len() int { return len(x.ends) }

// View returns string i's bytes without copying them: a view into the
// index, which the caller must not change. Adding strings never changes
// the bytes of those already added, so a view stays valid.
func (x *Index) View(i int) []byte {
	start := 0
	if i > 0 {
		start = x.ends[i-1]
	}
	return x.blob[start:x.ends[i]:x.ends[i]]
}

// String returns string i.
func (x *Index) String(i int) string { return string(x.View(i)) }

// Find returns the number of s and whether it was added.
func (x *Index) Find(s string) (int, bool) { return x.find(maphash.String(x.seed, s), s) }

// find is Find for s of hash h.
func (x *Index) find(h uint64, s string) (int, bool) {
	mask := uint64(len(x.slots) - 1)
	tag := h >> 32 << 32
	for j := h & mask; ; j = (j + 1) & mask {
		v := x.slots[j]
		if v == 0 {
			return 0, false
		}
		if v&^(1<<32-1) == tag {
			if i := int(v&(1<<32-1)) - 1; string(x.View(i)) == s {
				return i, true
			}
		}
	}
}

// Add returns the number of s, adding a copy of s when it is new, and
// whether it was new. It panics past MaxLen strings.
func (x *Index) Add(s string) (int, bool) {
	h := maphash.String(x.seed, s)
	if i, ok := x.find(h, s); ok {
		return i, false
	}
	i := len(x.ends)
	if i >= MaxLen {
		panic("strindex: more than MaxLen strings")
	}
	x.blob = append(x.blob, s...)
	x.ends = append(x.ends, len(x.blob))
	if 4*(i+1) > 3*len(x.slots) {
		x.grow()
	} else {
		x.place(h, i)
	}
	return i, true
}

// AddBytes is Add for the string b holds. b is not kept (Add copies a new
// string), so looking up a string already added does not allocate.
func (x *Index) AddBytes(b []byte) (int, bool) {
	return x.Add(unsafe.String(unsafe.SliceData(b), len(b)))
}

// place puts string i, of hash h, in the first empty slot from its own.
func (x *Index) place(h uint64, i int) {
	mask := uint64(len(x.slots) - 1)
	j := h & mask
	for x.slots[j] != 0 {
		j = (j + 1) & mask
	}
	x.slots[j] = h>>32<<32 | uint64(i+1)
}

// grow doubles the table and places every string again.
func (x *Index) grow() {
	x.slots = make([]uint64, 2*len(x.slots))
	for i := range x.ends {
		x.place(maphash.Bytes(x.seed, x.View(i)), i)
	}
}

// Bytes returns the memory the index holds, in bytes.
func (x *Index) Bytes() int64 {
	return int64(cap(x.blob)) + 8*int64(cap(x.ends)) + 8*int64(cap(x.slots))
}
