package rules

import (
	"strings"

	"golang.org/x/text/unicode/norm"
)

// Hashtag returns the normal form of a hashtag, the form the fingerprint
// stage keys and the summarize stage counts: surrounding white space and
// every leading '#' dropped ("##Foo" is "foo"), NFKC applied (full-width
// "ＦＯＯ" is "foo", and "＃" a '#'), then Unicode case folding ("Straße"
// is "strasse") and NFKC again. NFKC composes: "café" with a precomposed é
// and "cafe\u0301" with a combining accent are one hashtag, "café". An
// empty result means no hashtag.
func (n *Normalizer) Hashtag(h string) string {
	if isASCII(h) {
		// NFKC and case folding of ASCII are the identity and lowercasing.
		return strings.ToLower(strings.TrimLeft(strings.TrimSpace(h), "#"))
	}
	h = norm.NFKC.String(strings.TrimSpace(h))
	h = strings.TrimLeft(h, "#")
	return norm.NFKC.String(n.fold.String(h))
}
