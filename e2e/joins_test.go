package e2e

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// manyTorrentSite writes a site whose package has n+1 torrents: n files of 1 MiB (each gets a torrent of
// its own) and the home page (in a shard).
func manyTorrentSite(t *testing.T, n int) string {
	t.Helper()
	dir := t.TempDir()
	rng := rand.NewChaCha8([32]byte{'m', 'a', 'n', 'y'})
	if err := os.Mkdir(filepath.Join(dir, "big"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "index.html"), []byte("<!doctype html><html><head><title>many</title></head><body>many</body></html>\n"))
	for i := range n {
		b := make([]byte, 1<<20)
		rng.Read(b)
		writeFile(t, filepath.Join(dir, "big", fmt.Sprintf("%02d.bin", i)), b)
	}
	return dir
}

// On a site of more torrents than the agent joins at once, a visitor joins only the torrents it needs:
// none when it keeps nothing, and the torrent of a file when a page asks for it — then gets the file
// from a peer in that swarm. B comes first and reads one file alone (the trackers say nobody is there:
// it comes over HTTP without waiting out a join); A keeps the whole site; the origin then refuses B every
// file byte, and B reads two more files: from A, each through a torrent joined for it.
func TestJoinOnDemand(t *testing.T) {
	needChromium(t)
	const n = 12
	dir := manyTorrentSite(t, n)
	pack(t, dir, "/", "prefetch = \"all\"\nprefetch_limit = \"1GiB\"\n")
	m := readManifest(t, dir)
	if len(m.Torrents) != n+1 {
		t.Fatalf("package has %d torrents, want %d", len(m.Torrents), n+1)
	}
	o := servePlanktos(t, dir)
	o.mu.Lock()
	o.prefetch["B"] = "none" // B keeps nothing: whatever it gets after the cut came through its agent
	o.mu.Unlock()

	b := newBrowser(t, "", uaTag("B"))
	b.open("/")
	var ok bool
	b.mustEval(`window.planktos.ready`, &ok)
	bt := b.tab() // the first tab keeps B's agent
	bt.open("/")
	b.waitFor("B's agent", 20*time.Second, func() bool { return b.stats().Agent != nil })
	if s := b.stats(); s.Agent.Torrents != 0 {
		t.Fatalf("B keeps nothing but joined %d of %d torrents", s.Agent.Torrents, len(m.Torrents))
	}
	alone := bt.read("/big/00.bin")
	if alone.Status != 200 || alone.Source != "http" || alone.Bytes != 1<<20 {
		t.Fatalf("B alone, /big/00.bin: %+v, want it over HTTP", alone)
	}
	t.Logf("alone in the swarm: first byte after %.0f ms, whole file after %.0f ms (over HTTP)", alone.First, alone.Total)

	a := newBrowser(t, "", uaTag("A"))
	sa := a.installed("/", m.storable())
	a.waitFor("A's agent in every swarm", 20*time.Second, func() bool {
		sa = a.stats()
		return sa.Agent != nil && sa.Agent.Torrents == n+1
	})

	o.setRefuse(func(who, p string) bool { return who == "B" && !isPage(p) && !isBootstrap(p) })
	for _, name := range []string{"big/05.bin", "big/11.bin"} {
		r := bt.read("/" + name)
		if r.Status != 200 || r.Source != "peers" || r.Bytes != 1<<20 {
			t.Errorf("B after the cut, /%s: %+v, want it from peers", name, r)
		}
		t.Logf("/%s from a peer, torrent joined for it: first byte after %.0f ms, whole after %.0f ms", name, r.First, r.Total)
	}
	sb := b.stats()
	if sb.Agent == nil || sb.Agent.Torrents > 3 {
		t.Errorf("B joined %+v torrents, want at most the 3 of the files it read", sb.Agent)
	}
	if got := sb.Agent.Downloaded["peers"]; got < 2<<20 {
		t.Errorf("B downloaded %d bytes from peers, want ≥ 2 MiB", got)
	}
	for _, h := range o.log() {
		if h.Browser == "B" && h.Bytes > 0 && (strings.Contains(h.Path, "05.bin") || strings.Contains(h.Path, m.Files["big/05.bin"].SHA256)) {
			t.Errorf("origin sent B %d bytes of %s", h.Bytes, h.Path)
		}
	}
}
