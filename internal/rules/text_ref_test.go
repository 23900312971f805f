package rules

import (
	"html"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// referenceNormalize is the normalizer written with regular expressions
// (normalizer version 1 as first written): the fast normalizer must give the
// same text and URLs for every input.
func referenceNormalize(n *Normalizer, s string) (string, []string) {
	if strings.IndexByte(s, '&') >= 0 {
		s = htmlUnescape(s)
	}
	s = norm.NFKC.String(s)
	for {
		t := strings.TrimLeftFunc(s, unicode.IsSpace)
		loc := rtPrefix.FindStringIndex(t)
		if loc == nil {
			break
		}
		s = t[loc[1]:]
	}
	var found []string
	if strings.IndexByte(s, '.') >= 0 || strings.IndexByte(s, ':') >= 0 {
		s, found = n.removeURLs(s, true)
	}
	if strings.IndexByte(s, '@') >= 0 {
		s = mentionRe.ReplaceAllLiteralString(s, " ")
	}
	s = n.fold.String(s)
	s = norm.NFKC.String(s)
	var sb strings.Builder
	space := false
	for _, r := range s {
		switch {
		case unicode.IsSpace(r):
			space = sb.Len() > 0
		case unicode.Is(unicode.Cf, r):
		default:
			if space {
				sb.WriteByte(' ')
				space = false
			}
			sb.WriteRune(r)
		}
	}
	return sb.String(), found
}

// textPieces are the fragments generated texts are made of: the cases the
// fast paths single out (ASCII, retweet markers, mentions, URLs, white
// space) and the Unicode that must leave them.
var textPieces = []string{
	"RT", "rt", "Rt ", "RT @a:", "RT@b :", "rt @c_1 : ", "@", "@user_1", "@Ωμέγα", "@_", "a@b", "@@x",
	"Word", "WORD", "wörd", "The Quick Brown Fox Jumps Over A Lazy DOG", "XYZ", "0123456789", "#Vote2016", "ΣΟΦΙΑ", "Straße", "İ", "ß", "ǅ", "Ⅻ", "٣", "ＡＢ", "ｈｔｔｐｓ：／／ｅｘ．ｃｏｍ",
	"https://t.co/XyZ", "http://Example.com/A?b=C).", "www.site.org/x,", "bit.ly/abc", "e.g.", "U.S.",
	"3.50", "1.2.3.4", "mailto:a@b.org", "x@y.com", "12:30", "[::1]", "(https://en.wikipedia.org/wiki/A_(b))",
	"#Tag", "&amp;", "&#64;al", "&lt;3", "&eacute;", ".", ":", "'", ",", "!",
	"\u0301", "e\u0301", "\u200b", "\u200d", "\u00ad", "\ufeff", " ", "  ", "\t", "\n", "\r\n", "\v", "\f",
	"\x1c", "\u00a0", "\u0085", "\u2028", "\u3000", "😀", "\x00", "\xff", "ﬁ",
}

func randomText(rng *rand.Rand) string {
	var b strings.Builder
	for range rng.IntN(14) + 1 {
		b.WriteString(textPieces[rng.IntN(len(textPieces))])
		if rng.IntN(3) == 0 {
			b.WriteByte(' ')
		}
	}
	return b.String()
}

func checkAgainstReference(t *testing.T, n *Normalizer, s string) {
	t.Helper()
	want, wantURLs := referenceNormalize(NewNormalizer(), s)
	got, gotURLs := n.Text(s, true)
	if got != want || strings.Join(gotURLs, "\n") != strings.Join(wantURLs, "\n") {
		t.Errorf("normalize(%q) = %q %q, reference %q %q", s, got, gotURLs, want, wantURLs)
	}
}

func TestNormalizeMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	texts := 50000
	if testing.Short() {
		// CI's race step (-short): a tenth, which took 114 s of the
		// step at the full count; CI's plain step runs them all.
		texts = 5000
	}
	checkRandomTexts(t, rng, texts, checkAgainstReference)
}

// checkRandomTexts runs check on count texts of randomText.
func checkRandomTexts(t *testing.T, rng *rand.Rand, count int, check func(*testing.T, *Normalizer, string)) {
	n := NewNormalizer()
	for range count {
		check(t, n, randomText(rng))
		if t.Failed() {
			return
		}
	}
}

// fuzzTexts fuzzes check from the text pieces and seed.
func fuzzTexts(f *testing.F, seed string, check func(*testing.T, *Normalizer, string)) {
	for _, p := range textPieces {
		f.Add(p)
	}
	f.Add(seed)
	n := NewNormalizer()
	f.Fuzz(func(t *testing.T, s string) {
		check(t, n, s)
	})
}

func FuzzNormalizeMatchesReference(f *testing.F) {
	fuzzTexts(f, "RT @a: Vote &amp; SHARE https://t.co/x1 #Vote", checkAgainstReference)
}

// TestScannersMatchRegexps compares the retweet-marker and mention scanners
// with the expressions they replace.
func TestScannersMatchRegexps(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for range 50000 {
		s := randomText(rng)
		want := -1
		if loc := rtPrefix.FindStringIndex(s); loc != nil {
			want = loc[1]
		}
		if got := rtPrefixLen(s); got != want {
			t.Fatalf("rtPrefixLen(%q) = %d, regexp %d", s, got, want)
		}
		if got, want := string(appendWithoutMentions(nil, s)), mentionRe.ReplaceAllLiteralString(s, " "); got != want {
			t.Fatalf("appendWithoutMentions(%q) = %q, regexp %q", s, got, want)
		}
	}
}

func htmlUnescape(s string) string { return html.UnescapeString(s) }

// BenchmarkNormalizeReference measures the regular-expression normalizer
// on the texts of BenchmarkNormalizeText, for comparison.
func BenchmarkNormalizeReference(b *testing.B) {
	for name, text := range benchTexts {
		b.Run(name, func(b *testing.B) {
			n := NewNormalizer()
			b.ReportAllocs()
			for b.Loop() {
				referenceNormalize(n, text)
			}
		})
	}
}

// TestSimpleRunesMatchReference checks the simple-rune fast path against the
// reference: every rune the tables cover, alone and between letters, and
// random texts of runes from the tables' ranges (simple or not, with
// combining marks, spaces and format characters among them).
func TestSimpleRunesMatchReference(t *testing.T) {
	n := NewNormalizer()
	stride := rune(1)
	if testing.Short() {
		// CI's race step (-short): every 8th rune; the plain step
		// checks them all.
		stride = 8
	}
	for _, g := range simpleRanges {
		for r := g.lo; r < g.hi; r += stride {
			if !utf8.ValidRune(r) {
				continue
			}
			checkAgainstReference(t, n, string(r))
			checkAgainstReference(t, n, "Ab"+string(r)+"Ж "+string(r))
			if t.Failed() {
				return
			}
		}
	}
	rng := rand.New(rand.NewPCG(9, 10))
	pick := func() rune {
		switch rng.IntN(8) {
		case 0:
			return []rune{' ', '\u00a0', '\u200b', '\u200d', '\u0301', '\u0653', '\u3099', 'ß', '@', '#', '.'}[rng.IntN(11)]
		case 1:
			g := simpleRanges[rng.IntN(len(simpleRanges))]
			return g.lo + rune(rng.IntN(int(g.hi-g.lo)))
		default: // the alphabets, where combinations happen
			return rune(0x80 + rng.IntN(0x800))
		}
	}
	texts := 200000
	if testing.Short() {
		texts = 20000
	}
	for range texts {
		rs := make([]rune, rng.IntN(12)+1)
		for i := range rs {
			rs[i] = pick()
		}
		checkAgainstReference(t, n, string(rs))
		if t.Failed() {
			return
		}
	}
}

// TestSimpleEntries pins some entries of the simple-rune tables.
func TestSimpleEntries(t *testing.T) {
	tables := simpleTables()
	for _, tc := range []struct {
		r     rune
		want  rune // the fold; 0 for a rune that is not simple
		flags uint32
	}{
		{'A', 'a', 0},
		{'Ж', 'ж', 0},
		{'ć', 'ć', 0},
		{'Σ', 'σ', 0},
		{'ا', 'ا', 0},
		{'中', '中', 0},
		{'😂', '😂', 0},
		{'\ufe0f', '\ufe0f', 0},
		{'\u200b', '\u200b', simpleCf},
		{'\u2028', '\u2028', simpleSpace},
		{' ', ' ', simpleSpace},
		{'\u0301', 0, 0}, // combines with the rune before it
		{'\u00a0', 0, 0}, // NFKC makes it a space
		{'ß', 0, 0},      // folds to two runes
		{'ﬁ', 0, 0},      // NFKC makes it "fi"
		{'\u1f88', 0, 0}, // folds to two runes
		{0x1F100, 0, 0},  // NFKC makes it "0."
	} {
		e := simpleLookup(&tables, tc.r)
		if tc.want == 0 {
			if e != 0 {
				t.Errorf("%U: entry %#x, want not simple", tc.r, e)
			}
			continue
		}
		if e&simpleRune == 0 || rune(e&simpleMask) != tc.want || e&(simpleSpace|simpleCf) != tc.flags {
			t.Errorf("%U: entry %#x, want fold %U flags %#x", tc.r, e, tc.want, tc.flags)
		}
	}
}

// checkSkipAhead compares removeURLs with its token by token loop.
func checkSkipAhead(t *testing.T, n *Normalizer, s string) {
	t.Helper()
	got, gotURLs := n.removeURLsSkip(s, true, true)
	got = strings.Clone(got)
	want, wantURLs := n.removeURLsSkip(s, true, false)
	if got != want || strings.Join(gotURLs, "\n") != strings.Join(wantURLs, "\n") {
		t.Errorf("removeURLs(%q) = %q %q, token by token %q %q", s, got, gotURLs, want, wantURLs)
	}
}

// TestRemoveURLsSkipAhead checks that jumping to the tokens holding a '.'
// or ':' removes the same URLs as looking at every token.
func TestRemoveURLsSkipAhead(t *testing.T) {
	texts := 50000
	if testing.Short() {
		texts = 5000 // the race step, as TestNormalizeMatchesReference
	}
	checkRandomTexts(t, rand.New(rand.NewPCG(11, 12)), texts, checkSkipAhead)
}

func FuzzRemoveURLsSkipAhead(f *testing.F) {
	fuzzTexts(f, "a b\u3000c.d e:f\u00a0http://x.org g. \xe3\x80.h", checkSkipAhead)
}
