package packager_test

import (
	"strings"
	"testing"

	"github.com/planktos/planktos/packager"
	"github.com/spf13/afero"
)

// A site that registers service workers of its own: from a script file (the theme's bundle) and from a
// page's inline script, one not a literal and one naming no published file.
var workerSite = map[string]string{
	"index.html": `<!doctype html><html><head><title>home</title><script src="/docs/js/app.1a2b.js" defer></script>` +
		`</head><body><p>navigator.serviceWorker.register('/docs/not-code.js') is text, not code</p></body></html>`,
	"en/index.html": `<!doctype html><html><head><title>en</title><script src="/docs/js/app.1a2b.js" defer></script></head></html>`,
	"inline/index.html": `<!doctype html><html><head><meta charset=utf-8><script>
if ('serviceWorker' in navigator) navigator.serviceWorker.register("push-sw.js");
navigator.serviceWorker.register(workerURL);
navigator.serviceWorker.register('/docs/gone.js');</script></head></html>`,
	"inline/push-sw.js": `self.addEventListener('push', () => {});`,
	"js/app.1a2b.js":    "window.addEventListener('load',()=>navigator.serviceWorker.register(`/docs/sw.js`,{scope:'/docs/'}))",
	"sw.js":             "self.addEventListener('install',e=>e.waitUntil(caches.open('v1').then(c=>c.addAll(['/docs/']))))",
	"plain/index.html":  `<!doctype html><html><head><title>p</title></head><body><script src="/docs/x.js"></script></body></html>`,
	"x.js":              "console.log('no worker here')",
}

func TestPackFindsSiteWorkers(t *testing.T) {
	fsys := afero.NewMemMapFs()
	writeSite(t, fsys, workerSite)
	rec := &recorder{}
	opts := options("https://example.org/docs/")
	opts.Events = rec
	res := pack(t, fsys, opts)

	got := map[string]packager.SiteWorker{}
	for _, w := range res.SiteWorkers {
		got[w.In+" "+w.URL] = w
	}
	want := map[string]packager.SiteWorker{
		"js/app.1a2b.js /docs/sw.js":      {Script: "sw.js", URL: "/docs/sw.js", In: "js/app.1a2b.js", Page: "en/index.html", Precaches: true, Imported: true},
		"inline/index.html push-sw.js":    {Script: "inline/push-sw.js", URL: "push-sw.js", In: "inline/index.html", Imported: true},
		"inline/index.html ":              {In: "inline/index.html"},
		"inline/index.html /docs/gone.js": {URL: "/docs/gone.js", In: "inline/index.html"},
	}
	if len(got) != len(want) {
		t.Errorf("site workers: %+v", res.SiteWorkers)
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("site worker %q = %+v, want %+v", k, got[k], w)
		}
	}
	if len(rec.warnings) < len(want) {
		t.Errorf("warnings: %q", rec.warnings)
	}
	for _, frag := range []string{"/docs/sw.js (in js/app.1a2b.js, loaded by en/index.html)", "planktos's prefetch does that job",
		`site_worker = "drop"`, "write the URL as a string literal", "/docs/gone.js (in inline/index.html), which is not a published file"} {
		if !strings.Contains(strings.Join(rec.warnings, "\n"), frag) {
			t.Errorf("no warning says %q: %q", frag, rec.warnings)
		}
	}

	sw := read(t, fsys, root+"/planktos.sw.js")
	if prelude := `self.planktosSite={"workers":["/docs/inline/push-sw.js","/docs/sw.js"]};` + "\n"; !strings.HasPrefix(sw, prelude) {
		t.Errorf("planktos.sw.js starts %.120q, want %q", sw, prelude)
	}
	if m := res.Manifest.Runtime.SiteWorkers; strings.Join(m, ",") != "inline/push-sw.js,sw.js" {
		t.Errorf("manifest siteWorkers = %q", m)
	}
	// every page of a site whose bundle registers a worker gets the early tag before its first script
	early := `<script src="/docs/planktos/install.js"></script>`
	for _, p := range []string{"index.html", "en/index.html", "plain/index.html"} {
		page := read(t, fsys, root+"/"+p)
		if i := strings.Index(page, early); i < 0 || i > strings.Index(page, "<script src=\"/docs/") {
			t.Errorf("%s: the install tag is not the first script: %s", p, page)
		}
	}
	if page := read(t, fsys, root+"/inline/index.html"); !strings.Contains(page, "<meta charset=utf-8>"+early+"<script>") {
		t.Errorf("inline/index.html: the install tag is not before the inline script: %s", page)
	}
}

// With site_worker = "drop" the workers are still found and warned about, but not imported.
func TestPackDropsSiteWorkers(t *testing.T) {
	fsys := afero.NewMemMapFs()
	writeSite(t, fsys, workerSite)
	rec := &recorder{}
	opts := options("https://example.org/docs/")
	opts.Config.SiteWorker = "drop"
	opts.Events = rec
	res := pack(t, fsys, opts)
	for _, w := range res.SiteWorkers {
		if w.Imported {
			t.Errorf("imported with site_worker = drop: %+v", w)
		}
	}
	if sw := read(t, fsys, root+"/planktos.sw.js"); !strings.HasPrefix(sw, "/* planktos runtime") {
		t.Errorf("planktos.sw.js has a prelude: %.120q", sw)
	}
	if !strings.Contains(strings.Join(rec.warnings, "\n"), `with site_worker = "drop" nothing of it runs`) {
		t.Errorf("warnings: %q", rec.warnings)
	}
}

// A site without a worker of its own keeps the deferred tag before </head> and planktos.sw.js as built.
func TestPackWithoutSiteWorker(t *testing.T) {
	fsys := afero.NewMemMapFs()
	writeSite(t, fsys, site)
	res := pack(t, fsys, options("https://example.org/"))
	if len(res.SiteWorkers) != 0 {
		t.Errorf("site workers in a site without any: %+v", res.SiteWorkers)
	}
	if sw := read(t, fsys, root+"/planktos.sw.js"); !strings.HasPrefix(sw, "/* planktos runtime") {
		t.Errorf("planktos.sw.js starts %.60q", sw)
	}
}

func read(t *testing.T, fsys afero.Fs, p string) string {
	t.Helper()
	b, err := afero.ReadFile(fsys, p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
