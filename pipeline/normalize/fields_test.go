package normalize

import (
	"bytes"
	"context"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"unicode/utf8"

	"github.com/takedown-research/takedown/internal/schema"
)

func TestParseList(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
		bad  bool
	}{
		{in: "", want: nil},
		{in: "[]", want: nil},
		{in: "[ ]", want: nil},
		{in: "['SyrianArmy', 'Hama']", want: []string{"SyrianArmy", "Hama"}},
		{in: "['0']", want: []string{"0"}},
		{in: "['0', '0', '']", want: []string{"0", "0", ""}},
		{in: `["it's", 'b']`, want: []string{"it's", "b"}},
		{in: `['it\'s', 'a\\b', 'x\ny', '\xe9t\u00e9', '\U0001F600']`, want: []string{"it's", `a\b`, "x\ny", "été", "😀"}},
		{in: `['a\qb']`, want: []string{`a\qb`}},
		{in: "['a',]", want: []string{"a"}},
		{in: "[http://a, http://b]", want: []string{"http://a", "http://b"}},
		{in: "[2572896396]", want: []string{"2572896396"}},
		{in: "[0]", want: []string{"0"}},
		{in: "[1,2]", want: []string{"1", "2"}},
		{in: "[http://a.com/x,y, http://b]", want: []string{"http://a.com/x,y", "http://b"}},
		{in: "not a list", bad: true},
		{in: "['a'", bad: true},
		{in: "['a' 'b']", bad: true},
		{in: "['a', b]", bad: true},
		{in: `['\x4']`, bad: true},
	} {
		got, err := parseList(tc.in)
		if tc.bad {
			if err == nil {
				t.Errorf("parseList(%q) = %q, want error", tc.in, got)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("parseList(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestScalars(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		null bool
		ok   bool
	}{
		{"0", 0, false, true}, {"0.0", 0, false, true}, {"15.00", 15, false, true},
		{"", 0, true, true}, {"1.5", 0, false, false}, {"1.", 0, false, false},
		{"9.06E+17", 0, false, false}, {"x", 0, false, false}, {"-3", -3, false, true},
	} {
		v, ok := parseCount(tc.in)
		if ok != tc.ok || (ok && (v == nil) != tc.null) || (ok && v != nil && *v != tc.want) {
			t.Errorf("parseCount(%q) = %v, %v", tc.in, v, ok)
		}
	}
	for _, tc := range []struct {
		in   string
		ms   int64
		prec string
		ok   bool
	}{
		{"2016-03-01 12:34", time.Date(2016, 3, 1, 12, 34, 0, 0, time.UTC).UnixMilli(), "minute", true},
		{"2016-03-01 12:34:56", time.Date(2016, 3, 1, 12, 34, 56, 0, time.UTC).UnixMilli(), "second", true},
		{"2016-02-30 12:34", 0, "", false}, {"2016-03-01 24:00", 0, "", false},
		{"2016-03-01T12:34", 0, "", false}, {"10/1/2017 19:58", 0, "", false}, {"", 0, "", false},
	} {
		ms, prec, ok := parseTweetTime(tc.in)
		if ok != tc.ok || ms != tc.ms || prec != tc.prec {
			t.Errorf("parseTweetTime(%q) = %d %q %v", tc.in, ms, prec, ok)
		}
	}
	for _, tc := range []struct {
		in   string
		kind int
	}{
		{"123", idDigits}, {strings.Repeat("a1", 32), idHex64}, {"+4ivxsK1TsNx5Ngu0f4TZwmXpUmVQAY5Y0EHCAE1234=", idBase64},
		{strings.Repeat("1", 44), idDigits}, {"abc", idOpaque}, {"", idInvalid}, {"9.06E+17", idInvalid}, {"a b", idInvalid},
	} {
		if k := idKind(tc.in); k != tc.kind {
			t.Errorf("idKind(%q) = %d, want %d", tc.in, k, tc.kind)
		}
	}
	if _, ok := snowflakeMillis("29700859247"); ok {
		t.Error("sequential id read as snowflake")
	}
	at := time.Date(2019, 12, 31, 19, 15, 33, 695_000_000, time.UTC)
	if ms, ok := snowflakeMillis(snowflake(at, 4095)); !ok || ms != at.UnixMilli() {
		t.Errorf("snowflake = %d %v, want %d", ms, ok, at.UnixMilli())
	}
}

// reprList renders items as Python's repr of a list of str does.
func reprList(items []string) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, s := range items {
		if i > 0 {
			b.WriteString(", ")
		}
		q := byte('\'')
		if strings.Contains(s, "'") && !strings.Contains(s, `"`) {
			q = '"'
		}
		b.WriteByte(q)
		for _, r := range s {
			switch {
			case r == '\\':
				b.WriteString(`\\`)
			case r == rune(q):
				b.WriteString(`\` + string(q))
			case r == '\n':
				b.WriteString(`\n`)
			case r == '\r':
				b.WriteString(`\r`)
			case r == '\t':
				b.WriteString(`\t`)
			default:
				b.WriteRune(r)
			}
		}
		b.WriteByte(q)
	}
	b.WriteByte(']')
	return b.String()
}

// FuzzParseList checks that parseList never panics and that any list of
// valid strings survives a Python-repr round trip, "0" and "" included.
func FuzzParseList(f *testing.F) {
	for _, s := range []string{"['a', 'b']", "[]", "", "[a, b]", `["it's"]`, `['\x41']`, "['0']", "a\x00b\x000"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		parseList(s) // must not panic
		if !utf8.ValidString(s) {
			return
		}
		items := strings.Split(s, "\x00")
		got, err := parseList(reprList(items))
		if err != nil {
			t.Fatalf("repr %q: %v", reprList(items), err)
		}
		if !reflect.DeepEqual(got, items) {
			t.Fatalf("round trip %q -> %q", items, got)
		}
	})
}

// countWriter counts rows instead of writing them, so that fuzzing does
// not spend its time in Parquet.
type countWriter[T any] struct{ n int64 }

func (w *countWriter[T]) Write(rows ...T) error {
	w.n += int64(len(rows))
	return nil
}

// FuzzTweetsFile normalizes a tweets file whose body is fuzzed. Whatever
// the bytes, it must not panic, each file's rows in must equal rows written
// plus rows rejected, and the rows handed to the writers must match.
func FuzzTweetsFile(f *testing.F) {
	good := csvText(tweetsCols, tweet(0, nil), tweet(1, map[string]string{"tweet_text": "a\nb"}))
	body := good[strings.IndexByte(good, '\n')+1:]
	f.Add([]byte(body))
	f.Add([]byte(body[:len(body)/2]))
	f.Add([]byte(`"1","2"` + "\n" + `"x"y` + "\n"))
	f.Add([]byte("\xff\xfe\n\r\n\"\"\"\n"))
	header := []byte(quoteAll(tweetsCols))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		p := filepath.Join(dir, "in")
		if err := os.WriteFile(p, append(append([]byte(nil), header...), b...), 0o644); err != nil {
			t.Fatal(err)
		}
		var acc countWriter[schema.Account]
		var posts countWriter[schema.Post]
		var rej countWriter[schema.Reject]
		n := newNormalizer("fuzz", formats, slog.New(slog.DiscardHandler), &acc, &posts, &rej)
		if err := n.file(context.Background(), SourceFile{Name: "in.csv", Path: p}); err != nil {
			if notTextExpected(err, append(append([]byte(nil), header...), b...)) {
				return
			}
			t.Fatalf("unexpected error: %v", err)
		}
		if err := n.finish(); err != nil {
			t.Fatal(err)
		}
		st := n.stats
		var rows int64
		for _, fs := range st.Files {
			if fs.RowsIn != fs.RowsWritten+fs.RowsRejected {
				t.Fatalf("rows in %d != %d + %d", fs.RowsIn, fs.RowsWritten, fs.RowsRejected)
			}
			rows += fs.RowsIn
		}
		if posts.n != st.Posts || rej.n != st.Rejects || acc.n != st.Accounts || posts.n+rej.n != rows {
			t.Fatalf("posts %d/%d + rejects %d/%d, accounts %d/%d, rows in %d",
				posts.n, st.Posts, rej.n, st.Rejects, acc.n, st.Accounts, rows)
		}
		// Every non-blank line of the body belongs to some record.
		if rows == 0 && len(bytes.TrimLeft(b, "\r\n")) > 0 {
			t.Fatalf("no rows from %q", b)
		}
	})
}

// idKindRef is idKind written as a switch on each byte, the reference of
// the table-driven idKind.
func idKindRef(s string) int {
	if s == "" || len(s) > 128 {
		return idInvalid
	}
	digits, hex := true, true
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
		case c >= 'a' && c <= 'f', c >= 'A' && c <= 'F':
			digits = false
		case c >= 'g' && c <= 'z', c >= 'G' && c <= 'Z', c == '+', c == '/', c == '=', c == '_', c == '-':
			digits, hex = false, false
		default:
			return idInvalid
		}
	}
	switch {
	case digits:
		return idDigits
	case hex && len(s) == 64:
		return idHex64
	case len(s) >= 41 && len(s) <= 44:
		return idBase64
	}
	return idOpaque
}

// TestIDKindTable: idKind agrees with the reference on every byte at every
// position of ids of the lengths that matter, and on random ids.
func TestIDKindTable(t *testing.T) {
	for _, n := range []int{1, 3, 41, 44, 45, 64, 128, 129} {
		for c := 0; c < 256; c++ {
			for _, base := range []string{"1", "a", "g"} {
				b := []byte(strings.Repeat(base, n))
				for _, at := range []int{0, n / 2, n - 1} {
					b[at] = byte(c)
					if got, want := idKind(string(b)), idKindRef(string(b)); got != want {
						t.Fatalf("idKind(%q) = %d, want %d", b, got, want)
					}
				}
			}
		}
	}
	rng := rand.New(rand.NewPCG(5, 6))
	alphabet := "0123456789abcdefABCDEFxyzXYZ+/=_- .\x00\xff"
	for range 20000 {
		b := make([]byte, rng.IntN(70))
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		if got, want := idKind(string(b)), idKindRef(string(b)); got != want {
			t.Fatalf("idKind(%q) = %d, want %d", b, got, want)
		}
	}
}

// FuzzParseCount checks parseCount's fast path against strconv: a value
// is accepted, and equal, exactly when the general rule accepts it.
func FuzzParseCount(f *testing.F) {
	for _, s := range []string{"0", "12", "4095", "4096", "999999999999999999", "9223372036854775807", "-3", "+3", "1.0", "1.5", " 1", "1_0", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := parseCount(s)
		want, wok := parseCountGeneral(s)
		if ok != wok || (got == nil) != (want == nil) || got != nil && *got != *want {
			t.Fatalf("parseCount(%q) = %v %v, want %v %v", s, got, ok, want, wok)
		}
	})
}

// TestCivilDays compares validYMD and parseDate's day arithmetic with
// time.Date on every day, valid or not, of the years a four-digit field
// can hold.
func TestCivilDays(t *testing.T) {
	step := 1
	if testing.Short() {
		step = 7
	}
	for y := 0; y <= 9999; y += step {
		for mo := 0; mo <= 13; mo++ {
			for d := 0; d <= 32; d++ {
				tm := time.Date(y, time.Month(mo), d, 0, 0, 0, 0, time.UTC)
				valid := tm.Year() == y && int(tm.Month()) == mo && tm.Day() == d
				if got := validYMD(y, mo, d); got != valid {
					t.Fatalf("validYMD(%d, %d, %d) = %v, want %v", y, mo, d, got, valid)
				}
				if valid && daysFromCivil(y, mo, d)*86_400_000 != tm.UnixMilli() {
					t.Fatalf("%04d-%02d-%02d: %d days, want %d ms", y, mo, d, daysFromCivil(y, mo, d), tm.UnixMilli())
				}
			}
		}
	}
}
