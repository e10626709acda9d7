package e2e

import (
	"strings"
	"testing"
	"time"
)

// pageCheck is what checkPage reports about the page in the tab.
type pageCheck struct {
	Title       string   `json:"title"`
	Path        string   `json:"path"`
	BrokenImgs  []string `json:"broken"`
	Images      int      `json:"images"`
	Styled      bool     `json:"styled"`
	Controlled  bool     `json:"controlled"`
	InstallTags int      `json:"installTags"`
}

// checkPageJS waits for every image to settle, then reports the page's state.
const checkPageJS = `(async () => {
  const imgs = [...document.images];
  await Promise.all(imgs.map(i => i.complete ? null : new Promise(r => { i.onload = i.onerror = r; })));
  const sheets = [...document.styleSheets];
  let styled = sheets.length > 0;
  for (const s of sheets) { try { if (s.cssRules.length === 0) styled = false; } catch { styled = false; } }
  return {
    title: document.title, path: location.pathname, images: imgs.length,
    broken: imgs.filter(i => !(i.naturalWidth > 0)).map(i => i.src),
    styled, controlled: !!(navigator.serviceWorker && navigator.serviceWorker.controller),
    installTags: document.querySelectorAll('script[src$="planktos/install.js"]').length,
  };
})()`

// Offline after the first visit: with the origin stopped, every page of the testsite renders with its
// CSS and images, and the video seeks (a 206 from the service worker is seen).
func TestOffline(t *testing.T) {
	for _, base := range []string{"/", "/project/"} {
		t.Run(strings.Trim(base, "/")+"root", func(t *testing.T) { testOffline(t, base) })
	}
}

func testOffline(t *testing.T, base string) {
	dir := packedSite(t, base, "")
	m := readManifest(t, dir)
	srv := serveSite(t, dir, base)
	b := newBrowser(t, "")
	b.installed(base, m.storable())
	srv.stop()
	start := time.Now()
	pages := m.pages(t, dir)
	for _, p := range pages {
		b.open(base + p)
		var c pageCheck
		b.mustEval(checkPageJS, &c)
		if p == "404.html" {
			continue
		}
		if c.Title == "" || !c.Styled || !c.Controlled || len(c.BrokenImgs) > 0 || c.InstallTags != 1 {
			t.Errorf("offline %s: %+v", base+p, c)
		}
	}
	t.Logf("%d pages rendered offline in %v", len(pages), time.Since(start))
	// a page that is not in the site: the site's 404 page
	b.open(base + "no/such/page/")
	var title string
	b.mustEval(`document.title`, &title)
	if !strings.Contains(strings.ToLower(title), "not found") && !strings.Contains(title, "404") {
		t.Errorf("offline missing page shows title %q, want the site's 404 page", title)
	}
	b.consoleErrors() // the 404 page's own status is logged, as it should be
	seekVideo(t, b, base+"media/")
	if c := pageErrors(b.consoleErrors()); len(c) > 0 {
		t.Errorf("console: %q", c)
	}
}

// seekVideo opens the media page, seeks its video to 10 s, and requires a 206 answered by the service
// worker for it.
func seekVideo(t *testing.T, b *browser, page string) {
	t.Helper()
	b.responses()
	b.open(page)
	var at float64
	b.mustEval(`(async () => {
	  const v = document.querySelector('video');
	  v.muted = true;
	  if (v.readyState < 1) { v.preload = 'auto'; v.load(); await new Promise((r, j) => { v.onloadedmetadata = r; v.onerror = () => j(new Error('video error ' + (v.error && v.error.message))); }); }
	  v.currentTime = 10;
	  await new Promise((r, j) => { v.onseeked = r; v.onerror = () => j(new Error('video error')); });
	  if (v.readyState < 2) await new Promise(r => { v.oncanplay = r; });
	  return v.currentTime;
	})()`, &at)
	if at < 9.5 {
		t.Errorf("video at %v s after seeking to 10 s", at)
	}
	n206 := 0
	for _, r := range b.responses() {
		if strings.HasSuffix(r.URL, ".webm") && r.Status == 206 && r.FromServiceWorker {
			n206++
		}
	}
	if n206 == 0 {
		t.Errorf("no 206 from the service worker for the video")
	}
}

// pageErrors drops what the browser logs on its own, not the page: its /favicon.ico probe.
func pageErrors(c []string) []string {
	var out []string
	for _, s := range c {
		if !strings.HasSuffix(s, "/favicon.ico") {
			out = append(out, s)
		}
	}
	return out
}
