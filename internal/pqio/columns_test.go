package pqio

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

type colRow struct {
	ID    string   `parquet:"id"`
	At    int64    `parquet:"at,timestamp(millisecond:utc)"`
	Small int32    `parquet:"small"`
	Key   *uint64  `parquet:"key,optional"`
	Tags  []string `parquet:"tags,list"`
	Bands []uint64 `parquet:"bands,list"`
}

type rv struct {
	row int64
	v   string
}

// TestEachColumn checks EachBytes and EachInt64 against the rows written,
// over several row groups and pages: row numbers, nulls and empty lists
// (no call), empty strings (a call), unsigned values above 2^63.
func TestEachColumn(t *testing.T) {
	var rows []colRow
	want := map[string][]rv{}
	for i := range 3*RowGroupRows + 17 {
		r := colRow{ID: fmt.Sprint("p", i), At: int64(i) * 1000, Small: int32(i % 7)}
		if i%3 == 0 {
			r.ID = "" // empty string: still a value
		}
		if i%4 != 0 {
			k := uint64(i) << 40
			r.Key = &k
			want["key"] = append(want["key"], rv{int64(i), fmt.Sprint(int64(k))})
		}
		for j := range i % 3 {
			tag := fmt.Sprint("t", j)
			r.Tags = append(r.Tags, tag)
			want["tags"] = append(want["tags"], rv{int64(i), tag})
		}
		if i%5 == 0 {
			r.Bands = []uint64{1<<63 + uint64(i), 2}
			want["bands"] = append(want["bands"], rv{int64(i), fmt.Sprint(int64(1<<63 + uint64(i)))}, rv{int64(i), "2"})
		}
		want["id"] = append(want["id"], rv{int64(i), r.ID})
		want["at"] = append(want["at"], rv{int64(i), fmt.Sprint(r.At)})
		want["small"] = append(want["small"], rv{int64(i), fmt.Sprint(r.Small)})
		rows = append(rows, r)
	}
	path := filepath.Join(t.TempDir(), "t.parquet")
	if _, err := WriteFile(path, rows); err != nil {
		t.Fatal(err)
	}
	for _, col := range []string{"id", "tags"} {
		var got []rv
		err := EachBytes(path, col, func(row int64, b []byte) error {
			got = append(got, rv{row, string(b)})
			return nil
		})
		if err != nil || !slices.Equal(got, want[col]) {
			t.Errorf("EachBytes %s: %d values (err %v), want %d", col, len(got), err, len(want[col]))
		}
	}
	for _, col := range []string{"at", "small", "key", "bands"} {
		var got []rv
		err := EachInt64(path, col, func(row, v int64) error {
			got = append(got, rv{row, fmt.Sprint(v)})
			return nil
		})
		if err != nil || !slices.Equal(got, want[col]) {
			t.Errorf("EachInt64 %s: %d values (err %v), want %d", col, len(got), err, len(want[col]))
		}
	}

	for col, want := range map[string]int{"at": 3*RowGroupRows + 17, "key": 3*RowGroupRows + 17, "bands": len(want["bands"]) + (3*RowGroupRows + 17) - len(want["bands"])/2} {
		if got, err := NumValues(path, col); err != nil || got != want {
			t.Errorf("NumValues(%s) = %d, %v; want %d", col, got, err, want)
		}
	}
	// The non-null values are the values read.
	for _, col := range []string{"id", "tags", "at", "small", "key", "bands"} {
		if got, err := NumNonNull(path, col); err != nil || got != len(want[col]) {
			t.Errorf("NumNonNull(%s) = %d, %v; want %d", col, got, err, len(want[col]))
		}
	}

	// Read in spans, the parts concatenated in order must be the whole.
	for _, n := range []int{1, 2, 3, 4, 9} {
		spans, err := Spans(path, n)
		if err != nil {
			t.Fatal(err)
		}
		if len(spans) != min(n, 4) || spans[0].First != 0 || spans[len(spans)-1].Last != 4 {
			t.Errorf("Spans(%d) = %v, want %d spans covering 4 row groups", n, spans, min(n, 4))
		}
		for _, col := range []string{"tags", "bands"} {
			var got []rv
			for i, sp := range spans {
				if i > 0 && sp.First != spans[i-1].Last {
					t.Fatalf("Spans(%d) = %v: not consecutive", n, spans)
				}
				if col == "tags" {
					err = EachBytesIn(path, col, sp, func(row int64, b []byte) error {
						got = append(got, rv{row, string(b)})
						return nil
					})
				} else {
					err = EachInt64BatchIn(path, col, sp, func(rows, vals []int64) error {
						if len(rows) != len(vals) || len(vals) == 0 {
							t.Fatalf("batch of %d rows, %d values", len(rows), len(vals))
						}
						for i, v := range vals {
							got = append(got, rv{rows[i], fmt.Sprint(v)})
						}
						return nil
					})
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			if !slices.Equal(got, want[col]) {
				t.Errorf("%s in %d spans: %d values, want %d", col, n, len(got), len(want[col]))
			}
		}
	}
	if err := EachInt64In(path, "at", Span{First: 3, Last: 9}, func(int64, int64) error { return nil }); err == nil {
		t.Error("a span past the last row group was read")
	}

	stop := errors.New("stop")
	calls := 0
	if err := EachInt64(path, "at", func(row, v int64) error { calls++; return stop }); !errors.Is(err, stop) || calls != 1 {
		t.Errorf("fn error: %v after %d calls, want stop after 1", err, calls)
	}
	if err := EachBytes(path, "nope", func(int64, []byte) error { return nil }); err == nil || !strings.Contains(err.Error(), `no column "nope"`) {
		t.Errorf("missing column: %v", err)
	}
	if err := EachBytes(path, "at", func(int64, []byte) error { return nil }); err == nil || !strings.Contains(err.Error(), `column "at" has type`) {
		t.Errorf("wrong type: %v", err)
	}
	if err := EachInt64(path, "id", func(int64, int64) error { return nil }); err == nil {
		t.Error("EachInt64 read a string column")
	}
}
