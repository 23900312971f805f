// Package schema defines the canonical row types of every table the pipeline
// writes, and one version constant per table. Row types carry parquet struct
// tags only; reading and writing them is the job of package pqio.
//
// Conventions shared by all tables:
//   - identifiers are strings (published archives hash small accounts' ids),
//     and their fields carry the tag `takedown:"id"` (IDColumns lists them:
//     exporters keep them text);
//   - an identifier that may be absent (a reply's parent, a repost's
//     original) is a *string: null in Parquet, never "";
//   - times are int64 milliseconds since the Unix epoch, UTC, stored as
//     Parquet TIMESTAMP(MILLIS, adjusted to UTC);
//   - a nil pointer is a null: the archive did not give the value.
package schema

import (
	"reflect"
	"slices"
	"strings"
)

// Table names, used as file stems (<name>.parquet) and in manifests.
const (
	TableAccounts       = "accounts"
	TablePosts          = "posts"
	TableRejects        = "rejects"
	TableFingerprints   = "fingerprints"
	TableEdges          = "edges"
	TableEvidence       = "evidence"
	TableClusters       = "clusters"
	TableReleaseSummary = "release_summary"
	TableClusterSummary = "cluster_summary"
	TableDailyTimeline  = "daily_timeline"
	TableTopEntities    = "top_entities"
	// Tables written by summarize besides the four above.
	TableAccountCreation     = "account_creation"
	TableCreationBursts      = "creation_bursts"
	TablePublishedComparison = "published_comparison"
	// TableCoordinationShare is the share of accounts that co-tweet or
	// co-retweet (Schoch et al. 2022), one row per dataset.
	TableCoordinationShare = "coordination_share"
	// TableMedia lists the media files of a release's media archives
	// (normalize); TableImageFingerprints holds the perceptual hashes of its
	// images (fingerprint).
	TableMedia             = "media"
	TableImageFingerprints = "image_fingerprints"
	// TablePairScores holds every candidate edge's co-shared items with
	// their time differences and rarity weights (cluster), from which
	// TableSensitivity (summarize) recomputes the clusters under other
	// windows, minimum weights and minimum scores.
	TablePairScores  = "pair_scores"
	TableSensitivity = "sensitivity"
)

// Versions of each table's layout. A version changes when a column is added,
// removed or changes meaning; readers reject versions they do not know (the
// runner checks the version an upstream run's manifest records before a
// stage reads its table). The version is recorded in the manifest, not in the
// run id: bump the version of the stage that writes the table with it, so
// that a rerun gets a new run id (the golden test in internal/runner fails
// otherwise).
//
// fingerprints 2: the minhash_bands, cnt_text_key and cnt_url_keys columns
// (added under fingerprint stage versions 3 and 4 at layout 1).
// fingerprints 3: repost_key and reply_key are optional (null, not "").
// posts 2: reply_to_post_id, reply_to_account_id, quoted_post_id,
// repost_of_post_id and repost_of_account_id are optional (null when
// absent; layout 1 stored "").
var Versions = map[string]int{
	TableAccounts:       2,
	TablePosts:          2,
	TableRejects:        1,
	TableFingerprints:   3,
	TableEdges:          1,
	TableEvidence:       1,
	TableClusters:       1,
	TableReleaseSummary: 1,
	TableClusterSummary: 1,
	TableDailyTimeline:  1,
	TableTopEntities:    1,

	TableAccountCreation:     1,
	TableCreationBursts:      1,
	TablePublishedComparison: 1,
	TableCoordinationShare:   1,

	TableMedia:             1,
	TableImageFingerprints: 1,

	TablePairScores:  1,
	TableSensitivity: 1,
}

// Rows maps each table name to its row type.
var Rows = map[string]reflect.Type{
	TableAccounts:            reflect.TypeFor[Account](),
	TablePosts:               reflect.TypeFor[Post](),
	TableRejects:             reflect.TypeFor[Reject](),
	TableFingerprints:        reflect.TypeFor[Fingerprint](),
	TableEdges:               reflect.TypeFor[Edge](),
	TableEvidence:            reflect.TypeFor[Evidence](),
	TableClusters:            reflect.TypeFor[ClusterMember](),
	TableReleaseSummary:      reflect.TypeFor[ReleaseSummary](),
	TableClusterSummary:      reflect.TypeFor[ClusterSummary](),
	TableDailyTimeline:       reflect.TypeFor[DailyTimeline](),
	TableTopEntities:         reflect.TypeFor[TopEntity](),
	TableAccountCreation:     reflect.TypeFor[AccountCreation](),
	TableCreationBursts:      reflect.TypeFor[CreationBurst](),
	TablePublishedComparison: reflect.TypeFor[PublishedComparison](),
	TableCoordinationShare:   reflect.TypeFor[CoordinationShare](),
	TableMedia:               reflect.TypeFor[Media](),
	TableImageFingerprints:   reflect.TypeFor[ImageFingerprint](),
	TablePairScores:          reflect.TypeFor[PairScore](),
	TableSensitivity:         reflect.TypeFor[Sensitivity](),
}

// IDTag is the struct tag that marks an identifier column: `takedown:"id"`.
const IDTag = "id"

// IDColumns returns the Parquet column names of table's identifier columns
// (fields tagged `takedown:"id"`), in column order; nil for a table it does
// not know. Exporters write these as text, never as numbers.
func IDColumns(table string) []string {
	t, ok := Rows[table]
	if !ok {
		return nil
	}
	var cols []string
	for f := range t.Fields() {
		if slices.Contains(strings.Split(f.Tag.Get("takedown"), ","), IDTag) {
			name, _, _ := strings.Cut(f.Tag.Get("parquet"), ",")
			cols = append(cols, name)
		}
	}
	return cols
}

// Account is one row of the accounts table.
type Account struct {
	Dataset     string `parquet:"dataset,dict"`
	AccountID   string `parquet:"account_id" takedown:"id"`
	IDHashed    bool   `parquet:"id_hashed"`
	InUsersFile bool   `parquet:"in_users_file"`
	ScreenName  string `parquet:"screen_name"`
	DisplayName string `parquet:"display_name"`
	Description string `parquet:"description"`
	Location    string `parquet:"location"`
	ProfileURL  string `parquet:"profile_url"`
	Followers   *int64 `parquet:"followers,optional"`
	Following   *int64 `parquet:"following,optional"`
	CreatedAt   *int64 `parquet:"created_at,optional,timestamp(millisecond:utc)"`
	Language    string `parquet:"language,dict"`
	// Category and AccountType are attributes a publisher assigned to the
	// account (FiveThirtyEight/Clemson: account_category such as
	// "RightTroll", account_type such as "Right"); empty when not published.
	Category    string `parquet:"category,dict"`
	AccountType string `parquet:"account_type,dict"`
	SourceFile  string `parquet:"source_file,dict"`
	SourceLine  int64  `parquet:"source_line"`
}

// Precision values of Post.PostedAtPrecision.
const (
	PrecisionMillisecond = "ms"
	PrecisionMinute      = "minute"
	PrecisionSecond      = "second"
)

// Post is one row of the posts table.
type Post struct {
	Dataset           string   `parquet:"dataset,dict"`
	PostID            string   `parquet:"post_id" takedown:"id"`
	AccountID         string   `parquet:"account_id" takedown:"id"`
	PostedAt          int64    `parquet:"posted_at,timestamp(millisecond:utc)"`
	PostedAtPrecision string   `parquet:"posted_at_precision,dict"`
	Text              string   `parquet:"text"`
	Language          string   `parquet:"language,dict"`
	Client            string   `parquet:"client,dict"`
	ReplyToPostID     *string  `parquet:"reply_to_post_id,optional" takedown:"id"`
	ReplyToAccountID  *string  `parquet:"reply_to_account_id,optional" takedown:"id"`
	QuotedPostID      *string  `parquet:"quoted_post_id,optional" takedown:"id"`
	IsRepost          bool     `parquet:"is_repost"`
	RepostOfPostID    *string  `parquet:"repost_of_post_id,optional" takedown:"id"`
	RepostOfAccountID *string  `parquet:"repost_of_account_id,optional" takedown:"id"`
	Hashtags          []string `parquet:"hashtags,list"`
	URLs              []string `parquet:"urls,list"`
	Mentions          []string `parquet:"mentions,list"`
	PollChoices       []string `parquet:"poll_choices,list"`
	Likes             *int64   `parquet:"likes,optional"`
	Reposts           *int64   `parquet:"reposts,optional"`
	Replies           *int64   `parquet:"replies,optional"`
	Quotes            *int64   `parquet:"quotes,optional"`
	Latitude          *float64 `parquet:"latitude,optional"`
	Longitude         *float64 `parquet:"longitude,optional"`
	SourceFile        string   `parquet:"source_file,dict"`
	SourceLine        int64    `parquet:"source_line"`
}

// Reject is one input record that could not become a row, kept byte for byte.
type Reject struct {
	Dataset    string `parquet:"dataset,dict"`
	SourceFile string `parquet:"source_file,dict"`
	SourceLine int64  `parquet:"source_line"`
	Reason     string `parquet:"reason,dict"`
	Detail     string `parquet:"detail"`
	Raw        []byte `parquet:"raw"`
}

// Kinds of Media.Kind.
const (
	MediaImage = "image"
	MediaGIF   = "gif"
	MediaVideo = "video"
	MediaOther = "other"
)

// Media is one file of a release's media archives: an entry of a media zip,
// joined to its post by the tweet id at the start of the entry name.
// Rows are in (archive, entry) order.
type Media struct {
	Dataset string `parquet:"dataset,dict"`
	// PostID is the tweet id the entry name starts with; AccountID is the
	// post's account, null when no post of the dataset has that id (an
	// orphan).
	PostID    string  `parquet:"post_id" takedown:"id"`
	AccountID *string `parquet:"account_id,optional" takedown:"id"`
	// MediaKey is the rest of the entry's base name after "<tweetid>-",
	// without its extension (the archive's media key).
	MediaKey string `parquet:"media_key"`
	// Kind is image, gif, video or other (MediaImage...).
	Kind string `parquet:"kind,dict"`
	// Archive is the media zip's path relative to the dataset's source
	// folder; Entry the entry's name inside it.
	Archive string `parquet:"archive,dict"`
	Entry   string `parquet:"entry"`
	Bytes   int64  `parquet:"bytes"`
	// SHA256 is the hex digest of the entry's bytes.
	SHA256 string `parquet:"sha256"`
	// Width and Height are from the image header; null when it does not
	// decode (Reason says why) or for a video.
	Width  *int32 `parquet:"width,optional"`
	Height *int32 `parquet:"height,optional"`
	// Reason is empty for a readable file, else a reason code (see
	// docs/tables/media.md): the row is kept, never dropped.
	Reason string `parquet:"reason,dict"`
}

// ImageFingerprint holds the perceptual hashes of one image (or a GIF's
// first frame) of the media table. Videos and undecodable files have no row.
type ImageFingerprint struct {
	PostID    string `parquet:"post_id" takedown:"id"`
	AccountID string `parquet:"account_id" takedown:"id"`
	PostedAt  int64  `parquet:"posted_at,timestamp(millisecond:utc)"`
	MediaKey  string `parquet:"media_key"`
	// SHA256 is the file's digest (co_image: identical bytes).
	SHA256 string `parquet:"sha256"`
	// PDQ is the 256-bit PDQ hash (32 bytes, Meta's bit order) and
	// PDQQuality its 0-100 quality score.
	PDQ        []byte `parquet:"pdq"`
	PDQQuality int32  `parquet:"pdq_quality"`
	// DHash is the 64-bit difference hash.
	DHash uint64 `parquet:"dhash"`
}

// Fingerprint holds the content keys of one post.
type Fingerprint struct {
	PostID        string   `parquet:"post_id" takedown:"id"`
	AccountID     string   `parquet:"account_id" takedown:"id"`
	PostedAt      int64    `parquet:"posted_at,timestamp(millisecond:utc)"`
	TextKey       *uint64  `parquet:"text_key,optional"`
	URLKeys       []string `parquet:"url_keys,list"`
	DomainKeys    []string `parquet:"domain_keys,list"`
	HashtagSetKey *uint64  `parquet:"hashtag_set_key,optional"`
	HashtagSeqKey *uint64  `parquet:"hashtag_seq_key,optional"`
	// RepostKey and ReplyKey are the post ids the post reposts and replies
	// to; null when it does neither.
	RepostKey      *string `parquet:"repost_key,optional" takedown:"id"`
	ReplyKey       *string `parquet:"reply_key,optional" takedown:"id"`
	NormalizedText string  `parquet:"normalized_text"`
	// NormalizerVersion is the text normalizer and URL canonicalizer
	// version that made the keys; the cluster stage refuses other versions.
	NormalizerVersion int32 `parquet:"normalizer_version"`
	// MinHashBands holds one key per LSH band of the post's MinHash
	// signature (empty when the text is too short); two posts sharing a band
	// key are near-duplicate candidates.
	MinHashBands []uint64 `parquet:"minhash_bands,list,uncompressed"`
	// ToolkitTextKey is the text key under the coordination-network-toolkit's
	// own rule (lowercase, mentions dropped), for --compat cnt.
	ToolkitTextKey *uint64 `parquet:"cnt_text_key,optional"`
	// ToolkitURLKeys are the post's URLs as the coordination-network-toolkit's
	// CSV reader takes them (raw strings, the urls field split on single
	// spaces, an empty field being one empty URL), as xxHash64 keys, sorted,
	// without duplicates; for --compat cnt. Empty exactly when ToolkitTextKey is
	// null (the toolkit ignores the URLs of reposts).
	ToolkitURLKeys []uint64 `parquet:"cnt_url_keys,list"`
}

// Signal names used in edges and evidence.
const (
	SignalCoText   = "co_text"
	SignalCoRepost = "co_repost"
	SignalCoURL    = "co_url"
)

// Edge is an account pair tied by one signal. AccountA < AccountB.
type Edge struct {
	AccountA    string  `parquet:"account_a" takedown:"id"`
	AccountB    string  `parquet:"account_b" takedown:"id"`
	Signal      string  `parquet:"signal,dict"`
	SharedItems int64   `parquet:"shared_items"`
	FirstAt     int64   `parquet:"first_at,timestamp(millisecond:utc)"`
	LastAt      int64   `parquet:"last_at,timestamp(millisecond:utc)"`
	Weight      float64 `parquet:"weight"`
}

// PairScore is one candidate edge: an account pair (AccountA < AccountB)
// and a signal with at least one co-shared item within the run's window,
// whatever min_weight. DtMillis and Weights list, per co-shared item in
// item order (the order the edge weight is summed in), the time difference
// of its closest post pair and its rarity weight.
type PairScore struct {
	AccountA string    `parquet:"account_a" takedown:"id"`
	AccountB string    `parquet:"account_b" takedown:"id"`
	Signal   string    `parquet:"signal,dict"`
	PostsA   int64     `parquet:"posts_a"`
	PostsB   int64     `parquet:"posts_b"`
	DtMillis []int64   `parquet:"dt_ms,list"`
	Weights  []float64 `parquet:"weights,list"`
}

// Sensitivity is one cell of the parameter grid summarize recomputes the
// clusters over: what the cluster stage would find with this window,
// min_weight and min_score (its other parameters as in the run), and how
// many of the run's clusters survive there.
type Sensitivity struct {
	WindowMillis      int64   `parquet:"window_ms"`
	MinWeight         int64   `parquet:"min_weight"`
	MinScore          float64 `parquet:"min_score"`
	Run               bool    `parquet:"run"`
	ClusterPairs      int64   `parquet:"cluster_pairs"`
	Clusters          int64   `parquet:"clusters"`
	ClusteredAccounts int64   `parquet:"clustered_accounts"`
	LargestCluster    int64   `parquet:"largest_cluster"`
	Surviving         int64   `parquet:"surviving"`
	// SurvivingShare is Surviving over the run's clusters; null when the
	// run has none.
	SurvivingShare *float64 `parquet:"surviving_share,optional"`
}

// Evidence names the posts behind an edge: one row per item and post pair.
type Evidence struct {
	Signal   string `parquet:"signal,dict"`
	AccountA string `parquet:"account_a" takedown:"id"`
	AccountB string `parquet:"account_b" takedown:"id"`
	ItemKey  string `parquet:"item_key" takedown:"id"`
	PostA    string `parquet:"post_a" takedown:"id"`
	PostB    string `parquet:"post_b" takedown:"id"`
	DtMillis int64  `parquet:"dt_ms"`
}

// ClusterMember is one account's membership of one cluster.
type ClusterMember struct {
	ClusterID string  `parquet:"cluster_id" takedown:"id"`
	AccountID string  `parquet:"account_id" takedown:"id"`
	Role      string  `parquet:"role,dict"`
	Degree    int64   `parquet:"degree"`
	Strength  float64 `parquet:"strength"`
}

// ReleaseSummary is the one-row summary of a dataset.
type ReleaseSummary struct {
	Dataset             string  `parquet:"dataset"`
	Accounts            int64   `parquet:"accounts"`
	AccountsInUsersFile int64   `parquet:"accounts_in_users_file"`
	AccountsOnlyInPosts int64   `parquet:"accounts_only_in_posts"`
	AccountsWithPosts   int64   `parquet:"accounts_with_posts"`
	HashedShare         float64 `parquet:"hashed_share"`
	Posts               int64   `parquet:"posts"`
	Reposts             int64   `parquet:"reposts"`
	Replies             int64   `parquet:"replies"`
	Rejects             int64   `parquet:"rejects"`
	FirstPostAt         *int64  `parquet:"first_post_at,optional,timestamp(millisecond:utc)"`
	LastPostAt          *int64  `parquet:"last_post_at,optional,timestamp(millisecond:utc)"`
	ActiveDays          int64   `parquet:"active_days"`
	PostsPerActiveDay   float64 `parquet:"posts_per_active_day"`
	CopyPosts           int64   `parquet:"copy_posts"`
	CopyShare           float64 `parquet:"copy_share"`
	LikesSum            int64   `parquet:"likes_sum"`
	RepostsSum          int64   `parquet:"reposts_sum"`
	RepliesSum          int64   `parquet:"replies_sum"`
	QuotesSum           int64   `parquet:"quotes_sum"`
	CreatedFirst        *int64  `parquet:"created_first,optional,timestamp(millisecond:utc)"`
	CreatedLast         *int64  `parquet:"created_last,optional,timestamp(millisecond:utc)"`
	CreationBursts      int64   `parquet:"creation_bursts"`
	BurstAccounts       int64   `parquet:"burst_accounts"`
	Clusters            int64   `parquet:"clusters"`
	ClusteredAccounts   int64   `parquet:"clustered_accounts"`
}

// ClusterSummary describes one cluster.
type ClusterSummary struct {
	ClusterID      string   `parquet:"cluster_id" takedown:"id"`
	Size           int64    `parquet:"size"`
	Posts          int64    `parquet:"posts"`
	Edges          int64    `parquet:"edges"`
	Signals        []string `parquet:"signals,list"`
	FirstAt        *int64   `parquet:"first_at,optional,timestamp(millisecond:utc)"`
	LastAt         *int64   `parquet:"last_at,optional,timestamp(millisecond:utc)"`
	ActiveDays     int64    `parquet:"active_days"`
	TopTexts       []string `parquet:"top_texts,list"`
	TopHashtags    []string `parquet:"top_hashtags,list"`
	TopDomains     []string `parquet:"top_domains,list"`
	TopClients     []string `parquet:"top_clients,list"`
	Languages      []string `parquet:"languages,list"`
	CreatedFirst   *int64   `parquet:"created_first,optional,timestamp(millisecond:utc)"`
	CreatedLast    *int64   `parquet:"created_last,optional,timestamp(millisecond:utc)"`
	CreationBursts int64    `parquet:"creation_bursts"`
	Originators    int64    `parquet:"originators"`
	Amplifiers     int64    `parquet:"amplifiers"`
}

// DailyTimeline counts activity per UTC day, for the release (scope
// "release") or for one cluster (scope = cluster id).
type DailyTimeline struct {
	Scope    string `parquet:"scope,dict"`
	Day      int64  `parquet:"day,timestamp(millisecond:utc)"`
	Posts    int64  `parquet:"posts"`
	Accounts int64  `parquet:"accounts"`
}

// TopEntity is one ranked entity (hashtag, domain, mention, client, language).
type TopEntity struct {
	Scope string `parquet:"scope,dict"`
	Kind  string `parquet:"kind,dict"`
	Rank  int64  `parquet:"rank"`
	Value string `parquet:"value"`
	Count int64  `parquet:"count"`
}

// AccountCreation counts the accounts created on one UTC day, for the
// release (scope "release") or one cluster (scope = cluster id). Days without
// a created account have no row.
type AccountCreation struct {
	Scope    string `parquet:"scope,dict"`
	Day      int64  `parquet:"day,timestamp(millisecond:utc)"`
	Accounts int64  `parquet:"accounts"`
}

// CreationBurst is one run of accounts created close together, for the
// release or one cluster.
type CreationBurst struct {
	Scope    string `parquet:"scope,dict"`
	FirstDay int64  `parquet:"first_day,timestamp(millisecond:utc)"`
	LastDay  int64  `parquet:"last_day,timestamp(millisecond:utc)"`
	Accounts int64  `parquet:"accounts"`
}

// PublishedComparison sets one figure published for a release beside the
// value computed from the files. Values are rendered as text so that counts,
// times and ranked lists share one column.
type PublishedComparison struct {
	Measure   string `parquet:"measure"`
	Published string `parquet:"published"`
	Computed  string `parquet:"computed"`
	Differs   bool   `parquet:"differs"`
	Note      string `parquet:"note"`
}

// CoordinationShare is the share of a release's accounts that took part in
// the simplest coordination patterns of Schoch, Keller, Stier & Yang (2022):
// co-tweeting (two accounts posting the same text within the window) and
// co-retweeting (two accounts reposting the same post within the window).
// Shares are fractions of Accounts, the accounts with at least one post.
type CoordinationShare struct {
	Dataset           string  `parquet:"dataset"`
	WindowSeconds     int64   `parquet:"window_seconds"`
	Accounts          int64   `parquet:"accounts"`
	Posts             int64   `parquet:"posts"`
	CoTweetAccounts   int64   `parquet:"co_tweet_accounts"`
	CoTweetShare      float64 `parquet:"co_tweet_share"`
	CoRetweetAccounts int64   `parquet:"co_retweet_accounts"`
	CoRetweetShare    float64 `parquet:"co_retweet_share"`
	EitherAccounts    int64   `parquet:"either_accounts"`
	EitherShare       float64 `parquet:"either_share"`
	// RepostsByText counts the reposts that name no reposted post and were
	// keyed by their text instead (FiveThirtyEight's layout has no
	// retweeted-tweet id).
	RepostsByText int64 `parquet:"reposts_by_text"`
	// PaperMeanShare is the paper's mean "either" share over the campaigns
	// it covers (those with more than PaperMinPosts tweets).
	PaperMeanShare float64 `parquet:"paper_mean_share"`
	PaperMinPosts  int64   `parquet:"paper_min_posts"`
	Citation       string  `parquet:"citation"`
	Note           string  `parquet:"note"`
}
