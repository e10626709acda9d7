package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Leadership: one page agent per site; a new tab never takes over from the tab that leads, and takes
// over when that tab closes.
func TestLeadership(t *testing.T) {
	dir := packedSite(t, "/", "")
	m := readManifest(t, dir)
	serveSite(t, dir, "/")
	b := newBrowser(t, "")
	b.installed("/", m.storable())
	isLeader := func(ctx context.Context) bool {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`!!window.planktosAgent`))
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if !isLeader(b.ctx) {
		t.Fatal("the first tab does not lead")
	}
	tab, closeTab := chromedp.NewContext(b.ctx)
	defer closeTab()
	if err := chromedp.Do(tab, chromedp.Navigate(origin()+"/about/")); err != nil {
		t.Fatal(err)
	}
	// the new tab's agent loads and queues behind the leader's Web Lock
	b.waitFor("the new tab's agent to ask for the lock", 20*time.Second, func() bool {
		var pending int
		b.mustEval(`navigator.locks.query().then(s => s.pending.filter(l => l.name.startsWith('planktos-agent:')).length)`, &pending)
		return pending == 1
	})
	if isLeader(tab) || !isLeader(b.ctx) {
		t.Fatal("the new tab took the lead")
	}
	if err := chromedp.Do(b.ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatal(err)
	}
	poll.For(t, "the remaining tab to take the lead after the leader left", 10*time.Second, func() bool { return isLeader(tab) })
}

// A new runtime reaches a returning visitor: the runtime's bytes change, the service worker notices
// the new install.js and has the browser update it; the new one takes control of the open page.
func TestRuntimeUpdate(t *testing.T) {
	dir := packedSite(t, "/", "")
	m := readManifest(t, dir)
	srv := serveSite(t, dir, "/")
	b := newBrowser(t, "")
	b.installed("/", m.storable())
	sw := filepath.Join(dir, "planktos.sw.js")
	orig, err := os.ReadFile(sw)
	if err != nil {
		t.Fatal(err)
	}
	const marker = `
self.addEventListener('message', (e) => { if (e.data && e.data.planktos === 'which' && e.ports[0]) e.ports[0].postMessage('v2'); });
`
	writeFile(t, sw, append(orig, marker...))
	// a new build changes every runtime file (each carries the build id)
	install := filepath.Join(dir, "planktos", "install.js")
	ib, err := os.ReadFile(install)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, install, append(ib, "\n// build 2\n"...))
	srv.log()
	const which = `new Promise((resolve) => {
	  const c = navigator.serviceWorker.controller;
	  if (!c) return resolve('none');
	  const ch = new MessageChannel();
	  ch.port1.onmessage = (e) => resolve(e.data);
	  c.postMessage({ planktos: 'which' }, [ch.port2]);
	  setTimeout(() => resolve('v1'), 500);
	})`
	// The service worker refreshes install.js in the background of a navigation (at most every 3 s),
	// sees the new one and has the page update it; Chromium fetches the new service worker about 2 s
	// later, which then claims the page.
	refreshInstall(t, b, srv)
	start := time.Now()
	b.waitFor("the new service worker to control the page", 15*time.Second, func() bool {
		var v string
		b.mustEval(which, &v)
		return v == "v2"
	})
	t.Logf("new runtime in control %v after one navigation", time.Since(start))
	loadsFine(t, b, samplePages...)
}

// refreshInstall navigates, as a returning visitor does, until the service worker has fetched
// install.js from the origin again (it refreshes it in the background of a navigation, at most every 3 s).
func refreshInstall(t *testing.T, b *browser, srv *siteServer) {
	t.Helper()
	b.waitFor("the service worker to refresh install.js", 30*time.Second, func() bool {
		b.open("/about/")
		for _, h := range srv.log() {
			if strings.HasSuffix(h.Path, "/planktos/install.js") {
				return true
			}
		}
		return false
	})
}
