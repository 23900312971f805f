package pqio

import (
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
)

// TestTextRows reads a file of every column shape and checks that the rows
// are the ones Export writes as CSV, and the names the file's.
func TestTextRows(t *testing.T) {
	path := exportFixture(t)
	var want bytes.Buffer
	if _, err := Export(path, FormatCSV, &want, nil); err != nil {
		t.Fatal(err)
	}
	tr, err := OpenTextRows(path)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	var got bytes.Buffer
	w := csv.NewWriter(&got)
	w.Write(tr.Names())
	var row []string
	for {
		row, err = tr.Next(row)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		w.Write(row)
	}
	w.Flush()
	if got.String() != want.String() {
		t.Errorf("got\n%s\nwant\n%s", got.String(), want.String())
	}
	if tr.NumRows() != 2 {
		t.Errorf("NumRows %d", tr.NumRows())
	}
	if _, err := tr.Next(row); err != io.EOF {
		t.Errorf("after the end: %v", err)
	}
}

// TestTextRowsMany reads more rows than one read fetches, in order.
func TestTextRowsMany(t *testing.T) {
	type r struct {
		N    int64   `parquet:"n"`
		Note *string `parquet:"note,optional"`
	}
	var rows []r
	for i := range 1000 {
		var note *string
		if i%3 == 0 {
			s := "n" + strconv.Itoa(i)
			note = &s
		}
		rows = append(rows, r{N: int64(i), Note: note})
	}
	path := filepath.Join(t.TempDir(), "many.parquet")
	if _, err := WriteFile(path, rows); err != nil {
		t.Fatal(err)
	}
	tr, err := OpenTextRows(path)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	if !slices.Equal(tr.Names(), []string{"n", "note"}) {
		t.Errorf("names %q", tr.Names())
	}
	for i := range 1000 {
		got, err := tr.Next(nil)
		if err != nil {
			t.Fatalf("row %d: %v", i, err)
		}
		note := ""
		if i%3 == 0 {
			note = "n" + strconv.Itoa(i)
		}
		if want := []string{strconv.Itoa(i), note}; !slices.Equal(got, want) {
			t.Fatalf("row %d = %q, want %q", i, got, want)
		}
	}
	if _, err := tr.Next(nil); err != io.EOF {
		t.Errorf("after the end: %v", err)
	}
}

func TestTextRowsNotParquet(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.parquet")
	if err := os.WriteFile(path, []byte("PAR1 but no footer"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenTextRows(path); !errors.Is(err, ErrNotParquet) {
		t.Errorf("err %v, want ErrNotParquet", err)
	}
	if _, err := OpenTextRows(filepath.Join(t.TempDir(), "none")); err == nil || errors.Is(err, ErrNotParquet) {
		t.Errorf("missing file: %v", err)
	}
}
