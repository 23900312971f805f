package csvfield

import (
	"bytes"
	"encoding/csv"
	"strings"
	"testing"
)

var fields = []string{"", "a", " a", "\ta", "a b", `\.`, `\.x`, "a,b", `a"b`, `""`, `"`, "a\nb", "a\rb", "\u00a0x", "é", `x"y"z`}

// TestAppendLikeEncodingCSV: unquoted fields are quoted exactly as
// encoding/csv quotes them; quoted ones always are, and read back whole.
func TestAppendLikeEncodingCSV(t *testing.T) {
	for _, s := range fields {
		var want bytes.Buffer
		w := csv.NewWriter(&want)
		if err := w.Write([]string{s, "z"}); err != nil {
			t.Fatal(err)
		}
		w.Flush()
		if got := string(Append(nil, s, false)) + ",z\n"; got != want.String() {
			t.Errorf("field %q: got %q, encoding/csv %q", s, got, want.String())
		}
		q := Append(nil, s, true)
		if string(q) != string(AppendQuoted(nil, []byte(s))) {
			t.Errorf("field %q: string and []byte quoting differ", s)
		}
		rec, err := csv.NewReader(bytes.NewReader(append(q, ",z\n"...))).Read()
		if err != nil || len(rec) != 2 || rec[0] != strings.ReplaceAll(s, "\r\n", "\n") && !strings.Contains(s, "\r") {
			t.Errorf("quoted field %q: %q reads back as %q (%v)", s, q, rec, err)
		}
	}
}

func FuzzAppendQuoted(f *testing.F) {
	for _, s := range fields {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if strings.Contains(s, "\r") {
			return // encoding/csv reads \r\n inside a field as \n
		}
		rec, err := csv.NewReader(bytes.NewReader(append(AppendQuoted(nil, s), '\n'))).Read()
		if err != nil || len(rec) != 1 || rec[0] != s {
			t.Fatalf("%q reads back as %q (%v)", s, rec, err)
		}
	})
}
