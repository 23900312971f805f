package rules

import (
	"testing"
)

func TestNormalizeText(t *testing.T) {
	cases := []struct {
		name, in, want string
	}{
		{"plain", "Hello world, this is it", "hello world, this is it"},
		{"rt prefix", "RT @some_user: Vote today!", "vote today!"},
		{"rt prefix lowercase no colon", "rt @x vote today", "vote today"},
		{"chained rt", "RT @a: RT @b: Vote today", "vote today"},
		{"rt inside kept", "I said RT @a: no", "i said rt : no"},
		{"https url", "Read this https://t.co/AbC123 now", "read this now"},
		{"bare url", "Read this bit.ly/xyz now", "read this now"},
		{"different short links match", "Big news https://t.co/aaa", "big news"},
		{"mentions", "@alice @bob_2 thanks for this", "thanks for this"},
		{"entities", "Tom &amp; Jerry &lt;3 &quot;ok&quot;", `tom & jerry <3 "ok"`},
		{"entity mention", "&#64;alice hi", "hi"},
		{"nfkc fullwidth", "ＨＥＬＬＯ　ｗｏｒｌｄ", "hello world"},
		{"fullwidth url", "see ｈｔｔｐｓ：／／ｅｘａｍｐｌｅ．ｃｏｍ/x", "see"},
		{"case fold", "STRASSE Straße ΣΊΣΥΦΟΣ", "strasse strasse σίσυφοσ"},
		{"whitespace", "  a\t\tb \n\n c  ", "a b c"},
		{"zero width", "vo\u200bte\u200d now", "vote now"},
		{"hashtags kept", "Join us #MAGA #Vote2016", "join us #maga #vote2016"},
		{"empty", "", ""},
		{"only url and mention", "@x https://example.com/a", ""},
		{"doc example 1", "RT @a: Vote &amp; SHARE https://t.co/x1 #Vote", "vote & share #vote"},
		{"doc example 2", "vote & share https://t.co/y2 #vote", "vote & share #vote"},
		{"trailing punctuation kept", "see https://example.com/a). ok", "see ). ok"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := NormalizeText(c.in); got != c.want {
				t.Errorf("NormalizeText(%q) = %q, want %q", c.in, got, c.want)
			}
			if got := NormalizeText(c.want); got != c.want {
				t.Errorf("not idempotent: NormalizeText(%q) = %q", c.want, got)
			}
		})
	}
}

// benchTexts are typical texts for the normalizer benchmarks.
var benchTexts = map[string]string{
	"rt_link":   "RT @someone: This is a typical tweet about #politics with a link https://t.co/AbCdEf1234",
	"plain":     "Just a plain sentence without anything special in it, quite long though.",
	"bare_link": "Ｆｕｌｌｗｉｄｔｈ text and &amp; entities @mention www.example.com/path",
	"unicode":   "Привет всем! Это обычный твит о #политике @друг https://t.co/XyZ",
}

func BenchmarkNormalizeText(b *testing.B) {
	for name, text := range benchTexts {
		b.Run(name, func(b *testing.B) {
			n := NewNormalizer()
			b.ReportAllocs()
			for b.Loop() {
				n.Text(text, true)
			}
		})
	}
}

// TestURLFastPaths checks that the shortcuts around the xurls expressions
// agree with them: mayHoldURL never rejects a token xurls.Relaxed matches,
// and leadingHTTPURL finds the same URL as xurls.Strict.
func TestURLFastPaths(t *testing.T) {
	tokens := []string{
		"example.com", "example.com/path", "Example.COM.", "bit.ly/abc", "foo@bar.org", "U.S.", "e.g.",
		"sentence.Next", "3.50", "1.2.3.4", "10.0.0.1:8080/x", "[::1]", "2001:db8::1", "12:30",
		"mailto:a@b.org", "tel:+123", "https://t.co/x)", "https://en.wikipedia.org/wiki/Foo_(bar)",
		"(https://example.com/a).", "https://example.com/a?b=1&c=2,", "http://x.org/a#frag!", "xn--p1ai.xn--p1ai",
		"пример.рф", "word", "end.", "...", "a..b", "file.txt", "HTTPS://EXAMPLE.COM/A", "https://example.com/é",
	}
	for _, tok := range tokens {
		if removeURLRe().MatchString(tok) && !mayHoldURL(tok) {
			t.Errorf("mayHoldURL(%q) = false, but xurls.Relaxed matches %q", tok, removeURLRe().FindString(tok))
		}
		if u, _, ok := leadingHTTPURL(tok); ok {
			if want := keyURLRe().FindString(tok); u != want {
				t.Errorf("leadingHTTPURL(%q) = %q, xurls.Strict finds %q", tok, u, want)
			}
		}
	}
}
