package e2e

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// The runtime's core promises, one test body for every browser driven over the line protocol of
// e2e/firefox/driver.mjs (Firefox ESR, TestFirefoxCore; WebKitGTK, TestWebKitCore).

// coreEngine is a browser for coreTest.
type coreEngine struct {
	// launch starts the browser on profile (the same directory again is a returning visitor) with its
	// User-Agent tagged planktos-e2e/core
	launch func(t *testing.T, profile string) *firefox
	// console fails the test on what the pages logged that the browser does not log by itself
	console func(t *testing.T, f *firefox, when string)
	p2p     string // what the page agent must report as p2p ("" for any)
}

// coreTest: on the flat test origin (http://127.0.0.1:PORT, a secure context) the first visit is
// controlled and prefetches the site; every page renders; the video plays and seeks; with the origin
// down everything renders again, also for a returning visitor (the same profile, the browser
// restarted); with the origin back, the returning visitor gets an update; and the kill switch
// unregisters planktos.
func coreTest(t *testing.T, e coreEngine) {
	dir := packedSite(t, "/", "")
	m := readManifest(t, dir)
	srv := serveSite(t, dir, "/")
	var uaMu sync.Mutex
	untagged := map[string]string{} // path → User-Agent, of requests without the browser's tag
	srv.override = func(w http.ResponseWriter, r *http.Request) bool {
		if !strings.HasSuffix(r.UserAgent(), " planktos-e2e/core") {
			uaMu.Lock()
			untagged[r.URL.Path] = r.UserAgent()
			uaMu.Unlock()
		}
		return false
	}
	profile := t.TempDir()
	f := e.launch(t, profile)
	t.Logf("%s", f.version)

	start := time.Now()
	s := f.installed("/", m.storable())
	t.Logf("first visit: installed and prefetched %d files in %v: %+v", m.storable(), time.Since(start), s)
	if !s.Controlled || s.Revision != m.Revision {
		t.Fatalf("stats after the first visit: %+v (want controlled, revision %s)", s, m.Revision)
	}
	if e.p2p != "" && (s.Agent == nil || s.Agent.P2P != e.p2p) {
		t.Errorf("the page agent after the first visit: %+v (want p2p %q)", s.Agent, e.p2p)
	} else if s.Agent != nil {
		t.Logf("the page agent reports p2p %q", s.Agent.P2P)
	}
	var ua string
	f.mustEval(`navigator.userAgent`, &ua)
	if !strings.HasSuffix(ua, " planktos-e2e/core") {
		t.Errorf("User-Agent %q lacks the tag", ua)
	}
	e.console(t, f, "first visit")
	uaMu.Lock()
	if len(untagged) > 0 { // the service worker's and the page agent's requests carry it too
		t.Errorf("requests without the User-Agent tag: %q", untagged)
	}
	uaMu.Unlock()

	pages := m.pages(t, dir)
	renderAll(t, f, e.console, pages, "online")
	e.console(t, f, "online")
	ffCheckVideo(t, f, "/media/")
	e.console(t, f, "online, video")

	srv.stop()
	start = time.Now()
	renderAll(t, f, e.console, pages, "origin down")
	t.Logf("%d pages rendered with the origin down in %v", len(pages), time.Since(start))
	e.console(t, f, "origin down")
	ffCheckVideo(t, f, "/media/")
	e.console(t, f, "origin down, video")
	f.open("/no/such/page/")
	var title string
	f.mustEval(`document.title`, &title)
	if !strings.Contains(strings.ToLower(title), "not found") && !strings.Contains(title, "404") {
		t.Errorf("origin down, a missing page shows title %q, want the site's 404 page", title)
	}
	f.consoleErrors() // the 404 page's own status may be logged, as it should be
	f.close()

	// a returning visitor, the origin still down: the browser wrote the service worker and the store
	// out when it quit
	f = e.launch(t, profile)
	f.open("/gallery/diatom/")
	var back rendered
	f.mustEval(renderJS, &back)
	var controlled bool
	f.mustEval(`!!navigator.serviceWorker.controller`, &controlled)
	if back.Title == "" || !back.Styled || len(back.Broken) > 0 || !controlled {
		t.Errorf("returning with the origin down: %+v, controlled %v", back, controlled)
	}
	e.console(t, f, "returning, origin down")
	f.close()

	// an update, for a returning visitor: the same profile, the browser started again
	page := filepath.Join(dir, "about", "index.html")
	html, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, page, []byte(strings.Replace(string(html), "</body>", `<p id="updated">revision two</p></body>`, 1)))
	pack(t, dir, "/", "")
	next := readManifest(t, dir)
	if next.Revision == m.Revision {
		t.Fatal("repackaging did not change the revision")
	}
	srv.start(t)
	f = e.launch(t, profile)
	navs := 0
	f.waitFor("the returning visitor to see the update", 60*time.Second, func() bool {
		f.open("/about/")
		navs++
		var updated bool
		f.mustEval(`!!document.getElementById('updated')`, &updated)
		return updated
	})
	t.Logf("the update showed after %d navigation(s)", navs)
	f.waitFor("the new revision prefetched", 60*time.Second, func() bool {
		s = f.stats()
		return s.Revision == next.Revision && s.Stored == next.storable()
	})
	e.console(t, f, "update")

	// the kill switch: a navigation brings the new install.js (the service worker refreshes it in the
	// background), a later one runs it; keep browsing, as a returning visitor does, until it has
	pack(t, dir, "/", "enabled = false\n")
	var left leftover
	start, lastNav := time.Now(), time.Time{}
	f.waitFor("planktos's storage removed by the kill switch", 90*time.Second, func() bool {
		if time.Since(lastNav) > 4*time.Second {
			f.open("/about/")
			lastNav = time.Now()
		}
		f.mustEval(leftoverJS, &left)
		return len(left.Caches) == 0 && left.Registrations == 0
	})
	t.Logf("kill switch: storage and registration removed %v after repackaging", time.Since(start))
	f.open("about:blank")
	f.open("/")
	f.mustEval(leftoverJS, &left)
	f.mustEval(`!!navigator.serviceWorker.controller`, &controlled)
	if left.Registrations != 0 || len(left.Caches) != 0 || controlled {
		t.Errorf("after the kill switch, leaving and coming back: %+v, controlled %v", left, controlled)
	}
	var r rendered
	f.mustEval(renderJS, &r)
	if r.Title == "" || !r.Styled || len(r.Broken) > 0 {
		t.Errorf("after the kill switch the home page did not render: %+v", r)
	}
	e.console(t, f, "kill switch")
	f.close()
}

// renderAll opens every page of the site and requires each to render: title, styles, no broken image,
// controlled by the service worker; console judges what each page logged.
func renderAll(t *testing.T, f *firefox, console func(t *testing.T, f *firefox, when string), pages []string, when string) {
	t.Helper()
	for _, p := range pages {
		if p == "404.html" {
			continue
		}
		f.open("/" + p)
		var r rendered
		f.mustEval(renderJS, &r)
		var controlled bool
		f.mustEval(`!!navigator.serviceWorker.controller`, &controlled)
		if r.Title == "" || !r.Styled || len(r.Broken) > 0 || !controlled {
			t.Errorf("%s: /%s: %+v, controlled %v", when, p, r, controlled)
		}
		console(t, f, when+", /"+p+" and leaving the page before")
	}
}
