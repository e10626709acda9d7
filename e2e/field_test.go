package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/planktos/planktos/internal/fieldnet"
)

// fieldSite packs the testsite for the field test's HTTPS origin and serves it there with the wss://
// tracker at /announce; iceServers is the ice_servers value ("" for none).
func fieldSite(t *testing.T, iceServers string) (string, manifest, *p2pOrigin) {
	t.Helper()
	cfg := ""
	if iceServers != "" {
		cfg = "ice_servers = " + iceServers + "\n"
	}
	dir := packedSite(t, "/", cfg)
	return dir, readManifest(t, dir), servePlanktos(t, dir)
}

// Two visitors in two homes, each behind its own cone NAT (fieldnet), with Chromium as shipped (mDNS
// host candidates, no flags), the site on HTTPS with its wss:// tracker and planktos's STUN server in
// ice_servers — a real visitor's situation. A keeps the whole site; B opens the home page, its agent
// meets A through their server-reflexive addresses (the only candidates either can reach), and then,
// refused every asset by the origin, B's pages render from A. Proved by both browsers' stats (B's bytes
// from peers, A's upload), the STUN server's count of answered requests and the origin's log.
func TestFieldTwoHomes(t *testing.T) {
	f := newField(t)
	st, url := f.startSTUN()
	_, m, o := fieldSite(t, `[{ urls = ["`+url+`"] }]`)

	a, _ := f.visitor("A", fieldnet.Cone)
	sa := a.installed("/", m.storable())
	if !sa.Controlled {
		t.Fatalf("A's page is not controlled by the service worker over HTTPS: %+v", sa)
	}
	o.mu.Lock()
	o.prefetch["B"] = "visited" // B loads only what its pages need (see TestTwoBrowsers)
	o.mu.Unlock()
	b, _ := f.visitor("B", fieldnet.Cone)
	start := time.Now()
	b.open("/")
	var ok bool
	b.mustEval(`window.planktos.ready`, &ok)
	b.waitFor("B's agent to meet A across two NATs", 60*time.Second, func() bool { return agentPeers(b) > 0 })
	t.Logf("B met A %v after navigating; STUN %+v; tracker %+v", time.Since(start).Round(time.Millisecond), st.Stats(), o.tracker.Stats())
	if st.Stats().Answered == 0 {
		t.Errorf("the STUN server answered nothing, yet the browsers met: %+v", st.Stats())
	}

	o.log()
	o.setRefuse(func(who, p string) bool { return who == "B" && !isPage(p) && !isBootstrap(p) })
	peers0 := b.stats().Agent.Downloaded["peers"]
	sb, sa := rendersFromA(t, o, a, b, b.tab(), peers0) // the first tab keeps B's agent
	t.Logf("B: %d bytes from peers, served %+v; A uploaded %d", sb.Agent.Downloaded["peers"], sb.Served, sa.Agent.Uploaded)
}

// rendersFromA opens two gallery pages in B's tab bt after the origin's cut (B refused every asset)
// and checks from both sides that they rendered from A: B's bytes from peers since peers0, A's upload,
// and not one asset byte from the origin to B. It returns both visitors' stats.
func rendersFromA(t *testing.T, o *p2pOrigin, a, b, bt browserEngine, peers0 int64) (sb, sa stats) {
	t.Helper()
	for _, p := range []string{"/gallery/", "/gallery/diatom/"} {
		bt.open(p)
		var r rendered
		bt.mustEval(renderJS, &r)
		if r.Title == "" || !r.Styled || len(r.Broken) > 0 {
			t.Errorf("%s did not render from A: %+v", p, r)
		}
	}
	sb, sa = b.stats(), a.stats()
	if sb.Agent == nil || sb.Agent.Downloaded["peers"]-peers0 <= 0 {
		t.Errorf("B got no bytes from peers after the cut: %+v", sb.Agent)
	}
	if sa.Agent == nil || sa.Agent.Uploaded <= 0 {
		t.Errorf("A uploaded nothing: %+v", sa.Agent)
	}
	for _, h := range o.log() {
		if h.Browser == "B" && !isPage(h.Path) && !isBootstrap(h.Path) && h.Bytes > 0 {
			t.Errorf("after the cut the origin sent B %d bytes of %s", h.Bytes, h.Path)
		}
	}
	return sb, sa
}

// The same two homes without a STUN server: the failure mode of a site whose package names no
// ice_servers. Each browser offers only an mDNS .local name for its private address, which the other
// home can neither resolve nor route to, and nothing else — so no connection ever forms although the
// tracker puts both in the swarm and relays their offers and answers.
// Packaging warned the owner and `planktos verify` names what is missing, before any visitor came.
func TestFieldNoSTUN(t *testing.T) {
	f := newField(t)
	dir := builtSite(t, "/")
	announce := "wss" + strings.TrimPrefix(originOf(t), "https") + "/announce"
	out := packed(t, dir, fmt.Sprintf("trackers = [%q]\n", announce))
	if !strings.Contains(out, "ice_servers") || !strings.Contains(strings.ToLower(out), "stun") {
		t.Errorf("planktos pack gave no warning about the missing STUN server:\n%s", out)
	}
	v, err := exec.Command(env.planktos, "verify", dir).CombinedOutput()
	if err == nil || !strings.Contains(string(v), "no STUN server") {
		t.Errorf("planktos verify of a package without ice_servers: %v\n%s", err, v)
	}
	neverConnect(t, f, servePlanktos(t, dir), readManifest(t, dir), fieldnet.Cone)
}

// packed runs `planktos pack` on dir (served at the test's origin) with config as planktos.toml and
// returns what it printed.
func packed(t *testing.T, dir, config string) string {
	t.Helper()
	cfg := filepath.Join(t.TempDir(), "planktos.toml")
	if err := os.WriteFile(cfg, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(env.planktos, "pack", "--config", cfg, "--base-url", originOf(t)+"/", dir)
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("planktos pack: %v\n%s", err, out)
	}
	return string(out)
}

// A visitor behind a carrier-grade (symmetric) NAT, with STUN: its router gives every destination a
// new port, so the server-reflexive address STUN reported is not where its checks to the other visitor
// come from, and the other home's router drops them as unsolicited; the other side's checks to the
// reported address are dropped too. Only a TURN relay would connect them (planktos's STUN server is
// not one): no connection forms.
func TestFieldSymmetricNAT(t *testing.T) {
	f := newField(t)
	st, url := f.startSTUN()
	_, m, o := fieldSite(t, `[{ urls = ["`+url+`"] }]`)
	neverConnect(t, f, o, m, fieldnet.Symmetric)
	if st.Stats().Answered == 0 {
		t.Errorf("the STUN server answered nothing: %+v", st.Stats())
	}
}

// neverConnect puts visitor A (keeping the whole site) in a cone home and B in a home of kind kindB,
// waits until the tracker has relayed an offer between them and forwarded the answer (its own
// counters: the signalling happened, so each side has every candidate the other will ever offer),
// gives ICE a bounded time — well over the ~2 s two cone homes with STUN take (TestFieldTwoHomes) —
// and asserts that neither agent has a peer and B got no byte from peers.
func neverConnect(t *testing.T, f *field, o *p2pOrigin, m manifest, kindB fieldnet.Kind) {
	t.Helper()
	a, _ := f.visitor("A", fieldnet.Cone)
	a.installed("/", m.storable())
	b, _ := f.visitor("B", kindB)
	watchPeerConnections(t, b)
	b.open("/")
	var ok bool
	b.mustEval(`window.planktos.ready`, &ok)
	ts := o.tracker.Stats()
	poll.For(t, "the tracker to relay an offer between A and B and forward the answer", 60*time.Second, func() bool {
		ts = o.tracker.Stats()
		return ts.Peers >= 2 && ts.OffersRelayed > 0 && ts.AnswersForwarded > 0
	})
	t.Logf("tracker after signalling: %+v", ts)
	// every connection B's agent tried ends — ICE fails, or WebTorrent gives it up — and none connected
	var pcs struct{ Tried, Connected, Open int }
	start := time.Now()
	b.waitFor("every connection B tried to end", 90*time.Second, func() bool {
		b.mustEval(peerConnectionsJS, &pcs)
		return pcs.Connected > 0 || (pcs.Tried > 0 && pcs.Open == 0)
	})
	t.Logf("B's %d connection attempts ended after %v", pcs.Tried, time.Since(start).Round(time.Second))
	if pcs.Connected > 0 || agentPeers(b) > 0 {
		t.Fatalf("B (%s NAT) connected to a peer (%+v): the field network leaks a route", kindB, pcs)
	}
	sa, sb := a.stats(), b.stats()
	if sa.Agent.Peers != 0 || sb.Agent.Peers != 0 || sb.Agent.Downloaded["peers"] != 0 {
		t.Errorf("A %+v, B %+v; want no peer and no byte from peers", sa.Agent, sb.Agent)
	}
	t.Logf("no connection (B behind a %s NAT); tracker %+v", kindB, o.tracker.Stats())
}

// watchPeerConnections records, in every page b opens from now on, each RTCPeerConnection the page
// makes and how it ends (the page's own code is unchanged: the constructor is subclassed). Read with
// peerConnectionsJS.
func watchPeerConnections(t *testing.T, b *browser) {
	t.Helper()
	const js = `(() => {
  const P = window.RTCPeerConnection;
  if (!P) return;
  const all = window.__planktosTestPCs = [];
  window.RTCPeerConnection = class extends P {
    constructor(...args) {
      super(...args);
      const r = this.__planktosTest = { state: 'new', connected: false };
      all.push(r);
      this.addEventListener('connectionstatechange', () => {
        r.state = this.connectionState;
        if (r.state === 'connected') r.connected = true;
      });
    }
    close() { // fires no event
      this.__planktosTest.state = 'closed';
      return super.close();
    }
  };
})()`
	if _, err := chromedp.Call(b.ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: js}); err != nil {
		t.Fatalf("watch peer connections: %v", err)
	}
}

// peerConnectionsJS counts the page's RTCPeerConnections: made, ever connected, not yet ended.
const peerConnectionsJS = `(() => {
  const all = window.__planktosTestPCs || [];
  return { tried: all.length, connected: all.filter(r => r.connected).length,
    open: all.filter(r => r.state !== 'failed' && r.state !== 'closed').length };
})()`

// The HTTPS origin's certificate, signed by the test CA, is valid for a browser whose NSS database
// trusts that CA (as a machine trusts what its administrator installed): the service worker registers
// and controls the page. The same browser with a HOME that does not trust the CA gets a certificate
// error and no page at all.
func TestFieldCertificate(t *testing.T) {
	f := newField(t)
	_, _, o := fieldSite(t, "")
	v, _ := f.visitor("V", fieldnet.Cone)
	v.open("/")
	var ok bool
	v.mustEval(`window.planktos.ready`, &ok)
	var ctl bool
	v.waitFor("the service worker to control the page", 30*time.Second, func() bool {
		return v.eval(`!!navigator.serviceWorker.controller && location.protocol === 'https:'`, &ctl) == nil && ctl
	})
	n := 0
	for _, h := range o.log() {
		if h.Browser == "V" && h.Path == "/planktos.sw.js" && h.Status == 200 {
			n++
		}
	}
	if n == 0 {
		t.Errorf("the origin never served V the service worker")
	}
	// a later Env wins: this browser's HOME has no NSS database
	u, _ := f.visitor("U", fieldnet.Cone, chromedp.Env("HOME="+t.TempDir()))
	err := u.run(30*time.Second, chromedp.Navigate(originOf(t)+"/"))
	if err == nil || !strings.Contains(err.Error(), "ERR_CERT_AUTHORITY_INVALID") {
		t.Errorf("a browser that does not trust the test CA opened the page: %v", err)
	}
}

// A returning visitor in a home: Chromium quits gracefully (browser.close) and its profile keeps the
// service worker and the store, so when the visitor comes back — same home, same profile — with the
// origin down, the home page still loads, from the store, controlled by the service worker.
func TestFieldReturningVisitor(t *testing.T) {
	f := newField(t)
	_, m, o := fieldSite(t, "")
	v, home := f.visitor("V", fieldnet.Cone)
	v.installed("/", m.storable())
	profile := v.profile
	v.close()
	o.srv.Close() // the origin goes down: connections refused

	again := f.browserIn(home, "V", profile)
	again.open("/")
	var r rendered
	again.mustEval(renderJS, &r)
	s := again.stats()
	if !s.Controlled || r.Title == "" || !r.Styled || len(r.Broken) > 0 {
		t.Fatalf("the returning visitor's home page with the origin down: %+v, stats %+v", r, s)
	}
	if s.Stored < m.storable() {
		t.Errorf("the returning visitor's store holds %d files, want %d", s.Stored, m.storable())
	}
	t.Logf("returning visitor, origin down: %q rendered from the store (%d files)", r.Title, s.Stored)
}
