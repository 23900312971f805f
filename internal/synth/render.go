package synth

import (
	"bytes"
	"math/rand/v2"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// content is the rendered text and entity lists of one post.
type content struct {
	text  []byte
	tags  []string
	urls  []string
	ments []string
	lang  string
}

func (c *content) reset() {
	c.text = c.text[:0]
	c.tags = c.tags[:0]
	c.urls = c.urls[:0]
	c.ments = c.ments[:0]
	c.lang = ""
}

// row is everything of one tweets-file row besides the account's profile.
type row struct {
	c                      content
	client                 string
	replyUser, replyTweet  string
	quoted                 string
	isRetweet              bool
	rtUser, rtTweet        string
	latlon                 string
	quotes, replies, likes int64
	retweets               int64
	emptyStyle             [3]bool // per list: true writes "[]", false ""
}

// renderer turns planned records into rows. Every record is rendered from
// its own seed, so a retweet can re-render its original exactly.
type renderer struct {
	p   *plan
	src *rand.PCG
	r   *rand.Rand
	row row
	tmp []byte
	tok []string
}

func newRenderer(p *plan) *renderer {
	src := rand.NewPCG(0, 0)
	return &renderer{p: p, src: src, r: rand.New(src)}
}

// Salts keep the streams of a record, its action and its external tweet apart.
const (
	saltRec    = 0x52454331
	saltAction = 0x41435431
	saltExt    = 0x45585431
)

func (rd *renderer) reseed(seed, salt uint64) {
	rd.src.Seed(uint64(rd.p.cfg.Seed)^salt, seed)
}

// ---- text helpers ----

func pick(r *rand.Rand, list []string) string { return list[r.IntN(len(list))] }

func enClause(r *rand.Rand, out []string) []string {
	if r.IntN(3) > 0 {
		out = append(out, pick(r, enDets))
	}
	if r.IntN(2) == 0 {
		out = append(out, pick(r, enAdjs))
	}
	out = append(out, pick(r, enNouns))
	if r.IntN(4) == 0 {
		out = append(out, pick(r, enAdvs))
	}
	out = append(out, pick(r, enVerbs), pick(r, enDets))
	if r.IntN(2) == 0 {
		out = append(out, pick(r, enAdjs))
	}
	out = append(out, pick(r, enNouns))
	if r.IntN(3) == 0 {
		out = append(out, pick(r, enPreps), pick(r, enDets), pick(r, enNouns))
	}
	return out
}

// enSentenceWords returns n English-looking words.
func enSentenceWords(r *rand.Rand, n int) []string {
	var out []string
	for len(out) < n {
		out = enClause(r, out)
	}
	return out[:n]
}

// langWords returns n words of a language's list (English uses clauses).
func langWords(r *rand.Rand, lang uint8, n int, out []string) []string {
	var list []string
	switch lang {
	case langRU:
		list = ruWords
	case langES:
		list = esWords
	case langDE:
		list = deWords
	default:
		for len(out) < n {
			out = enClause(r, out)
		}
		return out[:n]
	}
	for ; n > 0; n-- {
		out = append(out, pick(r, list))
	}
	return out
}

func titleCase(words []string) string {
	var b strings.Builder
	for i, w := range words {
		if i > 0 {
			b.WriteByte(' ')
		}
		if i == 0 || len(w) > 3 {
			b.WriteString(strings.ToUpper(w[:1]))
			b.WriteString(w[1:])
		} else {
			b.WriteString(w)
		}
	}
	return b.String()
}

// capFirst upper-cases the first rune of b[from:].
func capFirst(b []byte, from int) []byte {
	if from >= len(b) {
		return b
	}
	c, n := utf8.DecodeRune(b[from:])
	u := unicode.ToUpper(c)
	if u == c || utf8.RuneLen(u) != n {
		return b
	}
	utf8.EncodeRune(b[from:], u)
	return b
}

var punct = []string{".", ".", "!", "?", "", "...", "!!", "."}

// appendSentence appends one sentence in the given language.
func appendSentence(r *rand.Rand, b []byte, lang uint8) []byte {
	start := len(b)
	if lang == langEN {
		if r.IntN(12) == 0 {
			b = append(b, pick(r, enInterj)...)
			b = append(b, ", "...)
		}
		var words [24]string
		ws := enClause(r, words[:0])
		if r.IntN(3) == 0 {
			ws = append(ws, pick(r, []string{"and", "but", "so", "because", "while", "&amp;"}))
			ws = enClause(r, ws)
		}
		b = appendWords(b, ws)
	} else {
		var words [24]string
		ws := langWords(r, lang, 4+r.IntN(12), words[:0])
		b = appendWords(b, ws)
	}
	b = capFirst(b, start)
	return append(b, pick(r, punct)...)
}

func tco(r *rand.Rand, b []byte) []byte {
	b = append(b, "https://t.co/"...)
	for i := 0; i < 10; i++ {
		b = append(b, tcoAlphabet[r.IntN(len(tcoAlphabet))])
	}
	return b
}

func sep(b []byte) []byte {
	if len(b) > 0 && b[len(b)-1] != '\n' && b[len(b)-1] != ' ' {
		b = append(b, ' ')
	}
	return b
}

// mention returns the text name and user id of a mention target (>= 0 an
// archive account, < 0 an external account -(i+1)).
func (p *plan) mention(t int32) (name, id string) {
	if t >= 0 {
		a := &p.accts[t]
		return a.screen, a.id
	}
	e := &p.exts[-t-1]
	return e.screen, e.id
}

func (rd *renderer) randomTarget() int32 {
	r := rd.r
	if r.IntN(2) == 0 {
		return int32(r.IntN(len(rd.p.accts)))
	}
	return -int32(r.IntN(len(rd.p.exts))) - 1
}

func (rd *renderer) appendMention(c *content, t int32) {
	name, id := rd.p.mention(t)
	c.text = sep(c.text)
	c.text = append(c.text, '@')
	c.text = append(c.text, name...)
	c.ments = append(c.ments, id)
}

func (rd *renderer) appendTag(c *content, tag string) {
	c.text = sep(c.text)
	c.text = append(c.text, '#')
	c.text = append(c.text, tag...)
	c.tags = append(c.tags, tag)
}

func (rd *renderer) appendURL(c *content, u string) {
	c.text = sep(c.text)
	c.text = tco(rd.r, c.text)
	c.urls = append(c.urls, u)
}

func (rd *renderer) randomURL() string {
	r := rd.r
	if r.IntN(2) == 0 {
		return pick(r, shortenerHosts) + randCode(r, 6+r.IntN(2))
	}
	ws := enSentenceWords(r, 3+r.IntN(3))
	u := "https://" + pick(r, newsDomains) + "/2019/" + strconv.Itoa(1+r.IntN(12)) + "/" + strings.Join(ws, "-") + "-" + strconv.Itoa(100+r.IntN(900))
	if r.IntN(3) == 0 {
		u += "?utm_source=twitter"
	}
	return u
}

// trendAt returns a trending hashtag active at ms, or "".
func (rd *renderer) trendAt(ms int64) string {
	tr := rd.p.trends
	if len(tr) == 0 {
		return ""
	}
	off := rd.r.IntN(len(tr))
	for i := range tr {
		t := &tr[(i+off)%len(tr)]
		if ms >= t.from && ms < t.to {
			return t.tag
		}
	}
	return ""
}

// ---- organic text ----

// organic renders an organic-looking post of account a at ms into c.
func (rd *renderer) organic(c *content, a *account, ms int64) {
	r := rd.r
	c.lang = langCodes[a.lang]
	nl := r.IntN(100) < 14
	if r.IntN(100) < 2 {
		c.text = append(c.text, pick(r, stockPhrases)...)
		c.lang = "en"
	} else {
		n := 1 + weighted(r, []int{55, 35, 10})
		if nl && n == 1 {
			n = 2
		}
		for i := 0; i < n; i++ {
			if i > 0 {
				if nl && i == 1 {
					c.text = append(c.text, pick(r, []string{"\n", "\n\n", "\n"})...)
				} else {
					c.text = append(c.text, ' ')
				}
			}
			c.text = appendSentence(r, c.text, a.lang)
		}
	}
	if r.IntN(100) < 12 {
		for n := 1 + r.IntN(2); n > 0; n-- {
			rd.appendMention(c, rd.randomTarget())
		}
	}
	if r.IntN(100) < 15 {
		c.text = sep(c.text)
		c.text = append(c.text, pick(r, emojis)...)
	}
	if float64(r.IntN(1000)) < 120*rd.p.cfg.ViralFactor {
		if t := rd.trendAt(ms); t != "" {
			rd.appendTag(c, t)
		}
	}
	if r.IntN(100) < 12 {
		for n := 1 + r.IntN(3); n > 0; n-- {
			rd.appendTag(c, pick(r, rd.p.genTags))
		}
	}
	if r.IntN(100) < 14 {
		rd.appendURL(c, rd.randomURL())
	}
	if r.IntN(100) < 2 {
		c.lang = "und"
	}
}

// ---- squad text ----

func caseVariant(r *rand.Rand, b []byte) []byte {
	switch u := r.IntN(10); {
	case u < 5:
		return b
	case u < 6:
		return bytes.ToUpper(b)
	case u < 8:
		return bytes.ToLower(b)
	case u < 9:
		return titleWords(b)
	default:
		if len(b) > 0 {
			c, n := utf8.DecodeRune(b)
			l := unicode.ToLower(c)
			if utf8.RuneLen(l) == n {
				utf8.EncodeRune(b, l)
			}
		}
		return b
	}
}

// titleWords upper-cases the first letter of every word of b.
func titleWords(b []byte) []byte {
	out := make([]byte, 0, len(b))
	startWord := true
	for len(b) > 0 {
		c, n := utf8.DecodeRune(b)
		if startWord {
			c = unicode.ToUpper(c)
		}
		out = utf8.AppendRune(out, c)
		startWord = c == ' ' || c == '\n'
		b = b[n:]
	}
	return out
}

// squadBody appends the action's shared text (drawn from the action seed).
func (rd *renderer) squadBody(b []byte, lang uint8, minW, maxW int) []byte {
	r := rd.r
	start := len(b)
	rd.tok = langWords(r, lang, minW+r.IntN(maxW-minW+1), rd.tok[:0])
	b = appendWords(b, rd.tok)
	b = capFirst(b, start)
	return append(b, pick(r, []string{".", "!", "!!", "."})...)
}

func (rd *renderer) copyPaste(c *content, rc *rec, a *account) {
	p := rd.p
	act := &p.actions[rc.ev]
	s := &p.squads[act.squad]
	r := rd.r
	// Shared part.
	rd.reseed(act.seed, saltAction)
	body := rd.squadBody(rd.tmp[:0], s.lang, 12, 22)
	var tags [2]string
	nt := r.IntN(3)
	for i := 0; i < nt; i++ {
		tags[i] = pick(r, s.hashtags)
	}
	nl := r.IntN(100) < 15
	// Per-copy variation.
	rd.reseed(rc.seed, saltRec)
	lead := rc.ms == act.ms // the first post of the action keeps the text as is
	if !lead {
		body = caseVariant(r, body)
	}
	rd.tmp = body[:0]
	c.lang = langCodes[s.lang]
	mv := r.IntN(5)
	if mv == 1 || mv == 2 {
		for i := 0; i < mv && i < len(s.targets); i++ {
			rd.appendMention(c, s.targets[(i+int(rc.seed>>40))%len(s.targets)])
		}
		c.text = append(c.text, ' ')
	}
	c.text = append(c.text, body...)
	if nl {
		c.text = append(c.text, '\n')
	}
	for _, t := range tags[:nt] {
		rd.appendTag(c, t)
	}
	if act.url != "" {
		u := act.url
		if r.IntN(10) >= 7 {
			u = pick(r, shortenerHosts) + randCode(r, 7)
		}
		rd.appendURL(c, u)
	}
	if mv == 3 && len(s.targets) > 0 {
		rd.appendMention(c, s.targets[r.IntN(len(s.targets))])
	}
}

func (rd *renderer) paraphrase(c *content, rc *rec, a *account) {
	p := rd.p
	act := &p.actions[rc.ev]
	s := &p.squads[act.squad]
	r := rd.r
	rd.reseed(act.seed, saltAction)
	n := 16 + r.IntN(7)
	rd.tok = langWords(r, s.lang, n, rd.tok[:0])
	end := pick(r, []string{".", "!", "!!"})
	tag := ""
	if r.IntN(2) == 0 {
		tag = pick(r, s.hashtags)
	}
	rd.reseed(rc.seed, saltRec)
	if rc.ms != act.ms { // the first post of the action keeps the template as is
		swaps := 1
		if r.IntN(4) == 0 {
			swaps = 2
		}
		var alt [2]string
		repl := langWords(r, s.lang, swaps, alt[:0])
		for i := 0; i < swaps; i++ {
			rd.tok[r.IntN(n)] = repl[i]
		}
	}
	c.lang = langCodes[s.lang]
	start := len(c.text)
	c.text = appendWords(c.text, rd.tok)
	c.text = capFirst(c.text, start)
	c.text = append(c.text, end...)
	if tag != "" {
		rd.appendTag(c, tag)
	}
	if act.url != "" {
		rd.appendURL(c, act.url)
	}
}

func (rd *renderer) linkPush(c *content, rc *rec, a *account) {
	p := rd.p
	act := &p.actions[rc.ev]
	s := &p.squads[act.squad]
	r := rd.r
	rd.reseed(rc.seed, saltRec)
	c.lang = langCodes[s.lang]
	comment := r.IntN(10) < 6
	title := r.IntN(2) == 0 || !comment
	if comment {
		rd.tok = langWords(r, s.lang, 3+r.IntN(6), rd.tok[:0])
		start := len(c.text)
		c.text = appendWords(c.text, rd.tok)
		c.text = capFirst(c.text, start)
		c.text = append(c.text, pick(r, []string{":", "!", " -", "."})...)
	} else {
		c.lang = "en"
	}
	if title {
		c.text = sep(c.text)
		c.text = append(c.text, act.title...)
	}
	rd.appendURL(c, act.url)
}

func (rd *renderer) hashSeq(c *content, rc *rec, a *account) {
	p := rd.p
	act := &p.actions[rc.ev]
	s := &p.squads[act.squad]
	r := rd.r
	rd.reseed(rc.seed, saltRec)
	c.lang = "und"
	if r.IntN(2) == 0 {
		c.lang = langCodes[s.lang]
		rd.tok = langWords(r, s.lang, 2+r.IntN(6), rd.tok[:0])
		start := len(c.text)
		c.text = appendWords(c.text, rd.tok)
		c.text = capFirst(c.text, start)
		if r.IntN(10) < 3 {
			c.text = append(c.text, '\n')
		}
	}
	for _, t := range act.tags {
		rd.appendTag(c, t)
	}
}

func (rd *renderer) squadPost(c *content, rc *rec, a *account) {
	p := rd.p
	act := &p.actions[rc.ev]
	s := &p.squads[act.squad]
	r := rd.r
	rd.reseed(act.seed, saltAction)
	c.lang = langCodes[s.lang]
	c.text = rd.squadBody(c.text, s.lang, 10, 20)
	if r.IntN(2) == 0 {
		rd.appendTag(c, pick(r, s.hashtags))
	}
	if r.IntN(10) < 4 {
		rd.appendURL(c, pick(r, shortenerHosts)+randCode(r, 7))
	}
}

func (rd *renderer) news(c *content, rc *rec, a *account) {
	r := rd.r
	item := &rd.p.news[rc.ev]
	c.lang = "en"
	u := item.url
	switch x := r.IntN(100); {
	case x < 12:
		u = strings.SplitN(u, "?", 2)[0] + "?utm_source=twitter&utm_medium=social&utm_campaign=share"
	case x < 20:
		u = pick(r, shortenerHosts) + randCode(r, 7)
	}
	switch x := r.IntN(100); {
	case x < 40: // share button: the headline alone
		c.text = append(c.text, item.headline...)
	case x < 70:
		c.text = appendSentence(r, c.text, a.lang)
		c.text = append(c.text, pick(r, []string{" ", "\n", " ", " "})...)
		c.text = append(c.text, item.headline...)
		c.lang = langCodes[a.lang]
	case x < 90:
		c.text = appendSentence(r, c.text, a.lang)
		c.lang = langCodes[a.lang]
	default:
		c.text = append(c.text, item.headline...)
		c.text = append(c.text, " | "...)
		c.text = append(c.text, item.domain...)
	}
	rd.appendURL(c, u)
}

// extContent renders the external tweet e.
func (rd *renderer) extContent(c *content, e *extTweet) {
	rd.reseed(e.seed, saltExt)
	r := rd.r
	c.lang = "en"
	c.text = appendSentence(r, c.text, langEN)
	if r.IntN(2) == 0 {
		c.text = append(c.text, ' ')
		c.text = appendSentence(r, c.text, langEN)
	}
	if r.IntN(10) < 3 {
		if t := rd.trendAt(e.ms); t != "" {
			rd.appendTag(c, t)
		}
	}
	if r.IntN(10) < 4 {
		rd.appendURL(c, rd.randomURL())
	}
}

// ---- records ----

// contentOf renders the text of an original (non-retweet) record i into c.
func (rd *renderer) contentOf(c *content, i int32) {
	p := rd.p
	rc := &p.recs[i]
	a := &p.accts[rc.acct]
	rd.reseed(rc.seed, saltRec)
	switch rc.kind {
	case kOwn, kViralOwn, kQuote:
		rd.organic(c, a, rc.ms)
	case kReply:
		rd.organic(c, a, rc.ms)
	case kNews:
		rd.news(c, rc, a)
	case kCopy:
		rd.copyPaste(c, rc, a)
	case kPara:
		rd.paraphrase(c, rc, a)
	case kLink:
		rd.linkPush(c, rc, a)
	case kHashSeq:
		rd.hashSeq(c, rc, a)
	case kSquadPost:
		rd.squadPost(c, rc, a)
	}
}

// render fills rd.row for record i.
func (rd *renderer) render(i int32) *row {
	p := rd.p
	rc := &p.recs[i]
	a := &p.accts[rc.acct]
	w := &rd.row
	w.c.reset()
	w.replyUser, w.replyTweet, w.quoted, w.rtUser, w.rtTweet = "", "", "", "", ""
	w.isRetweet = false
	w.quotes, w.replies, w.likes, w.retweets = 0, 0, 0, 0
	c := &w.c

	switch rc.kind {
	case kRetweet, kRetweetExt:
		var name, uid, tid string
		if rc.kind == kRetweet {
			orig := &p.recs[rc.ref]
			oa := &p.accts[orig.acct]
			name, uid, tid = oa.screen, oa.id, strconv.FormatInt(orig.id, 10)
			rd.contentOf(c, rc.ref)
		} else {
			e := &p.extTweets[rc.ev]
			ea := &p.exts[e.author]
			name, uid, tid = ea.screen, ea.id, strconv.FormatInt(e.id, 10)
			rd.extContent(c, e)
		}
		// "RT @name: " + original text; the retweeted account is the first mention.
		rd.tmp = append(rd.tmp[:0], c.text...)
		c.text = append(append(append(c.text[:0], "RT @"...), name...), ": "...)
		c.text = append(c.text, rd.tmp...)
		c.ments = append(c.ments, "")
		copy(c.ments[1:], c.ments)
		c.ments[0] = uid
		w.isRetweet, w.rtUser, w.rtTweet = true, uid, tid
		rd.reseed(rc.seed, saltRec)
	case kReply:
		rd.reseed(rc.seed, saltRec)
		r := rd.r
		var target int32
		if rc.ref >= 0 {
			orig := &p.recs[rc.ref]
			target = orig.acct
			w.replyTweet = strconv.FormatInt(orig.id, 10)
		} else {
			target = -int32(r.IntN(len(p.exts))) - 1
			ms := rc.ms - int64(lognormal(r, 1800, 1.2)*1000)
			w.replyTweet = strconv.FormatInt((ms-twitterEpoch)<<22|int64(r.Uint64()&(1<<21-1))|1<<21, 10)
		}
		name, uid := p.mention(target)
		w.replyUser = uid
		c.text = append(append(append(c.text, '@'), name...), ' ')
		c.ments = append(c.ments, uid)
		rd.organic(c, a, rc.ms)
		rd.counts(w, rc, a)
	case kQuote:
		rd.contentOf(c, i)
		orig := &p.recs[rc.ref]
		oa := &p.accts[orig.acct]
		w.quoted = strconv.FormatInt(orig.id, 10)
		rd.appendURL(c, "https://twitter.com/"+oa.screen+"/status/"+w.quoted)
		rd.counts(w, rc, a)
	default:
		rd.contentOf(c, i)
		rd.counts(w, rc, a)
	}
	r := rd.r
	w.client = rd.client(rc, a)
	switch x := r.IntN(100); {
	case x < 85:
		w.latlon = "absent"
	case x < 98:
		w.latlon = ""
	default:
		w.latlon = "present"
	}
	for k := range w.emptyStyle {
		w.emptyStyle[k] = r.IntN(5) > 0
	}
	return w
}

// counts sets engagement counts of an original post; retweets keep zeros.
func (rd *renderer) counts(w *row, rc *rec, a *account) {
	r := rd.r
	if rc.kind == kViralOwn {
		w.retweets = int64(rd.p.virals[rc.ev].shares) * int64(5+r.IntN(40))
		w.likes = w.retweets * int64(2+r.IntN(3))
		w.replies = w.retweets / int64(5+r.IntN(10))
		w.quotes = w.retweets / int64(10+r.IntN(20))
		return
	}
	base := float64(a.followers)/400 + 0.2
	likes := int64(lognormal(r, base, 1.1))
	if a.role == roleOriginator && rc.coord {
		likes = likes*3 + int64(r.IntN(20))
	}
	w.likes = likes
	w.retweets = likes * int64(r.IntN(40)) / 100
	w.replies = likes * int64(r.IntN(15)) / 100
	w.quotes = likes * int64(r.IntN(5)) / 100
}

func (rd *renderer) client(rc *rec, a *account) string {
	r := rd.r
	if a.squad >= 0 && rc.coord {
		if s := &rd.p.squads[a.squad]; s.client != "" && r.IntN(10) < 8 {
			return s.client
		}
	}
	if r.IntN(100) < 85 {
		return standardClients[a.client]
	}
	return standardClients[weighted(r, standardClientWeights)]
}

// appendWords appends the words to b, separated by single spaces.
func appendWords(b []byte, words []string) []byte {
	for i, w := range words {
		if i > 0 {
			b = append(b, ' ')
		}
		b = append(b, w...)
	}
	return b
}
