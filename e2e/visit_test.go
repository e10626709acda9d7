package e2e

import (
	"testing"
	"time"
)

// First visit: the service worker installs and controls the page without a reload; later requests are
// answered by it, and stats say from where.
func TestFirstVisit(t *testing.T) {
	dir := packedSite(t, "/", "")
	m := readManifest(t, dir)
	srv := serveSite(t, dir, "/")
	b := newBrowser(t, "")
	start := time.Now()
	s := b.installed("/", m.storable())
	t.Logf("installed and prefetched %d files in %v: %+v", m.storable(), time.Since(start), s)
	if !s.Controlled || s.Revision != m.Revision {
		t.Fatalf("stats after install: %+v (want controlled, revision %s)", s, m.Revision)
	}
	srv.log()
	b.open("/about/")
	var src string
	b.mustEval(`fetch('/images/logo.png').then(r => r.headers.get('x-planktos-source'))`, &src)
	if src != "store" {
		t.Errorf("logo answered from %q, want store", src)
	}
	s = b.stats()
	if s.Served["store"].Requests == 0 {
		t.Errorf("stats count no answer from the store: %+v", s.Served)
	}
	for _, h := range srv.log() {
		if h.Path != "/planktos/manifest.json" && h.Path != "/planktos.sw.js" && h.Path != "/planktos/install.js" && h.Path != "/planktos/peer.js" && h.Path[:10] != "/planktos/" {
			t.Errorf("after install the server still answered %s", h.Path)
		}
	}
	if c := pageErrors(b.consoleErrors()); len(c) > 0 {
		t.Errorf("console: %q", c)
	}
}
