package e2e

import (
	"bufio"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/planktos/planktos/internal/fieldnet"
	"github.com/planktos/planktos/seeder"
)

// Acceptance tests of issue 12 in the field network (see field_test.go): visitors in homes behind
// NATs, Chromium as shipped, the site on HTTPS with its wss:// tracker.

// renders opens p in b and requires that it renders (title, styles, no broken image). On a first visit
// the page loads before the service worker controls it: what failed then is asked for again once it
// does (the agent's repair), so the first page is given until that has settled.
func renders(t *testing.T, b *browser, p string, first bool) rendered {
	t.Helper()
	t0 := time.Now()
	b.open(p)
	defer func() { t.Logf("%s rendered in %v", p, time.Since(t0).Round(time.Millisecond)) }()
	var r rendered
	if !first {
		b.mustEval(renderJS, &r)
	} else {
		var ok bool
		b.mustEval(`window.planktos.ready`, &ok)
		if !poll.Until(30*time.Second, func() bool { return b.eval(renderJS, &r) == nil && r.Styled && len(r.Broken) == 0 }) {
			t.Fatalf("%s did not render once controlled: %+v; stats %+v; console %q; open %q", p, r, b.stats(), b.consoleErrors(), b.openRequests())
		}
	}
	if r.Title == "" || !r.Styled || len(r.Broken) > 0 {
		t.Errorf("%s did not render: %+v", p, r)
	}
	return r
}

// assetBytesTo fails the test for every asset byte (not a page, not planktos's bootstrap) the origin
// sent browser who since the last o.log(), and returns the page and bootstrap bytes it sent.
func assetBytesTo(t *testing.T, o *p2pOrigin, who string) (pages, boot int64) {
	t.Helper()
	for _, h := range o.log() {
		switch {
		case h.Browser != who:
		case isPage(h.Path):
			pages += h.Bytes
		case isBootstrap(h.Path):
			boot += h.Bytes
		case h.Bytes > 0:
			t.Errorf("the origin sent %s %d bytes of %s (status %d)", who, h.Bytes, h.Path, h.Status)
		}
	}
	return pages, boot
}

// The origin refuses visitor B every asset byte from B's very first page on (an outage of its store,
// or an overloaded CDN); only pages and planktos's bootstrap files get through. A, in another home,
// keeps the site. B browses every testsite page in one tab, moving on as soon as each page has loaded
// (no waiting for its agent): every page renders, from A. B's service worker, finding HTTP refused,
// has its page start the agent at once and waits for peers; the first page, loaded before the worker
// controlled it, asks again for what failed. Proved from both sides: B's stats (bytes from peers, none
// over HTTP), A's upload, and the origin's log (no asset byte to B).
func TestFieldOutage(t *testing.T) {
	f := newField(t)
	_, stunURL := f.startSTUN()
	dir, m, o := fieldSite(t, `[{ urls = ["`+stunURL+`"] }]`)
	a, _ := f.visitor("A", fieldnet.Cone)
	a.installed("/", m.storable())

	o.setRefuse(func(who, p string) bool { return who == "B" && !isPage(p) && !isBootstrap(p) })
	o.log()
	b, _ := f.visitor("B", fieldnet.Cone)
	pages := m.pages(t, dir)
	start := time.Now()
	for i, p := range pages {
		renders(t, b, "/"+p, i == 0)
	}
	took := time.Since(start)
	seekVideo(t, b, "/media/")
	sb, sa := b.stats(), a.stats()
	if sb.Agent == nil || sb.Agent.Downloaded["peers"] == 0 || sb.Served["peers"].Requests == 0 {
		t.Errorf("B got nothing from peers: agent %+v served %+v", sb.Agent, sb.Served)
	}
	if sa.Agent == nil || sa.Agent.Uploaded == 0 {
		t.Errorf("A uploaded nothing: %+v", sa.Agent)
	}
	pageBytes, boot := assetBytesTo(t, o, "B")
	t.Logf("B rendered %d pages in %v (%.2f s a page) refused every asset by the origin: %d bytes from peers "+
		"(first peer byte %s ms after its first navigation), served %+v, waits %+v; origin sent B %d page and %d "+
		"bootstrap bytes; A uploaded %d", len(pages), took.Round(time.Millisecond), took.Seconds()/float64(len(pages)),
		sb.Agent.Downloaded["peers"], msOf(sb.Agent.FirstPeerByte), sb.Served, sb.Waits, pageBytes, boot, sa.Agent.Uploaded)
}

// msOf prints an optional count of milliseconds.
func msOf(p *int64) string {
	if p == nil {
		return "-"
	}
	return fmt.Sprint(*p)
}

// seedField runs the Go seeder on dir on the public network, announcing to the origin's tracker through
// a plain ws:// listener of its own (the seeder does not know the test CA; the tracker and its swarms
// are the same the browsers reach over wss://).
func seedField(t *testing.T, o *p2pOrigin, dir string, rate int64) *seeder.Seeder {
	t.Helper()
	l, err := net.Listen("tcp", fieldnet.Public.String()+":0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: o.tracker}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	s, err := seeder.New(seeder.Config{Dir: dir, Trackers: []string{"ws://" + l.Addr().String() + "/announce"},
		IgnoreManifestTrackers: true, UploadRate: rate, Poll: 200 * time.Millisecond, Log: log.New(testLog{t}, "seeder: ", 0)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// A visitor behind a symmetric (carrier-grade) NAT, which no other visitor can reach, loads the site
// from the origin's Go seeder on the public network (whose host address it reaches directly), with
// the origin refusing it every asset.
func TestFieldSymmetricSeeder(t *testing.T) {
	f := newField(t)
	dir, m, o := fieldSite(t, "")
	sd := seedField(t, o, dir, 0)
	o.setRefuse(func(who, p string) bool { return who == "V" && !isPage(p) && !isBootstrap(p) })
	o.log()
	v, _ := f.visitor("V", fieldnet.Symmetric)
	for i, p := range []string{"/", "/gallery/", "/gallery/diatom/", "/gallery/copepod/", "/posts/"} {
		renders(t, v, p, i == 0)
	}
	s := v.stats()
	if s.Agent == nil || s.Agent.Downloaded["peers"] == 0 || sd.Stats().Uploaded == 0 {
		t.Errorf("nothing from the seeder: visitor %+v, seeder %+v", s.Agent, sd.Stats())
	}
	assetBytesTo(t, o, "V")
	t.Logf("behind a symmetric NAT: %d bytes from the seeder (uploaded %d), %d of %d files stored",
		s.Agent.Downloaded["peers"], sd.Stats().Uploaded, s.Stored, m.storable())
}

// turnServer runs Debian coturn on the public network with one long-term credential and returns its
// ice_servers entry and a function telling whether a browser got a relay from it (an allocation
// succeeded, from its verbose log).
func turnServer(t *testing.T) (entry string, relayed func() bool) {
	t.Helper()
	bin, err := exec.LookPath("turnserver")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("CI is set but turnserver is missing (apt-get install -y coturn)")
		}
		t.Skip("turnserver missing (apt-get install -y coturn)")
	}
	pc, err := net.ListenPacket("udp", fieldnet.Public.String()+":0")
	if err != nil {
		t.Fatal(err)
	}
	port := pc.LocalAddr().(*net.UDPAddr).Port
	pc.Close()
	pub := fieldnet.Public.String()
	cmd := exec.Command(bin, "-n", "--no-cli", "--no-tls", "--no-dtls", "-v", "--log-file", "stdout",
		"--listening-ip", pub, "--relay-ip", pub, "--listening-port", fmt.Sprint(port),
		"--min-port", "40000", "--max-port", "40999", "--lt-cred-mech", "--user", "planktos:secret",
		"--realm", "planktos.test", "--pidfile", t.TempDir()+"/turn.pid")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var allocated bool
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			l := sc.Text()
			mu.Lock()
			allocated = allocated || strings.Contains(l, "ALLOCATE processed, success")
			mu.Unlock()
		}
	}()
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	entry = fmt.Sprintf(`{ urls = ["turn:%s:%d"], username = "planktos", credential = "secret" }`, pub, port)
	return entry, func() bool { mu.Lock(); defer mu.Unlock(); return allocated }
}

// With a TURN server in ice_servers, a visitor behind a symmetric NAT loads pages from a visitor
// behind a cone NAT (STUN alone cannot join them: the symmetric NAT maps each destination to a new
// port, which the cone side's firewall drops); the origin refuses the symmetric visitor every asset.
func TestFieldTURN(t *testing.T) {
	f := newField(t)
	_, stunURL := f.startSTUN()
	turn, relayed := turnServer(t)
	_, m, o := fieldSite(t, `[{ urls = ["`+stunURL+`"] }, `+turn+`]`)
	a, _ := f.visitor("A", fieldnet.Cone)
	a.installed("/", m.storable())
	o.setRefuse(func(who, p string) bool { return who == "B" && !isPage(p) && !isBootstrap(p) })
	o.log()
	b, _ := f.visitor("B", fieldnet.Symmetric)
	for i, p := range []string{"/", "/gallery/", "/gallery/radiolarian/", "/about/"} {
		renders(t, b, p, i == 0)
	}
	sb := b.stats()
	if sb.Agent == nil || sb.Agent.Downloaded["peers"] == 0 {
		t.Errorf("B got nothing from A through TURN: %+v", sb.Agent)
	}
	if !relayed() {
		t.Errorf("coturn made no allocation: the peers did not go through TURN")
	}
	assetBytesTo(t, o, "B")
	t.Logf("symmetric NAT through TURN: B got %d bytes from A", sb.Agent.Downloaded["peers"])
}

// storedAssetBytes sums the sizes of the non-HTML files in b's store and the bytes of pieces it keeps.
func storedAssetBytes(t *testing.T, b *browser, m manifest) (files, pieces int64) {
	t.Helper()
	for _, k := range b.storedKeys(m) {
		files += m.Files[k].Size
	}
	b.mustEval(`caches.open('planktos:/:pieces:v1').then(c => c.keys().then(ks =>
	  Promise.all(ks.map(k => c.match(k).then(r => r ? r.arrayBuffer() : new ArrayBuffer(0)).then(a => a.byteLength)))))
	  .then(ns => ns.reduce((a, n) => a + n, 0))`, &pieces) // (an entry may go between keys and match)
	return files, pieces
}

// A visitor that navigates away in the middle of a download from peers and comes back downloads no
// byte twice: the pieces it had verified survive the navigation (kept in CacheStorage), and the
// agent's counters (kept across agents) stay within 2 % of what it stores. The peer is the Go seeder at
// 1 MiB/s, so that the navigation surely falls mid-download; the origin refuses the visitor every asset.
func TestFieldNoDoubleDownload(t *testing.T) {
	f := newField(t)
	dir, m, o := fieldSite(t, "")
	o.mu.Lock()
	o.prefetch["B"] = "visited" // B keeps what it loads, and loads only what it is asked for
	o.mu.Unlock()
	seedField(t, o, dir, 1<<20)
	o.setRefuse(func(who, p string) bool { return who == "B" && !isPage(p) && !isBootstrap(p) })
	b, _ := f.visitor("B", fieldnet.Cone)
	renders(t, b, "/", true)
	video := m.Files["media/clip.webm"]
	b.open("/about/")
	var started bool
	b.mustEval(`(fetch('/media/clip.webm').then(r => r.arrayBuffer()), true)`, &started)
	var before int64
	b.waitFor("a third of the video from the seeder", 60*time.Second, func() bool {
		if s := b.stats(); s.Agent != nil {
			before = s.Agent.Downloaded["peers"]
		}
		return before > video.Size/3
	})
	b.open("/gallery/") // the page and its agent go away mid-download
	_, kept := storedAssetBytes(t, b, m)
	if kept == 0 {
		t.Errorf("no piece of the interrupted download was kept")
	}
	b.open("/about/")
	var got struct {
		Status int    `json:"status"`
		Hash   string `json:"hash"`
	}
	b.mustEval(`(async () => {
	  const r = await fetch('/media/clip.webm');
	  const d = await crypto.subtle.digest('SHA-256', await r.arrayBuffer());
	  return { status: r.status, hash: [...new Uint8Array(d)].map(x => x.toString(16).padStart(2, '0')).join('') };
	})()`, &got)
	if got.Status != 200 || got.Hash != video.SHA256 {
		t.Fatalf("the video after coming back: %+v", got)
	}
	s := b.stats()
	var files, pieces int64
	b.waitFor("the video kept whole", 20*time.Second, func() bool {
		files, pieces = storedAssetBytes(t, b, m)
		return files >= video.Size
	})
	downloaded := s.Agent.Downloaded["peers"]
	ratio := float64(downloaded) / float64(files+pieces)
	if ratio > 1.02 {
		t.Errorf("B downloaded %d bytes from peers for %d stored (%.3f×): bytes came twice", downloaded, files+pieces, ratio)
	}
	assetBytesTo(t, o, "B")
	t.Logf("interrupted at %d of %d video bytes (%d kept as pieces); in all %d bytes from peers for %d stored in files and %d in pieces: %.4f×",
		before, video.Size, kept, downloaded, files, pieces, ratio)
}
