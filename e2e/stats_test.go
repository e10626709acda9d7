package e2e

import (
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/serviceworker"
	"github.com/chromedp/chromedp"
)

// planktos.stats().agent stays true when the browser stops the service worker (as it does when idle):
// the restarted worker has lost its port to the agent and asks the open page for a new one, and the
// agent's counters, kept across pages, come back whole.
func TestStatsAfterWorkerRestart(t *testing.T) {
	dir := packedSite(t, "/", "")
	m := readManifest(t, dir)
	servePlanktos(t, dir)
	b := newBrowser(t, "", uaTag("S"))
	s0 := b.installed("/", m.storable())
	if s0.Agent == nil || s0.Agent.Downloaded["http"] == 0 {
		t.Fatalf("before the restart: %+v", s0.Agent)
	}
	if _, err := chromedp.Call(b.ctx, serviceworker.Enable, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(b.ctx, serviceworker.StopAllWorkers, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}
	var s stats
	b.waitFor("the restarted worker to report the agent", 10*time.Second, func() bool {
		s = b.stats()
		return s.Agent != nil
	})
	if s.Agent.Downloaded["http"] < s0.Agent.Downloaded["http"] || s.Agent.P2P != "on" {
		t.Errorf("after the restart the agent reports %+v, before %+v", s.Agent, s0.Agent)
	}
	// and across a navigation: a new page's agent carries on the counters
	b.open("/about/")
	b.waitFor("the next page's agent", 10*time.Second, func() bool { s = b.stats(); return s.Agent != nil })
	if s.Agent.Downloaded["http"] < s0.Agent.Downloaded["http"] {
		t.Errorf("the next page's agent lost the counters: %+v, before %+v", s.Agent, s0.Agent)
	}
}

// Where the browser has no WebRTC (WebKitGTK as Debian builds it; here Chromium with RTCPeerConnection
// removed before any script runs), the agent reports p2p "unsupported" — not "on" — joins no swarm, and
// the site still installs and prefetches over HTTP.
func TestP2PUnsupported(t *testing.T) {
	dir := packedSite(t, "/", "")
	m := readManifest(t, dir)
	servePlanktos(t, dir)
	b := newBrowser(t, "", uaTag("W"))
	if _, err := chromedp.Call(b.ctx, page.Enable, page.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(b.ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
		Source: `delete window.RTCPeerConnection; delete window.webkitRTCPeerConnection;`}); err != nil {
		t.Fatal(err)
	}
	s := b.installed("/", m.storable())
	var rtc bool
	b.mustEval(`typeof RTCPeerConnection === 'function'`, &rtc)
	if rtc {
		t.Fatal("RTCPeerConnection is still there: the test proves nothing")
	}
	if s.Agent == nil || s.Agent.P2P != "unsupported" || s.Agent.Torrents != 0 {
		t.Errorf("without WebRTC the agent reports %+v, want p2p unsupported and no swarm", s.Agent)
	}
}
