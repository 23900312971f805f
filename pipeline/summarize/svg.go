package summarize

import (
	"fmt"
	"html"
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Chart colours. The browser test looks for these in a screenshot of the
// report, so each chart's marks have a colour of their own.
const (
	colTimeline   = "#4e79a7" // activity bars
	colCreation   = "#f28e2b" // account creation bars
	colBurst      = "#e15759" // creation months that hold a burst
	colSizes      = "#76b7b2" // cluster size distribution
	colOriginator = "#d62728" // network: originators
	colAmplifier  = "#59a14f" // network: amplifiers
	colOtherRole  = "#7f7f7f" // network: other roles
	colEntity     = "#b07aa1" // top-entity bars
	colAxis       = "#555555"
	colGrid       = "#e5e5e5"
)

// Edge colours of the network picture, by the strongest signal of the pair.
var signalColours = []struct {
	bit    uint8
	name   string
	colour string
}{
	{sigText, "co_text", "#1f77b4"},
	{sigRepost, "co_repost", "#ff7f0e"},
	{sigURL, "co_url", "#9467bd"},
	{sigOther, "other", "#bbbbbb"},
}

// svgDoc builds one SVG element. Every coordinate is written with one decimal
// so the bytes do not depend on float formatting details.
type svgDoc struct {
	b    strings.Builder
	w, h int
}

func newSVG(id, label string, w, h int) *svgDoc {
	s := &svgDoc{w: w, h: h}
	fmt.Fprintf(&s.b, `<svg id="%s" class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="%s">`+"\n",
		id, w, h, w, h, esc(label))
	return s
}

func (s *svgDoc) String() string { return s.b.String() + "</svg>\n" }

func f1(x float64) string {
	if x == 0 || math.IsNaN(x) || math.IsInf(x, 0) {
		return "0"
	}
	r := strconv.FormatFloat(x, 'f', 1, 64)
	r = strings.TrimSuffix(r, ".0")
	if r == "-0" {
		return "0"
	}
	return r
}

func esc(s string) string { return html.EscapeString(s) }

// clip shortens s to at most n runes, with an ellipsis.
func clip(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}

// rect draws a data mark (class "m") with a tooltip.
func (s *svgDoc) rect(x, y, w, h float64, fill, title string) {
	fmt.Fprintf(&s.b, `<rect class="m" x="%s" y="%s" width="%s" height="%s" fill="%s"><title>%s</title></rect>`+"\n",
		f1(x), f1(y), f1(max(w, 0.5)), f1(max(h, 0)), fill, esc(title))
}

func (s *svgDoc) line(x1, y1, x2, y2 float64, stroke string, width float64, extra string) {
	fmt.Fprintf(&s.b, `<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="%s"%s/>`+"\n",
		f1(x1), f1(y1), f1(x2), f1(y2), stroke, f1(width), extra)
}

// text writes a label; anchor is start, middle or end.
func (s *svgDoc) text(x, y float64, anchor, size, body string) {
	fmt.Fprintf(&s.b, `<text x="%s" y="%s" text-anchor="%s" font-size="%s">%s</text>`+"\n",
		f1(x), f1(y), anchor, size, esc(body))
}

func (s *svgDoc) raw(format string, args ...any) { fmt.Fprintf(&s.b, format, args...) }

// niceStep returns a step of 1, 2 or 5 times a power of ten that divides
// [0, peak] into at most maxTicks intervals.
func niceStep(peak int64, maxTicks int) int64 {
	if peak <= 0 {
		return 1
	}
	step := int64(1)
	for {
		for _, m := range []int64{1, 2, 5} {
			if peak/(step*m) < int64(maxTicks) {
				return step * m
			}
		}
		step *= 10
	}
}

// plotArea is the rectangle the marks of a chart use.
type plotArea struct{ x, y, w, h float64 }

// textWidth estimates, generously, how wide s is drawn at a font size of
// size px: DejaVu Sans (the report's font) is at most about 0.65 em for
// lower-case letters, digits and punctuation and about 1 em for capitals and
// wide letters; East Asian wide characters and symbols (drawn from
// whichever fallback font has them) take 1.1 em. Labels are clipped to it,
// so that no label runs out of its chart.
func textWidth(s string, size float64) float64 {
	w := 0.0
	for _, r := range s {
		switch {
		case r >= 0x1100 && (r <= 0x115f || r >= 0x2e80 && r <= 0xa4cf || r >= 0xac00 && r <= 0xd7a3 ||
			r >= 0xf900 && r <= 0xfaff || r >= 0xfe30 && r <= 0xfe4f || r >= 0xff00 && r <= 0xff60 ||
			r >= 0xffe0 && r <= 0xffe6 || r >= 0x1f000):
			w += 1.1
		case r >= 0x2000:
			w += 1.0 // symbols, arrows, dingbats, other scripts' fallbacks
		case unicode.IsUpper(r) || strings.ContainsRune("mwMW@%&", r):
			w += 1.0
		default:
			w += 0.65
		}
	}
	return w * size
}

// clipWidth shortens s, with an ellipsis, until textWidth says it fits in
// maxW px at size px.
func clipWidth(s string, maxW, size float64) string {
	s = strings.Join(strings.Fields(s), " ")
	if textWidth(s, size) <= maxW {
		return s
	}
	r := []rune(s)
	for len(r) > 0 && textWidth(string(r), size)+size > maxW {
		r = r[:len(r)-1]
	}
	return string(r) + "…"
}

// axisTitle writes the title of an axis: class "xt" centred under the x
// axis at (x, y), or class "yt" rotated to read upwards, centred on (x, y).
func (s *svgDoc) axisTitle(axis string, x, y float64, body string) {
	if axis == "y" {
		fmt.Fprintf(&s.b, `<text class="yt" transform="translate(%s %s) rotate(-90)" text-anchor="middle" font-size="12" fill="%s">%s</text>`+"\n",
			f1(x), f1(y), colAxis, esc(body))
		return
	}
	fmt.Fprintf(&s.b, `<text class="xt" x="%s" y="%s" text-anchor="middle" font-size="12" fill="%s">%s</text>`+"\n",
		f1(x), f1(y), colAxis, esc(body))
}

// barSeries is a bar chart over consecutive buckets.
type barSeries struct {
	values []int64
	labels []string // x label per bucket; "" for none
	titles []string // tooltip per bucket
	fills  []string // colour per bucket
	xTitle string   // what a bucket is
	yTitle string   // what a bar counts
}

// Bar chart margins, in px: the y title's band on the left, the gap between
// tick labels and the axis, room under the axis for tick labels and the x
// title, and on the right for half the last tick label.
const (
	yTitleBand  = 24.0
	tickGap     = 6.0
	xLabelBand  = 44.0
	rightMargin = 40.0
)

// bars draws a vertical bar chart of bs into frame, with a y axis whose tick
// labels are as wide as they need, and both axis titles; it returns the
// plot area of the bars and the scale top.
func (s *svgDoc) bars(frame plotArea, bs barSeries) (plotArea, int64) {
	peak := int64(0)
	for _, v := range bs.values {
		peak = max(peak, v)
	}
	step := niceStep(peak, 5)
	top := max(step, (peak+step-1)/step*step)
	tickW := textWidth(num(top), 11)
	p := plotArea{x: frame.x + yTitleBand + tickW + tickGap, y: frame.y + 6}
	p.w = frame.x + frame.w - rightMargin - p.x
	p.h = frame.h - 6 - xLabelBand
	s.axisTitle("y", frame.x+14, p.y+p.h/2, bs.yTitle)
	s.axisTitle("x", p.x+p.w/2, p.y+p.h+38, bs.xTitle)
	if len(bs.values) == 0 {
		s.text(p.x+p.w/2, p.y+p.h/2, "middle", "13", "no data")
		return p, top
	}
	for v := int64(0); v <= top; v += step {
		y := p.y + p.h - float64(v)/float64(top)*p.h
		s.line(p.x, y, p.x+p.w, y, colGrid, 1, "")
		s.text(p.x-tickGap, y+4, "end", "11", num(v))
	}
	s.line(p.x, p.y+p.h, p.x+p.w, p.y+p.h, colAxis, 1, "")
	bw := p.w / float64(len(bs.values))
	gap := 0.0
	if bw >= 4 {
		gap = math.Min(bw*0.15, 3)
	}
	for i, v := range bs.values {
		x := p.x + float64(i)*bw
		if v > 0 {
			h := float64(v) / float64(top) * p.h
			s.rect(x+gap/2, p.y+p.h-h, bw-gap, h, bs.fills[i], bs.titles[i])
		}
		if l := bs.labels[i]; l != "" {
			s.line(x+bw/2, p.y+p.h, x+bw/2, p.y+p.h+4, colAxis, 1, "")
			s.text(x+bw/2, p.y+p.h+17, "middle", "11", l)
		}
	}
	return p, top
}

// hbars draws a horizontal bar chart of ranked values into p: the panel's
// title names the values (the y axis), xTitle what the bars count, under
// them.
func (s *svgDoc) hbars(p plotArea, title, xTitle string, items []ranked, prefix string) {
	fmt.Fprintf(&s.b, `<text class="yt" x="%s" y="%s" text-anchor="start" font-size="13">%s</text>`+"\n",
		f1(p.x), f1(p.y-8), esc(title))
	if len(items) == 0 {
		s.text(p.x, p.y+16, "start", "12", "none")
		return
	}
	peak := items[0].count
	for _, it := range items {
		peak = max(peak, it.count)
	}
	const labelW = 180.0
	rowH := min(18, p.h/float64(len(items)))
	barMax := p.w - labelW - textWidth(num(peak), 11) - 8
	for i, it := range items {
		y := p.y + float64(i)*rowH
		s.text(p.x+labelW-6, y+rowH*0.7, "end", "11", clipWidth(prefix+it.value, labelW-10, 11))
		w := float64(it.count) / float64(max(peak, 1)) * barMax
		s.rect(p.x+labelW, y+rowH*0.15, w, rowH*0.7, colEntity, prefix+it.value+": "+num(it.count)+" posts")
		s.text(p.x+labelW+w+4, y+rowH*0.7, "start", "11", num(it.count))
	}
	s.axisTitle("x", p.x+labelW+barMax/2, p.y+float64(len(items))*rowH+16, xTitle)
}
