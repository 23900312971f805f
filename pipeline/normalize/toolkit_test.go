package normalize

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/takedown-research/takedown/internal/schema"
)

const toolkitHeader = "message_id,user_id,username,repost_id,reply_id,message,timestamp,urls\n"

func TestParseEpochSeconds(t *testing.T) {
	for _, c := range []struct {
		in   string
		ms   int64
		prec string
		ok   bool
	}{
		{"1500000000", 1500000000000, schema.PrecisionSecond, true},
		{"0", 0, schema.PrecisionSecond, true},
		{"1500000000.5", 1500000000500, schema.PrecisionMillisecond, true},
		{"1500000000.123456", 1500000000123, schema.PrecisionMillisecond, true},
		{"1500000000.05", 1500000000050, schema.PrecisionMillisecond, true},
		{"253402300799", 253402300799000, schema.PrecisionSecond, true},
		{"253402300800", 0, "", false},
		{"", 0, "", false},
		{"1500000000.", 0, "", false},
		{".5", 0, "", false},
		{"-1", 0, "", false},
		{"1.5e9", 0, "", false},
		{"2017-07-14 02:40", 0, "", false},
		{" 1500000000", 0, "", false},
	} {
		ms, prec, ok := parseEpochSeconds(c.in)
		if ms != c.ms || prec != c.prec || ok != c.ok {
			t.Errorf("parseEpochSeconds(%q) = %d, %q, %v; want %d, %q, %v", c.in, ms, prec, ok, c.ms, c.prec, c.ok)
		}
	}
}

func TestTextEntities(t *testing.T) {
	for _, c := range []struct {
		text           string
		tags, mentions []string
	}{
		{"", nil, nil},
		{"no entities here", nil, nil},
		{"#tag43 at start", []string{"tag43"}, nil},
		{"@u7846 w34 #a #b", []string{"a", "b"}, []string{"u7846"}},
		{"mail me@example.org or a#b", nil, nil},
		{"#1 is a number, #1st is a tag", []string{"1st"}, nil},
		{"(#paren) @x_y, @@double ##double", []string{"paren", "double"}, []string{"x_y", "double"}},
		{"#", nil, nil},
		{"# @ #!", nil, nil},
		{"unicode #Россия @δοκιμή #日本", []string{"Россия", "日本"}, []string{"δοκιμή"}},
		{"#tag.end @name:", []string{"tag"}, []string{"name"}},
		{"#a#b", []string{"a"}, nil},
		{"\xff#bad utf8", []string{"bad"}, nil},
	} {
		tags, mentions := textEntities(c.text)
		if !reflect.DeepEqual(tags, c.tags) || !reflect.DeepEqual(mentions, c.mentions) {
			t.Errorf("textEntities(%q) = %q, %q; want %q, %q", c.text, tags, mentions, c.tags, c.mentions)
		}
	}
}

// TestSplitURLField checks the split of Python's s.split(" "), which the
// toolkit's CSV reader applies to the urls field (expected values from
// Python 3.11), except that an empty field is no items.
func TestSplitURLField(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []string
	}{
		{"", nil},
		{" ", []string{"", ""}},
		{"https://a.example/x", []string{"https://a.example/x"}},
		{"https://a.example/x  https://b.example/y ", []string{"https://a.example/x", "", "https://b.example/y", ""}},
		{" a", []string{"", "a"}},
		{"a\tb c\nd", []string{"a\tb", "c\nd"}},
		{"a\u00a0b", []string{"a\u00a0b"}},
	} {
		if got := splitURLField(c.in); !reflect.DeepEqual(got, c.want) {
			t.Errorf("splitURLField(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestToolkitFile(t *testing.T) {
	body := toolkitHeader +
		"1,u1,user1,,,hello #tag @u2 world,1500000000,https://a.example/1 https://b.example/2\n" +
		"2,u2,user2,ext5,,,1500000060,\n" +
		"3,u1,user1,,1,\"a reply, with a comma\",1500000120.25,\n" +
		"4,u3,user3,,,bad time,2017-07-14,\n" +
		"5,,user4,,,no user,1500000000,\n" +
		"6,u4,user4,,bad id!,x,1500000000,\n" +
		"7,u4,user4,,,too,many,fields,1500000000,\n"
	r := run(t, writeSource(t, t.TempDir(), "r100k.csv", []byte(body)))
	if got, want := reasons(r), []string{ReasonBadTime, ReasonBadID, ReasonBadID, ReasonFieldCount}; !reflect.DeepEqual(got, want) {
		t.Fatalf("reasons %q, want %q", got, want)
	}
	if len(r.posts) != 3 {
		t.Fatalf("%d posts", len(r.posts))
	}
	fs := r.stats.Files[0]
	if fs.Format != FormatToolkit || fs.Kind != "posts" || fs.RowsIn != 7 || fs.RowsWritten != 3 {
		t.Errorf("file stats %+v", fs)
	}
	p := r.posts[0]
	if p.PostID != "1" || p.AccountID != "u1" || p.PostedAt != 1500000000000 || p.PostedAtPrecision != schema.PrecisionSecond ||
		p.IsRepost || !reflect.DeepEqual(p.URLs, []string{"https://a.example/1", "https://b.example/2"}) ||
		!reflect.DeepEqual(p.Hashtags, []string{"tag"}) || !reflect.DeepEqual(p.Mentions, []string{"u2"}) {
		t.Errorf("post 1: %+v", p)
	}
	if p := r.posts[1]; !p.IsRepost || str(p.RepostOfPostID) != "ext5" || len(p.URLs) != 0 || p.Text != "" {
		t.Errorf("post 2 (repost): %+v", p)
	}
	if p := r.posts[2]; str(p.ReplyToPostID) != "1" || p.PostedAt != 1500000120250 || p.PostedAtPrecision != schema.PrecisionMillisecond || p.Text != "a reply, with a comma" {
		t.Errorf("post 3 (reply): %+v", p)
	}
	// Accounts come from the posts: u1 and u2 (u3 and u4 were only in
	// rejected rows).
	var ids []string
	for _, a := range r.accounts {
		ids = append(ids, a.AccountID+"/"+a.ScreenName)
		if a.InUsersFile {
			t.Errorf("account %s marked in users file", a.AccountID)
		}
	}
	if want := []string{"u1/user1", "u2/user2"}; !reflect.DeepEqual(ids, want) {
		t.Errorf("accounts %q, want %q", ids, want)
	}
	if r.stats.AccountsOnlyInPosts != 2 {
		t.Errorf("accounts only in posts %d", r.stats.AccountsOnlyInPosts)
	}
}

func TestToolkitFormatParam(t *testing.T) {
	dir := t.TempDir()
	f := writeSource(t, dir, "x.csv", []byte(toolkitHeader+"1,u1,user1,,,hi,1500000000,\n"))
	for _, c := range []struct {
		format string
		ok     bool
	}{{FormatAuto, true}, {FormatToolkit, true}, {FormatTwitterIO, false}} {
		out := t.TempDir()
		_, err := Run(context.Background(), Input{Dataset: "d", Files: []SourceFile{f}}, Params{Format: c.format}, out, nil)
		if (err == nil) != c.ok {
			t.Errorf("format %s: err %v", c.format, err)
		}
	}
}

func TestWithFormatHint(t *testing.T) {
	for _, c := range []struct {
		param, desc, want string
	}{
		{FormatAuto, FormatToolkit, FormatToolkit},
		{FormatAuto, FormatTwitterIO, FormatAuto}, // the default of datasets add: auto-detect
		{FormatAuto, "no-such-format", FormatAuto},
		{FormatAuto, "", FormatAuto},
		{FormatTwitterIO, FormatToolkit, FormatTwitterIO}, // an explicit flag wins
	} {
		if got := WithFormatHint(Params{Format: c.param}, c.desc, "").Format; got != c.want {
			t.Errorf("WithFormatHint(%s, %s) = %s, want %s", c.param, c.desc, got, c.want)
		}
	}
}

// fuzzFile normalizes header+body with counting writers and checks the
// accounting invariants; it is shared by the per-format fuzz targets.
// notTextExpected reports an ErrNotText error that sniffText predicts for
// the file's bytes: the one error a fuzzed file may end in.
func notTextExpected(err error, file []byte) bool {
	kind, _ := sniffText(file)
	return errors.Is(err, ErrNotText) && kind != textUTF8
}

func fuzzFile(t *testing.T, dir string, header, body []byte) {
	p := filepath.Join(dir, "in")
	if err := os.WriteFile(p, append(append([]byte(nil), header...), body...), 0o644); err != nil {
		t.Fatal(err)
	}
	var acc countWriter[schema.Account]
	var posts countWriter[schema.Post]
	var rej countWriter[schema.Reject]
	n := newNormalizer("fuzz", formats, slog.New(slog.DiscardHandler), &acc, &posts, &rej)
	if err := n.file(context.Background(), SourceFile{Name: "in.csv", Path: p}); err != nil {
		if notTextExpected(err, append(append([]byte(nil), header...), body...)) {
			return
		}
		t.Fatalf("unexpected error: %v", err)
	}
	if err := n.finish(); err != nil {
		t.Fatal(err)
	}
	st := n.stats
	var rows, accRows int64
	for _, fs := range st.Files {
		if fs.RowsIn != fs.RowsWritten+fs.RowsRejected {
			t.Fatalf("rows in %d != %d + %d", fs.RowsIn, fs.RowsWritten, fs.RowsRejected)
		}
		rows += fs.RowsIn
		if fs.Kind == "users" || fs.Kind == "seed" {
			// A seed row names an account, like a users row; neither is a post.
			accRows += fs.RowsWritten
		}
	}
	if posts.n != st.Posts || rej.n != st.Rejects || acc.n != st.Accounts || posts.n+rej.n+accRows != rows {
		t.Fatalf("posts %d/%d + rejects %d/%d, accounts %d/%d, rows in %d",
			posts.n, st.Posts, rej.n, st.Rejects, acc.n, st.Accounts, rows)
	}
	if rows == 0 && len(bytes.TrimLeft(body, "\r\n")) > 0 {
		t.Fatalf("no rows from %q", body)
	}
}

// FuzzToolkitFile fuzzes the body of a coordination-network-toolkit file,
// seeded from rows of /work/shared/bench/takedown_like_csv.py output.
func FuzzToolkitFile(f *testing.F) {
	for _, s := range []string{
		"99386,u10124,user10124,,,@u7846 w34 w1 w717 w60 w9 w2839 w3 w332 w122 w1473 w1,1501451567,\n" +
			"7343,u9735,user9735,,ext1,w223 w16 w0 #tag3,1502389971,\n" +
			"95535,u10125,user10125,,,@u166 w0 #tag43,1500807731,https://campaign10.example/p/63\n" +
			"1,u7,user7,camp3_12,,,1500000000.5,\n",
		"1,u1,x,,,\"multi\nline, \"\"quoted\"\"\",1500000000,a b\n",
		"1,u1,x,,,#,1e9,\n2,u1",
	} {
		f.Add([]byte(s))
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		fuzzFile(t, dir, []byte(toolkitHeader), b)
		for _, line := range strings.Split(string(b), "\n") {
			textEntities(line) // must not panic
		}
	})
}

// TestIsWordRune: the ASCII table agrees with the Unicode definition, and
// the definition holds beyond ASCII.
func TestIsWordRune(t *testing.T) {
	for r := rune(0); r < 0x3000; r++ {
		want := r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r)
		if got := isWordRune(r); got != want {
			t.Fatalf("isWordRune(%U) = %v, want %v", r, got, want)
		}
	}
}

// textEntitiesRef is textEntities as a scan of every rune, the reference
// of the sign-to-sign textEntities.
func textEntitiesRef(text string) (hashtags, mentions []string) {
	prevWord := false
	for i := 0; i < len(text); {
		r, size := utf8.DecodeRuneInString(text[i:])
		if (r == '#' || r == '@') && !prevWord {
			j := i + size
			digitsOnly := true
			for j < len(text) {
				r2, s2 := utf8.DecodeRuneInString(text[j:])
				if !isWordRune(r2) {
					break
				}
				if !unicode.IsDigit(r2) {
					digitsOnly = false
				}
				j += s2
			}
			body := text[i+size : j]
			switch {
			case body == "":
			case r == '#' && !digitsOnly:
				hashtags = append(hashtags, body)
			case r == '@':
				mentions = append(mentions, body)
			}
			if body != "" {
				i = j
				prevWord = true
				continue
			}
		}
		prevWord = isWordRune(r)
		i += size
	}
	return hashtags, mentions
}

// TestTextEntitiesRef: textEntities agrees with the rune-by-rune reference
// on random texts dense in signs, word and non-word runes, and invalid
// UTF-8 (which mapBatch repairs before, but the two agree on it too).
func TestTextEntitiesRef(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	pieces := []string{"#", "@", "a", "Z", "1", "_", " ", ".", "é", "\u0301", "٣", "中", "🙂", "\u00a0", "-", "##", "@@", "x#", "#1", "\xe4\xb8", "\xff", "\x80", "\xcc"}
	for range 50000 {
		var b strings.Builder
		for n := rng.IntN(12); n > 0; n-- {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		text := b.String()
		h, m := textEntities(text)
		wh, wm := textEntitiesRef(text)
		if !slices.Equal(h, wh) || !slices.Equal(m, wm) {
			t.Fatalf("textEntities(%q) = %q %q, want %q %q", text, h, m, wh, wm)
		}
	}
}
