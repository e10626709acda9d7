package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// hashJS fetches a URL through the service worker and returns its status, source and SHA-256.
const hashJS = `(async (url) => {
  const res = await fetch(url);
  const buf = await res.arrayBuffer();
  const d = new Uint8Array(await crypto.subtle.digest('SHA-256', buf));
  return { status: res.status, source: res.headers.get('x-planktos-source') || '', bytes: buf.byteLength,
    sha256: [...d].map(b => b.toString(16).padStart(2, '0')).join('') };
})`

// A hostile peer — a Go seeder whose copy of the video has one byte changed in every 16 KiB, so every
// piece it sends fails its check — cannot get a wrong byte to the page: the video still loads, whole and
// right (over HTTP once the peer has nothing good to give), and the visitor's agent disconnects that
// peer and does not take it back.
func TestHostilePeer(t *testing.T) {
	dir := packedSite(t, "/", "")
	m := readManifest(t, dir)
	video, ok := m.Files["media/clip.webm"]
	if !ok {
		t.Fatal("the testsite has no media/clip.webm")
	}
	hostile := filepath.Join(t.TempDir(), "hostile")
	if err := os.CopyFS(hostile, os.DirFS(dir)); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(hostile, "planktos", "files", video.SHA256)
	b, err := os.ReadFile(bad)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(b); i += 16 << 10 {
		b[i] ^= 0xff
	}
	if err := os.WriteFile(bad, b, 0o644); err != nil {
		t.Fatal(err)
	}
	o := servePlanktos(t, dir) // the origin has the right bytes
	seedPlanktos(t, hostile)
	o.mu.Lock()
	o.prefetch["V"] = "none"
	o.mu.Unlock()

	v := visitor(t, "V", "/")
	vt := v.tab() // the first tab keeps V's agent
	vt.open("/")
	var got struct {
		Status int    `json:"status"`
		Source string `json:"source"`
		Bytes  int64  `json:"bytes"`
		SHA256 string `json:"sha256"`
	}
	vt.mustEval(fmt.Sprintf("%s(%q)", hashJS, "/media/clip.webm"), &got)
	if got.Status != 200 || got.Bytes != video.Size || got.SHA256 != video.SHA256 {
		t.Fatalf("the video through a hostile peer: %+v, want %d bytes hashing to %s", got, video.Size, video.SHA256)
	}
	t.Logf("the video arrived whole and right, from %s", got.Source)
	peersJS := fmt.Sprintf(`(() => { const f = window.planktosAgent.swarm.find(%q); return f ? f.torrent.numPeers : -1; })()`, video.SHA256)
	var n int
	v.waitFor("V's agent to drop the hostile peer", 20*time.Second, func() bool {
		v.mustEval(peersJS, &n)
		return n == 0
	})
	// V announces again (as it does every few minutes), with new offers: the tracker hands them to the
	// hostile seeder, which connects, and V refuses it
	swarmJS := fmt.Sprintf(`window.planktosAgent.swarm.torrents.get(window.planktosAgent.swarm.where.get(%q).infohash)`, video.SHA256)
	var refused int
	v.mustEval(`window.planktosAgent.swarm.refused`, &refused)
	v.mustEval(`(`+swarmJS+`.discovery.tracker.update(), true)`, &ok)
	v.waitFor("the hostile peer to come back through the tracker, and be refused", 30*time.Second, func() bool {
		var now int
		v.mustEval(`window.planktosAgent.swarm.refused`, &now)
		return now > refused
	})
	if v.mustEval(peersJS, &n); n != 0 {
		t.Errorf("V is connected to %d peers in the video's torrent again; the hostile one should stay out", n)
	}
}
