package cluster

import (
	"bytes"
	"strconv"
)

// postIDs holds the post ids by row number compactly: an id written as a
// decimal number without leading zeros (every platform's numeric ids) as
// that number, 8 bytes; any other id in a map. Ids compare as the strings
// they are, so results do not depend on the representation.
type postIDs struct {
	// num is the number plus one, or 0 for an id in other or "".
	num   []uint64
	other map[uint32]string
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

// set records the id of row r; b is not kept.
func (p *postIDs) set(r uint32, b []byte) {
	if v, ok := decimal(b); ok {
		p.num[r] = v + 1
		return
	}
	p.num[r] = 0
	if len(b) > 0 {
		p.other[r] = string(b)
	} else {
		delete(p.other, r)
	}
}

// add appends an id and returns its row number.
func (p *postIDs) add(s string) uint32 {
	r := uint32(len(p.num))
	p.num = append(p.num, 0)
	p.set(r, []byte(s))
	return r
}

func (p *postIDs) len() int { return len(p.num) }

// empty reports whether row r has no post id.
func (p *postIDs) empty(r uint32) bool {
	if p.num[r] != 0 {
		return false
	}
	_, ok := p.other[r]
	return !ok
}

// appendID appends the id of row r to b.
func (p *postIDs) appendID(b []byte, r uint32) []byte {
	if v := p.num[r]; v != 0 {
		return strconv.AppendUint(b, v-1, 10)
	}
	return append(b, p.other[r]...)
}

// str returns the id of row r.
func (p *postIDs) str(r uint32) string {
	if v := p.num[r]; v != 0 {
		return strconv.FormatUint(v-1, 10)
	}
	return p.other[r]
}

// cmp compares the ids of rows x and y as strings.
func (p *postIDs) cmp(x, y uint32) int {
	vx, vy := p.num[x], p.num[y]
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
	return bytes.Compare(p.appendID(bx[:0], x), p.appendID(by[:0], y))
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
	for _, s := range p.other {
		b += otherIDBytes(len(s))
	}
	return b
}

// otherIDBytes estimates the memory of an id of n bytes in postIDs.other:
// the bytes, the string header, the key and the map's overhead.
func otherIDBytes(n int) int64 { return int64(n) + 16 + 4 + 16 }
