// Package datasets is the registry of known releases: one JSON descriptor per
// published release (and the synthetic demo), embedded in the binary.
package datasets

import (
	"github.com/takedown-research/takedown/internal/errkind"

	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
)

//go:generate go run ./internal/gen -facts ../../shared/data/registry-facts -out .

//go:embed *.json
var files embed.FS

// ErrUnknown means no descriptor has the requested name.
var ErrUnknown = errkind.New(errkind.Usage, "unknown dataset")

// File is one file of a release.
type File struct {
	Name   string `json:"name"`
	Role   string `json:"role"` // users, tweets, truth, ...
	URL    string `json:"url,omitempty"`
	SHA256 string `json:"sha256,omitempty"`
	Bytes  int64  `json:"bytes,omitempty"`
	Part   int    `json:"part,omitempty"`
	Path   string `json:"path,omitempty"` // local datasets: where the file is on this machine
	// Inner is the name of the data file inside the archive when it differs
	// from the archive's name (e.g. russian_linked_tweets_csv_hashed.csv
	// inside russia_201901_1_tweets_csv_hashed.zip).
	Inner string `json:"inner,omitempty"`
}

// Descriptor describes one release.
type Descriptor struct {
	Name        string `json:"name"`
	Title       string `json:"title"`
	Platform    string `json:"platform"`
	ReleaseDate string `json:"release_date"`
	Country     string `json:"country"`
	Operator    string `json:"operator"`
	Format      string `json:"format"`
	// Map is the column map of a dataset in the generic format
	// (normalize's --map, e.g. "account=author_id,post=id,time=created_at");
	// the runner uses it when a run gives none.
	Map         string          `json:"map,omitempty"`
	Description string          `json:"description,omitempty"`
	Licence     string          `json:"licence,omitempty"`
	Citation    string          `json:"citation,omitempty"`
	Files       []File          `json:"files,omitempty"`
	Synth       json.RawMessage `json:"synth,omitempty"` // generator config, for synthetic datasets
	Local       bool            `json:"local,omitempty"` // described by `takedown datasets add`, kept in the workspace
	Published   *Published      `json:"published,omitempty"`
	// Campaign is the publisher's own name for the release (the Twitter
	// bucket's folder name, e.g. "iran_201901_1").
	Campaign string `json:"campaign,omitempty"`
	// Announcements are the URLs where the publisher announced the release.
	Announcements []string `json:"announcements,omitempty"`
	// Targets are the countries the operation targeted, as published.
	Targets string `json:"targets,omitempty"`
	// Publisher is who published the data (the BibTeX author).
	Publisher string `json:"publisher,omitempty"`
}

// BibTeX returns a BibTeX @misc entry for the dataset, built from the
// descriptor: publisher, title, release date, the first announcement URL
// (else the first file URL) and the free-text citation as a note.
func (d Descriptor) BibTeX() string {
	key := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		return '-'
	}, strings.ToLower(d.Name))
	var b strings.Builder
	fmt.Fprintf(&b, "@misc{%s,\n", key)
	field := func(k, v string) {
		if v != "" {
			fmt.Fprintf(&b, "  %-12s = {%s},\n", k, v)
		}
	}
	author := d.Publisher
	if author == "" {
		author = d.Platform
	}
	field("author", "{"+bibEscape(author)+"}")
	field("title", bibEscape(d.Title))
	if len(d.ReleaseDate) >= 4 {
		field("year", d.ReleaseDate[:4])
	}
	if len(d.ReleaseDate) >= 7 {
		if m, err := strconv.Atoi(d.ReleaseDate[5:7]); err == nil && m >= 1 && m <= 12 {
			field("month", []string{"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}[m-1])
		}
	}
	u := ""
	if len(d.Announcements) > 0 {
		u = d.Announcements[0]
	} else {
		for _, f := range d.Files {
			if f.URL != "" {
				u = f.URL
				break
			}
		}
	}
	if u != "" {
		field("howpublished", "\\url{"+u+"}")
	}
	field("note", bibEscape(strings.TrimSpace("Dataset "+d.Name+" of the takedown registry. "+d.Citation)))
	b.WriteString("}\n")
	return b.String()
}

func bibEscape(s string) string {
	r := strings.NewReplacer(`\`, `\textbackslash{}`, "{", `\{`, "}", `\}`, "&", `\&`, "%", `\%`, "_", `\_`, "#", `\#`, "$", `\$`)
	return r.Replace(s)
}

// Published holds the figures published for a release (by the platform, or
// computed from the real files by an independent project), for comparison
// with what summarize computes. Nil fields are unknown.
type Published struct {
	Basis               string   `json:"basis"` // "computed from files" or "announced", and by whom
	AccountsInUsersFile *int64   `json:"accounts_in_users_file,omitempty"`
	AccountsAnnounced   *int64   `json:"accounts_announced,omitempty"`
	Posts               *int64   `json:"posts,omitempty"`
	PostsCSVBytes       *int64   `json:"posts_csv_bytes,omitempty"`
	FirstPost           string   `json:"first_post,omitempty"` // "YYYY-MM-DD HH:MM" UTC
	LastPost            string   `json:"last_post,omitempty"`
	LikesSum            *int64   `json:"likes_sum,omitempty"`
	RepostsSum          *int64   `json:"reposts_sum,omitempty"`
	RepliesSum          *int64   `json:"replies_sum,omitempty"`
	QuotesSum           *int64   `json:"quotes_sum,omitempty"`
	TopLanguages        []string `json:"top_languages,omitempty"` // "code:count", most first
	TopHashtags         []string `json:"top_hashtags,omitempty"`  // "tag:count"
	TopClients          []string `json:"top_clients,omitempty"`   // "client:count"
	// Categories are figures published per account category, the label a
	// publisher gave each account (the accounts table's category column,
	// e.g. FiveThirtyEight/Clemson's "LeftTroll"), in the order to report.
	Categories []CategoryFigures `json:"categories,omitempty"`
}

// CategoryFigures are the accounts and posts published for one account
// category. Nil counts are unknown.
type CategoryFigures struct {
	// Category is spelled as in the files (accounts.category).
	Category string `json:"category"`
	Accounts *int64 `json:"accounts,omitempty"`
	Posts    *int64 `json:"posts,omitempty"`
	// Source cites where the figures were published.
	Source string `json:"source,omitempty"`
}

// Digest is the sha256 of the descriptor's canonical JSON; it enters the
// fetch stage's run id, so editing a descriptor invalidates its fetch.
//
// Local file paths do not enter it: the files are pinned by their digests,
// so the same files described on two machines give the same run ids.
func (d Descriptor) Digest() string {
	d.Files = append([]File(nil), d.Files...)
	for i := range d.Files {
		d.Files[i].Path = ""
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.Encode(d)
	s := sha256.Sum256(buf.Bytes())
	return hex.EncodeToString(s[:])
}

// All returns every descriptor, sorted by name.
func All() ([]Descriptor, error) {
	entries, err := fs.ReadDir(files, ".")
	if err != nil {
		return nil, err
	}
	var out []Descriptor
	for _, e := range entries {
		b, err := files.ReadFile(e.Name())
		if err != nil {
			return nil, err
		}
		var d Descriptor
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&d); err != nil {
			return nil, fmt.Errorf("dataset descriptor %s: %w", e.Name(), err)
		}
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Get returns the descriptor with the given name. An unknown name gives an
// error that wraps ErrUnknown and suggests the nearest names.
func Get(name string) (Descriptor, error) {
	all, err := All()
	if err != nil {
		return Descriptor{}, err
	}
	for _, d := range all {
		if d.Name == name {
			return d, nil
		}
	}
	names := make([]string, len(all))
	for i, d := range all {
		names[i] = d.Name
	}
	msg := fmt.Sprintf("%v %q", ErrUnknown, name)
	if near := Nearest(name, names, 3); len(near) > 0 {
		msg += "; did you mean " + strings.Join(near, ", ") + "?"
	}
	msg += " (list them with: takedown datasets list)"
	return Descriptor{}, fmt.Errorf("%w", &unknownError{msg: msg})
}

type unknownError struct{ msg string }

func (e *unknownError) Error() string { return e.msg }
func (e *unknownError) Unwrap() error { return ErrUnknown }

// Nearest returns up to n names closest to name by edit distance, nearest
// first, leaving out names that are not plausibly a typo of it.
func Nearest(name string, names []string, n int) []string {
	type cand struct {
		name string
		d    int
	}
	var cs []cand
	for _, c := range names {
		d := editDistance(strings.ToLower(name), strings.ToLower(c))
		if d <= max(2, len(name)/2) || strings.Contains(c, name) {
			cs = append(cs, cand{c, d})
		}
	}
	sort.Slice(cs, func(i, j int) bool {
		if cs[i].d != cs[j].d {
			return cs[i].d < cs[j].d
		}
		return cs[i].name < cs[j].name
	})
	var out []string
	for i := 0; i < len(cs) && i < n; i++ {
		out = append(out, cs[i].name)
	}
	return out
}

func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
