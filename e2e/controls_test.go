package e2e

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// agentMode is the P2P mode the browser's page agent is in ("" without an agent).
func agentMode(b *browser) string {
	if s := b.stats(); s.Agent != nil {
		return s.Agent.P2P
	}
	return ""
}

func saveData(b *browser, on bool) {
	b.t.Helper()
	if _, err := chromedp.Call(b.ctx, emulation.SetDataSaverOverride, emulation.SetDataSaverOverrideParams{DataSaverEnabled: &on}); err != nil {
		b.t.Fatalf("data saver override: %v", err)
	}
}

// A visitor whose browser asks to save data downloads from peers but never uploads a piece: its peers
// get the bytes over HTTP instead. Once the connection no longer asks to save data, the same peer serves
// the same kind of request. A (save-data) keeps the files it reads (1 MiB each, a torrent each, so that
// A holds whole pieces); B keeps nothing and reads A's files.
func TestSaveDataNeverUploads(t *testing.T) {
	needChromium(t)
	dir := manyTorrentSite(t, 3)
	pack(t, dir, "/", `prefetch = "visited"`)
	o := servePlanktos(t, dir)
	o.mu.Lock()
	o.prefetch["B"] = "none"
	o.mu.Unlock()

	a := newBrowser(t, "", uaTag("A"))
	saveData(a, true)
	a.open("/")
	var ok bool
	a.mustEval(`window.planktos.ready`, &ok)
	a.open("/")
	for i := range 3 {
		if r := a.read(fmt.Sprintf("/big/%02d.bin", i)); r.Status != 200 {
			t.Fatalf("A reading big/%02d.bin: %+v", i, r)
		}
	}
	a.waitFor("A's agent, download-only, in the files' swarms", 20*time.Second, func() bool {
		s := a.stats()
		return s.Stored >= 3 && s.Agent != nil && s.Agent.P2P == "download-only" && s.Agent.Torrents >= 3
	})

	b := newBrowser(t, "", uaTag("B"))
	b.open("/")
	b.mustEval(`window.planktos.ready`, &ok)
	bt := b.tab() // the first tab keeps B's agent
	bt.open("/")
	// B meets A first (a read waits for no peer still connecting), so that a read over HTTP shows A refused
	b.waitFor("B's agent to meet A", 30*time.Second, func() bool { return agentPeers(b) > 0 })
	if r := bt.read("/big/00.bin"); r.Status != 200 || r.Source != "http" {
		t.Errorf("B reading a file held only by a save-data peer: %+v, want it over HTTP", r)
	}
	if s := b.stats(); s.Agent == nil || s.Agent.Peers == 0 {
		t.Errorf("B never met A, so the test proves nothing: %+v", s.Agent)
	}
	if s := a.stats(); s.Agent == nil || s.Agent.Uploaded != 0 {
		t.Errorf("A (save-data) uploaded: %+v", s.Agent)
	}

	saveData(a, false)
	a.mustEval(`(window.planktos.optOut(false), true)`, &ok) // tells the agent to look again
	a.waitFor("A's agent, uploading", 20*time.Second, func() bool { return agentMode(a) == "on" })
	var last readResult
	if !poll.Until(30*time.Second, func() bool { last = bt.read("/big/01.bin"); return last.Source == "peers" }) {
		t.Fatalf("B did not read a file from A within 30 s: last read %+v; B %+v; A %+v", last, b.stats().Agent, a.stats().Agent)
	}
	if s := a.stats(); s.Agent == nil || s.Agent.Uploaded < 1<<20 {
		t.Errorf("A uploaded less than the file once save-data was off: %+v", s.Agent)
	}
}

// planktos.optOut() turns P2P off for the visitor: no WebRTC, no swarm at the tracker, in every tab and
// after a browser restart; the site keeps working over HTTP. optOut(false) turns it back on.
func TestOptOut(t *testing.T) {
	dir := packedSite(t, "/", "")
	m := readManifest(t, dir)
	o := servePlanktos(t, dir)
	profile := t.TempDir()
	c := newBrowser(t, profile, uaTag("C"))
	c.installed("/", m.storable())
	c.waitFor("C in the swarms", 20*time.Second, func() bool { return o.tracker.Stats().Peers == len(m.Torrents) })

	var ok bool
	c.mustEval(`(window.planktos.optOut(), true)`, &ok)
	c.waitFor("C's agent off", 20*time.Second, func() bool { return agentMode(c) == "off" })
	c.waitFor("C out of every swarm", 20*time.Second, func() bool { return o.tracker.Stats().Peers == 0 })
	if s := c.stats(); s.Agent.Torrents != 0 || s.Agent.Peers != 0 {
		t.Errorf("opted out, C's agent: %+v", s.Agent)
	}

	c.close()
	c = newBrowser(t, profile, uaTag("C"))
	c.open("/gallery/diatom/")
	var r rendered
	c.mustEval(renderJS, &r)
	if !r.Styled || len(r.Broken) > 0 {
		t.Errorf("opted out, after a restart the page did not render: %+v", r)
	}
	c.waitFor("C's agent", 20*time.Second, func() bool { return agentMode(c) != "" })
	// the agent's first follow of the manifest is where it would join the swarms: once it is over, the
	// agent has decided (a swarm exists, or never will until the mode changes)
	var started struct {
		Swarm bool   `json:"swarm"`
		Mode  string `json:"mode"`
	}
	c.mustEval(`window.planktosAgent.ready.then(() => ({ swarm: !!window.planktosAgent.swarm, mode: window.planktosAgent.mode() }))`, &started)
	if peers := o.tracker.Stats().Peers; started.Swarm || started.Mode != "off" || peers != 0 {
		t.Errorf("after a restart: agent %+v, %d peers at the tracker; want off, no swarm and none", started, peers)
	}

	c.mustEval(`(window.planktos.optOut(false), true)`, &ok)
	c.waitFor("C's agent on again", 20*time.Second, func() bool { return agentMode(c) == "on" })
	c.waitFor("C in the swarms again", 20*time.Second, func() bool { return o.tracker.Stats().Peers == len(m.Torrents) })
}

// storedKeys lists the manifest paths (non-HTML, in the one path order) whose content the browser's
// store holds, read from its CacheStorage.
func (b *browser) storedKeys(m manifest) []string {
	b.t.Helper()
	var urls []string
	b.mustEval(`caches.open('planktos:/:files:v1').then(c => c.keys()).then(ks => ks.map(r => r.url))`, &urls)
	have := map[string]bool{}
	for _, u := range urls {
		have[u[strings.LastIndex(u, "/")+1:]] = true
	}
	var keys []string
	for k, f := range m.Files {
		if have[f.SHA256] && !strings.HasSuffix(k, ".html") && f.Size > 0 {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}
