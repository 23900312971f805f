package summarize

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// chartWidth is the width, in CSS pixels, of every full-width chart.
const chartWidth = 960

// maxBars is the most bars the activity timeline draws; longer spans are
// bucketed into several days per bar.
const maxBars = 240

// ChartIDs lists the id of every chart report.html always contains, in page
// order. Tests (and anyone scripting against the report) can rely on them.
var ChartIDs = []string{
	"chart-timeline",
	"chart-creation",
	"chart-cluster-sizes",
	"chart-network",
	"chart-top-entities",
}

// ChartColours gives, for each chart, the colour of its data marks (the
// network's amplifiers, for chart-network). The browser test looks for them
// in a screenshot.
var ChartColours = []struct{ Chart, Colour string }{
	{"chart-timeline", colTimeline},
	{"chart-creation", colCreation},
	{"chart-cluster-sizes", colSizes},
	{"chart-network", colAmplifier},
	{"chart-top-entities", colEntity},
}

const htmlStyle = `body{font-family:"DejaVu Sans",Helvetica,Arial,sans-serif;color:#222;max-width:1000px;margin:24px auto;padding:0 16px;line-height:1.45}
h1{font-size:26px;margin-bottom:4px}h2{font-size:20px;margin-top:36px;border-bottom:1px solid #ddd;padding-bottom:4px}
table{border-collapse:collapse;margin:8px 0 16px;font-size:14px}td,th{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f4f4f4}td.n{text-align:right;font-variant-numeric:tabular-nums}tr.differs td{background:#fde2e1}
code{font-size:13px;background:#f4f4f4;padding:0 3px}.note{color:#555;font-size:13px}
svg.chart{display:block;max-width:100%;height:auto;margin:8px 0;font-family:"DejaVu Sans",Helvetica,Arial,sans-serif}
pre.cmd{background:#f4f4f4;padding:8px 10px;font-size:13px;white-space:pre-wrap;overflow-wrap:anywhere}td code{overflow-wrap:anywhere}td.id code{white-space:nowrap;overflow-wrap:normal}
.legend span{display:inline-block;margin-right:14px;font-size:13px}.legend i{display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:-1px}`

// htmlReport renders report.html: one self-contained file (inline CSS and
// SVG, no script, no external reference) whose bytes depend only on the
// results.
func (s *state) htmlReport(r *results) []byte {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	rel := &r.release

	w("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
	w("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
	w("<title>Release summary: %s</title>\n<style>\n%s\n</style>\n</head>\n<body>\n", esc(rel.Dataset), htmlStyle)
	w("<h1>Release summary: <code>%s</code></h1>\n", esc(rel.Dataset))
	w("<p class=\"note\">Written by the <code>%s</code> stage (version %d), run <code>%s</code>, from the dataset's canonical tables. "+
		"All times are UTC. The numbers are also in the stage's Parquet tables; the run id, "+
		"also in <code>takedown.lock</code> and the directory name, is what to cite. "+
		"The section Provenance at the end names every input and how to recompute this run.</p>\n",
		Name, Version, esc(s.provRows()[len(s.provRows())-1].runID))

	w("<h2 id=\"headline\">Headline numbers</h2>\n<table>\n")
	row := func(k, v string) { w("<tr><th>%s</th><td class=\"n\">%s</td></tr>\n", esc(k), esc(v)) }
	row("accounts", num(rel.Accounts))
	row("accounts in the users file", num(rel.AccountsInUsersFile))
	row("accounts seen only in posts", num(rel.AccountsOnlyInPosts))
	row("accounts with hashed ids", pct(rel.HashedShare))
	row("posts", num(rel.Posts))
	row("reposts", num(rel.Reposts)+" ("+pct(share(rel.Reposts, rel.Posts))+")")
	row("replies", num(rel.Replies)+" ("+pct(share(rel.Replies, rel.Posts))+")")
	row("first post", fmtOptTime(rel.FirstPostAt))
	row("last post", fmtOptTime(rel.LastPostAt))
	row("posts per active day", fixed2(rel.PostsPerActiveDay)+" over "+num(rel.ActiveDays)+" days")
	row("copy share", pct(rel.CopyShare)+" ("+num(rel.CopyPosts)+" posts)")
	row("likes received (sum over posts)", num(rel.LikesSum))
	row("reposts received (sum over posts)", num(rel.RepostsSum))
	row("account creation bursts", num(rel.CreationBursts)+" ("+num(rel.BurstAccounts)+" accounts)")
	row("clusters", num(rel.Clusters)+" ("+num(rel.ClusteredAccounts)+" accounts, "+pct(share(rel.ClusteredAccounts, rel.Accounts))+")")
	row("rejected records", num(rel.Rejects))
	w("</table>\n<p class=\"note\">Follower counts are a per-account snapshot: never sum per-post follower counts.</p>\n")

	if r.published != nil {
		s.htmlPublished(&b, r)
	}
	s.htmlCoordination(&b)

	w("<h2 id=\"activity\">Daily activity</h2>\n")
	w("<p>Posts per UTC day across the release.</p>\n")
	w("%s", s.timelineChart())

	w("<h2 id=\"creation\">Account creation</h2>\n")
	w("<p>Accounts created per month; months holding a creation burst (at least %d accounts "+
		"within %d days) are red.</p>\n", s.p.BurstMinAccounts, s.p.BurstDays)
	w("%s", creationChart(r))
	if len(r.bursts) > 0 {
		w("<table>\n<tr><th>first day</th><th>last day</th><th>accounts</th></tr>\n")
		for i, bu := range r.bursts {
			if i == reportBursts {
				break
			}
			w("<tr><td>%s</td><td>%s</td><td class=\"n\">%s</td></tr>\n", fmtDay(bu.firstDay), fmtDay(bu.lastDay), num(bu.accounts))
		}
		w("</table>\n")
	}

	w("<h2 id=\"clusters\">Clusters</h2>\n")
	w("<p>%s clusters hold %s accounts. Number of clusters by size (accounts):</p>\n",
		num(rel.Clusters), num(rel.ClusteredAccounts))
	w("%s", clusterSizeChart(r))
	if len(r.clusters) > 0 {
		w("<table>\n<tr><th>cluster</th><th>accounts</th><th>posts</th><th>signals</th><th>active</th><th>originators / amplifiers</th><th>top text</th></tr>\n")
		for _, v := range r.clusters[:min(len(r.clusters), s.p.TopN)] {
			text := ""
			if len(v.texts) > 0 {
				text = clip(v.texts[0].value, 90)
			}
			active := "no posts"
			if v.row.FirstAt != nil {
				active = fmtDay(dayOf(*v.row.FirstAt)) + " .. " + fmtDay(dayOf(*v.row.LastAt))
			}
			w("<tr><td><code>%s</code></td><td class=\"n\">%s</td><td class=\"n\">%s</td><td>%s</td><td>%s</td><td class=\"n\">%s / %s</td><td>%s</td></tr>\n",
				esc(v.row.ClusterID), num(v.row.Size), num(v.row.Posts), esc(strings.Join(v.signals, ", ")),
				active, num(v.row.Originators), num(v.row.Amplifiers), esc(text))
		}
		w("</table>\n")
	}

	s.htmlImages(&b, r)

	w("<h2 id=\"network\">Network of the largest clusters</h2>\n")
	w("<p>Each dot is an account, each line a pair of accounts tied by a signal. The layout is " +
		"force-directed from fixed starting points, so it is the same on every run.</p>\n")
	w("<div class=\"legend\">")
	for _, c := range []struct{ col, name string }{{colOriginator, "originator"}, {colAmplifier, "amplifier"}, {colOtherRole, "other role"}} {
		w("<span><i style=\"background:%s;border-radius:6px\"></i>%s</span>", c.col, c.name)
	}
	for _, sc := range signalColours {
		w("<span><i style=\"background:%s\"></i>%s</span>", sc.colour, sc.name)
	}
	w("</div>\n%s", networkChart(r))

	w("<h2 id=\"entities\">Top entities of the release</h2>\n")
	w("<p>Posts carrying each value (a value repeated within a post counts once); hashtags normalized as the fingerprint keys them (case-folded, NFKC, leading # dropped), domains registrable.</p>\n")
	w("%s", s.entityChart(r))

	w("<h2 id=\"rejects\">Rejected records</h2>\n")
	if s.rejects == 0 {
		w("<p>No records were rejected.</p>\n")
	} else {
		w("<table>\n<tr><th>reason</th><th>records</th></tr>\n")
		for _, e := range topN(s.rejectReasons, len(s.rejectReasons)) {
			w("<tr><td><code>%s</code></td><td class=\"n\">%s</td></tr>\n", esc(e.value), num(e.count))
		}
		w("</table>\n")
	}
	s.htmlSensitivity(&b, r)
	s.htmlProvenance(&b)
	w("</body>\n</html>\n")
	return []byte(b.String())
}

// htmlPublished renders the comparison with the published figures.
func (s *state) htmlPublished(b *strings.Builder, r *results) {
	differs := 0
	for _, c := range r.published {
		if c.Differs {
			differs++
		}
	}
	fmt.Fprintf(b, "<h2 id=\"published\">Published figures</h2>\n<p>%d of %d published figures differ from the computed ones (rows in red).</p>\n",
		differs, len(r.published))
	b.WriteString("<table>\n<tr><th>measure</th><th>published</th><th>computed</th><th>note</th></tr>\n")
	for _, c := range r.published {
		cls := ""
		if c.Differs {
			cls = ` class="differs"`
		}
		fmt.Fprintf(b, "<tr%s><td>%s</td><td class=\"n\">%s</td><td class=\"n\">%s</td><td>%s</td></tr>\n",
			cls, esc(c.Measure), esc(c.Published), esc(c.Computed), esc(c.Note))
	}
	b.WriteString("</table>\n")
}

// timelineChart draws posts per day (or per bucket of days) as bars.
func (s *state) timelineChart() string {
	svg := newSVG("chart-timeline", "posts per day", chartWidth, 320)
	frame := plotArea{0, 8, chartWidth, 312}
	days := s.rel.days
	if len(days) == 0 {
		svg.bars(frame, barSeries{xTitle: "day (UTC)", yTitle: "posts"})
		return svg.String()
	}
	var first, last int64
	n := 0
	for d := range days {
		if n == 0 || d < first {
			first = d
		}
		if n == 0 || d > last {
			last = d
		}
		n++
	}
	span := last - first + 1
	bucket := (span + maxBars - 1) / maxBars
	nb := int((span + bucket - 1) / bucket)
	bs := barSeries{values: make([]int64, nb), labels: make([]string, nb), titles: make([]string, nb), fills: make([]string, nb),
		xTitle: "day (UTC), one bar = 1 day", yTitle: "posts per day"}
	if bucket > 1 {
		bs.xTitle = fmt.Sprintf("day (UTC), one bar = %d days", bucket)
		bs.yTitle = fmt.Sprintf("posts per %d days", bucket)
	}
	for d, c := range days {
		bs.values[(d-first)/bucket] += c
	}
	every := max(1, nb/8)
	for i := range nb {
		start := first + int64(i)*bucket
		bs.fills[i] = colTimeline
		if bucket == 1 {
			bs.titles[i] = fmtDay(start) + ": " + num(bs.values[i]) + " posts"
		} else {
			bs.titles[i] = fmtDay(start) + " .. " + fmtDay(min(start+bucket-1, last)) + ": " + num(bs.values[i]) + " posts"
		}
		if i%every == 0 {
			bs.labels[i] = fmtDay(start)
		}
	}
	svg.bars(frame, bs)
	return svg.String()
}

// monthIndex returns the month number (year*12 + month-1) of a UTC day.
func monthIndex(day int64) int64 {
	t := time.UnixMilli(day * dayMillis).UTC()
	return int64(t.Year())*12 + int64(t.Month()) - 1
}

func monthLabel(m int64) string { return fmt.Sprintf("%04d-%02d", m/12, m%12+1) }

// creationChart draws accounts created per month.
func creationChart(r *results) string {
	svg := newSVG("chart-creation", "accounts created per month", chartWidth, 320)
	frame := plotArea{0, 8, chartWidth, 312}
	const xTitle, yTitle = "month of account creation (UTC)", "accounts created"
	if len(r.creationDays) == 0 {
		svg.bars(frame, barSeries{xTitle: xTitle, yTitle: yTitle})
		return svg.String()
	}
	first, last := monthIndex(r.creationDays[0]), monthIndex(r.creationDays[len(r.creationDays)-1])
	nb := int(last - first + 1)
	bs := barSeries{values: make([]int64, nb), labels: make([]string, nb), titles: make([]string, nb), fills: make([]string, nb),
		xTitle: xTitle, yTitle: yTitle}
	for _, d := range r.creationDays {
		bs.values[monthIndex(d)-first]++
	}
	burstMonth := make([]bool, nb)
	for _, bu := range r.bursts {
		for m := monthIndex(bu.firstDay); m <= monthIndex(bu.lastDay); m++ {
			burstMonth[m-first] = true
		}
	}
	// Label January of every k-th year, or every k-th month for short spans.
	for i := range nb {
		m := first + int64(i)
		bs.fills[i] = colCreation
		bs.titles[i] = monthLabel(m) + ": " + num(bs.values[i]) + " accounts created"
		if burstMonth[i] {
			bs.fills[i] = colBurst
			bs.titles[i] += " (creation burst)"
		}
		switch {
		case nb <= 24:
			if i%max(1, nb/8) == 0 {
				bs.labels[i] = monthLabel(m)
			}
		default:
			years := int64(nb)/12 + 1
			k := max(1, years/10)
			if m%12 == 0 && (m/12)%k == 0 {
				bs.labels[i] = fmt.Sprint(m / 12)
			}
		}
	}
	svg.bars(frame, bs)
	return svg.String()
}

// sizeBuckets are the upper bounds of the cluster size buckets.
var sizeBuckets = []int64{2, 3, 5, 10, 20, 50, 100, 200, 500, 1000, 1 << 62}

func sizeBucketLabel(i int) string {
	lo := int64(2)
	if i > 0 {
		lo = sizeBuckets[i-1] + 1
	}
	hi := sizeBuckets[i]
	switch {
	case hi == 1<<62:
		return fmt.Sprintf("%d+", lo)
	case lo == hi:
		return fmt.Sprint(lo)
	}
	return fmt.Sprintf("%d-%d", lo, hi)
}

// clusterSizeChart draws the number of clusters per size bucket.
func clusterSizeChart(r *results) string {
	svg := newSVG("chart-cluster-sizes", "clusters by size", chartWidth, 280)
	frame := plotArea{0, 20, chartWidth, 260}
	const xTitle, yTitle = "cluster size (accounts)", "clusters"
	if len(r.clusters) == 0 {
		svg.bars(frame, barSeries{xTitle: xTitle, yTitle: yTitle})
		return svg.String()
	}
	counts := make([]int64, len(sizeBuckets))
	accounts := make([]int64, len(sizeBuckets))
	used := 0
	for _, v := range r.clusters {
		i, _ := slices.BinarySearch(sizeBuckets, v.row.Size)
		counts[i]++
		accounts[i] += v.row.Size
		used = max(used, i+1)
	}
	bs := barSeries{values: counts[:used], labels: make([]string, used), titles: make([]string, used), fills: make([]string, used),
		xTitle: xTitle, yTitle: yTitle}
	for i := range used {
		bs.labels[i] = sizeBucketLabel(i)
		bs.fills[i] = colSizes
		bs.titles[i] = fmt.Sprintf("%s accounts: %s clusters, %s accounts in all", sizeBucketLabel(i), num(counts[i]), num(accounts[i]))
	}
	p, top := svg.bars(frame, bs)
	bw := p.w / float64(used)
	for i := range used {
		if counts[i] > 0 {
			h := float64(counts[i]) / float64(top) * p.h
			svg.text(p.x+(float64(i)+0.5)*bw, p.y+p.h-h-4, "middle", "11", num(counts[i]))
		}
	}
	return svg.String()
}

// networkChart draws the largest clusters: the largest in a wide panel, the
// others in a row of smaller panels below.
func networkChart(r *results) string {
	const bigH, smallW, smallH, pad = 520.0, 310.0, 270.0, 24.0
	rows := 0
	if len(r.networks) > 1 {
		rows = (len(r.networks) - 1 + 2) / 3
	}
	h := 40 + int(bigH)
	if len(r.networks) == 0 {
		h = 60
	}
	h += rows * int(smallH+pad)
	svg := newSVG("chart-network", "network of the largest clusters", chartWidth, h)
	if len(r.networks) == 0 {
		svg.text(chartWidth/2, 30, "middle", "13", "no clusters")
		return svg.String()
	}
	for i, n := range r.networks {
		var p plotArea
		if i == 0 {
			p = plotArea{10, 30, chartWidth - 20, bigH - 20}
		} else {
			j := i - 1
			p = plotArea{10 + float64(j%3)*(smallW+5), 40 + bigH + float64(j/3)*(smallH+pad), smallW - 10, smallH - 30}
		}
		drawNetwork(svg, n, p)
	}
	return svg.String()
}

func drawNetwork(svg *svgDoc, n *network, p plotArea) {
	suffix := ": " + num(n.size) + " accounts"
	if int64(len(n.nodes)) < n.size {
		suffix += fmt.Sprintf(" (%d with most ties shown)", len(n.nodes))
	}
	// The cluster id is clipped, never the counts, so that the title stays
	// within its panel.
	id := clipWidth(n.clusterID, max(p.w-textWidth("cluster "+suffix, 12), 48), 12)
	svg.text(p.x, p.y-10, "start", "12", "cluster "+id+suffix)
	svg.raw(`<rect x="%s" y="%s" width="%s" height="%s" fill="none" stroke="%s"/>`+"\n", f1(p.x), f1(p.y), f1(p.w), f1(p.h), colGrid)
	side := min(p.w, p.h) - 24
	ox := p.x + (p.w-side)/2
	oy := p.y + (p.h-side)/2
	pos := func(nd netNode) (float64, float64) { return ox + nd.x*side, oy + nd.y*side }
	radius := 5.0
	if len(n.nodes) > 60 {
		radius = 3.5
	}
	svg.raw(`<g stroke-opacity="0.45">` + "\n")
	for _, e := range n.edges {
		col := signalColours[len(signalColours)-1].colour
		for _, sc := range signalColours {
			if e.signals&sc.bit != 0 {
				col = sc.colour
				break
			}
		}
		x1, y1 := pos(n.nodes[e.a])
		x2, y2 := pos(n.nodes[e.b])
		svg.line(x1, y1, x2, y2, col, 0.8, "")
	}
	svg.raw("</g>\n")
	for _, nd := range n.nodes {
		col := colOtherRole
		switch nd.role {
		case RoleOriginator:
			col = colOriginator
		case RoleAmplifier:
			col = colAmplifier
		}
		x, y := pos(nd)
		svg.raw(`<circle class="m" cx="%s" cy="%s" r="%s" fill="%s" stroke="#fff" stroke-width="0.8"><title>%s (%s)</title></circle>`+"\n",
			f1(x), f1(y), f1(radius), col, esc(nd.id), esc(nd.role))
	}
}

// entityChart draws the release's top entities, one panel per kind, two
// panels per row.
func (s *state) entityChart(r *results) string {
	kinds := []int{kHashtag, kDomain, kMention, kClient, kLanguage}
	rows := max(s.p.TopN, 5)
	panelH := float64(rows)*18 + 10
	const panelW, panelGap = chartWidth / 2, 56.0
	h := int((panelH+panelGap)*float64((len(kinds)+1)/2)) + 10
	svg := newSVG("chart-top-entities", "top entities", chartWidth, h)
	for i, k := range kinds {
		prefix := ""
		if k == kHashtag {
			prefix = "#"
		}
		p := plotArea{float64(i%2)*panelW + 4, 28 + float64(i/2)*(panelH+panelGap), panelW - 14, panelH}
		svg.hbars(p, kindTitle(k), "posts carrying the value", r.releaseTop[k], prefix)
	}
	return svg.String()
}
