package datasets

import (
	"errors"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/takedown-research/takedown/datasets/internal/facts"
)

func TestDescriptorsValid(t *testing.T) {
	all, err := All()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, d := range all {
		if d.Name == "" || d.Format == "" || d.Platform == "" {
			t.Errorf("descriptor %q lacks name, format or platform", d.Name)
		}
		if seen[d.Name] {
			t.Errorf("duplicate descriptor %q", d.Name)
		}
		seen[d.Name] = true
		if len(d.Files) == 0 && len(d.Synth) == 0 {
			t.Errorf("descriptor %q names no files and no generator", d.Name)
		}
	}
	if !seen["demo"] {
		t.Fatal("no demo descriptor")
	}
}

func TestGetUnknownSuggests(t *testing.T) {
	_, err := Get("dem")
	if !errors.Is(err, ErrUnknown) {
		t.Fatalf("err = %v, want ErrUnknown", err)
	}
	if !strings.Contains(err.Error(), "did you mean demo") {
		t.Fatalf("no suggestion in %q", err)
	}
}

func TestNearest(t *testing.T) {
	names := []string{"twitter-io/ira-2018-10", "twitter-io/iran-2019-01", "demo"}
	cases := []struct {
		in   string
		want string
	}{
		{"twitter-io/ira-2018-1", "twitter-io/ira-2018-10"},
		{"demo2", "demo"},
		{"zzzzzzzzzzzzzzzzzzzzzzzzzzz", ""},
	}
	for _, c := range cases {
		got := Nearest(c.in, names, 1)
		if c.want == "" && len(got) != 0 || c.want != "" && (len(got) == 0 || got[0] != c.want) {
			t.Errorf("Nearest(%q) = %v, want %q", c.in, got, c.want)
		}
	}
}

func TestDigestStable(t *testing.T) {
	d, err := Get("demo")
	if err != nil {
		t.Fatal(err)
	}
	if d.Digest() != d.Digest() || len(d.Digest()) != 64 {
		t.Fatal("digest unstable")
	}
	e := d
	e.Title += "x"
	if e.Digest() == d.Digest() {
		t.Fatal("digest ignores a change")
	}
}

var (
	hexDigest = regexp.MustCompile(`^[0-9a-f]{64}$`)
	minute    = regexp.MustCompile(`^\d{4}-\d{2}-\d{2} \d{2}:\d{2}$`)
	relDate   = regexp.MustCompile(`^\d{4}-\d{2}(-\d{2})?$`)
)

// TestRegistryDescriptors checks every descriptor on its own: names, URLs,
// digests, parts and the shape of the published figures.
func TestRegistryDescriptors(t *testing.T) {
	all, err := All()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range all {
		if err := ValidateName(d.Name); err != nil {
			t.Errorf("%s: %v", d.Name, err)
		}
		if d.Title == "" || d.Country == "" || d.Operator == "" || d.Citation == "" || d.Licence == "" {
			t.Errorf("%s: title, country, operator, citation and licence are required", d.Name)
		}
		if !relDate.MatchString(d.ReleaseDate) {
			t.Errorf("%s: release_date %q is not YYYY-MM or YYYY-MM-DD", d.Name, d.ReleaseDate)
		}
		names := map[string]bool{}
		parts := map[string][]int{}
		for _, f := range d.Files {
			if names[f.Name] {
				t.Errorf("%s: file %s listed twice", d.Name, f.Name)
			}
			names[f.Name] = true
			if f.Role == "" {
				t.Errorf("%s: file %s has no role", d.Name, f.Name)
			}
			if f.SHA256 != "" && !hexDigest.MatchString(f.SHA256) {
				t.Errorf("%s: file %s: sha256 %q is not 64 lowercase hex digits", d.Name, f.Name, f.SHA256)
			}
			if f.URL != "" {
				u, err := url.Parse(f.URL)
				if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
					t.Errorf("%s: file %s: invalid URL %q", d.Name, f.Name, f.URL)
				} else if path.Base(u.Path) != f.Name {
					t.Errorf("%s: file %s: URL %s names another file", d.Name, f.Name, f.URL)
				}
			}
			if f.Part > 0 {
				parts[f.Role] = append(parts[f.Role], f.Part)
			}
		}
		for role, ps := range parts {
			for i, p := range ps {
				if p != i+1 {
					t.Errorf("%s: %s parts are %v, want 1..%d in order", d.Name, role, ps, len(ps))
					break
				}
			}
		}
		if p := d.Published; p != nil {
			if p.Basis == "" {
				t.Errorf("%s: published figures without a basis", d.Name)
			}
			for _, v := range []struct {
				name string
				s    string
			}{{"first_post", p.FirstPost}, {"last_post", p.LastPost}} {
				if v.s != "" && !minute.MatchString(v.s) {
					t.Errorf("%s: %s %q is not YYYY-MM-DD HH:MM", d.Name, v.name, v.s)
				}
			}
			if p.FirstPost > p.LastPost && p.LastPost != "" {
				t.Errorf("%s: first post %s after last post %s", d.Name, p.FirstPost, p.LastPost)
			}
			for _, list := range [][]string{p.TopLanguages, p.TopHashtags, p.TopClients} {
				last := int64(-1)
				for _, e := range list {
					i := strings.LastIndexByte(e, ':')
					n, err := strconv.ParseInt(e[i+1:], 10, 64)
					if i <= 0 || err != nil || n < 0 {
						t.Errorf("%s: top entry %q is not key:count", d.Name, e)
						continue
					}
					if last >= 0 && n > last {
						t.Errorf("%s: top list not most-first at %q", d.Name, e)
					}
					last = n
				}
			}
		}
		if !strings.HasPrefix(d.BibTeX(), "@misc{") || strings.Count(d.BibTeX(), "{") != strings.Count(d.BibTeX(), "}") {
			t.Errorf("%s: malformed BibTeX:\n%s", d.Name, d.BibTeX())
		}
	}
}

// TestRegistryKnownFigures spot-checks figures quoted in the design brief,
// independently of the facts files.
func TestRegistryKnownFigures(t *testing.T) {
	i := func(p *int64) int64 {
		if p == nil {
			return -1
		}
		return *p
	}
	cases := []struct {
		name                     string
		inFile, announced, posts int64
		files                    int
	}{
		{"twitter-io/ira-2018-10", 3608, 3841, 8768633, 2},
		{"twitter-io/iranian-2018-10", 770, -1, 1122936, 2},
		{"twitter-io/serbia-022020", 8558, -1, 43067074, 2},
		{"twitter-io/china-052020", -1, 23750, 348608, 2 + 17}, // users, tweets, 17 media zips
		{"fivethirtyeight/ira-tweets", -1, 2848, 2973371, 13},
		{"nbc/ira-2018", 454, -1, 203482, 2},
		{"reddit/suspicious-2018", -1, 944, -1, 4},
	}
	for _, c := range cases {
		d, err := Get(c.name)
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		p := d.Published
		if p == nil || i(p.AccountsInUsersFile) != c.inFile || i(p.AccountsAnnounced) != c.announced || i(p.Posts) != c.posts || len(d.Files) != c.files {
			t.Errorf("%s: published %+v with %d files, want %d/%d/%d and %d files", c.name, p, len(d.Files), c.inFile, c.announced, c.posts, c.files)
		}
	}
	all, _ := All()
	count := map[string]int{}
	for _, d := range all {
		count[d.Platform]++
	}
	if count["twitter"] != 48 || count["reddit"] != 1 || count["synthetic"] != 1 {
		t.Errorf("descriptors by platform: %v, want 48 twitter (46 releases, FiveThirtyEight, NBC), 1 reddit, 1 synthetic", count)
	}
}

// factsDir is the registry facts folder beside the repository.
func factsDir(t *testing.T) string {
	dir := filepath.Join("..", "..", "shared", "data", "registry-facts")
	if _, err := os.Stat(filepath.Join(dir, facts.ReleasesFile)); err != nil {
		t.Skipf("registry facts not present at %s (they live in ../shared/data beside the repository): %v", dir, err)
	}
	return dir
}

// TestRegistryMatchesFacts checks that every release of the facts files has
// one descriptor whose published figures are the facts.
func TestRegistryMatchesFacts(t *testing.T) {
	dir := factsDir(t)
	rels, err := facts.ReadReleases(filepath.Join(dir, facts.ReleasesFile))
	if err != nil {
		t.Fatal(err)
	}
	stats, err := facts.ReadStats(filepath.Join(dir, facts.StatsFile))
	if err != nil {
		t.Fatal(err)
	}
	all, _ := All()
	byCampaign := map[string][]Descriptor{}
	for _, d := range all {
		if d.Campaign != "" {
			byCampaign[d.Campaign] = append(byCampaign[d.Campaign], d)
		}
	}
	eq := func(a, b *int64) bool { return a == nil && b == nil || a != nil && b != nil && *a == *b }
	for _, r := range rels {
		ds := byCampaign[r.Campaign]
		if len(ds) != 1 {
			t.Errorf("%s line %d: campaign %s has %d descriptors, want 1", facts.ReleasesFile, r.Line, r.Campaign, len(ds))
			continue
		}
		d, p := ds[0], ds[0].Published
		if p == nil {
			t.Errorf("%s: no published figures", d.Name)
			continue
		}
		if !eq(p.AccountsInUsersFile, r.AccountsInUsersFile) || !eq(p.AccountsAnnounced, r.AccountsAnnounced) || !eq(p.Posts, r.Tweets) {
			t.Errorf("%s: accounts/announced/posts differ from %s line %d", d.Name, facts.ReleasesFile, r.Line)
		}
		if r.TweetsCSVBytes != nil {
			if p.PostsCSVBytes == nil {
				t.Errorf("%s: posts_csv_bytes missing", d.Name)
			} else if !roundsTo(*p.PostsCSVBytes, *r.TweetsCSVBytes) {
				t.Errorf("%s: posts_csv_bytes %d is not the facts' %d (rounded)", d.Name, *p.PostsCSVBytes, *r.TweetsCSVBytes)
			}
		}
		if !strings.HasPrefix(d.ReleaseDate[:4], r.Folder[:4]) {
			t.Errorf("%s: release date %s is not in the folder's year %s", d.Name, d.ReleaseDate, r.Folder)
		}
		var st *facts.Stats
		for i := range stats {
			if stats[i].Matches(r.Campaign) {
				st = &stats[i]
			}
		}
		if st == nil {
			continue
		}
		if st.Tweets != *r.Tweets || st.Accounts != *r.AccountsInUsersFile {
			t.Errorf("%s: the two facts files disagree (stats line %d): %d/%d vs %d/%d", d.Name, st.Line, st.Accounts, st.Tweets, *r.AccountsInUsersFile, *r.Tweets)
		}
		if p.FirstPost != st.FirstTweet[:16] || p.LastPost != st.LastTweet[:16] {
			t.Errorf("%s: first/last post %s/%s, stats say %s/%s", d.Name, p.FirstPost, p.LastPost, st.FirstTweet, st.LastTweet)
		}
		if i64v(p.LikesSum) != st.LikeSum || i64v(p.RepostsSum) != st.RetweetSum || i64v(p.RepliesSum) != st.ReplySum || i64v(p.QuotesSum) != st.QuoteSum {
			t.Errorf("%s: engagement sums differ from stats line %d", d.Name, st.Line)
		}
		if len(p.TopLanguages) == 0 || p.TopLanguages[0] != facts.Top(st.Languages, 1)[0] {
			t.Errorf("%s: top language %v, stats say %v", d.Name, p.TopLanguages, facts.Top(st.Languages, 1))
		}
		if d.Country != st.Country {
			t.Errorf("%s: country %q, stats say %q", d.Name, d.Country, st.Country)
		}
		inner := map[string]bool{}
		for _, f := range d.Files {
			inner[f.Inner] = true
			if f.Inner == "" {
				inner[strings.TrimSuffix(f.Name, ".zip")+".csv"] = true
			}
		}
		if !inner[st.UsersFile] || !inner[st.TweetsFile] {
			t.Errorf("%s: the files do not map to the published CSV names %s, %s", d.Name, st.UsersFile, st.TweetsFile)
		}
	}
	twitterIO := 0
	for _, d := range all {
		if strings.HasPrefix(d.Name, "twitter-io/") {
			twitterIO++
		}
	}
	if twitterIO != len(rels) {
		t.Errorf("%d twitter-io descriptors for %d releases in the facts file", twitterIO, len(rels))
	}
}

// roundsTo reports whether exact, rounded to 1, 2 or 3 significant digits,
// is the approximate figure (the facts file rounds sizes).
func roundsTo(exact, approx int64) bool {
	for sig := 1; sig <= 3; sig++ {
		unit := int64(1)
		for v := exact; v >= 10; v /= 10 {
			unit *= 10
		}
		for i := 1; i < sig && unit >= 10; i++ {
			unit /= 10
		}
		if (exact+unit/2)/unit*unit == approx {
			return true
		}
	}
	return exact == approx
}

func i64v(p *int64) int64 {
	if p == nil {
		return -1
	}
	return *p
}

func TestBibTeX(t *testing.T) {
	d, err := Get("twitter-io/ira-2018-10")
	if err != nil {
		t.Fatal(err)
	}
	b := d.BibTeX()
	for _, want := range []string{"@misc{twitter-io-ira-2018-10,", "author       = {{Twitter Transparency Center}}", "year         = {2018}", "month        = {oct}", `\url{https://blog.twitter.com/`} {
		if !strings.Contains(b, want) {
			t.Errorf("BibTeX lacks %q:\n%s", want, b)
		}
	}
	if got := bibEscape("50% of #tags & {x}_y"); got != `50\% of \#tags \& \{x\}\_y` {
		t.Errorf("bibEscape = %q", got)
	}
}

// TestGeneratedUpToDate regenerates the descriptors from the facts files
// into a temp folder and compares them with the committed ones: run
// `go generate ./datasets` after changing the facts or the generator.
func TestGeneratedUpToDate(t *testing.T) {
	dir := factsDir(t)
	if testing.Short() {
		t.Skip("runs the generator with go run")
	}
	abs, _ := filepath.Abs(dir)
	out := t.TempDir()
	cmd := exec.Command("go", "run", "./internal/gen", "-facts", abs, "-out", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go run ./internal/gen: %v\n%s", err, b)
	}
	gen, _ := filepath.Glob(filepath.Join(out, "*.json"))
	if len(gen) == 0 {
		t.Fatal("the generator wrote nothing")
	}
	for _, p := range gen {
		want, _ := os.ReadFile(p)
		got, err := os.ReadFile(filepath.Base(p))
		if err != nil || string(got) != string(want) {
			t.Errorf("%s is not what the generator writes: run go generate ./datasets", filepath.Base(p))
		}
	}
	committed, _ := filepath.Glob("*.json")
	if len(committed) != len(gen)+1 { // + demo.json
		t.Errorf("%d committed descriptors, the generator writes %d (+ demo.json)", len(committed), len(gen))
	}
}
