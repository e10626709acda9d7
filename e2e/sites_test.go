package e2e

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// thirdParty is a built documentation site that nobody here wrote, as a Debian package ships it
// (scripts/deps.sh installs them).
type thirdParty struct {
	name string // generator and project, the subtest's name
	pkg  string // the Debian package
	dir  string // where it installs the site
	base string // the URL path the test serves it at
	// large sites run only with PLANKTOS_E2E_LARGE=1: each of their pages loaded twice takes minutes,
	// and CI's other two sites already cover what they show (symlinks out, thousand-file packages)
	large bool
}

var thirdParties = []thirdParty{
	// Sphinx, 1,100 files and 530 pages, 67 MB (past the default prefetch limit); its _static/jquery.js
	// and underscore.js are symlinks to /usr/share/javascript, outside the folder
	{"sphinx-python3", "python3-doc", "/usr/share/doc/python3/html", "/python/", true},
	// Doxygen's own manual, made with Doxygen: 1,200 files, PNG and SVG images, some files gzipped by
	// Debian (links to them are broken in the package itself)
	{"doxygen", "doxygen-doc", "/usr/share/doc/doxygen/html", "/", false},
	// RDoc (darkfish, Ruby API docs): nested folders of uppercase names, js/jquery.js a symlink out of the
	// folder, fonts its CSS loads that Debian gzipped (missing in the package itself)
	{"rdoc-asciidoctor", "asciidoctor-doc", "/usr/share/doc/asciidoctor-doc/html", "/api/", false},
}

// needSite skips the test when the package of s is not installed, except in CI (CI set), where that
// fails.
func needSite(t *testing.T, s thirdParty) {
	t.Helper()
	if _, err := os.Stat(s.dir); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI is set but %s is missing (apt-get install -y %s): %v", s.dir, s.pkg, err)
		}
		t.Skipf("%s not installed (apt-get install -y %s); test skipped", s.dir, s.pkg)
	}
}

// Third-party sites as their packages ship them: packaging names the symlinks that leave the folder and
// says to copy it with cp -rL; the copy, packaged, loads in Chromium — first visit controlled, then every
// page controlled, with a title and every image decoded, and no console message — and then every page
// again with the origin refusing every connection. What a page shows that way is excused only where the
// same page, served plainly (no planktos) from a second origin, shows it too: the site's own faults.
func TestThirdPartySites(t *testing.T) {
	for _, s := range thirdParties {
		t.Run(s.name, func(t *testing.T) { testThirdParty(t, s) })
	}
}

func testThirdParty(t *testing.T, s thirdParty) {
	if s.large && os.Getenv("PLANKTOS_E2E_LARGE") == "" {
		t.Skipf("%s: %s pages take minutes; run with PLANKTOS_E2E_LARGE=1", s.name, s.pkg)
	}
	needChromium(t)
	needSite(t, s)
	if env.err != nil {
		t.Fatalf("e2e environment: %v", env.err)
	}
	dir := copyAsPackaged(t, s)
	oddNames(t, dir)
	p := &plainSite{t: t, base: s.base, seen: map[string]siteCheck{}, missing: map[string]bool{}}
	p.serve(dir)
	// the owner keeps the whole documentation for offline reading (the default limit is 50 MiB)
	pack(t, dir, s.base, `prefetch_limit = "0"`)
	m := readManifest(t, dir)
	pages := m.pages(t, dir)
	t.Logf("%s: %d files, %d pages", s.pkg, len(m.Files), len(pages))

	start := time.Now()
	srv := serveSite(t, dir, s.base)
	b := newBrowser(t, "")
	b.open(s.base)
	var ready bool
	b.mustEval(`window.planktos.ready`, &ready)
	if st := b.stats(); !ready || !st.Controlled {
		t.Fatalf("first visit: ready %v, controlled %v", ready, st.Controlled)
	}
	visitAll(t, b, p, pages, "online")
	t.Logf("online: %d pages in %v, %d files stored", len(pages), time.Since(start), b.stats().Stored)
	b.waitFor(fmt.Sprintf("the prefetch of all %d files", m.storable()), 3*time.Minute, func() bool {
		return b.stats().Stored >= m.storable()
	})

	srv.log()
	srv.override = refuse
	start = time.Now()
	visitAll(t, b, p, pages, "origin down")
	var answered []hit
	refused := map[string]int{} // by file type, for the log
	hits := srv.log()
	for _, h := range hits {
		if h.Status != 0 {
			answered = append(answered, h)
		}
		refused[filepath.Ext(h.Path)]++
	}
	if len(answered) > 0 {
		t.Errorf("the refusing origin answered %d requests: %+v", len(answered), answered[:min(len(answered), 5)])
	}
	t.Logf("origin down: %d pages in %v; the origin refused %d requests (by type %v); %d pages compared with the plain site",
		len(pages), time.Since(start), len(hits), refused, len(p.seen))
}

// plainSite is a copy of the site as it was before packaging, served by a second server at another
// origin, and a second Chromium that loads its pages on demand.
type plainSite struct {
	t      *testing.T
	base   string
	origin string // scheme://host:port of the plain server
	b      *browser
	seen   map[string]siteCheck // by page
	// missing: resources that failed to load on some page served plainly: the site lacks them
	missing map[string]bool
}

// known says whether every message is a failed load of a resource the plain site failed to load too.
func (p *plainSite) known(console []string) bool {
	for _, m := range console {
		if f := failedLoad.FindStringSubmatch(m); f == nil || !p.missing[f[1]] {
			return false
		}
	}
	return true
}

// serve copies dir (unpackaged) and serves the copy on a free loopback port until the test ends.
func (p *plainSite) serve(dir string) {
	plain := filepath.Join(p.t.TempDir(), "plain")
	if err := os.CopyFS(plain, os.DirFS(dir)); err != nil {
		p.t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		p.t.Fatal(err)
	}
	srv := &http.Server{Handler: &siteServer{dir: plain, base: p.base}}
	go srv.Serve(l)
	p.t.Cleanup(func() { srv.Close() })
	p.origin = "http://" + l.Addr().String()
}

// check is what page shows served plainly, its console messages with the plain origin replaced by the
// test's (so that they compare with planktos's).
func (p *plainSite) check(page string) siteCheck {
	if c, ok := p.seen[page]; ok {
		return c
	}
	if p.b == nil {
		p.b = newBrowser(p.t, "")
	}
	c := loadPage(p.b, p.origin+pageURL(p.base, page))
	for i, m := range c.Console {
		c.Console[i] = strings.ReplaceAll(m, p.origin, originOf(p.t))
		if f := failedLoad.FindStringSubmatch(c.Console[i]); f != nil {
			p.missing[f[1]] = true
		}
	}
	for i, src := range c.Broken {
		c.Broken[i] = strings.Replace(src, p.origin, originOf(p.t), 1)
	}
	p.seen[page] = c
	return c
}

// refuse answers no request: net/http closes the connection without a response, as an origin that is
// down (the request is still logged, with status 0).
func refuse(http.ResponseWriter, *http.Request) bool { panic(http.ErrAbortHandler) }

// copyAsPackaged packages the site as its package ships it (its symlinks kept, pointing where they
// point in the package), expects planktos to refuse the ones that leave the folder and say to copy it
// with cp -rL, and does that. It returns the copy, not yet packaged.
func copyAsPackaged(t *testing.T, s thirdParty) string {
	t.Helper()
	shipped := filepath.Join(t.TempDir(), "shipped")
	cp(t, "-a", s.dir+"/.", shipped)
	links := absoluteLinks(t, s.dir, shipped)
	cmd := exec.Command(env.planktos, "pack", "-q", "--base-url", originOf(t)+s.base, shipped)
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	out, err := cmd.CombinedOutput()
	dst := filepath.Join(t.TempDir(), "site")
	if len(links) == 0 {
		if err != nil {
			t.Fatalf("planktos pack as shipped: %v\n%s", err, out)
		}
		cp(t, "-rL", s.dir, dst) // it packages as shipped; the test's copy is unpackaged
		return dst
	}
	fix := "cp -rL " + shipped + " COPY"
	if code := cmd.ProcessState.ExitCode(); code != 1 || !strings.Contains(string(out), fix) {
		t.Fatalf("planktos pack with symlinks out of the site: exit %d, want 1 and %q:\n%s", code, fix, out)
	}
	for _, l := range links {
		if !strings.Contains(string(out), l+": symlink points outside the publish directory") {
			t.Errorf("the refusal does not name %s:\n%s", l, out)
		}
	}
	t.Logf("planktos pack refused the package as shipped:\n%s", out)
	cp(t, "-rL", shipped, dst) // what planktos says
	return dst
}

// cp runs cp with args.
func cp(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("cp", args...).CombinedOutput(); err != nil {
		t.Fatalf("cp %q: %v %s", args, err, out)
	}
}

// absoluteLinks points the symlinks that cp -a copied into dst where the package's point (relative
// targets such as ../../../../javascript/jquery/jquery.js would dangle in the copy), and returns the
// ones that leave the site, relative to it.
func absoluteLinks(t *testing.T, src, dst string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dst, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.Type()&os.ModeSymlink == 0 {
			return err
		}
		rel, _ := filepath.Rel(dst, p)
		target, err := filepath.EvalSymlinks(filepath.Join(src, rel))
		if err != nil {
			return err
		}
		if r, _ := filepath.Rel(src, target); strings.HasPrefix(r, "../") {
			out = append(out, filepath.ToSlash(rel))
		}
		os.Remove(p)
		return os.Symlink(target, p)
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// oddNames adds what no Debian site has: a page and an image whose names need percent-encoding
// (spaces, %, #, +, unicode, uppercase), the image a copy of one of the site's own.
func oddNames(t *testing.T, dir string) {
	t.Helper()
	var img []byte
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && img == nil && strings.HasSuffix(p, ".png") && d.Type().IsRegular() {
			img, _ = os.ReadFile(p)
		}
		return err
	})
	if img == nil {
		t.Fatalf("%s has no PNG to copy", dir)
	}
	odd := filepath.Join(dir, "Odd Names ü")
	os.MkdirAll(odd, 0o755)
	page := `<!doctype html><meta charset=utf-8><title>Odd names</title><img src="` +
		url.PathEscape("Ça 100% #1+2.png") + `">`
	if err := os.WriteFile(filepath.Join(odd, "Ça 100% #1+2.png"), img, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(odd, "Page 50% É.html"), []byte(page), 0o644); err != nil {
		t.Fatal(err)
	}
}

// visitAll opens every page in b's one tab, its URL percent-encoded, and checks it: controlled, a
// title, every image decoded, no console message. Where a page falls short, the same page served
// plainly (p) must fall short the same way.
func visitAll(t *testing.T, b *browser, p *plainSite, pages []string, when string) {
	t.Helper()
	bad := 0 // (what the first visit logged counts for the first page)
	for _, page := range pages {
		c := loadPage(b, pageURL(p.base, page))
		var problems []string
		if !c.Controlled {
			problems = append(problems, "not controlled")
		}
		c.Console = slices.DeleteFunc(c.Console, func(m string) bool { return embedded(t, c, m) })
		if c.Title == "" || len(c.Broken) > 0 || !p.known(c.Console) {
			w := p.check(page)
			if c.Title != w.Title {
				problems = append(problems, fmt.Sprintf("title %q, plainly %q", c.Title, w.Title))
			}
			for _, i := range c.Broken {
				if !slices.Contains(w.Broken, i) {
					problems = append(problems, "image not decoded: "+i)
				}
			}
			for _, m := range c.Console {
				if !slices.ContainsFunc(w.Console, func(p string) bool { return sameMessage(p, m) }) {
					problems = append(problems, "console: "+m)
				}
			}
		}
		if len(problems) > 0 {
			if bad++; bad <= 20 {
				t.Errorf("%s %s: %s", when, page, strings.Join(problems, "; "))
			}
		}
	}
	if bad > 20 {
		t.Errorf("%s: %d pages in all had problems", when, bad)
	}
}

// failedDoc matches browser.listen's report of a document that failed to load.
var failedDoc = regexp.MustCompile(`^document failed: Document (\S+) `)

// embedded says whether message m is the failure of a document that page c loads with <object> or
// <embed>: no service worker ever sees those requests (Service Workers spec, Handle Fetch: a
// non-subresource request whose destination is "embed" or "object" is not intercepted), so with the
// origin down they fail whatever planktos does. Logged, not failed.
func embedded(t *testing.T, c siteCheck, m string) bool {
	f := failedDoc.FindStringSubmatch(m)
	if f == nil || !slices.Contains(c.Embeds, f[1]) {
		return false
	}
	t.Logf("%s: <object>/<embed> content bypasses service workers: %s", c.Path, f[1])
	return true
}

// loadPage opens url in b's tab and reports the page, with the console messages it caused.
func loadPage(b *browser, url string) siteCheck {
	b.t.Helper()
	b.open(url)
	var c siteCheck
	b.mustEval(siteCheckJS, &c)
	c.Console = pageErrors(b.consoleErrors())
	return c
}

// failedLoad matches Chromium's log entry for a resource that did not load; its URL is the last word.
var failedLoad = regexp.MustCompile(`^log\.error: Failed to load resource: .* (\S+)$`)

// sameMessage says whether console message got is plain's: the same text, or a failure to load the
// same resource (a file the site lacks is a 404 plainly, a network error with the origin down).
func sameMessage(plain, got string) bool {
	p, g := failedLoad.FindStringSubmatch(plain), failedLoad.FindStringSubmatch(got)
	return plain == got || p != nil && g != nil && p[1] == g[1]
}

// siteCheck is what siteCheckJS reports about a page, and the console messages it caused.
type siteCheck struct {
	Title      string   `json:"title"`
	Images     int      `json:"images"`
	Broken     []string `json:"broken"`
	Controlled bool     `json:"controlled"`
	Path       string   `json:"path"`
	Embeds     []string `json:"embeds"` // absolute URLs of <object data> and <embed src>
	Console    []string `json:"-"`
}

// siteCheckJS waits (at most 10 s) for every image to settle, lazy ones loaded at once, and reports.
const siteCheckJS = `(async () => {
  const imgs = [...document.images];
  for (const i of imgs) i.loading = 'eager';
  await Promise.race([new Promise(r => setTimeout(r, 10000)),
    Promise.all(imgs.map(i => i.decode().catch(() => null)))]);
  return {
    title: document.title.trim(), images: imgs.length,
    broken: imgs.filter(i => !(i.naturalWidth > 0)).map(i => i.src),
    controlled: !!(navigator.serviceWorker && navigator.serviceWorker.controller), path: location.pathname,
    embeds: [...document.querySelectorAll('object[data], embed[src]')].map(e => e.data || e.src),
  };
})()`

// pageURL is the URL of page key p below base, each segment percent-encoded.
func pageURL(base, p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return base + strings.Join(segs, "/")
}
