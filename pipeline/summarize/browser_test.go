package summarize_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/png"
	"log/slog"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/takedown-research/takedown/internal/runner"
	"github.com/takedown-research/takedown/internal/store"
	"github.com/takedown-research/takedown/pipeline/summarize"
)

// chromiumFlags make headless Chromium render a local file without touching
// the network or a user profile.
var chromiumFlags = []string{
	"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
	"--disable-background-networking", "--disable-component-update", "--disable-sync",
	"--disable-extensions", "--disable-default-apps", "--hide-scrollbars", "--mute-audio",
	"--force-device-scale-factor=1",
}

// findBrowser returns the Chromium binary, or skips the test when there is
// none, unless TAKEDOWN_REQUIRE_BROWSER=1 (set by CI), which makes a missing
// browser a failure.
func findBrowser(t *testing.T) string {
	t.Helper()
	require := os.Getenv("TAKEDOWN_REQUIRE_BROWSER") == "1"
	if testing.Short() && !require {
		t.Skip("browser test skipped in -short mode")
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if require {
		t.Fatal("TAKEDOWN_REQUIRE_BROWSER=1 but no chromium on PATH: apt-get install -y chromium")
	}
	t.Skip("no chromium on PATH (apt-get install -y chromium); set TAKEDOWN_REQUIRE_BROWSER=1 to make this a failure")
	return ""
}

// A browser killed by a signal (Chromium segfaults now and then on a loaded
// machine) is started again, up to three times; any other failure is final.
func chromium(t *testing.T, bin string, args ...string) []byte {
	t.Helper()
	for attempt := 1; ; attempt++ {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		all := append(append([]string{}, chromiumFlags...), "--user-data-dir="+t.TempDir())
		cmd := exec.CommandContext(ctx, bin, append(all, args...)...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		cancel()
		if err == nil {
			return stdout.Bytes()
		}
		var ee *exec.ExitError
		crashed := errors.As(err, &ee) && !ee.Exited() && ctx.Err() == nil
		if !crashed || attempt == 3 {
			t.Fatalf("%s %s: %v\n%s", bin, strings.Join(args, " "), err, stderr.String())
		}
		t.Logf("chromium crashed (%v); starting it again", err)
	}
}

// checkScript runs in the page after load. For every chart it records the
// rendered size, how many data marks have a non-empty box, how many axis
// titles it has, every text whose box is not inside the chart's box (the
// SVG clips it there) and every pair of texts whose boxes overlap; and for
// the page, how many script and img elements it holds. It writes the result
// into a <pre> that --dump-dom prints.
const checkScript = `<script>
(function () {
  var out = {charts: {}, scripts: document.querySelectorAll("script").length,
             imgs: document.querySelectorAll("img").length};
  function box(r) { return [r.left, r.top, r.right, r.bottom].map(function (v) { return Math.round(v * 10) / 10; }); }
  document.querySelectorAll("svg.chart").forEach(function (svg) {
    var r = svg.getBoundingClientRect(), drawn = 0, outside = [], overlaps = [], texts = [];
    svg.querySelectorAll(".m").forEach(function (m) {
      var b = m.getBBox();
      if (b.width > 0 && b.height > 0) drawn++;
    });
    svg.querySelectorAll("text").forEach(function (t) {
      var b = t.getBoundingClientRect();
      if (b.width === 0 && b.height === 0) return;
      if (b.left < r.left - 0.5 || b.top < r.top - 0.5 || b.right > r.right + 0.5 || b.bottom > r.bottom + 0.5)
        outside.push(t.textContent + " " + JSON.stringify(box(b)) + " not in " + JSON.stringify(box(r)));
      texts.push([t.textContent, b]);
    });
    for (var i = 0; i < texts.length; i++) for (var j = i + 1; j < texts.length; j++) {
      var a = texts[i][1], c = texts[j][1];
      var w = Math.min(a.right, c.right) - Math.max(a.left, c.left), h = Math.min(a.bottom, c.bottom) - Math.max(a.top, c.top);
      if (w > 1 && h > 1) overlaps.push(texts[i][0] + " / " + texts[j][0]);
    }
    out.charts[svg.id] = {width: r.width, height: r.height, drawn: drawn, outside: outside, overlaps: overlaps,
      xtitles: svg.querySelectorAll("text.xt").length, ytitles: svg.querySelectorAll("text.yt").length};
  });
  var pre = document.createElement("pre");
  pre.id = "chart-check";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
})();
</script>`

// chartBox is what checkScript records of one chart.
type chartBox struct {
	Width, Height     float64
	Drawn             int
	Outside, Overlaps []string
	XTitles, YTitles  int
}

// pageCheck is what checkScript records of one page.
type pageCheck struct {
	Charts  map[string]chartBox
	Scripts int
	Imgs    int
}

// probe renders page in Chromium with checkScript added and returns what
// the script found.
func probe(t *testing.T, bin string, page []byte) pageCheck {
	t.Helper()
	path := filepath.Join(t.TempDir(), "probe.html")
	withScript := strings.Replace(string(page), "</body>", checkScript+"\n</body>", 1)
	if err := os.WriteFile(path, []byte(withScript), 0o644); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	dom := chromium(t, bin, "--window-size=1200,3000", "--dump-dom", "file://"+path)
	t.Logf("dump-dom took %v", time.Since(start).Round(time.Millisecond))
	m := regexp.MustCompile(`<pre id="chart-check">(.*?)</pre>`).FindSubmatch(dom)
	if m == nil {
		t.Fatalf("the check script did not run; DOM:\n%.2000s", dom)
	}
	raw := strings.NewReplacer("&quot;", `"`, "&lt;", "<", "&gt;", ">", "&amp;", "&").Replace(string(m[1]))
	var pc pageCheck
	if err := json.Unmarshal([]byte(raw), &pc); err != nil {
		t.Fatalf("chart check %s: %v", raw, err)
	}
	return pc
}

// checkLabels fails for every chart text outside its chart or overlapping
// another, and every chart but the network without both axis titles.
func checkLabels(t *testing.T, page string, html []byte, pc pageCheck) {
	t.Helper()
	for _, id := range summarize.ChartIDs {
		c := pc.Charts[id]
		for _, o := range c.Outside {
			t.Errorf("%s: %s chart label runs out of the chart: %s", page, id, o)
		}
		for _, o := range c.Overlaps {
			t.Errorf("%s: %s chart labels overlap: %s", page, id, o)
		}
		if id != "chart-network" && (c.XTitles == 0 || c.YTitles == 0) {
			t.Errorf("%s: %s chart has %d x and %d y axis titles, want both", page, id, c.XTitles, c.YTitles)
		}
	}
	// The probe itself is the only script, the report's own thumbnails the
	// only images; escaped data makes no element.
	if want := strings.Count(string(html), "<img "); pc.Scripts != 1 || pc.Imgs != want {
		t.Errorf("%s: the rendered page has %d script and %d img elements, want 1 (the probe) and %d (its thumbnails)", page, pc.Scripts, pc.Imgs, want)
	}
}

// TestReportInBrowser runs the demo through every stage, then renders its
// report.html in headless Chromium: every chart must be laid out with a
// non-empty size, drawn marks and axis titles, no label may run out of its
// chart or overlap another, and a screenshot must show each chart's colour
// and not be blank. A report with the longest labels and hostile text from
// data must lay out its labels as well and make no element of that text.
func TestReportInBrowser(t *testing.T) {
	bin := findBrowser(t)
	ws, err := store.Open(filepath.Join(t.TempDir(), "ws"))
	if err != nil {
		t.Fatal(err)
	}
	r := &runner.Runner{WS: ws, Log: slog.New(slog.DiscardHandler)}
	res, err := r.Run(context.Background(), runner.Options{Dataset: "demo", Params: runner.DefaultParams()})
	if err != nil {
		t.Fatal(err)
	}
	dir := res[len(res)-1].Dir
	report := filepath.Join(dir, summarize.HTMLReportFile)
	page, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}

	// 1. The DOM after layout, with the check script added to a copy.
	pc := probe(t, bin, page)
	nodes := strings.Count(string(page), "<circle class=\"m\"")
	for _, id := range summarize.ChartIDs {
		c, ok := pc.Charts[id]
		switch {
		case !ok:
			t.Errorf("chart %s is not in the rendered page", id)
		case c.Width < 300 || c.Height < 100:
			t.Errorf("chart %s is rendered %vx%v px", id, c.Width, c.Height)
		case c.Drawn == 0:
			t.Errorf("chart %s has no visible marks", id)
		}
		t.Logf("%s: %.0fx%.0f px, %d marks drawn, %d x and %d y axis titles", id, c.Width, c.Height, c.Drawn, c.XTitles, c.YTitles)
	}
	if c := pc.Charts["chart-network"]; c.Drawn != nodes {
		t.Errorf("network: %d of %d nodes drawn", c.Drawn, nodes)
	}
	checkLabels(t, "demo report", page, pc)
	long := summarize.LongLabelHTML(t)
	checkLabels(t, "long-label report", long, probe(t, bin, long))

	// 2. A screenshot of the report itself.
	shot := filepath.Join(t.TempDir(), "report.png")
	start := time.Now()
	// Tall enough for every chart below the demo's cluster thumbnails.
	chromium(t, bin, "--window-size=1200,7000", "--screenshot="+shot, "file://"+report)
	t.Logf("screenshot took %v", time.Since(start).Round(time.Millisecond))
	f, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	mean, sd := luminance(img)
	t.Logf("screenshot %v: luminance mean %.1f, sd %.1f", img.Bounds().Size(), mean, sd)
	if sd < 10 {
		t.Errorf("screenshot looks blank: luminance sd %.1f", sd)
	}
	for _, c := range summarize.ChartColours {
		n := countColour(img, c.Colour)
		t.Logf("%s: %d pixels of %s", c.Chart, n, c.Colour)
		if n < 100 {
			t.Errorf("screenshot has %d pixels of %s (%s): the chart is not drawn", n, c.Colour, c.Chart)
		}
	}
}

func luminance(img image.Image) (mean, sd float64) {
	var sum, sum2, n float64
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			r, g, bl, _ := img.At(x, y).RGBA()
			l := (0.299*float64(r) + 0.587*float64(g) + 0.114*float64(bl)) / 257
			sum += l
			sum2 += l * l
			n++
		}
	}
	mean = sum / n
	return mean, math.Sqrt(max(0, sum2/n-mean*mean))
}

// countColour counts pixels within a small distance of a #rrggbb colour.
func countColour(img image.Image, hex string) int {
	v, err := strconv.ParseUint(strings.TrimPrefix(hex, "#"), 16, 32)
	if err != nil {
		panic(fmt.Sprintf("colour %s: %v", hex, err))
	}
	wr, wg, wb := int(v>>16), int(v>>8&0xff), int(v&0xff)
	n := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			dr, dg, db := int(r>>8)-wr, int(g>>8)-wg, int(bl>>8)-wb
			if dr*dr+dg*dg+db*db <= 12*12 {
				n++
			}
		}
	}
	return n
}
