package rules

import "testing"

func TestHashtag(t *testing.T) {
	cases := []struct {
		name, in, want string
	}{
		{"plain", "#Vote", "vote"},
		{"no hash", "Vote", "vote"},
		{"double hash", "##Foo", "foo"},
		{"white space", "  #Foo\t", "foo"},
		{"full-width letters", "ＦＯＯ", "foo"},
		{"full-width hash", "＃ＦＯＯ", "foo"},
		{"full-width double hash", "＃#Foo", "foo"},
		{"sharp s folds", "Straße", "strasse"},
		{"capital sharp s", "STRASSE", "strasse"},
		{"precomposed accent", "#café", "café"},
		{"combining accent composes (NFKC)", "#cafe\u0301", "café"},
		{"capital combining accent", "#CAFE\u0301", "café"},
		{"greek final sigma folds", "#ΣΊΣΥΦΟΣ", "σίσυφοσ"},
		{"ligature", "#ﬁnal", "final"},
		{"digits", "#Vote2016", "vote2016"},
		{"only hashes", "##", ""},
		{"empty", "", ""},
	}
	n := NewNormalizer()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := n.Hashtag(c.in)
			if got != c.want {
				t.Errorf("Hashtag(%q) = %q, want %q", c.in, got, c.want)
			}
			if again := n.Hashtag(got); again != got {
				t.Errorf("not idempotent: Hashtag(%q) = %q", got, again)
			}
			// A hashtag in a text keeps its normal form there too, behind
			// its '#'.
			if got != "" && c.in != "" && c.in[0] == '#' && c.in[1] != '#' {
				if text := NormalizeText(c.in); text != "#"+got {
					t.Errorf("NormalizeText(%q) = %q, Hashtag gives %q", c.in, text, got)
				}
			}
		})
	}
}

// TestHashtagSpellingsAgree: spellings the rule calls one hashtag give one
// key.
func TestHashtagSpellingsAgree(t *testing.T) {
	n := NewNormalizer()
	for _, group := range [][]string{
		{"#foo", "##Foo", "ＦＯＯ", "＃Ｆｏｏ", " #FOO "},
		{"Straße", "STRASSE", "#strasse", "#STRAẞE"},
		{"#café", "#cafe\u0301", "#CAFÉ", "#CAFE\u0301"},
	} {
		want := n.Hashtag(group[0])
		for _, h := range group[1:] {
			if got := n.Hashtag(h); got != want {
				t.Errorf("Hashtag(%q) = %q, Hashtag(%q) = %q: want one hashtag", h, got, group[0], want)
			}
		}
	}
}
