package synth

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Time constants in milliseconds.
const (
	msSecond = int64(1000)
	msMinute = 60 * msSecond
	msHour   = 60 * msMinute
	msDay    = 24 * msHour
)

// twitterEpoch is the snowflake epoch in Unix milliseconds.
const twitterEpoch = int64(1288834974657)

// hashThreshold is the follower count below which a published archive hashes
// the account's id, screen name and display name.
const hashThreshold = 5000

// Account roles.
const (
	roleOrganic uint8 = iota
	roleOriginator
	roleAmplifier
)

var roleNames = []string{"organic", "originator", "amplifier"}

// kind is what a planned post is and decides how it is rendered.
type kind uint8

const (
	kOwn        kind = iota // organic text of its author
	kViralOwn               // an archive account's post that goes viral; ev = viral event
	kReply                  // reply; ref = archive post or -1 (external target)
	kQuote                  // quote tweet; ref = archive post
	kRetweet                // retweet of an archive post; ref
	kRetweetExt             // retweet of an external post; ev = external tweet
	kNews                   // share of a news link; ev = news item
	kCopy                   // squad copy-paste; ev = action
	kPara                   // squad template paraphrase; ev = action
	kLink                   // squad link push; ev = action
	kHashSeq                // squad hashtag sequence; ev = action
	kSquadPost              // squad post that the squad then co-retweets; ev = action
)

// rec is one planned post. Its text is not stored: it is rendered from seed
// (and the event it belongs to) when the row is written.
type rec struct {
	ms    int64
	id    int64
	seed  uint64
	acct  int32
	ref   int32
	ev    int32
	kind  kind
	coord bool // part of a squad action
}

type account struct {
	id, screen      string
	followers       int64
	squad           int32
	role            uint8
	lang            uint8
	client          uint8
	peak            int8
	hashed, inUsers bool
	prefix          []byte // the 10 quoted profile fields, comma-separated
}

// profile is the part of an account that only its prefix shows: it lives
// while the accounts are made and goes once their prefixes are written, so
// that a release of millions of accounts holds each profile once (in its
// prefix), not twice.
type profile struct {
	display, location   string
	description         string
	profileURL, created string
	createdMs           int64
	following           int64
}

type extAccount struct {
	id, screen string
	followers  int64
}

type extTweet struct {
	ms, id int64
	seed   uint64
	author int32
}

type squad struct {
	name       string
	members    []int32 // originators first
	nOrig      int
	behaviours []int
	lang       uint8
	client     string // custom client name or "" (members use their own)
	peak       int
	hashtags   []string
	domain     string
	targets    []int32 // mention targets: >= 0 archive account, < 0 external account -(i+1)
}

type action struct {
	ms     int64
	seed   uint64
	squad  int32
	beh    int
	url    string
	title  string
	tags   []string
	target int32 // co_retweet: archive post index, or -1
	ext    int32 // co_retweet: external tweet index, or -1
}

type newsItem struct {
	url, headline, domain string
}

type trend struct {
	tag      string
	from, to int64
}

type viralEvent struct {
	rec, ext int32
	shares   int
}

// plan is the whole archive before rendering: accounts, events and one
// compact record per post.
type plan struct {
	cfg            Config
	startMs, endMs int64
	accts          []account
	exts           []extAccount
	extTweets      []extTweet
	squads         []squad
	actions        []action
	news           []newsItem
	trends         []trend
	virals         []viralEvent
	genTags        []string
	seenNames      map[string]bool // lower-cased "@screen" of every non-hashed name
	activity       []float64       // per account: relative posting activity
	cumActivity    []float64       // prefix sums of activity
	eager          []bool          // per account: reacts to viral posts within seconds
	recs           []rec
	order          []int32     // output order of recs
	media          []mediaItem // media files of posts (Config.Media)
	acctOrder      []int32     // output order of accounts (by userid)
}

// phaseRNG returns an independent generator for one planning phase, so that
// changing one phase does not reshuffle the others.
func phaseRNG(seed int64, phase uint64) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(seed), 0x9E3779B97F4A7C15*(phase+1)))
}

func weighted(r *rand.Rand, weights []int) int {
	total := 0
	for _, w := range weights {
		total += w
	}
	x := r.IntN(total)
	for i, w := range weights {
		if x < w {
			return i
		}
		x -= w
	}
	return len(weights) - 1
}

func newPlan(ctx context.Context, cfg Config) (*plan, error) {
	start, err := time.Parse(time.DateOnly, cfg.Start)
	if err != nil {
		return nil, fmt.Errorf("synth start: %w", err)
	}
	p := &plan{cfg: cfg, startMs: start.UnixMilli()}
	p.endMs = p.startMs + int64(cfg.Days)*msDay
	p.makeAccounts()
	p.makeExternals()
	p.makeSquads()
	p.makeTags()
	p.makeActivity()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("synth: %w", err)
	}
	p.planPosts()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("synth: %w", err)
	}
	p.assignIDs()
	p.makeOrder()
	return p, nil
}

// ---- accounts ----

func hashedID(seed int64, campaign string, i int) string {
	sum := sha256.Sum256([]byte(campaign + "/" + strconv.FormatInt(seed, 10) + "/" + strconv.Itoa(i)))
	return base64.StdEncoding.EncodeToString(sum[:])
}

// hexHashedID is hashedID in the October 2018 family: 64 lowercase hex
// characters.
func hexHashedID(seed int64, campaign string, i int) string {
	sum := sha256.Sum256([]byte(campaign + "/" + strconv.FormatInt(seed, 10) + "/" + strconv.Itoa(i)))
	return hex.EncodeToString(sum[:])
}

// numericID returns a plausible numeric user id for an account created at ms:
// sequential-looking ids before the switch to snowflake ids in late 2013.
func numericID(r *rand.Rand, ms int64) int64 {
	switchMs := time.Date(2013, 11, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	if ms >= switchMs {
		return (ms-twitterEpoch)<<22 | int64(r.Uint64()&(1<<22-1))
	}
	base := time.Date(2008, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	frac := float64(ms-base) / float64(switchMs-base)
	if frac < 0 {
		frac = 0
	}
	return 12_000_000 + int64(frac*2_100_000_000) + r.Int64N(500_000)
}

func (p *plan) makeAccounts() {
	cfg := p.cfg
	r := phaseRNG(cfg.Seed, 1)
	nSquad := 0
	if cfg.SquadShare > 0 {
		nSquad = int(math.Round(float64(cfg.Accounts) * cfg.SquadShare))
		nSquad = max(nSquad, cfg.SquadMinSize)
	}
	nOrg := cfg.Accounts - nSquad
	p.accts = make([]account, cfg.Accounts)
	profs := make([]profile, cfg.Accounts)

	// Squad sizes.
	var sizes []int
	for rem := nSquad; rem > 0; {
		size := clampInt(int(lognormal(r, 9, 0.6)), cfg.SquadMinSize, cfg.SquadMaxSize)
		size = min(size, rem)
		if left := rem - size; left > 0 && left < cfg.SquadMinSize {
			if rem <= cfg.SquadMaxSize {
				size = rem
			} else {
				size = rem - cfg.SquadMinSize
			}
		}
		sizes = append(sizes, size)
		rem -= size
	}
	next := nOrg
	for si, size := range sizes {
		s := squad{name: fmt.Sprintf("squad-%03d", si+1)}
		s.lang = uint8(weighted(r, []int{600, 200, 150, 50}))
		s.peak = r.IntN(24)
		if r.IntN(10) < 6 {
			s.client = customClients[r.IntN(len(customClients))]
		}
		s.nOrig = 1
		if size >= 8 {
			s.nOrig = 1 + r.IntN(min(3, size/4))
		}
		// Behaviours: one rotating behaviour so every one occurs, plus 1-3 others.
		set := make([]bool, numBehaviours)
		set[si%numBehaviours] = true
		for extra := 1 + r.IntN(3); extra > 0; extra-- {
			set[r.IntN(numBehaviours)] = true
		}
		for b, on := range set {
			if on {
				s.behaviours = append(s.behaviours, b)
			}
		}
		// Creation bursts.
		nb := 1 + r.IntN(3)
		bursts := make([]int64, nb)
		for b := range bursts {
			bursts[b] = p.startMs - int64(15+r.IntN(520))*msDay
		}
		for m := 0; m < size; m++ {
			i := int32(next)
			next++
			s.members = append(s.members, i)
			a, pr := &p.accts[i], &profs[i]
			a.squad = int32(si)
			a.lang = s.lang
			if r.IntN(10) == 0 {
				a.lang = langEN
			}
			a.peak = int8((s.peak + r.IntN(3) - 1 + 24) % 24)
			a.client = uint8(weighted(r, standardClientWeights))
			var created int64
			if m < s.nOrig {
				a.role = roleOriginator
				a.followers = int64(lognormal(r, 15000, 1.0))
				pr.following = int64(lognormal(r, 1500, 0.8))
				if r.IntN(2) == 0 {
					created = p.organicCreated(r)
				}
			} else {
				a.role = roleAmplifier
				a.followers = int64(lognormal(r, 60, 1.0))
				pr.following = int64(lognormal(r, 400, 0.9))
			}
			if created == 0 {
				created = bursts[r.IntN(nb)] + r.Int64N(4*msDay)
			}
			pr.created = time.UnixMilli(created).UTC().Format(time.DateOnly)
			p.fillIdentity(r, int(i), a, pr, created)
		}
		p.squads = append(p.squads, s)
	}
	for i := 0; i < nOrg; i++ {
		a, pr := &p.accts[i], &profs[i]
		a.squad = -1
		a.role = roleOrganic
		a.lang = uint8(weighted(r, langWeights))
		base := []int{18, 9, 17, 12}[a.lang]
		a.peak = int8((base + r.IntN(9) - 4 + 24) % 24)
		a.client = uint8(weighted(r, standardClientWeights))
		a.followers = int64(lognormal(r, 250, 1.6))
		pr.following = int64(lognormal(r, 300, 1.1))
		created := p.organicCreated(r)
		pr.created = time.UnixMilli(created).UTC().Format(time.DateOnly)
		p.fillIdentity(r, i, a, pr, created)
	}
	// Accounts missing from the users file.
	for i := range p.accts {
		p.accts[i].inUsers = true
	}
	nMissing := int(math.Round(float64(cfg.Accounts) * cfg.MissingUsersShare))
	for _, i := range r.Perm(cfg.Accounts)[:nMissing] {
		p.accts[i].inUsers = false
	}
	// Unique ids and names for non-hashed accounts.
	seen := map[string]bool{}
	for i := range p.accts {
		a := &p.accts[i]
		if a.hashed {
			continue
		}
		for seen[a.id] {
			a.id = strconv.FormatInt(numericID(r, profs[i].createdMs), 10)
		}
		seen[a.id] = true
		for seen["@"+strings.ToLower(a.screen)] {
			a.screen += strconv.Itoa(r.IntN(10))
		}
		seen["@"+strings.ToLower(a.screen)] = true
	}
	p.seenNames = seen
	var w rowWriter
	var ar arena
	for i := range p.accts {
		w.buf, w.first = w.buf[:0], true
		p.accts[i].prefix = ar.copy(profilePrefix(&w, &p.accts[i], &profs[i]))
	}
}

// organicCreated draws an organic account's creation time: 2009 to a month
// before the start, more recent dates more likely.
func (p *plan) organicCreated(r *rand.Rand) int64 {
	lo := time.Date(2009, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	hi := min(time.Date(2018, 12, 31, 0, 0, 0, 0, time.UTC).UnixMilli(), p.startMs-30*msDay)
	if hi <= lo {
		hi = lo + msDay
	}
	return lo + int64(math.Sqrt(r.Float64())*float64(hi-lo))
}

func (p *plan) fillIdentity(r *rand.Rand, i int, a *account, pr *profile, created int64) {
	pr.createdMs = created
	a.hashed = a.followers < hashThreshold
	if a.hashed {
		h := hashedID(p.cfg.Seed, p.cfg.Campaign, i)
		if p.cfg.Variants.HexIDs {
			h = hexHashedID(p.cfg.Seed, p.cfg.Campaign, i)
		}
		a.id, a.screen, pr.display = h, h, h
	} else {
		a.id = strconv.FormatInt(numericID(r, created), 10)
		a.screen, pr.display = personOrBrand(r)
	}
	if r.IntN(100) >= 35 {
		pr.location = locations[r.IntN(len(locations))]
	}
	if r.IntN(100) >= 25 {
		pr.description = description(r, a.lang)
	}
	if r.IntN(100) < 20 {
		pr.profileURL = "https://t.co/" + randCode(r, 10)
	}
}

// arena hands out copies of byte slices carved from large blocks: one
// allocation per MiB instead of one per copy, each copy exactly its length.
type arena struct{ block []byte }

func (ar *arena) copy(b []byte) []byte {
	if len(b) > cap(ar.block)-len(ar.block) {
		ar.block = make([]byte, 0, max(1<<20, len(b)))
	}
	n := len(ar.block)
	ar.block = append(ar.block, b...)
	return ar.block[n:len(ar.block):len(ar.block)]
}

func personOrBrand(r *rand.Rand) (screen, display string) {
	if r.IntN(10) < 6 {
		f, l := firstNames[r.IntN(len(firstNames))], lastNames[r.IntN(len(lastNames))]
		display = f + " " + l
		switch r.IntN(3) {
		case 0:
			screen = asciiOnly(f + l)
		case 1:
			screen = asciiOnly(f+"_"+l) + strconv.Itoa(r.IntN(100))
		default:
			screen = strings.ToLower(asciiOnly(f[:1]+l)) + strconv.Itoa(1950+r.IntN(55))
		}
		return screen, display
	}
	a, b := brandWords[r.IntN(len(brandWords))], brandWords[r.IntN(len(brandWords))]
	display = a + " " + b
	screen = a + b
	if r.IntN(2) == 0 {
		screen += strconv.Itoa(r.IntN(100))
	}
	return screen, display
}

// asciiOnly keeps ASCII letters, digits and '_' (screen names allow no more).
func asciiOnly(s string) string {
	var b strings.Builder
	for _, c := range s {
		if c < 128 && (c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			b.WriteRune(c)
		}
	}
	if b.Len() == 0 {
		return "user"
	}
	return b.String()
}

func randCode(r *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = tcoAlphabet[r.IntN(len(tcoAlphabet))]
	}
	return string(b)
}

func description(r *rand.Rand, lang uint8) string {
	var b []byte
	b = appendSentence(r, b, lang)
	switch r.IntN(10) {
	case 0:
		b = append(b, " \"Opinions my own\""...)
	case 1:
		b = append(b, '\n')
		b = appendSentence(r, b, lang)
	case 2, 3:
		b = append(b, " #"...)
		b = append(b, camelTag(r)...)
	case 4:
		b = append(b, ' ')
		b = append(b, emojis[r.IntN(len(emojis))]...)
	case 5:
		b = append(b, ", "...)
		b = append(b, locations[r.IntN(len(locations))]...)
	}
	return string(b)
}

func camelTag(r *rand.Rand) string {
	var b []byte
	n := 2
	if r.IntN(5) == 0 {
		n = 1
	}
	for ; n > 0; n-- {
		var w string
		switch r.IntN(3) {
		case 0:
			w = enAdjs[r.IntN(len(enAdjs))]
		case 1:
			w = brandWords[r.IntN(len(brandWords))]
		default:
			w = enNouns[r.IntN(len(enNouns))]
		}
		b = append(b, strings.ToUpper(w[:1])...)
		b = append(b, w[1:]...)
	}
	if r.IntN(5) == 0 {
		b = strconv.AppendInt(b, int64(r.IntN(30)), 10)
	}
	return string(b)
}

func (p *plan) makeExternals() {
	r := phaseRNG(p.cfg.Seed, 2)
	n := min(200+p.cfg.Accounts/20, 2000)
	p.exts = make([]extAccount, n)
	for i := range p.exts {
		e := &p.exts[i]
		e.followers = max(int64(lognormal(r, 80000, 1.5)), hashThreshold)
		e.id = strconv.FormatInt(numericID(r, p.organicCreated(r)), 10)
		screen, _ := personOrBrand(r)
		for p.seenNames["@"+strings.ToLower(screen)] {
			screen += strconv.Itoa(r.IntN(10))
		}
		p.seenNames["@"+strings.ToLower(screen)] = true
		e.screen = screen
	}
}

func (p *plan) makeSquads() {
	r := phaseRNG(p.cfg.Seed, 3)
	var bigOrganic []int32
	for i := range p.accts {
		if p.accts[i].role == roleOrganic && !p.accts[i].hashed {
			bigOrganic = append(bigOrganic, int32(i))
		}
	}
	for si := range p.squads {
		s := &p.squads[si]
		for n := 6 + r.IntN(8); len(s.hashtags) < n; {
			if t := camelTag(r); !slices.Contains(s.hashtags, t) {
				s.hashtags = append(s.hashtags, t)
			}
		}
		s.domain = fmt.Sprintf("www.%s-%s-%s.info", enAdjs[r.IntN(len(enAdjs))], enNouns[r.IntN(len(enNouns))], strings.ToLower(brandWords[r.IntN(len(brandWords))]))
		for n := 2 + r.IntN(3); n > 0; n-- {
			s.targets = append(s.targets, -int32(r.IntN(len(p.exts)))-1)
		}
		if len(bigOrganic) > 0 && r.IntN(2) == 0 {
			s.targets = append(s.targets, bigOrganic[r.IntN(len(bigOrganic))])
		}
	}
}

func (p *plan) makeTags() {
	r := phaseRNG(p.cfg.Seed, 4)
	for i := 0; i < 300; i++ {
		p.genTags = append(p.genTags, camelTag(r))
	}
	if p.cfg.ViralFactor <= 0 {
		return
	}
	n := 3 + int(math.Round(12*p.cfg.ViralFactor))
	for i := 0; i < n; i++ {
		from := p.startMs + int64(r.IntN(p.cfg.Days))*msDay + r.Int64N(msDay)
		p.trends = append(p.trends, trend{
			tag:  camelTag(r),
			from: from,
			to:   min(from+int64(1+r.IntN(6))*msDay, p.endMs),
		})
	}
}

// makeActivity draws every account's activity level, and marks the eager
// accounts (about 15%): heavy users who retweet and share popular items
// within seconds of seeing them. They are what makes viral organic activity
// look coordinated to a method that only counts co-shares in a window.
func (p *plan) makeActivity() {
	r := phaseRNG(p.cfg.Seed, 10)
	n := len(p.accts)
	p.activity = make([]float64, n)
	p.cumActivity = make([]float64, n)
	p.eager = make([]bool, n)
	var sum float64
	for i := range p.activity {
		w := lognormal(r, 1, 1.0)
		if r.IntN(100) < 15 {
			p.eager[i] = true
			w = float64(2 * w)
		}
		p.activity[i] = w
		sum += w
		p.cumActivity[i] = sum
	}
}

// fastProb is the chance that an account's share of a popular item is one
// of the first, seconds-to-minutes reactions.
func (p *plan) fastProb(a int32) int {
	if p.eager[a] {
		return 60
	}
	return 5
}

// weightedSample returns k distinct accounts other than skip, drawn with
// probability proportional to 0.5 + activity.
func (p *plan) weightedSample(r *rand.Rand, k int, skip int32) []int32 {
	n := len(p.accts)
	m := n
	if skip >= 0 {
		m--
	}
	k = min(k, m)
	total := p.cumActivity[n-1] + float64(n)/2
	in := make(map[int32]bool, k+1)
	if skip >= 0 {
		in[skip] = true
	}
	out := make([]int32, 0, k)
	for tries := 0; len(out) < k && tries < 30*k; tries++ {
		x := float64(r.Float64() * total)
		// Smallest i with cumActivity[i] + (i+1)/2 > x.
		i := int32(sort.Search(n, func(i int) bool { return p.cumActivity[i]+float64(i+1)/2 > x }))
		if i >= int32(n) {
			i = int32(n - 1)
		}
		if !in[i] {
			in[i] = true
			out = append(out, i)
		}
	}
	for i := int32(r.IntN(n)); len(out) < k; i = (i + 1) % int32(n) {
		if !in[i] {
			in[i] = true
			out = append(out, i)
		}
	}
	return out
}

// ---- posts ----

// within returns t0 + d, folded back into the activity window if it would
// fall after its end; the result is never before t0.
func (p *plan) within(t0, d int64) int64 {
	if d < 0 {
		d = 0
	}
	if t0 >= p.endMs {
		t0 = p.endMs - 1
	}
	t := t0 + d
	if t < p.endMs {
		return t
	}
	span := p.endMs - t0
	if span <= 1 {
		return t0
	}
	return t0 + 1 + d%(span-1)
}

func (p *plan) add(r *rand.Rand, ms int64, acct int32, k kind, ref, ev int32) int32 {
	p.recs = append(p.recs, rec{ms: ms, seed: r.Uint64(), acct: acct, ref: ref, ev: ev, kind: k})
	return int32(len(p.recs) - 1)
}

// addC adds a post that belongs to a squad action.
func (p *plan) addC(r *rand.Rand, ms int64, acct int32, k kind, ref, ev int32) int32 {
	i := p.add(r, ms, acct, k, ref, ev)
	p.recs[i].coord = true
	return i
}

// organicTime draws a post time for an account: any day, around its peak hour.
func (p *plan) organicTime(r *rand.Rand, a *account) int64 {
	day := int64(r.IntN(p.cfg.Days))
	h := (int(a.peak) + int(math.Round(float64(3.5*normal(r)))) + 48) % 24
	return p.startMs + day*msDay + int64(h)*msHour + r.Int64N(msHour)
}

func (p *plan) planPosts() {
	cfg := p.cfg
	nAcc := len(p.accts)
	nSquadAcc := 0
	for _, s := range p.squads {
		nSquadAcc += len(s.members)
	}
	// Budgets of squad actions, viral retweets and news shares. The explicit
	// float64 conversions keep the compiler from fusing them into FMAs.
	cb := float64(float64(cfg.Posts) * float64(nSquadAcc) / float64(nAcc) * 0.75)
	vb := float64(float64(cfg.Posts) * 0.06 * cfg.ViralFactor)
	nb := float64(float64(cfg.Posts) * 0.02 * cfg.ViralFactor)
	if limit := float64(cfg.Posts - 2*nAcc); cb+vb+nb > limit {
		f := limit / (cb + vb + nb)
		cb, vb, nb = float64(cb*f), float64(vb*f), float64(nb*f)
	}
	p.recs = make([]rec, 0, cfg.Posts)
	p.planSquads(int(cb))
	if cfg.Media.enabled() {
		p.planImageSquads()
	}
	p.planVirals(int(vb))
	p.planNews(int(nb))
	p.planOrganic(cfg.Posts - len(p.recs))
	if cfg.Media.enabled() {
		p.planMedia()
	}
}

// delaySquad is the delay of a squad member after the first post of an
// action: seconds mostly, with a few stragglers minutes later.
func delaySquad(r *rand.Rand, mean float64) int64 {
	if r.IntN(100) < 10 {
		return int64(lognormal(r, 240, 1.0) * 1000)
	}
	d := 500 + expo(r, mean*1000)
	return int64(math.Min(d, 52000))
}

func (p *plan) planSquads(budget int) {
	if len(p.squads) == 0 || budget <= 0 {
		return
	}
	r := phaseRNG(p.cfg.Seed, 5)
	total := 0
	for _, s := range p.squads {
		total += len(s.members)
	}
	for si := range p.squads {
		s := &p.squads[si]
		sb := budget * len(s.members) / total
		amps := s.members[s.nOrig:]
		pick := make([]int32, len(amps))
		for used := 0; used < sb; {
			beh := s.behaviours[r.IntN(len(s.behaviours))]
			day := int64(r.IntN(p.cfg.Days))
			hour := int64((s.peak + r.IntN(9) - 4 + 24) % 24)
			t := p.startMs + day*msDay + hour*msHour + r.Int64N(msHour)
			if t > p.endMs-msHour {
				t = p.endMs - msHour
			}
			orig := s.members[r.IntN(s.nOrig)]
			copy(pick, amps)
			r.Shuffle(len(pick), func(i, j int) { pick[i], pick[j] = pick[j], pick[i] })
			k := int(math.Round(float64(len(amps)) * (0.4 + float64(0.6*r.Float64()))))
			k = clampInt(k, min(2, len(amps)), len(amps))
			parts := append([]int32(nil), pick[:k]...)
			for _, o := range s.members[:s.nOrig] {
				if o != orig && r.IntN(2) == 0 {
					parts = append(parts, o)
				}
			}
			a := action{ms: t, seed: r.Uint64(), squad: int32(si), beh: beh, target: -1, ext: -1}
			ai := int32(len(p.actions))
			switch beh {
			case behCopy, behPara:
				if r.IntN(10) < 6 {
					a.url = p.squadURL(r, s)
				}
				kd := kCopy
				mean := 7.0
				if beh == behPara {
					kd, mean = kPara, 12
				}
				p.addC(r, t, orig, kd, -1, ai)
				for _, m := range parts {
					p.addC(r, t+delaySquad(r, mean), m, kd, -1, ai)
				}
			case behLink:
				a.url = p.squadURL(r, s)
				a.title = titleCase(enSentenceWords(r, 6+r.IntN(6)))
				p.addC(r, t, orig, kLink, -1, ai)
				for _, m := range parts {
					p.addC(r, t+delaySquad(r, 8), m, kLink, -1, ai)
				}
			case behHashSeq:
				perm := r.Perm(len(s.hashtags))
				n := min(5+r.IntN(4), len(s.hashtags))
				for _, j := range perm[:n] {
					a.tags = append(a.tags, s.hashtags[j])
				}
				p.addC(r, t, orig, kHashSeq, -1, ai)
				for _, m := range parts {
					d := int64(math.Min(expo(r, 30*60*1000), 10*3600*1000))
					p.addC(r, p.within(t, d), m, kHashSeq, -1, ai)
				}
			case behRetweet:
				first := t + int64(lognormal(r, 90, 1.0)*1000)
				if r.IntN(10) < 6 {
					a.target = p.addC(r, t, orig, kSquadPost, -1, ai)
				} else {
					e := p.newExtTweet(r, t, -int32(1+r.IntN(len(p.exts))))
					for _, tg := range s.targets {
						if tg < 0 && r.IntN(2) == 0 {
							p.extTweets[e].author = -tg - 1
							break
						}
					}
					p.addC(r, p.within(first, 0), orig, kRetweetExt, -1, e)
					a.ext = e
				}
				for _, m := range parts {
					ms := p.within(first, delaySquad(r, 6))
					if a.target >= 0 {
						p.addC(r, ms, m, kRetweet, a.target, -1)
					} else {
						p.addC(r, ms, m, kRetweetExt, -1, a.ext)
					}
				}
			}
			used += 1 + len(parts)
			p.actions = append(p.actions, a)
		}
	}
}

func (p *plan) squadURL(r *rand.Rand, s *squad) string {
	if r.IntN(4) == 0 {
		return shortenerHosts[r.IntN(len(shortenerHosts))] + randCode(r, 6+r.IntN(2))
	}
	u := fmt.Sprintf("https://%s/%s/%s-%d", s.domain, strings.ToLower(enNouns[r.IntN(len(enNouns))]), enAdjs[r.IntN(len(enAdjs))], 1000+r.IntN(9000))
	if r.IntN(2) == 0 {
		u += "?utm_source=twitter&utm_medium=social"
	}
	return u
}

// newExtTweet adds an external tweet by external account author (-(i+1)) and
// returns its index.
func (p *plan) newExtTweet(r *rand.Rand, ms int64, author int32) int32 {
	id := (ms-twitterEpoch)<<22 | int64(r.Uint64()&(1<<21-1)) | 1<<21
	p.extTweets = append(p.extTweets, extTweet{ms: ms, id: id, seed: r.Uint64(), author: -author - 1})
	return int32(len(p.extTweets) - 1)
}

func (p *plan) planVirals(budget int) {
	r := phaseRNG(p.cfg.Seed, 6)
	nAcc := len(p.accts)
	var big []int32
	for i := range p.accts {
		if p.accts[i].role == roleOrganic && !p.accts[i].hashed {
			big = append(big, int32(i))
		}
	}
	for used := 0; used < budget; {
		k := clampInt(int(lognormal(r, 60, 0.7)), 20, 500)
		k = min(k, nAcc*6/10, budget-used)
		if k < 5 {
			break
		}
		t0 := p.startMs + r.Int64N(int64(p.cfg.Days-1)*msDay)
		ev := viralEvent{rec: -1, ext: -1, shares: k}
		vi := int32(len(p.virals))
		skip := int32(-1)
		if len(big) > 0 && r.IntN(10) < 3 {
			skip = big[r.IntN(len(big))]
			ev.rec = p.add(r, t0, skip, kViralOwn, -1, vi)
			used++
		} else {
			// Popular external accounts: the first tenth of the list.
			ev.ext = p.newExtTweet(r, t0, -int32(1+r.IntN(max(1, len(p.exts)/10))))
		}
		for _, a := range p.weightedSample(r, k, skip) {
			var d int64
			if r.IntN(100) < p.fastProb(a) {
				d = int64(expo(r, 30_000))
			} else {
				d = int64(lognormal(r, 50*60, 1.3) * 1000)
			}
			ms := p.within(t0+1000, d)
			if ev.rec >= 0 {
				p.add(r, ms, a, kRetweet, ev.rec, -1)
			} else {
				p.add(r, ms, a, kRetweetExt, -1, ev.ext)
			}
		}
		used += k
		p.virals = append(p.virals, ev)
	}
}

func (p *plan) planNews(budget int) {
	r := phaseRNG(p.cfg.Seed, 7)
	nAcc := len(p.accts)
	for used := 0; used < budget; {
		k := clampInt(int(lognormal(r, 35, 0.8)), 8, 300)
		k = min(k, nAcc/2, budget-used)
		if k < 4 {
			break
		}
		t0 := p.startMs + r.Int64N(int64(p.cfg.Days-1)*msDay)
		dom := newsDomains[r.IntN(len(newsDomains))]
		day := time.UnixMilli(t0).UTC()
		words := enSentenceWords(r, 6+r.IntN(7))
		slug := strings.Join(strings.Fields(strings.ToLower(strings.Join(words[:min(5, len(words))], " "))), "-")
		u := fmt.Sprintf("https://%s/%04d/%02d/%s-%d", dom, day.Year(), int(day.Month()), slug, 100+r.IntN(900))
		if r.IntN(10) < 7 {
			u += "?utm_source=twitter"
		}
		ni := int32(len(p.news))
		p.news = append(p.news, newsItem{url: u, headline: titleCase(words), domain: dom})
		for _, a := range p.weightedSample(r, k, -1) {
			var d int64
			if r.IntN(100) < p.fastProb(a) {
				d = int64(expo(r, 60_000))
			} else {
				d = int64(lognormal(r, 75*60, 1.2) * 1000)
			}
			p.add(r, p.within(t0+5000, d), a, kNews, -1, ni)
		}
		used += k
	}
}

func (p *plan) planOrganic(budget int) {
	r := phaseRNG(p.cfg.Seed, 8)
	nAcc := len(p.accts)
	weights := p.activity
	sum := p.cumActivity[nAcc-1]
	rest := budget - nAcc
	if rest < 0 {
		rest = 0
	}
	type pending struct {
		acct int32
		k    kind
	}
	var later []pending
	var cum float64
	assigned := 0
	for i := range p.accts {
		cum += weights[i]
		upto := int(float64(rest) * (cum / sum))
		if i == nAcc-1 {
			upto = rest
		}
		n := 1 + upto - assigned
		assigned = upto
		a := &p.accts[i]
		for ; n > 0; n-- {
			u := r.IntN(100)
			switch {
			case u < 60:
				p.add(r, p.organicTime(r, a), int32(i), kOwn, -1, -1)
			case u < 86:
				later = append(later, pending{int32(i), kRetweet})
			case u < 97:
				later = append(later, pending{int32(i), kReply})
			default:
				later = append(later, pending{int32(i), kQuote})
			}
		}
	}
	var pool, popular []int32
	for i, rc := range p.recs {
		if rc.kind == kOwn || rc.kind == kViralOwn {
			pool = append(pool, int32(i))
			if p.accts[rc.acct].followers >= 2000 {
				popular = append(popular, int32(i))
			}
		}
	}
	pick := func(self int32) int32 {
		for try := 0; try < 6 && len(pool) > 0; try++ {
			var c int32
			if len(popular) > 0 && r.IntN(10) < 4 {
				c = popular[r.IntN(len(popular))]
			} else {
				c = pool[r.IntN(len(pool))]
			}
			if p.recs[c].acct != self {
				return c
			}
		}
		return -1
	}
	for _, pd := range later {
		a := &p.accts[pd.acct]
		switch pd.k {
		case kRetweet:
			c := int32(-1)
			if r.IntN(100) >= 15 {
				c = pick(pd.acct)
			}
			if c < 0 {
				t0 := p.organicTime(r, a) - int64(lognormal(r, 3600, 1.0)*1000)
				t0 = max(t0, p.startMs-msDay)
				e := p.newExtTweet(r, t0, -int32(1+r.IntN(len(p.exts))))
				p.add(r, p.within(max(t0, p.startMs), int64(lognormal(r, 30*60, 1.5)*1000)), pd.acct, kRetweetExt, -1, e)
				continue
			}
			p.add(r, p.within(p.recs[c].ms, int64(lognormal(r, 40*60, 1.6)*1000)), pd.acct, kRetweet, c, -1)
		case kReply:
			c := int32(-1)
			if r.IntN(10) < 6 {
				c = pick(pd.acct)
			}
			if c < 0 {
				p.add(r, p.organicTime(r, a), pd.acct, kReply, -1, -1)
				continue
			}
			p.add(r, p.within(p.recs[c].ms, int64(lognormal(r, 20*60, 1.4)*1000)), pd.acct, kReply, c, -1)
		case kQuote:
			c := pick(pd.acct)
			if c < 0 {
				p.add(r, p.organicTime(r, a), pd.acct, kOwn, -1, -1)
				continue
			}
			p.add(r, p.within(p.recs[c].ms, int64(lognormal(r, 2*3600, 1.3)*1000)), pd.acct, kQuote, c, -1)
		}
	}
}

// idxBits is the number of low bits of a sort key that hold a post index
// (maxPosts < 1<<idxBits); the bits above hold the millisecond offset from
// the start of the window, which is below 1<<36 for any valid config.
const idxBits = 28

// timeKey packs a post's time and index into one sortable integer.
func (p *plan) timeKey(i int) uint64 {
	return uint64(p.recs[i].ms-p.startMs)<<idxBits | uint64(i)
}

// assignIDs gives every post a unique snowflake id encoding its millisecond.
// Archive posts keep bit 21 clear; external tweets set it, so they never
// collide.
func (p *plan) assignIDs() {
	r := phaseRNG(p.cfg.Seed, 9)
	keys := make([]uint64, len(p.recs))
	for i := range keys {
		keys[i] = p.timeKey(i)
	}
	slices.Sort(keys)
	var used []int64
	var curMs int64 = math.MinInt64
	for _, k := range keys {
		rc := &p.recs[k&(1<<idxBits-1)]
		if rc.ms != curMs {
			curMs = rc.ms
			used = used[:0]
		}
		var low int64
	draw:
		for {
			low = int64(r.Uint64() & (1<<21 - 1))
			for _, u := range used {
				if u == low {
					continue draw
				}
			}
			break
		}
		used = append(used, low)
		rc.id = (rc.ms-twitterEpoch)<<22 | low
	}
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// makeOrder sorts accounts by userid and posts by account (in that order),
// then time, then plan index: the order both files are written in.
func (p *plan) makeOrder() {
	n := len(p.accts)
	p.acctOrder = make([]int32, n)
	for i := range p.acctOrder {
		p.acctOrder[i] = int32(i)
	}
	slices.SortFunc(p.acctOrder, func(a, b int32) int { return strings.Compare(p.accts[a].id, p.accts[b].id) })
	rank := make([]int32, n)
	for r, a := range p.acctOrder {
		rank[a] = int32(r)
	}
	// Counting sort by account rank, then sort each account's posts by time.
	starts := make([]int, n+1)
	for i := range p.recs {
		starts[rank[p.recs[i].acct]+1]++
	}
	for r := 1; r <= n; r++ {
		starts[r] += starts[r-1]
	}
	pos := slices.Clone(starts[:n])
	keys := make([]uint64, len(p.recs))
	for i := range p.recs {
		r := rank[p.recs[i].acct]
		keys[pos[r]] = p.timeKey(i)
		pos[r]++
	}
	p.order = make([]int32, len(p.recs))
	for r := 0; r < n; r++ {
		slices.Sort(keys[starts[r]:starts[r+1]])
	}
	for i, k := range keys {
		p.order[i] = int32(k & (1<<idxBits - 1))
	}
}
