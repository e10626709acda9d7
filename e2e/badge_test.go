package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	pkgmanifest "github.com/planktos/planktos/manifest"
	"github.com/planktos/planktos/tracker"
)

// badgeState is what the offload badge shows in a page (present false: no badge).
type badgeState struct {
	Present bool              `json:"present"`
	Role    string            `json:"role"`
	Live    string            `json:"live"`
	Bytes   map[string]int64  `json:"bytes"` // data-bytes of each [data-figure]
	Text    map[string]string `json:"text"`
	Buttons []string          `json:"buttons"` // accessible names
	Fixed   bool              `json:"fixed"`
	// Contrast is the lowest contrast ratio of the badge's text and buttons against their background.
	Contrast float64 `json:"contrast"`
}

// badgeJS reads the badge (#planktos-badge, its shadow root) as badgeState.
const badgeJS = `(() => {
  const host = document.getElementById('planktos-badge');
  if (!host) return { present: false };
  const r = host.shadowRoot, live = r.querySelector('[role=status]');
  const lum = (c) => { const v = c.match(/[\d.]+/g).slice(0, 3).map(Number).map(x => { x /= 255; return x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4; });
    return 0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2]; };
  const ratio = (el) => { const s = getComputedStyle(el); let bg = s.backgroundColor;
    if (/rgba\(.*, 0\)$/.test(bg) || bg === 'transparent') bg = getComputedStyle(r.querySelector('.b')).backgroundColor;
    const a = lum(s.color), b = lum(bg); return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05); };
  const figs = [...r.querySelectorAll('[data-figure]')];
  return {
    present: true, role: live && live.getAttribute('role'), live: live && live.getAttribute('aria-live'),
    bytes: Object.fromEntries(figs.map(e => [e.dataset.figure, Number(e.dataset.bytes)])),
    text: Object.fromEntries(figs.map(e => [e.dataset.figure, e.textContent])),
    buttons: [...r.querySelectorAll('button')].map(b => b.getAttribute('aria-label') || b.textContent),
    fixed: getComputedStyle(host).position === 'fixed',
    contrast: Math.min(...[...figs, ...r.querySelectorAll('button')].map(ratio)),
  };
})()`

// badgeDecided waits until the page's agent decided about the badge (its performance mark) and says
// whether it loaded it.
func badgeDecided(b *browser) bool {
	b.t.Helper()
	var on *bool
	b.waitFor("the page agent's badge decision", 20*time.Second, func() bool {
		b.mustEval(`(((performance.getEntriesByName('planktos:badge')[0] || {}).detail) || {}).on ?? null`, &on)
		return on != nil
	})
	return *on
}

// feedFromPeer is the exchange of TestTwoBrowsers: A keeps the whole site, B (prefetch "visited")
// opens the home page, meets A, and from then on the origin refuses B every byte but pages and
// planktos's bootstrap files (the badge and the reports too); B's second tab opens the gallery,
// whose images only A can give. It returns that tab.
func feedFromPeer(t *testing.T, o *p2pOrigin, m manifest, a, b *browser) *browser {
	t.Helper()
	o.mu.Lock()
	o.prefetch["B"] = "visited"
	o.mu.Unlock()
	a.installed("/", m.storable())
	b.open("/")
	var ok bool
	b.mustEval(`window.planktos.ready`, &ok)
	b.waitFor("B's agent to meet A", 30*time.Second, func() bool { return agentPeers(b) > 0 })
	o.setRefuse(func(who, p string) bool {
		return who == "B" && !isPage(p) && !isBootstrap(p) && p != "/"+pkgmanifest.BadgePath && p != tracker.ReportPath
	})
	bt := b.tab()
	for _, p := range []string{"/gallery/", "/gallery/diatom/"} {
		bt.open(p)
		var r rendered
		bt.mustEval(renderJS, &r)
		if !r.Styled || len(r.Broken) > 0 {
			t.Fatalf("%s did not render from A: %+v", p, r)
		}
	}
	return bt
}

// The badge (badge = true): in every page of the site, fixed in a corner (no layout shift: the page's
// CLS is 0 with it), a polite live region with readable contrast; for B, fed by A, it shows B's own
// figures — peer bytes not zero, as its stats() say — refreshed while B browses. Its button turns
// peers off for the site and back on; Escape dismisses it, for the next pages too.
func TestBadge(t *testing.T) {
	start := time.Now()
	dir := packedSite(t, "/", "badge = true\n")
	m := readManifest(t, dir)
	if !m.Runtime.Badge {
		t.Fatal("badge = true did not reach the manifest")
	}
	o := servePlanktos(t, dir)
	a := newBrowser(t, "", uaTag("A"))
	b := newBrowser(t, "", uaTag("B"))
	bt := feedFromPeer(t, o, m, a, b)
	if !badgeDecided(bt) {
		t.Fatal("badge = true, but the page agent did not load the badge")
	}
	var s badgeState
	var st stats
	bt.waitFor("B's badge to show the bytes B got from A", 20*time.Second, func() bool {
		bt.mustEval(badgeJS, &s)
		st = bt.stats()
		return s.Present && s.Bytes["peers"] > 0 && st.Agent != nil && s.Bytes["peers"] == st.Agent.Downloaded["peers"]
	})
	if s.Role != "status" || s.Live != "polite" || !s.Fixed || s.Contrast < 4.5 || len(s.Buttons) != 2 || strings.Contains(s.Text["peers"], " 0 B") {
		t.Errorf("badge: %+v; want role status, aria-live polite, position fixed, contrast ≥ 4.5, two named buttons, peer bytes shown", s)
	}
	if s.Bytes["store"] != st.Served["store"].Bytes || s.Bytes["uploaded"] != st.Agent.Uploaded {
		t.Errorf("badge %v, stats served %+v agent %+v", s.Bytes, st.Served, *st.Agent)
	}
	// no layout shift: on a page that has none of its own (no image without its size), the badge
	// appears after the load, its figures change, and nothing moves
	bt.open("/docs/getting-started/")
	badgeDecided(bt)
	bt.waitFor("the badge on the next page to show B's figures", 10*time.Second, func() bool {
		bt.mustEval(badgeJS, &s)
		return s.Present && s.Bytes["peers"] > 0
	})
	// and a figure that changes while it is shown (the page read again, from the store)
	store0 := s.Bytes["store"]
	var n int
	bt.mustEval(`fetch(location.href).then(r => r.arrayBuffer()).then(b => b.byteLength)`, &n)
	bt.waitFor("the badge to count the page read again from the store", 10*time.Second, func() bool {
		bt.mustEval(badgeJS, &s)
		return s.Bytes["store"] > store0
	})
	var shifts struct {
		CLS     float64  `json:"cls"`
		Sources []string `json:"sources"`
	}
	bt.mustEval(`(() => { const o = new PerformanceObserver(() => {}); o.observe({ type: 'layout-shift', buffered: true });
	  const es = o.takeRecords().filter(e => !e.hadRecentInput); o.disconnect();
	  return { cls: es.reduce((a, e) => a + e.value, 0), sources: es.flatMap(e => e.sources.map(s => s.node ? s.node.nodeName + '#' + (s.node.id || '') : '?')) };
	})()`, &shifts)
	if shifts.CLS != 0 {
		t.Errorf("layout shifts with the badge: CLS %v, moved %v", shifts.CLS, shifts.Sources)
	}
	if c := bt.consoleErrors(); len(c) > 0 {
		t.Errorf("B's page logged: %q", c)
	}

	// the opt-out button: peers off for the site (every tab), then back on
	click := func(label string) {
		var ok bool
		bt.mustEval(fmt.Sprintf(`(() => { const b = [...document.getElementById('planktos-badge').shadowRoot.querySelectorAll('button')].find(b => b.textContent === %q); if (b) b.click(); return !!b; })()`, label), &ok)
		if !ok {
			t.Fatalf("no badge button %q", label)
		}
	}
	click("Stop sharing with peers")
	bt.waitFor("B's agent to turn peers off", 20*time.Second, func() bool { return agentMode(b) == "off" })
	click("Use peers again")
	bt.waitFor("B's agent to turn peers back on", 20*time.Second, func() bool { return agentMode(b) == "on" })

	// Escape, with the focus in the badge, dismisses it for good
	var focused bool
	bt.mustEval(`(() => { const b = document.getElementById('planktos-badge').shadowRoot.querySelector('button'); b.focus(); return document.activeElement.id === 'planktos-badge'; })()`, &focused)
	if !focused {
		t.Fatal("the badge's button takes no keyboard focus")
	}
	if err := bt.run(5*time.Second, chromedp.KeyEvent("\u001b")); err != nil { // Escape
		t.Fatal(err)
	}
	bt.waitFor("Escape to dismiss the badge", 5*time.Second, func() bool {
		bt.mustEval(badgeJS, &s)
		return !s.Present
	})
	bt.open("/about/")
	if !badgeDecided(bt) {
		t.Fatal("the badge module was not loaded on the next page")
	}
	var dismissed bool // the module ran and found the dismissal (it marks that instead of showing)
	if bt.mustEval(`performance.getEntriesByName('planktos:badge-dismissed').length > 0`, &dismissed); !dismissed {
		t.Error("the badge module did not find the dismissal on the next page")
	}
	if bt.mustEval(badgeJS, &s); s.Present {
		t.Errorf("a dismissed badge came back on the next page: %+v", s)
	}
	t.Logf("badge %v; %v in all", s, time.Since(start).Round(time.Millisecond))
}

// A returning visitor whose origin is down sees the badge too, and its page logs nothing: the
// service worker keeps badge.js with the runtime's files.
func TestBadgeOffline(t *testing.T) {
	dir := packedSite(t, "/", "badge = true\n")
	m := readManifest(t, dir)
	srv := serveSite(t, dir, "/")
	v := newBrowser(t, "")
	v.installed("/", m.storable())
	if !badgeDecided(v) {
		t.Fatal("badge = true, but the page agent did not load the badge")
	}
	srv.stop()
	for _, p := range []string{"/about/", "/gallery/"} {
		v.open(p)
		if !badgeDecided(v) {
			t.Fatalf("origin down: the badge was not loaded on %s", p)
		}
		var s badgeState
		v.waitFor("the badge to show with the origin down", 10*time.Second, func() bool { v.mustEval(badgeJS, &s); return s.Present })
		if c := pageErrors(v.consoleErrors()); len(c) > 0 {
			t.Errorf("origin down, %s logged: %q", p, c)
		}
	}
}

// With badge off (the default) a page costs not one request or byte for it: the same visits (a first
// one that installs the site, then the next page) of the same package built with badge = false and
// with badge = true make the same requests with the same bytes, but for planktos/badge.js itself and
// the manifest's "badge":true.
func TestBadgeOff(t *testing.T) {
	type visit struct{ first, next []uaHit }
	visits := map[bool]visit{}
	var badgeSize, manifestSize [2]int64
	for i, on := range []bool{false, true} {
		t.Run(fmt.Sprintf("badge=%v", on), func(t *testing.T) {
			dir := packedSite(t, "/", fmt.Sprintf("badge = %v\n", on))
			m := readManifest(t, dir)
			badgeSize[i], manifestSize[i] = fileSize(t, dir, pkgmanifest.BadgePath), fileSize(t, dir, pkgmanifest.Path)
			o := servePlanktos(t, dir)
			v := newBrowser(t, "", uaTag("V"))
			v.installed("/", m.storable())
			if got := badgeDecided(v); got != on {
				t.Fatalf("badge loaded: %v, want %v", got, on)
			}
			first := o.log()
			// a returning visitor's next page: the service worker answers it, the agent starts again
			v.open("/about/")
			if got := badgeDecided(v); got != on {
				t.Fatalf("badge loaded on the next page: %v, want %v", got, on)
			}
			var s badgeState
			if on { // the badge appears once its first figures are known (a stats() round trip after it loaded)
				v.waitFor("the badge to show", 10*time.Second, func() bool { v.mustEval(badgeJS, &s); return s.Present })
			} else if v.mustEval(badgeJS, &s); s.Present {
				t.Fatal("badge shown with badge = false")
			}
			v.waitFor("the agent to join its torrents", 20*time.Second, func() bool {
				st := v.stats()
				return st.Agent != nil && st.Agent.Torrents == len(m.Torrents)
			})
			visits[on] = visit{first, o.log()}
			for _, r := range v.responses() {
				if !on && strings.Contains(r.URL, pkgmanifest.BadgePath) {
					t.Errorf("badge off, yet the page requested %s", r.URL)
				}
			}
		})
	}
	if t.Failed() {
		return
	}
	// badge on: badge.js is requested, and the manifest holds "badge":true, so the manifest's bytes
	// are compared on their own (off must not be longer). Nor are its 200s counted: on a first visit
	// the page agent fetches it too when it looks before the installing worker kept it (a race of
	// the runtime either way, unrelated to the badge)
	served := map[bool]int64{}
	lines := func(hs []uaHit, on bool) (out []string, badge bool) {
		for _, h := range hs {
			if h.Path == "/"+pkgmanifest.BadgePath {
				badge = true
				continue
			}
			if h.Path == "/"+pkgmanifest.Path && h.Status == 200 {
				served[on] = h.Bytes
				continue
			}
			out = append(out, fmt.Sprintf("%s %d %d", h.Path, h.Status, h.Bytes))
		}
		sort.Strings(out)
		return out, badge
	}
	for _, phase := range []string{"first visit", "next page"} {
		pick := func(v visit) []uaHit {
			if phase == "first visit" {
				return v.first
			}
			return v.next
		}
		off, offBadge := lines(pick(visits[false]), false)
		on, onBadge := lines(pick(visits[true]), true)
		total := func(hs []uaHit) (n int64) {
			for _, h := range hs {
				n += h.Bytes
			}
			return n
		}
		t.Logf("%s: badge off %d requests, %d bytes; on %d requests and badge.js (%v), %d bytes", phase,
			len(off), total(pick(visits[false])), len(on), onBadge, total(pick(visits[true])))
		// on: the first visit fetches badge.js; the next page has it from the service worker (kept, so
		// the badge shows offline too: TestBadgeOffline)
		if wantOn := phase == "first visit"; offBadge || onBadge != wantOn {
			t.Errorf("%s: badge.js asked of the origin with badge off: %v, on: %v (want %v)", phase, offBadge, onBadge, wantOn)
		}
		if onlyOff, onlyOn := difference(off, on), difference(on, off); len(onlyOff)+len(onlyOn) > 0 {
			t.Errorf("%s: badge off requested %q more, and %q less, than badge on without badge.js", phase, onlyOff, onlyOn)
		}
	}
	if served[false] > served[true] || manifestSize[0] > manifestSize[1] {
		t.Errorf("the manifest with badge off is longer: served %d bytes, on disk %d; with badge on %d, %d",
			served[false], manifestSize[0], served[true], manifestSize[1])
	}
	t.Logf("badge.js %d bytes; manifest %d bytes off, %d on (served: %d, %d)", badgeSize[1], manifestSize[0], manifestSize[1], served[false], served[true])
}

// fileSize is the size of the package file at rel (a manifest layout path) in dir.
func fileSize(t *testing.T, dir, rel string) int64 {
	t.Helper()
	fi, err := os.Stat(filepath.Join(dir, filepath.FromSlash(rel)))
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// difference lists the elements of a not in b, each as many times as a has it more than b.
func difference(a, b []string) []string {
	n := map[string]int{}
	for _, s := range b {
		n[s]++
	}
	var out []string
	for _, s := range a {
		if n[s] > 0 {
			n[s]--
		} else {
			out = append(out, s)
		}
	}
	return out
}
