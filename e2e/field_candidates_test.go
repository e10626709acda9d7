package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/planktos/planktos/internal/fieldnet"
	"github.com/planktos/planktos/internal/netns"
)

// gatherJS gathers a peer connection's ICE candidates (with the given iceServers) and returns them as
// "type address" strings.
const gatherJS = `(async (servers) => {
  const pc = new RTCPeerConnection({ iceServers: servers });
  pc.createDataChannel('x');
  const out = [];
  const done = new Promise(r => { pc.onicecandidate = e => e.candidate ? out.push(e.candidate.type + ' ' + e.candidate.address) : r(); });
  await pc.setLocalDescription(await pc.createOffer());
  await Promise.race([done, new Promise(r => setTimeout(r, 10000))]);
  pc.close();
  return out;
})`

func gather(t *testing.T, b *browser, iceServers string) []string {
	t.Helper()
	var c []string
	b.mustEval(gatherJS+"("+iceServers+")", &c)
	return c
}

// What a browser as shipped offers (DESIGN.md, "How browsers pick ICE candidates"), checked on the
// browsers the tests start: in the flat namespace one mDNS .local host candidate (for d0, the default
// route's interface) and no raw address; with a STUN server a server-reflexive one too; with
// hostCandidates (a permission no visitor gives) every raw host address, loopback included. In a field home, STUN reports
// the home router's public address.
func TestBrowserCandidates(t *testing.T) {
	netns.Need(t)
	// d0's address (scripts/netns.sh), the default route's interface; not netns.Need's answer, which
	// may name another test binary's field network bridge while one exists
	const addr = "198.18.0.1"
	_, stunURL := startFlatSTUN(t, addr)
	// a secure page, as the site's are (about:blank is not a secure context and gets less)
	srv := serveOrigin(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "<p>page") }))
	b := newBrowser(t, "")
	b.open("/")
	plain := gather(t, b, "[]")
	withSTUN := gather(t, b, fmt.Sprintf(`[{urls: [%q]}]`, stunURL))
	t.Logf("as shipped: %q; with STUN: %q", plain, withSTUN)
	if len(plain) == 0 {
		t.Fatalf("no candidate at all: has the namespace a default route? (scripts/netns.sh)")
	}
	for _, c := range plain {
		if !strings.HasPrefix(c, "host ") || !strings.HasSuffix(c, ".local") {
			t.Errorf("a browser as shipped offered %q: want only mDNS .local host candidates", c)
		}
	}
	if !contains(withSTUN, "srflx "+addr) {
		t.Errorf("with STUN: %q, want a server-reflexive candidate at %s", withSTUN, addr)
	}

	// what the old default flags did: every host address offered raw, loopback included. The flags are
	// the point of this check (it shows what no visitor's browser offers), so this browser has them.
	h := newBrowser(t, "", hostCandidates())
	h.open("/")
	c0 := gather(t, h, "[]")
	t.Logf("with hostCandidates: %q", c0)
	if !contains(c0, "host "+addr) || !contains(c0, "host 127.0.0.1") {
		t.Errorf("with hostCandidates: %q, want the raw host addresses %s and 127.0.0.1", c0, addr)
	}
	srv.Close()

	f := newField(t)
	st, url := f.startSTUN()
	v, home := f.visitor("V", fieldnet.Cone)
	v.open("about:blank")
	c := gather(t, v, fmt.Sprintf(`[{urls: [%q]}]`, url))
	t.Logf("in a home behind NAT, with STUN: %q (STUN %+v)", c, st.Stats())
	if !contains(c, "srflx "+home.WAN.String()) {
		t.Errorf("in a home: %q, want a server-reflexive candidate at the router's %v", c, home.WAN)
	}
	for _, x := range c {
		if strings.Contains(x, home.Addr.String()) {
			t.Errorf("a browser in a home exposed its private address: %q", x)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// connectJS runs in two pages: "offer" makes a peer connection and returns its offer once gathered;
// "answer" takes an offer and returns the answer; "finish" applies the answer. Then "selected" waits for
// the data channel to open and returns the selected pair's local and remote candidate types.
const connectJS = `window.rtc = window.rtc || {
  async gathered(pc) { if (pc.iceGatheringState !== 'complete') await new Promise(r => pc.addEventListener('icegatheringstatechange', () => pc.iceGatheringState === 'complete' && r())); return JSON.stringify(pc.localDescription); },
  async offer() { const pc = this.pc = new RTCPeerConnection(); this.open = new Promise(r => { const ch = pc.createDataChannel('x'); ch.onopen = r; });
    await pc.setLocalDescription(await pc.createOffer()); return this.gathered(pc); },
  async answer(o) { const pc = this.pc = new RTCPeerConnection(); this.open = new Promise(r => pc.ondatachannel = e => e.channel.onopen = r);
    await pc.setRemoteDescription(JSON.parse(o)); await pc.setLocalDescription(await pc.createAnswer()); return this.gathered(pc); },
  async finish(a) { await this.pc.setRemoteDescription(JSON.parse(a)); return true; },
  async selected() { await Promise.race([this.open, new Promise((_, j) => setTimeout(() => j(new Error('no connection in 20 s: ' + this.pc.iceConnectionState)), 20000))]);
    const s = await this.pc.getStats(); let pair; s.forEach(r => { if (r.type === 'transport') pair = s.get(r.selectedCandidatePairId); });
    return pair ? s.get(pair.localCandidateId).candidateType + ' ' + s.get(pair.remoteCandidateId).candidateType : 'unknown'; },
};`

// Two Chromiums as shipped in one namespace (the flat tests' setting), no STUN: each offers only an
// mDNS .local name, and they connect host to host — Chromium resolves the other's name by multicast on
// d0. So the flat peer tests need no STUN server; two homes behind NATs do (TestFieldNoSTUN).
func TestMDNSOneNamespace(t *testing.T) {
	netns.Need(t)
	a, b := newBrowser(t, ""), newBrowser(t, "")
	a.open("about:blank")
	b.open("about:blank")
	var offer, answer, sa, sb string
	var ok bool
	a.mustEval(connectJS+"rtc.offer()", &offer)
	if !strings.Contains(offer, ".local") {
		t.Fatalf("A's offer has no mDNS candidate: %s", offer)
	}
	b.mustEval(connectJS+"rtc.answer("+jsString(offer)+")", &answer)
	a.mustEval("rtc.finish("+jsString(answer)+")", &ok)
	a.mustEval("rtc.selected()", &sa)
	b.mustEval("rtc.selected()", &sb)
	t.Logf("selected pair (local remote): A %s, B %s", sa, sb)
	// each side's local candidate is its mDNS host one; the remote is host once the name was resolved,
	// or peer-reflexive when the other's check came first (a race, either way no STUN was involved)
	hostPair := func(p string) bool { return p == "host host" || p == "host prflx" }
	if !hostPair(sa) || !hostPair(sb) || (sa != "host host" && sb != "host host") {
		t.Errorf("selected pairs A %q B %q, want host↔host (mDNS names resolved on at least one side)", sa, sb)
	}
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
