package cluster

import (
	"sort"
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
	n := 0
	for _, s := range strs {
		n += len(s)
	}
	t := strTable{blob: make([]byte, 0, n), end: make([]uint64, len(strs))}
	for i, s := range strs {
		t.blob = append(t.blob, s...)
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
