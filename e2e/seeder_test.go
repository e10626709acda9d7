package e2e

import (
	"bytes"
	"log"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/planktos/planktos/internal/netns"
	"github.com/planktos/planktos/seeder"
)

// seedPlanktos runs the Go seeder on dir, announced to o's tracker only (as `planktos serve --seed`
// does), until the test ends.
func seedPlanktos(t *testing.T, dir string) *seeder.Seeder {
	t.Helper()
	netns.Need(t)
	announce := "ws" + strings.TrimPrefix(origin(), "http") + "/announce"
	s, err := seeder.New(seeder.Config{Dir: dir, Trackers: []string{announce}, IgnoreManifestTrackers: true,
		Poll: 200 * time.Millisecond, Log: log.New(testLog{t}, "seeder: ", 0)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

type testLog struct{ t *testing.T }

func (w testLog) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// visitor starts a browser tagged name, opens path and waits until planktos runs and its agent has met
// the seeder.
func visitor(t *testing.T, name, path string) *browser {
	t.Helper()
	v := newBrowser(t, "", uaTag(name))
	v.open(path)
	var ok bool
	v.mustEval(`window.planktos.ready`, &ok)
	v.waitFor(name+"'s agent to meet the seeder", 30*time.Second, func() bool { return agentPeers(v) > 0 })
	return v
}

// onlyBootstrap refuses browser who every byte but planktos's own bootstrap files (service worker,
// install script, agent, manifest, torrents, tracker): no page, no asset, no store file.
func onlyBootstrap(who string) func(string, string) bool {
	return func(b, p string) bool { return b == who && !isBootstrap(p) }
}

// noContentAfterCut fails the test for every byte of site content (pages, assets, store files) the
// origin sent browser who since the last call of o.log.
func noContentAfterCut(t *testing.T, o *p2pOrigin, who string) (boot int64) {
	t.Helper()
	for _, h := range o.log() {
		if h.Browser != who {
			continue
		}
		if isBootstrap(h.Path) {
			boot += h.Bytes
		} else if h.Bytes > 0 {
			t.Errorf("after the cut the origin sent %s %d bytes of %s (status %d)", who, h.Bytes, h.Path, h.Status)
		}
	}
	return boot
}

// The origin seeds (planktos serve --seed: serve.Handler, the Go tracker, the Go seeder). One visitor,
// alone with the seeder: it opens the home page over HTTP and its agent meets the seeder; then the
// origin refuses it every byte but planktos's bootstrap files — pages included — and it opens every page
// of the testsite: each renders (styles applied, no broken image), from the seeder alone. Checked from
// three sides: the visitor's stats count the bytes as from peers, the seeder's count them uploaded, and
// the origin's log shows not one page or asset byte after the cut.
func TestSeederAlone(t *testing.T) {
	netns.Need(t)
	dir := packedSite(t, "/", "prefetch = \"visited\"\n") // keep what it loads; fetch nothing else
	m := readManifest(t, dir)
	o := servePlanktos(t, dir)
	s := seedPlanktos(t, dir)

	v := visitor(t, "V", "/")
	o.log()
	o.setRefuse(onlyBootstrap("V"))
	peers0 := v.stats().Agent.Downloaded["peers"]

	vt := v.tab() // the first tab keeps the agent and its connections
	var assets int64
	seen := map[string]bool{}
	pages := m.pages(t, dir)
	for _, p := range pages {
		vt.open("/" + p)
		var r rendered
		vt.mustEval(renderJS, &r)
		if r.Title == "" || !r.Styled || len(r.Broken) > 0 {
			t.Errorf("/%s did not render from the seeder: %+v", p, r)
		}
		for _, src := range r.Assets {
			u, err := url.Parse(src)
			if err != nil || seen[u.Path] {
				continue
			}
			seen[u.Path] = true
			key, _ := url.PathUnescape(strings.TrimPrefix(u.Path, "/"))
			assets += m.Files[key].Size
		}
	}
	seekVideo(t, vt, "/media/")

	sv := v.stats()
	fromPeers := sv.Agent.Downloaded["peers"] - peers0
	ss := s.Stats()
	if fromPeers <= 0 || sv.Served["peers"].Requests == 0 {
		t.Errorf("V got %d bytes from peers after the cut, its service worker served %+v", fromPeers, sv.Served)
	}
	// V has no other peer; the two sides count a little differently (anacrolix: piece payload sent;
	// WebTorrent: bytes of its 'download' events), hence the slack
	if ss.Uploaded < fromPeers*9/10 {
		t.Errorf("the seeder uploaded %d bytes, V got %d from peers (it has no other peer)", ss.Uploaded, fromPeers)
	}
	boot := noContentAfterCut(t, o, "V")
	t.Logf("%d pages and %d distinct assets (%d bytes) after the cut: V got %d bytes from peers, "+
		"%d bootstrap bytes over HTTP, no content byte; service worker %+v; seeder: %d peers, %d bytes up",
		len(pages), len(seen), assets, fromPeers, boot, sv.Served, ss.Peers, ss.Uploaded)
}

// Revision change while the seeder runs: a visitor has seen the home and about pages; the site is
// edited (the about page, the logo) and packaged again, and the seeder follows the new revision without
// a restart. From then on the origin refuses the visitor every byte but planktos's bootstrap files. The
// visitor comes back to the home page (from its store), which tells its service worker and agent about
// the new revision; the agent joins the new torrents and meets the seeder there; the about page then
// shows the new text and the new logo — bytes only the seeder could have sent.
func TestSeederRevision(t *testing.T) {
	netns.Need(t)
	const cfg = "prefetch = \"visited\"\n"
	dir := packedSite(t, "/", cfg)
	old := readManifest(t, dir)
	o := servePlanktos(t, dir)
	s := seedPlanktos(t, dir)

	v := visitor(t, "V", "/")
	vt := v.tab() // the first tab keeps the agent and its connections
	vt.open("/about/")
	vt.open("/") // again, now through the service worker: it keeps the page

	page := filepath.Join(dir, "about", "index.html")
	html, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, page, bytes.Replace(html, []byte("</body>"), []byte(`<p id="updated">revision two</p></body>`), 1))
	writeFile(t, filepath.Join(dir, "images", "logo.png"), squarePNG(t, 7))
	pack(t, dir, "/", cfg)
	next := readManifest(t, dir)
	if next.Revision == old.Revision {
		t.Fatal("repackaging did not change the revision")
	}
	poll.For(t, "the seeder to follow the new revision", 10*time.Second, func() bool {
		return s.Stats().Revision == next.Revision
	})
	o.log()
	o.setRefuse(onlyBootstrap("V"))
	peers0 := v.stats().Agent.Downloaded["peers"]

	vt.open("/") // from V's store; its service worker revalidates the manifest
	v.waitFor("V's agent to join the new revision's torrents and meet the seeder there", 30*time.Second, func() bool {
		st := v.stats()
		return st.Revision == next.Revision && st.Agent != nil && st.Agent.Torrents == len(next.Torrents) &&
			st.Agent.Peers >= len(next.Torrents)
	})
	vt.open("/about/")
	var got struct {
		Updated bool `json:"updated"`
		Logo    int  `json:"logo"`
	}
	vt.mustEval(`(async () => {
	  const img = [...document.images].find(i => i.src.endsWith('/images/logo.png'));
	  if (img && !img.complete) await new Promise(r => { img.onload = img.onerror = r; });
	  return { updated: !!document.getElementById('updated'), logo: img ? img.naturalWidth : -1 };
	})()`, &got)
	if !got.Updated || got.Logo != 7 {
		t.Fatalf("after the update, from the seeder: %+v (want the new page and the 7 px logo)", got)
	}
	sv := v.stats()
	fromPeers := sv.Agent.Downloaded["peers"] - peers0
	want := next.Files["about/index.html"].Size + next.Files["images/logo.png"].Size
	if fromPeers < want {
		t.Errorf("V got %d bytes from peers after the update, want ≥ %d (the new page and logo)", fromPeers, want)
	}
	if sv.Revision != next.Revision {
		t.Errorf("V runs revision %.12s, want %.12s", sv.Revision, next.Revision)
	}
	if up := s.Stats().Uploaded; up < fromPeers*9/10 {
		t.Errorf("the seeder uploaded %d bytes, V got %d from peers (it has no other peer)", up, fromPeers)
	}
	noContentAfterCut(t, o, "V")
	t.Logf("new revision from the seeder: %d bytes from peers; seeder %+v", fromPeers, s.Stats())
}
