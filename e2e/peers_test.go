package e2e

import (
	"bufio"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// startTracker runs the npm bittorrent-tracker WebSocket server (runtime/tools/tracker.mjs) and returns
// its announce URL. It needs node and runtime/node_modules (npm ci --ignore-scripts in runtime/).
func startTracker(t *testing.T) string {
	t.Helper()
	script := filepath.Join(env.root, "runtime", "tools", "tracker.mjs")
	_, errMods := os.Stat(filepath.Join(env.root, "runtime", "node_modules", "bittorrent-tracker"))
	node, errNode := exec.LookPath("node")
	if errMods != nil || errNode != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI is set but node or runtime/node_modules is missing (cd runtime && npm ci --ignore-scripts)")
		}
		t.Skip("node or runtime/node_modules missing (cd runtime && npm ci --ignore-scripts); peer test skipped")
	}
	cmd := exec.Command(node, script, "0")
	stdin, _ := cmd.StdinPipe() // the tracker exits when its stdin closes
	out, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stdin.Close(); cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("tracker: %v", err)
	}
	var port int
	if _, err := fmt.Sscanf(line, "listening %d", &port); err != nil {
		t.Fatalf("tracker said %q", line)
	}
	return fmt.Sprintf("ws://127.0.0.1:%d", port)
}

// blockContent makes the origin refuse the site's content (its pages but the home page, assets and
// planktos/files/), leaving only what bootstraps planktos: the service worker, install script, agent,
// manifest and torrents. A visitor can then only get the rest from peers.
func blockContent(s *siteServer) {
	s.override = func(w http.ResponseWriter, r *http.Request) bool {
		p := r.URL.Path
		open := p == "/" || p == "/planktos.sw.js" || p == "/planktos/install.js" || p == "/planktos/peer.js" ||
			p == "/planktos/manifest.json" || strings.HasPrefix(p, "/planktos/torrents/") || p == "/planktos/root.torrent"
		if open {
			return false
		}
		http.Error(w, "blocked for this test", http.StatusForbidden)
		return true
	}
}

// agentStats waits until the page agent reports and returns its stats.
func agentPeers(b *browser) int {
	s := b.stats()
	if s.Agent == nil {
		return 0
	}
	return s.Agent.Peers
}

// Peers: a second visitor gets the whole site from the first over WebRTC while the origin serves only
// planktos's bootstrap files; the first visitor's stats count the upload.
func TestPeersPrefetch(t *testing.T) {
	tracker := startTracker(t)
	dir := packedSite(t, "/", fmt.Sprintf("trackers = [%q]\n", tracker))
	m := readManifest(t, dir)
	srv := serveSite(t, dir, "/")
	a := newBrowser(t, "")
	a.installed("/", m.storable())
	blockContent(srv)
	b := newBrowser(t, "")
	start := time.Now()
	s := b.installed("/", m.storable())
	t.Logf("second visitor stored %d files in %v: %+v", s.Stored, time.Since(start), *s.Agent)
	if s.Agent == nil || s.Agent.Downloaded["peers"] == 0 {
		t.Errorf("nothing downloaded from peers: %+v", s.Agent)
	}
	if sa := a.stats(); sa.Agent == nil || sa.Agent.Uploaded == 0 {
		t.Errorf("the first visitor uploaded nothing: %+v", sa.Agent)
	}
	srv.stop()
	loadsFine(t, b, samplePages...)
}

// Streaming from peers: with prefetch = "visited", a second visitor's range request for 3.5 MB of the
// video is answered by the service worker through the page agent (flow-controlled chunks over a
// MessagePort), from the first visitor, byte-exact.
func TestPeersStream(t *testing.T) {
	tracker := startTracker(t)
	dir := packedSite(t, "/", fmt.Sprintf("trackers = [%q]\nprefetch = \"visited\"\n", tracker))
	m := readManifest(t, dir)
	srv := serveSite(t, dir, "/")
	a := newBrowser(t, "")
	a.open("/")
	var ok bool
	a.mustEval(`window.planktos.ready`, &ok)
	// the first visitor loads every file (so it holds every piece: pieces span neighbouring files)
	a.mustEval(`fetch('/planktos/manifest.json').then(r => r.json()).then(m =>
	  Promise.all(Object.keys(m.files).map(k => fetch('/' + k.split('/').map(encodeURIComponent).join('/')).then(r => r.arrayBuffer()))))
	  .then(() => true)`, &ok)
	a.waitFor("the first visitor to keep the site", 20*time.Second, func() bool { return a.stats().Stored >= m.storable() })
	blockContent(srv)
	b := newBrowser(t, "")
	b.open("/")
	b.mustEval(`window.planktos.ready`, &ok)
	b.waitFor("the second visitor's agent to meet the first", 30*time.Second, func() bool { return agentPeers(b) > 0 })
	var got struct {
		Status int    `json:"status"`
		Source string `json:"source"`
		Hash   string `json:"hash"`
	}
	b.mustEval(`(async () => {
	  const r = await fetch('/media/clip.webm', { headers: { Range: 'bytes=1000000-' } });
	  const d = await crypto.subtle.digest('SHA-256', await r.arrayBuffer());
	  return { status: r.status, source: r.headers.get('x-planktos-source'),
	    hash: [...new Uint8Array(d)].map(x => x.toString(16).padStart(2, '0')).join('') };
	})()`, &got)
	clip, err := os.ReadFile(filepath.Join(dir, "media", "clip.webm"))
	if err != nil {
		t.Fatal(err)
	}
	if want := sha256Hex(clip[1000000:]); got.Status != 206 || got.Source != "peers" || got.Hash != want {
		t.Errorf("range of the video: %+v, want 206 from peers with hash %s", got, want)
	}
}

// p2p = "download-only": visitors meet but never upload, so a second visitor gets nothing from the
// first and loads over HTTP. p2p = "off": no swarm at all.
func TestPeersPolicy(t *testing.T) {
	tracker := startTracker(t)
	t.Run("download-only", func(t *testing.T) {
		dir := packedSite(t, "/", fmt.Sprintf("trackers = [%q]\np2p = \"download-only\"\n", tracker))
		m := readManifest(t, dir)
		serveSite(t, dir, "/")
		a := newBrowser(t, "")
		a.installed("/", m.storable())
		b := newBrowser(t, "")
		s := b.installed("/", m.storable())
		b.waitFor("the visitors to meet", 20*time.Second, func() bool { return agentPeers(b) > 0 })
		t.Logf("second visitor: agent %+v served %+v", *s.Agent, s.Served)
		// WebTorrent counts some protocol bytes (extension messages) too: less than one 16 KiB block
		// means no file data moved between the visitors
		const block = 16 << 10
		if sa := a.stats(); sa.Agent == nil || sa.Agent.Uploaded >= block {
			t.Errorf("a download-only visitor uploaded: %+v", sa.Agent)
		}
		if s.Agent == nil || s.Agent.Downloaded["peers"] >= block || s.Agent.Downloaded["http"] == 0 {
			t.Errorf("second visitor: %+v, want everything over HTTP", s.Agent)
		}
	})
	t.Run("off", func(t *testing.T) {
		dir := packedSite(t, "/", fmt.Sprintf("trackers = [%q]\np2p = \"off\"\n", tracker))
		m := readManifest(t, dir)
		serveSite(t, dir, "/")
		b := newBrowser(t, "")
		s := b.installed("/", m.storable())
		if s.Agent == nil || s.Agent.Torrents != 0 {
			t.Errorf("p2p off: %+v, want no torrent joined", s.Agent)
		}
	})
}
