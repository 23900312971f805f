package pqio

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/ipc"
	"github.com/apache/arrow/go/v15/arrow/memory"
)

// exportRow covers every column shape the pipeline's tables use.
type exportRow struct {
	Name  string   `parquet:"name"`
	Dict  string   `parquet:"dict,dict"`
	Flag  bool     `parquet:"flag"`
	Count int64    `parquet:"count"`
	Key   *uint64  `parquet:"key,optional"`
	Share float64  `parquet:"share"`
	At    int64    `parquet:"at,timestamp(millisecond:utc)"`
	Maybe *int64   `parquet:"maybe,optional,timestamp(millisecond:utc)"`
	Tags  []string `parquet:"tags,list"`
	Raw   []byte   `parquet:"raw"`
	Likes *int64   `parquet:"likes,optional"`
}

func exportFixture(t *testing.T) string {
	t.Helper()
	k := uint64(18446744073709551615)
	at := int64(1551398640000) // 2019-03-01T00:04:00Z
	rows := []exportRow{
		{Name: `a "quoted", name`, Dict: "x", Flag: true, Count: -3, Key: &k, Share: 0.25, At: at, Maybe: &at,
			Tags: []string{"one", "two,three"}, Raw: []byte{0, 1, 2}, Likes: ptr64(7)},
		{Name: "line\nbreak", Dict: "x", At: at + 1, Tags: nil},
	}
	path := filepath.Join(t.TempDir(), "t.parquet")
	if _, err := WriteFile(path, rows); err != nil {
		t.Fatal(err)
	}
	return path
}

func ptr64(v int64) *int64 { return &v }

func TestExportText(t *testing.T) {
	path := exportFixture(t)
	for _, tc := range []struct {
		format string
		want   string
	}{
		{FormatCSV, "name,dict,flag,count,key,share,at,maybe,tags,raw,likes\n" +
			`"a ""quoted"", name",x,true,-3,18446744073709551615,0.25,2019-03-01T00:04:00.000Z,2019-03-01T00:04:00.000Z,"[""one"",""two,three""]",AAEC,7` + "\n" +
			"\"line\nbreak\",x,false,0,,0,2019-03-01T00:04:00.001Z,,[],,\n"},
		{FormatJSONL, `{"name":"a \"quoted\", name","dict":"x","flag":true,"count":-3,"key":18446744073709551615,"share":0.25,"at":"2019-03-01T00:04:00.000Z","maybe":"2019-03-01T00:04:00.000Z","tags":["one","two,three"],"raw":"AAEC","likes":7}` + "\n" +
			`{"name":"line\nbreak","dict":"x","flag":false,"count":0,"key":null,"share":0,"at":"2019-03-01T00:04:00.001Z","maybe":null,"tags":[],"raw":"","likes":null}` + "\n"},
	} {
		t.Run(tc.format, func(t *testing.T) {
			var b bytes.Buffer
			n, err := Export(path, tc.format, &b, nil)
			if err != nil {
				t.Fatal(err)
			}
			if n != 2 {
				t.Errorf("rows = %d, want 2", n)
			}
			if b.String() != tc.want {
				t.Errorf("got\n%s\nwant\n%s", b.String(), tc.want)
			}
		})
	}
}

func TestExportArrow(t *testing.T) {
	path := exportFixture(t)
	out := filepath.Join(t.TempDir(), "t.arrow")
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := Export(path, FormatArrow, f, nil); err != nil || n != 2 {
		t.Fatalf("export: %d rows, %v", n, err)
	}
	f.Close()

	rf, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer rf.Close()
	r, err := ipc.NewFileReader(rf, ipc.WithAllocator(memory.NewGoAllocator()))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	s := r.Schema()
	wantTypes := map[string]string{
		"name": "utf8", "flag": "bool", "count": "int64", "key": "uint64", "share": "float64",
		"at": "timestamp[ms, tz=UTC]", "tags": "list<item: utf8, nullable>", "raw": "binary", "likes": "int64",
	}
	for name, want := range wantTypes {
		idx := s.FieldIndices(name)
		if len(idx) != 1 {
			t.Fatalf("field %s missing in %s", name, s)
		}
		if got := s.Field(idx[0]).Type.String(); got != want {
			t.Errorf("field %s type %s, want %s", name, got, want)
		}
	}
	if r.NumRecords() != 1 {
		t.Fatalf("records = %d", r.NumRecords())
	}
	rec, err := r.Record(0)
	if err != nil {
		t.Fatal(err)
	}
	if rec.NumRows() != 2 {
		t.Fatalf("rows = %d", rec.NumRows())
	}
	col := func(name string) arrow.Array { return rec.Column(s.FieldIndices(name)[0]) }
	if got := col("name").(*array.String).Value(0); got != `a "quoted", name` {
		t.Errorf("name[0] = %q", got)
	}
	if got := col("key").(*array.Uint64).Value(0); got != 18446744073709551615 {
		t.Errorf("key[0] = %d", got)
	}
	if !col("key").IsNull(1) || !col("likes").IsNull(1) {
		t.Error("nulls not kept")
	}
	if got := col("at").(*array.Timestamp).Value(1); got != 1551398640001 {
		t.Errorf("at[1] = %d", got)
	}
	tags := col("tags").(*array.List)
	if tags.Len() != 2 || !strings.Contains(tags.String(), `"two,three"`) {
		t.Errorf("tags = %s", tags)
	}

	// The same table exported twice gives the same bytes.
	out2 := filepath.Join(t.TempDir(), "t2.arrow")
	f2, _ := os.Create(out2)
	if _, err := Export(path, FormatArrow, f2, nil); err != nil {
		t.Fatal(err)
	}
	f2.Close()
	a, _ := os.ReadFile(out)
	b, _ := os.ReadFile(out2)
	if !bytes.Equal(a, b) {
		t.Error("arrow export is not byte-deterministic")
	}
}

func TestExportErrors(t *testing.T) {
	path := exportFixture(t)
	var b bytes.Buffer
	if _, err := Export(path, FormatArrow, &b, nil); !errors.Is(err, ErrNotSeekable) {
		t.Errorf("arrow to a buffer: %v, want ErrNotSeekable", err)
	}
	if _, err := Export(path, "xml", &b, nil); err == nil || !strings.Contains(err.Error(), "xml") {
		t.Errorf("unknown format: %v", err)
	}
	if _, err := Export(filepath.Join(t.TempDir(), "missing.parquet"), FormatCSV, &b, nil); err == nil {
		t.Error("missing file: no error")
	}
}

func TestHead(t *testing.T) {
	path := exportFixture(t)
	names, rows, total, err := Head(path, 1)
	if err != nil {
		t.Fatal(err)
	}
	if total != 2 || len(rows) != 1 || len(names) != 11 {
		t.Fatalf("total %d rows %d names %d", total, len(rows), len(names))
	}
	if rows[0][0] != `a "quoted", name` || rows[0][4] != "18446744073709551615" {
		t.Errorf("row = %q", rows[0])
	}
	_, rows, _, err = Head(path, 10)
	if err != nil || len(rows) != 2 || rows[1][4] != "null" {
		t.Errorf("head 10: %v %q", err, rows)
	}
}

// idRow has the shapes of id columns: required, optional (null when
// absent) and a column that is no id.
type idRow struct {
	PostID  string  `parquet:"post_id"`
	ReplyTo *string `parquet:"reply_to_post_id,optional"`
	Text    string  `parquet:"text"`
	Count   int64   `parquet:"count"`
}

func TestExportIDs(t *testing.T) {
	rows := []idRow{
		{PostID: "1105197392510164140", ReplyTo: ptr("1105193875298948575"), Text: "12", Count: 1},
		{PostID: "+6Zq/x=", Text: "", Count: 2},
		{PostID: `a"b`, ReplyTo: ptr(""), Text: "x,y"},
	}
	path := filepath.Join(t.TempDir(), "ids.parquet")
	if _, err := WriteFile(path, rows); err != nil {
		t.Fatal(err)
	}
	ids := []string{"post_id", "reply_to_post_id"}
	for _, tc := range []struct {
		format, want string
	}{
		{FormatCSV, "post_id,reply_to_post_id,text,count\n" +
			`"1105197392510164140","1105193875298948575",12,1` + "\n" +
			`"+6Zq/x=",,,2` + "\n" +
			`"a""b","","x,y",0` + "\n"},
		{FormatJSONL, `{"post_id":"1105197392510164140","reply_to_post_id":"1105193875298948575","text":"12","count":1}` + "\n" +
			`{"post_id":"+6Zq/x=","reply_to_post_id":null,"text":"","count":2}` + "\n" +
			`{"post_id":"a\"b","reply_to_post_id":"","text":"x,y","count":0}` + "\n"},
	} {
		var b bytes.Buffer
		if _, err := Export(path, tc.format, &b, ids); err != nil {
			t.Fatal(err)
		}
		if b.String() != tc.want {
			t.Errorf("%s: got\n%s\nwant\n%s", tc.format, b.String(), tc.want)
		}
	}
	var b bytes.Buffer
	for _, bad := range [][]string{{"count"}, {"no_such"}} {
		if _, err := Export(path, FormatCSV, &b, bad); !errors.Is(err, ErrUnsupportedColumn) {
			t.Errorf("id columns %q: err = %v, want ErrUnsupportedColumn", bad, err)
		}
	}
}
