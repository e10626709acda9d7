package e2e

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"
)

// renderJS makes lazy images load, waits for every image to settle, and reports what the page shows:
// its title, broken images, whether its stylesheets applied, and the URLs of its images and sheets.
const renderJS = `(async () => {
  const imgs = [...document.images];
  for (const i of imgs) i.loading = 'eager';
  await Promise.all(imgs.map(i => i.complete && i.naturalWidth > 0 ? null :
    new Promise(r => { i.addEventListener('load', r); i.addEventListener('error', r); if (i.complete) r(); })));
  const sheets = [...document.styleSheets];
  let styled = sheets.length > 0;
  for (const s of sheets) { try { if (s.cssRules.length === 0) styled = false; } catch { styled = false; } }
  return {
    title: document.title, images: imgs.length,
    broken: imgs.filter(i => !(i.naturalWidth > 0)).map(i => i.src),
    styled,
    assets: [...imgs.map(i => i.currentSrc || i.src), ...sheets.map(s => s.href).filter(Boolean)],
  };
})()`

type rendered struct {
	Title  string   `json:"title"`
	Images int      `json:"images"`
	Broken []string `json:"broken"`
	Styled bool     `json:"styled"`
	Assets []string `json:"assets"`
}

// Two visitors, two Chromium processes with their own profiles, one `planktos serve` origin (serve.Handler
// with the Go tracker at /announce, LocalTracker on; the package itself names no tracker). A prefetches
// the whole site; B visits the home page over HTTP; then the origin refuses B every byte but the pages
// and planktos's own bootstrap files (service worker, install script, agent, manifest, torrents), and B
// opens pages whose images and video it never loaded: they render, from A. Checked from both sides: B's
// stats count the bytes as from peers, A's count them uploaded, the origin's log shows no asset byte sent
// to B after the cut, and the tracker saw both visitors in the swarm.
func TestTwoBrowsers(t *testing.T) {
	start := time.Now()
	dir := packedSite(t, "/", "") // no trackers: the served manifest points at the origin's /announce
	m := readManifest(t, dir)
	o := servePlanktos(t, dir)

	a := newBrowser(t, "", uaTag("A"))
	a.installed("/", m.storable())
	if s := a.stats(); s.Agent == nil || s.Agent.Torrents == 0 {
		t.Fatalf("A's agent joined no swarm: %+v", s.Agent)
	}

	// B's manifest says prefetch = "visited": B keeps what it loads, and loads only what its pages need
	// (with "all" its agent would fetch the whole site over HTTP before the cut, leaving nothing to prove)
	o.mu.Lock()
	o.prefetch["B"] = "visited"
	o.mu.Unlock()
	b := newBrowser(t, "", uaTag("B"))
	b.open("/")
	var ok bool
	b.mustEval(`window.planktos.ready`, &ok)
	var r0 rendered
	b.mustEval(renderJS, &r0)
	if !r0.Styled || len(r0.Broken) > 0 {
		t.Fatalf("B's home page over HTTP: %+v", r0)
	}
	b.waitFor("B's agent to meet A", 30*time.Second, func() bool { return agentPeers(b) > 0 })
	var ts = o.tracker.Stats()
	poll.For(t, "two peers in the tracker's swarm", 10*time.Second, func() bool {
		ts = o.tracker.Stats()
		return ts.Peers >= 2
	})
	t.Logf("tracker: %+v", ts)

	// what B got over HTTP before the cut
	before := map[string]bool{}
	for _, h := range o.log() {
		if h.Browser == "B" && h.Bytes > 0 {
			before[h.Path] = true
		}
	}
	sb0 := b.stats()
	peers0 := int64(0)
	if sb0.Agent != nil {
		peers0 = sb0.Agent.Downloaded["peers"]
	}

	// the cut: B gets pages and bootstrap files only — no asset, neither from the store
	// (planktos/files/) nor at its own URL (the service worker's fallback)
	o.setRefuse(func(who, p string) bool { return who == "B" && !isPage(p) && !isBootstrap(p) })

	// a second tab: the first keeps B's agent (and its peer connection) alive across navigations
	bt := b.tab()
	newAssets := map[string]int64{} // manifest key → size, of what B never loaded before
	for _, p := range []string{"/gallery/", "/gallery/diatom/", "/gallery/copepod/", "/gallery/radiolarian/", "/posts/", "/media/"} {
		bt.open(p)
		var r rendered
		bt.mustEval(renderJS, &r)
		if r.Title == "" || !r.Styled || len(r.Broken) > 0 {
			t.Errorf("%s did not render from peers: %+v", p, r)
		}
		for _, src := range r.Assets {
			u, err := url.Parse(src)
			if err != nil || before[u.Path] {
				continue
			}
			key := strings.TrimPrefix(u.Path, "/")
			if k, err := url.PathUnescape(key); err == nil {
				key = k
			}
			if f, ok := m.Files[key]; ok {
				newAssets[key] = f.Size
			}
		}
	}
	seekVideo(t, bt, "/media/")
	var video int64
	if f, ok := m.Files["media/clip.webm"]; ok && !before["/media/clip.webm"] {
		video = f.Size
	}

	var newBytes int64
	for _, n := range newAssets {
		newBytes += n
	}
	if len(newAssets) == 0 {
		t.Errorf("B's pages had no asset it had not loaded before the cut")
	}

	// B's side: the bytes came from peers, at least as many as the new images and sheets hold
	sb := b.stats()
	if sb.Agent == nil {
		t.Fatalf("B has no agent stats: %+v", sb)
	}
	fromPeers := sb.Agent.Downloaded["peers"] - peers0
	if fromPeers <= 0 || fromPeers < newBytes {
		t.Errorf("B downloaded %d bytes from peers after the cut, want ≥ %d (new assets %v)", fromPeers, newBytes, newAssets)
	}
	if sb.Served["peers"].Requests == 0 {
		t.Errorf("B's service worker answered nothing from peers: %+v", sb.Served)
	}
	// A's side: it uploaded
	sa := a.stats()
	if sa.Agent == nil || sa.Agent.Uploaded <= 0 {
		t.Errorf("A uploaded nothing: %+v", sa.Agent)
	}

	// the refusal itself works: B's User-Agent gets a 403 for a store file and an asset URL
	for _, p := range []string{"/planktos/files/" + m.Files["media/clip.webm"].SHA256, "/media/clip.webm"} {
		req, _ := http.NewRequest("GET", origin()+p, nil)
		req.Header.Set("User-Agent", "probe planktos-e2e/B")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("B's request for %s got %d after the cut, want 403", p, resp.StatusCode)
		}
	}

	// the origin's side: not one asset byte to B after the cut
	var refused, pageBytes, bootBytes int
	for _, h := range o.log() {
		if h.Browser != "B" {
			continue
		}
		switch {
		case isPage(h.Path):
			pageBytes += int(h.Bytes)
		case isBootstrap(h.Path):
			bootBytes += int(h.Bytes)
		default:
			if h.Bytes > 0 {
				t.Errorf("after the cut the origin sent B %d bytes of %s (status %d)", h.Bytes, h.Path, h.Status)
			}
			if h.Status == 403 {
				refused++
			}
		}
	}
	t.Logf("after the cut B got %d page bytes and %d bootstrap bytes over HTTP, %d asset requests refused;"+
		" %d bytes from peers (new assets %v: %d bytes, video %d bytes); B served %+v; A uploaded %d; %v in all",
		pageBytes, bootBytes, refused, fromPeers, newAssets, newBytes, video, sb.Served, sa.Agent.Uploaded, time.Since(start).Round(time.Millisecond))
}

// P2P ratio (issue 4; PLANKTOS_BENCH=1 only): N = 5 browsers, one after another, visit the same 5 pages
// (prefetch = "visited"), each staying open. PLANKTOS_BENCH_N sets N; PLANKTOS_BENCH_SEED=1 runs the Go
// seeder as `planktos serve --seed` does (issue 5: then every browser, the first too, has a peer). Per browser, bytes from peers (its agent's count) ÷ all
// site-content bytes it got (from peers plus the origin's log of the manifest's files and the store
// planktos/files/, pages included; planktos's own runtime files are not site content). The ceiling is
// 1 − 1/N = 80 % (the first visitor has no peer); target ≥ 75 % over browsers 2..N.
func TestP2PRatio(t *testing.T) {
	if os.Getenv("PLANKTOS_BENCH") == "" {
		t.Skip("benchmark: set PLANKTOS_BENCH=1")
	}
	n := 5
	fmt.Sscan(os.Getenv("PLANKTOS_BENCH_N"), &n)
	pages := []string{"/", "/about/", "/gallery/diatom/", "/gallery/copepod/", "/media/"}
	prefetch := "visited" // PLANKTOS_BENCH_PREFETCH=all measures the other policy
	if v := os.Getenv("PLANKTOS_BENCH_PREFETCH"); v != "" {
		prefetch = v
	}
	dir := packedSite(t, "/", fmt.Sprintf("prefetch = %q\n", prefetch))
	m := readManifest(t, dir)
	o := servePlanktos(t, dir)
	seeded := os.Getenv("PLANKTOS_BENCH_SEED") != ""
	if seeded {
		seedPlanktos(t, dir)
	}
	o.log()
	var peersAll, totalAll, peersLater, totalLater int64
	var rows []string
	for i := 1; i <= n; i++ {
		name := fmt.Sprint("P", i)
		b := newBrowser(t, "", uaTag(name))
		b.open("/")
		var ok bool
		b.mustEval(`window.planktos.ready`, &ok)
		if i > 1 || seeded {
			b.waitFor(name+"'s agent to meet a peer", 30*time.Second, func() bool { return agentPeers(b) > 0 })
		}
		bt := b.tab() // the first tab keeps the agent
		for _, p := range pages {
			bt.open(p)
			var r rendered
			bt.mustEval(renderJS, &r)
			if !r.Styled || len(r.Broken) > 0 {
				t.Errorf("%s: %s did not render: %+v", name, p, r)
			}
		}
		seekVideo(t, bt, "/media/")
		if prefetch == "all" {
			b.waitFor(name+" to keep the whole site", 60*time.Second, func() bool { return b.stats().Stored >= m.storable() })
		}
		s := b.stats()
		var peers int64
		if s.Agent != nil {
			peers = s.Agent.Downloaded["peers"]
		}
		http := siteBytesFrom(o, m, name)
		total := peers + http
		ratio := 0.0
		if total > 0 {
			ratio = float64(peers) / float64(total)
		}
		rows = append(rows, fmt.Sprintf("| %d | %d | %d | %.1f %% |", i, peers, http, 100*ratio))
		peersAll += peers
		totalAll += total
		if i > 1 {
			peersLater += peers
			totalLater += total
		}
	}
	ceiling := 1 - 1/float64(n) // the first visitor has no peer, unless the origin seeds
	if seeded {
		ceiling = 1
	}
	later := float64(peersLater) / float64(totalLater)
	overall := float64(peersAll) / float64(totalAll)
	out := "| browser | bytes from peers | site bytes from the origin | from peers |\n|---|---|---|---|\n" +
		strings.Join(rows, "\n") + "\n" +
		fmt.Sprintf("| 2..%d | %d | %d | **%.1f %%** |\n| all %d | %d | %d | **%.1f %%** (ceiling %.0f %%) |\n",
			n, peersLater, totalLater-peersLater, 100*later, n, peersAll, totalAll-peersAll, 100*overall, 100*ceiling)
	out = fmt.Sprintf("prefetch = %q, %d pages each (%s), N = %d, Go seeder: %v\n\n", prefetch, len(pages),
		strings.Join(pages, " "), n, seeded) + out
	t.Log("\n" + out)
	fmt.Println(out)
	if later < 0.75 {
		t.Logf("below the 75 %% target over browsers 2..%d: %.1f %%", n, 100*later)
	}
}
