package pqio

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

type groupRow struct {
	ID    string   `parquet:"id"`
	Code  string   `parquet:"code,dict"`
	At    int64    `parquet:"at,timestamp(millisecond:utc)"`
	Small int32    `parquet:"small"`
	Key   *uint64  `parquet:"key,optional"`
	Flag  bool     `parquet:"flag"`
	Tags  []string `parquet:"tags,list"`
	Bands []uint64 `parquet:"bands,list"`
}

// TestGroups reads every column of a file of several row groups with
// Groups and checks each row against the rows written: empty strings,
// dictionary pages, nulls, empty lists, unsigned values above 2^63, and
// strings kept from one group still intact after the next group's read.
func TestGroups(t *testing.T) {
	var rows []groupRow
	for i := range 2*RowGroupRows + 123 {
		r := groupRow{ID: fmt.Sprint("p", i), Code: fmt.Sprint("c", i%5), At: int64(i) * 1000,
			Small: int32(i % 7), Flag: i%3 == 1}
		if i%3 == 0 {
			r.ID = ""
		}
		if i%4 != 0 {
			k := uint64(i) << 40
			r.Key = &k
		}
		for j := range i % 3 {
			r.Tags = append(r.Tags, fmt.Sprint("t", i, ".", j))
		}
		if i%5 == 0 {
			r.Bands = []uint64{1<<63 + uint64(i), 2}
		}
		rows = append(rows, r)
	}
	path := filepath.Join(t.TempDir(), "g.parquet")
	if _, err := WriteFile(path, rows); err != nil {
		t.Fatal(err)
	}
	g, err := OpenGroups(path)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if g.Len() != 3 {
		t.Fatalf("Len = %d, want 3", g.Len())
	}
	var ids, codes, tags Strings
	var at, small, key, bands Int64s
	var flag Bools
	var kept []string // ids of every group, kept across reads
	first := 0
	for gi := range g.Len() {
		for _, rd := range []struct {
			col string
			err error
		}{
			{"id", g.ReadStrings(gi, "id", &ids)},
			{"code", g.ReadStrings(gi, "code", &codes)},
			{"tags", g.ReadStrings(gi, "tags", &tags)},
			{"at", g.ReadInt64s(gi, "at", &at)},
			{"small", g.ReadInt64s(gi, "small", &small)},
			{"key", g.ReadInt64s(gi, "key", &key)},
			{"bands", g.ReadInt64s(gi, "bands", &bands)},
			{"flag", g.ReadBools(gi, "flag", &flag)},
		} {
			if rd.err != nil {
				t.Fatalf("group %d column %s: %v", gi, rd.col, rd.err)
			}
		}
		n := g.Rows(gi)
		for r := range n {
			w := rows[first+r]
			kept = append(kept, ids.One(r))
			var wantKey []int64
			if w.Key != nil {
				wantKey = []int64{int64(*w.Key)}
			}
			var wantBands []int64
			for _, b := range w.Bands {
				wantBands = append(wantBands, int64(b))
			}
			got := []bool{
				ids.One(r) == w.ID && len(ids.Row(r)) == 1,
				codes.One(r) == w.Code,
				slices.Equal(tags.Row(r), w.Tags) || len(w.Tags) == 0 && len(tags.Row(r)) == 0,
				at.One(r) == w.At,
				small.One(r) == int64(w.Small),
				slices.Equal(key.Values[key.Starts[r]:key.Starts[r+1]], wantKey),
				slices.Equal(bands.Values[bands.Starts[r]:bands.Starts[r+1]], wantBands),
				flag.One(r) == w.Flag,
			}
			if i := slices.Index(got, false); i >= 0 {
				t.Fatalf("row %d (group %d): column %d differs: %+v", first+r, gi, i, w)
			}
		}
		first += n
	}
	if first != len(rows) {
		t.Fatalf("read %d rows, wrote %d", first, len(rows))
	}
	for i, id := range kept {
		if id != rows[i].ID {
			t.Fatalf("kept id %d = %q after later reads, want %q", i, id, rows[i].ID)
		}
	}
	for _, c := range []struct {
		err  error
		want string
	}{
		{g.ReadStrings(0, "nope", &ids), `no column "nope"`},
		{g.ReadStrings(0, "at", &ids), `column "at" has type`},
		{g.ReadInt64s(0, "id", &at), `column "id" has type`},
		{g.ReadBools(0, "small", &flag), `column "small" has type`},
		{g.ReadInt64s(3, "at", &at), "row group 3 of 3"},
	} {
		if c.err == nil || !strings.Contains(c.err.Error(), c.want) {
			t.Errorf("error %v, want one containing %q", c.err, c.want)
		}
	}
}
