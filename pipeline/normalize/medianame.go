package normalize

import (
	"strconv"
	"strings"
)

// maxTweetIDDigits is the most digits a tweet id has (a uint64).
const maxTweetIDDigits = 20

// ParseMediaEntry splits a media archive entry's name into the tweet id its
// base name starts with and the media key after it. The releases name their
// media files "<tweetid>-<mediakey>.<ext>" (2018:
// ira_10/<hashed userid>/images/673250708364247040-CVfPc8YUsAApZSL.jpg): the
// tweet id is the run of 1 to 20 ASCII digits at the start of the base name,
// ended by '-', '_', '.' or the end of the name (a name ending in '/' has
// no base name); the media key is the rest
// of the base name after that separator, without the extension. ok is false
// when the base name does not start so (then mediaKey is the base name
// without its extension).
func ParseMediaEntry(name string) (tweetID, mediaKey string, ok bool) {
	base := name[strings.LastIndexByte(name, '/')+1:]
	stem := base
	if i := strings.LastIndexByte(stem, '.'); i > 0 {
		stem = stem[:i]
	}
	n := 0
	for n < len(stem) && stem[n] >= '0' && stem[n] <= '9' {
		n++
	}
	if n == 0 || n > maxTweetIDDigits {
		return "", stem, false
	}
	if _, err := strconv.ParseUint(stem[:n], 10, 64); err != nil {
		return "", stem, false
	}
	rest := stem[n:]
	switch {
	case rest == "":
	case rest[0] == '-' || rest[0] == '_':
		rest = rest[1:]
	default:
		return "", stem, false
	}
	return stem[:n], rest, true
}
