package summarize_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/takedown-research/takedown/pipeline/summarize"
)

// imgScript reports every img element's natural size once the page has
// loaded (data URIs decode before the load event).
const imgScript = `<script>
window.addEventListener("load", function () {
  var out = [];
  document.querySelectorAll("img").forEach(function (im) {
    out.push({alt: im.alt, complete: im.complete, w: im.naturalWidth, h: im.naturalHeight,
              shown: im.getBoundingClientRect().width});
  });
  var pre = document.createElement("pre");
  pre.id = "img-check";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>`

// TestReportInBrowserImages renders a report with an image section in
// Chromium and checks that every thumbnail decodes and is laid out:
// naturalWidth > 0, at most summarize.ThumbnailMax pixels a side.
func TestReportInBrowserImages(t *testing.T) {
	bin := findBrowser(t)
	page := string(summarize.ImagesHTML(t))
	path := filepath.Join(t.TempDir(), "images.html")
	if err := os.WriteFile(path, []byte(strings.Replace(page, "</body>", imgScript+"\n</body>", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	dom := chromium(t, bin, "--window-size=1200,3000", "--virtual-time-budget=5000", "--dump-dom", "file://"+path)
	m := regexp.MustCompile(`<pre id="img-check">(.*?)</pre>`).FindSubmatch(dom)
	if m == nil {
		t.Fatalf("the image check did not run; DOM:\n%.2000s", dom)
	}
	raw := strings.NewReplacer("&quot;", `"`, "&lt;", "<", "&gt;", ">", "&amp;", "&").Replace(string(m[1]))
	var imgs []struct {
		Alt      string
		Complete bool
		W, H     int
		Shown    float64
	}
	if err := json.Unmarshal([]byte(raw), &imgs); err != nil {
		t.Fatalf("image check %s: %v", raw, err)
	}
	if want := strings.Count(page, "<img "); len(imgs) != want || want == 0 {
		t.Fatalf("%d img elements rendered, the page has %d", len(imgs), want)
	}
	for _, im := range imgs {
		t.Logf("%s: %dx%d, shown %.0f px wide", im.Alt, im.W, im.H, im.Shown)
		if !im.Complete || im.W <= 0 || im.H <= 0 || im.Shown <= 0 {
			t.Errorf("thumbnail %q does not render: complete %v, natural %dx%d, shown %.0f px", im.Alt, im.Complete, im.W, im.H, im.Shown)
		}
		if im.W > summarize.ThumbnailMax || im.H > summarize.ThumbnailMax {
			t.Errorf("thumbnail %q is %dx%d, over %d px", im.Alt, im.W, im.H, summarize.ThumbnailMax)
		}
	}
}
