// Command gen writes the registry's JSON descriptors from the registry facts
// files (twitter-io-releases.csv, published-release-stats.csv) and from the
// hand-kept table of the non-Twitter releases below. Run it with
// `go generate ./datasets` from the repository root, with ../shared beside it;
// its output is committed. demo.json is hand-written and left alone.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/takedown-research/takedown/datasets"
	"github.com/takedown-research/takedown/datasets/internal/facts"
)

const bucket = "https://storage.googleapis.com/twitter-election-integrity/hashed/"

// mediaZips is the number of media zips of the releases whose number is
// known (from the download scripts published with the May 2020 releases:
// <campaign>_tweet_media_hashed/<campaign>_hashed_001.zip ...).
var mediaZips = map[string]int{"china_052020": 17, "russia_052020": 54, "turkey_052020": 391}

// topN is how many entries of each published top list a descriptor keeps.
const topN = 10

func main() {
	factsDir := flag.String("facts", "../../shared/data/registry-facts", "folder of the registry facts files")
	out := flag.String("out", ".", "folder to write the descriptors into")
	flag.Parse()
	if err := run(*factsDir, *out); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(factsDir, out string) error {
	rels, err := facts.ReadReleases(filepath.Join(factsDir, facts.ReleasesFile))
	if err != nil {
		return err
	}
	stats, err := facts.ReadStats(filepath.Join(factsDir, facts.StatsFile))
	if err != nil {
		return err
	}
	var all []datasets.Descriptor
	for _, r := range rels {
		var st *facts.Stats
		for i := range stats {
			if stats[i].Matches(r.Campaign) {
				if st != nil {
					return fmt.Errorf("campaign %s matches two stats rows (lines %d and %d)", r.Campaign, st.Line, stats[i].Line)
				}
				st = &stats[i]
			}
		}
		all = append(all, twitter(r, st))
	}
	all = append(all, others()...)
	old, _ := filepath.Glob(filepath.Join(out, "*.json"))
	for _, p := range old {
		if filepath.Base(p) != "demo.json" {
			if err := os.Remove(p); err != nil {
				return err
			}
		}
	}
	for _, d := range all {
		b, err := json.MarshalIndent(d, "", "  ")
		if err != nil {
			return err
		}
		p := filepath.Join(out, strings.ReplaceAll(d.Name, "/", "-")+".json")
		if err := os.WriteFile(p, append(b, '\n'), 0o644); err != nil {
			return err
		}
	}
	fmt.Printf("gen: wrote %d descriptors into %s\n", len(all), out)
	return nil
}

// Slug turns a campaign name into the last part of a dataset name.
func Slug(r facts.Release) string {
	s := strings.ToLower(strings.ReplaceAll(r.Campaign, "_", "-"))
	if !strings.ContainsAny(s, "0123456789") {
		s += "-" + strings.ReplaceAll(r.Folder, "_", "-")
	}
	return s
}

// announced holds country and operator of the releases the stats file does
// not cover, from the platform's announcements.
var announced = map[string][2]string{
	"china_052020":    {"China", "PRC state-linked network"},
	"russia_052020":   {"Russia", "Current Policy (state-aligned media)"},
	"turkey_052020":   {"Turkey", "youth wing of the AK Parti"},
	"cuba_082020":     {"Cuba", "Cuban government-linked"},
	"qatar_082020":    {"Qatar", "state-linked"},
	"thailand_092020": {"Thailand", "Royal Thai Army"},
	"ira_092020":      {"Russia", "Internet Research Agency (Peace Data)"},
	"iran_092020":     {"Iran", "state-linked"},
	"armenia_202012":  {"Armenia", "Armenian government"},
	"GRU_202012":      {"Russia", "GRU (military intelligence)"},
	"IRA_202012":      {"Russia", "Internet Research Agency"},
	"iran_202012":     {"Iran", "state-linked"},
	"CNHU_0621":       {"China", "Chinese Communist Party (Xinjiang narratives)"},
	"CNCC_0621":       {"China", "Changyu Culture"},
	"MX_0621":         {"Mexico", "government-linked"},
	"Venezuela_0621":  {"Venezuela", "Venezuelan government"},
	"Tanzania_0621":   {"Tanzania", "not named"},
	"uganda_0621":     {"Uganda", "National Resistance Movement (ruling party)"},
}

func i64(v int64) *int64 { return &v }

func twitter(r facts.Release, st *facts.Stats) datasets.Descriptor {
	month := strings.ReplaceAll(r.Folder, "_", "-")
	if st != nil && st.ReleaseDate != "" {
		month = strings.ReplaceAll(st.ReleaseDate, "_", "-")
	}
	d := datasets.Descriptor{
		Name:        "twitter-io/" + Slug(r),
		Platform:    "twitter",
		ReleaseDate: month,
		Format:      "twitter-io",
		Campaign:    r.Campaign,
		Publisher:   "Twitter Transparency Center",
		Licence:     "Twitter information-operations archive terms (later the Twitter Moderation Research Consortium); hashed data, redistributable for research",
	}
	switch {
	case st != nil:
		d.Country = st.Country
		d.Operator = st.Affiliation
		d.Targets = st.Targets
		d.Announcements = st.URLs
	default:
		a := announced[r.Campaign]
		d.Country, d.Operator = a[0], a[1]
	}
	if d.Operator == "" {
		d.Operator = "not named in the published statistics"
	}
	if d.Country == "" {
		d.Country = "unknown"
	}
	base := bucket + r.Campaign + "/"
	if r.Folder != "2018_10" {
		base = bucket + r.Folder + "/" + r.Campaign + "/"
	}
	users := datasets.File{Name: r.Campaign + "_users_csv_hashed.zip", Role: "users", URL: base + r.Campaign + "_users_csv_hashed.zip"}
	tweets := datasets.File{Name: r.Campaign + "_tweets_csv_hashed.zip", Role: "tweets", URL: base + r.Campaign + "_tweets_csv_hashed.zip"}
	var notes []string
	if st != nil {
		if want := r.Campaign + "_users_csv_hashed.csv"; st.UsersFile != want {
			users.Inner = st.UsersFile
		}
		if want := r.Campaign + "_tweets_csv_hashed.csv"; st.TweetsFile != want {
			tweets.Inner = st.TweetsFile
		}
		if strings.HasSuffix(st.TweetsFile, "_01.csv") {
			notes = append(notes, "The tweets CSV was published in numbered parts (the first is "+st.TweetsFile+"); the facts file does not list the others, so bring every part with --from.")
		}
	}
	d.Files = []datasets.File{users, tweets}
	if n := mediaZips[r.Campaign]; n > 0 {
		folder := r.Campaign + "_tweet_media_hashed/"
		for k := 1; k <= n; k++ {
			name := fmt.Sprintf("%s_hashed_%03d.zip", r.Campaign, k)
			d.Files = append(d.Files, datasets.File{Name: name, Role: datasets.RoleMedia, URL: base + folder + name})
		}
		notes = append(notes, fmt.Sprintf("Its %d media archives (images, GIFs, videos) are listed with the role media and fetched only with --media.", n))
	} else if st != nil && st.MediaSize != "" {
		notes = append(notes, "The media archives (about "+st.MediaSize+" GB of images, GIFs and videos, as the statistics project lists them) are not listed here: bring them with takedown datasets add (role media).")
	}
	p := &datasets.Published{
		AccountsInUsersFile: r.AccountsInUsersFile,
		AccountsAnnounced:   r.AccountsAnnounced,
		Posts:               r.Tweets,
	}
	if r.Computed() {
		p.Basis = "computed from the files by simabasel/cib-data"
		p.PostsCSVBytes = r.TweetsCSVBytes
	} else {
		p.Basis = r.Basis + " (Twitter / Stanford Internet Observatory)"
		notes = append(notes, "Country, operator and counts are the platform's announcement; no one here has counted the files.")
	}
	if st != nil {
		p.PostsCSVBytes = i64(st.TweetsBytes)
		p.FirstPost = trimMinute(st.FirstTweet)
		p.LastPost = trimMinute(st.LastTweet)
		p.LikesSum, p.RepostsSum = i64(st.LikeSum), i64(st.RetweetSum)
		p.RepliesSum, p.QuotesSum = i64(st.ReplySum), i64(st.QuoteSum)
		p.TopLanguages = facts.Top(st.Languages, topN)
		p.TopHashtags = facts.Top(st.Hashtags, topN)
		p.TopClients = facts.Top(st.Clients, topN)
		if st.AccountsReported != st.Accounts && (r.AccountsAnnounced == nil || *r.AccountsAnnounced != st.AccountsReported) {
			notes = append(notes, fmt.Sprintf("The statistics project reports %d accounts for this release (the announcement may cover a wider network than the files).", st.AccountsReported))
		}
	} else if r.Computed() {
		p.Basis += "; posts_csv_bytes rounded"
	}
	d.Published = p
	what := fmt.Sprintf("%s-attributed operation", d.Country)
	if d.Operator != "" && !strings.HasPrefix(d.Operator, "not named") {
		what += " (" + d.Operator + ")"
	}
	d.Title = fmt.Sprintf("%s: Twitter information operations, %s release (%s)", what, month, r.Campaign)
	desc := fmt.Sprintf("Twitter's release %s (bucket folder %s): ", r.Campaign, r.Folder)
	var counts []string
	if r.AccountsInUsersFile != nil {
		counts = append(counts, commas(*r.AccountsInUsersFile)+" accounts in the users file")
	}
	if r.AccountsAnnounced != nil {
		counts = append(counts, commas(*r.AccountsAnnounced)+" accounts announced")
	}
	if r.Tweets != nil {
		counts = append(counts, commas(*r.Tweets)+" tweets")
	}
	if len(counts) == 0 {
		counts = append(counts, "counts not published")
	}
	desc += strings.Join(counts, ", ") + "."
	if r.Campaign == "ira" {
		desc += " Twitter's first information-operations release. Re-issued by Twitter in February 2019 with different bytes."
	}
	desc += " File URLs follow the bucket's published pattern; whether the bucket still serves them is unknown (use --mirror or --from)."
	if len(notes) > 0 {
		desc += " " + strings.Join(notes, " ")
	}
	d.Description = desc
	d.Citation = fmt.Sprintf("Twitter Transparency Center. Information Operations: %s, %s release (dataset %s). %s", what, month, r.Campaign, strings.TrimSuffix(base, "/"))
	return d
}

func trimMinute(s string) string {
	if len(s) >= 16 {
		return s[:16]
	}
	return s
}

func commas(v int64) string {
	s := strconv.FormatInt(v, 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// others are the releases outside the Twitter archive.
func others() []datasets.Descriptor {
	const fte = "https://raw.githubusercontent.com/fivethirtyeight/russian-troll-tweets/master/"
	var fteFiles []datasets.File
	for i := 1; i <= 13; i++ {
		n := fmt.Sprintf("IRAhandle_tweets_%d.csv", i)
		fteFiles = append(fteFiles, datasets.File{Name: n, Role: "tweets", URL: fte + n, Part: i})
	}
	const reddit = "https://raw.githubusercontent.com/ALCC01/reddit-suspicious-accounts/master/"
	return []datasets.Descriptor{
		{
			Name: "fivethirtyeight/ira-tweets", Title: "FiveThirtyEight / Clemson IRA tweets (Linvill & Warren)",
			Platform: "twitter", ReleaseDate: "2018-07-31", Country: "Russia", Operator: "Internet Research Agency",
			Format: "fivethirtyeight", Publisher: "FiveThirtyEight; Linvill and Warren (Clemson University)",
			Description: "2,973,371 tweets from 2,848 Twitter handles associated with the Internet Research Agency (Feb 2012 - May 2018), " +
				"collected by Darren Linvill and Patrick Warren (Clemson University) and published by FiveThirtyEight in 13 CSV parts, " +
				"each tweet labelled with an account category (RightTroll, LeftTroll, NewsFeed, HashtagGamer, Fearmonger...). " +
				"Copies that passed through a spreadsheet have ids rounded to 9.06E+17: use the original files.",
			Licence:       "published by FiveThirtyEight for research; credit FiveThirtyEight and Linvill & Warren (see the repository's terms)",
			Citation:      "Linvill, D. L., & Warren, P. L. (2020). Troll Factories: Manufacturing Specialized Disinformation on Twitter. Political Communication, 37(4), 447-467. Data: FiveThirtyEight, russian-troll-tweets, https://github.com/fivethirtyeight/russian-troll-tweets",
			Files:         fteFiles,
			Announcements: []string{"https://fivethirtyeight.com/features/why-were-sharing-3-million-russian-troll-tweets/"},
			Published: &datasets.Published{
				Basis:             "announced by FiveThirtyEight (Linvill & Warren)",
				AccountsAnnounced: i64(2848),
				Posts:             i64(2973371),
				Categories:        trollCategories(),
			},
		},
		{
			Name: "nbc/ira-2018", Title: "NBC News: deleted Russian troll tweets (IRA)",
			Platform: "twitter", ReleaseDate: "2018-02-14", Country: "Russia", Operator: "Internet Research Agency",
			Format: "nbc", Publisher: "NBC News",
			Description: "203,482 tweets of 454 accounts that Twitter suspended as linked to the Internet Research Agency, " +
				"rebuilt by NBC News from deleted tweets: tweets.csv and users.csv. The URLs are those NBC published in 2018 (unverified here); " +
				"a copy is at github.com/loretoparisi/russian_trolls_tweets_dataset.",
			Licence:       "published by NBC News; credit NBC News",
			Citation:      "Popken, B. (2018, February 14). Twitter deleted 200,000 Russian troll tweets. Read them here. NBC News. https://www.nbcnews.com/tech/social-media/now-available-more-200-000-deleted-russian-troll-tweets-n844731",
			Announcements: []string{"https://www.nbcnews.com/tech/social-media/now-available-more-200-000-deleted-russian-troll-tweets-n844731"},
			Files: []datasets.File{
				{Name: "users.csv", Role: "users", URL: "http://nodeassets.nbcnews.com/russian-twitter-trolls/users.csv"},
				{Name: "tweets.csv", Role: "tweets", URL: "http://nodeassets.nbcnews.com/russian-twitter-trolls/tweets.csv"},
			},
			Published: &datasets.Published{
				Basis:               "announced by NBC News; users rows counted from the file",
				AccountsInUsersFile: i64(454),
				Posts:               i64(203482),
			},
		},
		{
			Name: "reddit/suspicious-2018", Title: "Reddit 2018 suspicious accounts (IRA) and their public activity",
			Platform: "reddit", ReleaseDate: "2018-04-10", Country: "Russia", Operator: "Internet Research Agency",
			Format: "reddit", Publisher: "Reddit",
			Description: "Reddit's April 2018 transparency list of 944 suspicious accounts (seed.csv: username,karma, no header) " +
				"and the accounts' profiles, comments and submissions harvested from the Reddit API on 2018-04-11 by ALCC01. " +
				"comments.csv holds doubled quotes inside unquoted fields (not RFC 4180).",
			Licence:       "CC0 (the archive of the accounts' public activity)",
			Citation:      "Reddit (2018). Reddit's 2017 transparency report and suspect account findings. Data: ALCC01, reddit-suspicious-accounts, https://github.com/ALCC01/reddit-suspicious-accounts",
			Announcements: []string{"https://www.reddit.com/r/announcements/comments/8bb85p/reddits_2017_transparency_report_and_suspect/"},
			Files: []datasets.File{
				{Name: "seed.csv", Role: "seed", URL: reddit + "seed.csv"},
				{Name: "users.csv", Role: "users", URL: reddit + "data/users.csv"},
				{Name: "comments.csv", Role: "posts", URL: reddit + "data/comments.csv"},
				{Name: "submissions.csv", Role: "posts", URL: reddit + "data/submissions.csv"},
			},
			Published: &datasets.Published{
				Basis:             "announced by Reddit",
				AccountsAnnounced: i64(944),
			},
		},
	}
}

// troll is the working paper that published the per-category figures of the
// FiveThirtyEight/Clemson release; the figures were reported from it in PC
// Magazine's digital edition (September 2018). Right Troll and the smaller
// categories are left out: no figures for them were found to cite.
const troll = "Linvill, D. L., & Warren, P. L. (2018). Troll Factories: The Internet Research Agency and State-Sponsored Agenda Building (working paper, Clemson University), as reported in PC Magazine, September 2018"

// trollCategories are the handles and tweets Linvill & Warren published per
// account category, spelled as in the files' account_category column.
func trollCategories() []datasets.CategoryFigures {
	cat := func(name string, handles, tweets int64) datasets.CategoryFigures {
		return datasets.CategoryFigures{Category: name, Accounts: i64(handles), Posts: i64(tweets), Source: troll}
	}
	return []datasets.CategoryFigures{
		cat("LeftTroll", 230, 405549),
		cat("NewsFeed", 54, 567846),
		cat("HashtagGamer", 110, 216895),
		cat("Fearmonger", 122, 10161),
	}
}
