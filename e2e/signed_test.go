package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	pkgmanifest "github.com/planktos/planktos/manifest"
	"github.com/planktos/planktos/seeder"
)

// Signed manifests travel between visitors (issue 15, acceptance): a visitor who loaded revision 1
// returns while the origin is down — only the tracker answers — and gets revision 2, signed by the
// site's key, from a peer: its manifest, its changed page, its new page and that page's new image.
//
// The visitor's return is a browser restarted on its profile opening the home page: the worker answers
// from the store (revision 1), the page's agent meets a peer holding revision 2 (in the site swarm, or a
// torrent they share), is offered its envelope (ut_planktos), fetches and checks it; the worker checks it
// again, adopts it and tells the page, which the visitor has not used yet and so reloads into revision 2.

// newsPNG is the width of the image only revision 2 has.
const newsPNG = 9

// publishRev2 is the owner's update: the home page changes (an element #rev2), and a new page, /news/,
// shows a new image (images/news.png, newsPNG px wide); the site is packaged again, signed.
func publishRev2(t *testing.T, s *signedSite) signedPackage {
	t.Helper()
	home := filepath.Join(s.dir, "index.html")
	about := filepath.Join(s.dir, "about", "index.html")
	insert := func(src, dst, html string) {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(b, []byte("</body>")) {
			t.Fatalf("%s has no </body>", src)
		}
		writeFile(t, dst, bytes.Replace(b, []byte("</body>"), []byte(html+"</body>"), 1))
	}
	if err := os.MkdirAll(filepath.Join(s.dir, "news"), 0o755); err != nil {
		t.Fatal(err)
	}
	insert(about, filepath.Join(s.dir, "news", "index.html"),
		`<p id="news">news of revision two</p><img id="news-img" src="/images/news.png" alt="news">`)
	insert(home, home, `<p id="rev2">revision two</p><a href="/news/">news</a>`)
	writeFile(t, filepath.Join(s.dir, "images", "news.png"), squarePNG(t, newsPNG))
	return s.repack("")
}

// returnTiming is a return's times from its navigation's start: to the start of the page that shows
// revision 2 (the reload once the worker adopted it; 0 if the first page showed it) and to its first paint.
type returnTiming struct{ Reload, Shown time.Duration }

func (r returnTiming) String() string {
	return fmt.Sprintf("shown %v (reload at %v)", r.Shown.Round(time.Millisecond), r.Reload.Round(time.Millisecond))
}

// returnForRev2 starts visitor name's browser again (profile from firstVisit) and opens the home page;
// it waits until the page shows revision 2 and returns the browser and the return's timing.
func returnForRev2(t *testing.T, s *signedSite, name, profile string) (*browser, returnTiming) {
	t.Helper()
	a := s.returning(name, profile)
	start := time.Now()
	a.open("/")
	if !poll.Until(60*time.Second, func() bool { return a.hasElement("rev2") }) {
		var st, nav any
		a.eval(`window.planktos && window.planktos.stats ? window.planktos.stats() : null`, &st)
		a.eval(`performance.getEntriesByType('navigation').map(n => n.type + ' ' + n.name)`, &nav)
		hits := s.o.log()
		a.open("/") // for the report: does the next navigation show it?
		t.Fatalf("%s's page (%v) did not show revision 2 within 60 s (the next navigation does: %v); stats %s; "+
			"console %q; requests since the cut %v", name, nav, a.hasElement("rev2"), jsonOf(st), a.consoleErrors(), hits)
	}
	p := a.painted()
	ms := func(at float64) time.Duration {
		return time.Duration((at - float64(start.UnixMicro())/1000) * float64(time.Millisecond))
	}
	r := returnTiming{Shown: ms(p.Paint)}
	if p.Type == "reload" {
		r.Reload = ms(p.Start)
	}
	return a, r
}

// newsJS waits for the new page's image and reports it.
const newsJS = `(async () => {
  const img = document.getElementById('news-img');
  if (img && !img.complete) await new Promise(r => { img.onload = img.onerror = r; });
  return { news: !!document.getElementById('news'), width: img ? img.naturalWidth : -1 };
})()`

// hasRev2 checks visitor a (name) after its return with the origin down: rev2Loads, and a console
// without planktos errors. It returns the bytes the worker and agent counted from peers.
func hasRev2(t *testing.T, s *signedSite, a *browser, name string, rev2 signedPackage) int64 {
	t.Helper()
	fromPeers := rev2Loads(t, s, a, name, rev2)
	if c := planktosErrors(a.consoleErrors()); len(c) > 0 {
		t.Errorf("%s's console: %q", name, c)
	}
	return fromPeers
}

// signedVisitor is a browser the signed tests check: Chromium (*browser) or Firefox (*firefox).
type signedVisitor interface {
	browserEngine
	signedStats() (signedStats, bool)
}

// rev2Loads checks visitor a (name) after its return with the origin down: the new page and its new
// image load, its worker runs revision 2 adopted from a peer, bytes came from peers, and the origin
// answered none of its requests since the cut. It returns the bytes counted from peers.
func rev2Loads(t *testing.T, s *signedSite, a signedVisitor, name string, rev2 signedPackage) int64 {
	t.Helper()
	a.open("/news/")
	var got struct {
		News  bool `json:"news"`
		Width int  `json:"width"`
	}
	a.mustEval(newsJS, &got)
	if !got.News || got.Width != newsPNG {
		t.Errorf("%s's /news/ with the origin down: %+v, want the page and its %d px image", name, got, newsPNG)
	}
	st := a.stats()
	ss, _ := a.signedStats()
	if st.Revision != rev2.Revision || ss.Manifest.Sequence != rev2.Sequence || ss.Manifest.From != "peer" {
		t.Errorf("%s runs revision %.12s, manifest %+v; want %.12s, sequence %d, from peer",
			name, st.Revision, ss.Manifest, rev2.Revision, rev2.Sequence)
	}
	var fromPeers int64
	if st.Agent != nil {
		fromPeers = st.Agent.Downloaded["peers"]
	}
	fromPeers += st.Served["peers"].Bytes
	if fromPeers == 0 {
		t.Errorf("%s counts no byte from peers: served %+v, agent %+v", name, st.Served, st.Agent)
	}
	if n := noAnswerSince(t, s.o, name); n == 0 {
		t.Logf("%s asked the origin nothing after the cut", name)
	}
	return fromPeers
}

// newFiles is the size of what only revision 2 has: the changed home page, the new page and image.
func newFiles(rev2 signedPackage) int64 {
	return rev2.Files["index.html"].Size + rev2.Files["news/index.html"].Size + rev2.Files["images/news.png"].Size
}

// A on revision 1; the owner publishes revision 2; B loads it from the origin; the origin goes down
// (every request but the tracker's refused); A returns: its page shows revision 2, its new page and
// image load, all from B. Checked from three sides: A's page and stats, B's upload, the origin's log.
func TestSignedUpdateFromPeer(t *testing.T) {
	s := newSignedSite(t, "")
	profileA := s.firstVisit("A")
	rev2 := publishRev2(t, s)

	b := newBrowser(t, "", uaTag("B"))
	b.installed("/", rev2.storable())
	if st := b.waitSequence(rev2.Sequence, 20*time.Second); st.Manifest.From != "origin" {
		t.Errorf("B's revision 2 came from %q, want origin", st.Manifest.From)
	}
	if !b.hasElement("rev2") {
		t.Fatal("B's home page over HTTP is not revision 2's")
	}
	s.o.log()
	originDown(s.o)

	a, took := returnForRev2(t, s, "A", profileA)
	fromPeers := hasRev2(t, s, a, "A", rev2)
	sb := b.stats()
	if sb.Agent == nil || sb.Agent.Uploaded < newFiles(rev2) {
		t.Errorf("B uploaded %+v, want ≥ %d bytes (revision 2's new files)", sb.Agent, newFiles(rev2))
	}
	eb, _ := b.signedStats()
	t.Logf("A's return: %v; A got %d bytes from peers; B uploaded %d, exchange %+v",
		took, fromPeers, sb.Agent.Uploaded, eb.Agent.Exchange)
}

// The same with the Go seeder (seeding the package folder, revision 2) in place of B: an origin whose
// web server is down but whose seeder runs still delivers the update.
func TestSignedUpdateFromSeeder(t *testing.T) {
	s := newSignedSite(t, "")
	profileA := s.firstVisit("A")
	rev2 := publishRev2(t, s)
	sd := seedSigned(t, s.dir, rev2)
	s.o.log()
	originDown(s.o)

	a, took := returnForRev2(t, s, "A", profileA)
	fromPeers := hasRev2(t, s, a, "A", rev2)
	st := sd.Stats()
	if st.Uploaded < newFiles(rev2) {
		t.Errorf("the seeder uploaded %d bytes, want ≥ %d (revision 2's new files)", st.Uploaded, newFiles(rev2))
	}
	sentEnvelope(t, sd, rev2)
	t.Logf("A's return: %v; A got %d bytes from peers; the seeder uploaded %d, exchange %+v",
		took, fromPeers, st.Uploaded, *st.Site)
}

// seedSigned runs the Go seeder on dir (seedPlanktos) and waits until it offers p's signed manifest.
func seedSigned(t *testing.T, dir string, p signedPackage) *seeder.Seeder {
	t.Helper()
	sd := seedPlanktos(t, dir)
	poll.For(t, fmt.Sprintf("the seeder to offer sequence %d", p.Sequence), 20*time.Second, func() bool {
		st := sd.Stats()
		return st.Revision == p.Revision && st.Site != nil && st.Site.Sequence == p.Sequence
	})
	return sd
}

// sentEnvelope requires that the seeder sent p's envelope: at least its pieces in data messages.
func sentEnvelope(t *testing.T, sd *seeder.Seeder, p signedPackage) {
	t.Helper()
	want := pkgmanifest.Pieces(int64(len(p.envelope())))
	if st := sd.Stats().Site; st == nil || st.Pieces < int64(want) {
		t.Errorf("the seeder's exchange %+v: want ≥ %d data messages (the envelope)", st, want)
	}
}

// homeJS is what the page shows: its title and location, how much text, when it was loaded.
const homeJS = `({ title: document.title, path: location.pathname, text: document.body ? document.body.innerText.length : 0,
  loaded: performance.timeOrigin })`

type homePage struct {
	Title  string  `json:"title"`
	Path   string  `json:"path"`
	Text   int     `json:"text"`
	Loaded float64 `json:"loaded"`
}

// The kill switch travels: A on revision 1; the owner packages enabled = false, signed; the Go seeder
// holds it; the origin goes down; A returns. Its navigation is served from its store (the page loads:
// title, styles, images) before the kill switch arrives from the seeder; then A's registration and
// planktos's storage are gone, and the page A is on still shows the site's content (it was not
// reloaded into the origin's refusal).
func TestSignedKillSwitchFromPeer(t *testing.T) {
	s := newSignedSite(t, "")
	profileA := s.firstVisit("A")
	off := s.repack("enabled = false\n")
	if !off.Disabled {
		t.Fatalf("the enabled = false package is not marked disabled: %s", off.Bytes)
	}
	sd := seedSigned(t, s.dir, off)
	s.o.log()
	originDown(s.o)

	a := s.returning("A", profileA)
	a.open("/")
	var c pageCheck
	a.mustEval(checkPageJS, &c)
	if c.Title == "" || !c.Styled || len(c.BrokenImgs) > 0 || !c.Controlled {
		t.Errorf("A's return with the origin down did not load from its store: %+v", c)
	}
	var before homePage
	a.mustEval(homeJS, &before)
	var left leftover
	a.waitFor("A's registration and planktos's storage gone", 60*time.Second, func() bool {
		if a.eval(leftoverJS, &left) != nil {
			return false
		}
		return left.Registrations == 0 && len(left.Caches) == 0
	})
	var after homePage
	a.mustEval(homeJS, &after)
	if after != before {
		t.Errorf("after the kill switch A's page is %+v, was %+v (reloaded into the origin's refusal?)", after, before)
	}
	noAnswerSince(t, s.o, "A")
	if c := planktosErrors(a.consoleErrors()); len(c) > 0 {
		t.Errorf("A's console: %q", c)
	}
	sentEnvelope(t, sd, off)
	t.Logf("kill switch from the seeder: A's page %+v; the seeder's exchange %+v", after, *sd.Stats().Site)
}

// Issue 15's measure (PLANKTOS_BENCH=1 scripts/netns.sh go test -count=1 -run TestSignedUpdateBench -v ./e2e):
// five visitors load revision 1 and quit; the owner publishes revision 2; B loads it; the origin goes
// down; each visitor in turn returns and is timed from its navigation's start to the first paint of
// revision 2 (then quits, so B stays the only peer holding it). Also the manifest exchange's cost per
// peer connection: B's counters for each return (one envelope sent to a visitor behind), and a
// returned visitor's once it holds revision 2 too (offers only).
func TestSignedUpdateBench(t *testing.T) {
	if os.Getenv("PLANKTOS_BENCH") == "" {
		t.Skip("benchmark: set PLANKTOS_BENCH=1")
	}
	const runs = 5
	s := newSignedSite(t, "")
	var profiles []string
	for i := range runs {
		profiles = append(profiles, s.firstVisit(fmt.Sprint("A", i+1)))
	}
	rev2 := publishRev2(t, s)
	b := newBrowser(t, "", uaTag("B"))
	b.installed("/", rev2.storable())
	b.waitSequence(rev2.Sequence, 20*time.Second)
	originDown(s.o)

	var took, reload []float64
	var lines []string
	for i, p := range profiles {
		name := fmt.Sprint("A", i+1)
		b0, _ := b.signedStats()
		a, d := returnForRev2(t, s, name, p)
		took, reload = append(took, float64(d.Shown.Milliseconds())), append(reload, float64(d.Reload.Milliseconds()))
		var ea signedStats
		a.waitFor(name+"'s reloaded agent to meet B and exchange offers", 30*time.Second, func() bool {
			var ok bool
			ea, ok = a.signedStats()
			return ok && ea.Agent != nil && ea.Agent.Peers > 0 && ea.Agent.Exchange.OffersReceived > 0
		})
		poll.Until(10*time.Second, func() bool { // B's offers on every wire, for the per-wire figures
			var ok bool
			ea, ok = a.signedStats()
			return ok && ea.Agent != nil && ea.Agent.Exchange.OffersReceived >= ea.Agent.Exchange.OffersSent
		})
		b1, _ := b.signedStats()
		lines = append(lines, fmt.Sprintf("%s: %v; B's exchange for it %s; %s's after, with %d peers: %s",
			name, d, exchangeDelta(b0, b1), name, ea.Agent.Peers, jsonOf(ea.Agent.Exchange)))
		a.close()
	}
	env := len(rev2.envelope())
	out := fmt.Sprintf("return (navigation start) → revision 2 shown, origin down, from one peer: median %.0f ms of %d (%v)\n",
		median(took), runs, took) +
		fmt.Sprintf("return → the reload into revision 2 starts (the worker adopted it): median %.0f ms (%v)\n", median(reload), reload) +
		fmt.Sprintf("envelope: %d bytes (%d files), %d pieces of %d\n", env, len(rev2.Files), pkgmanifest.Pieces(int64(env)), pkgmanifest.PieceSize) +
		strings.Join(lines, "\n") + "\n"
	t.Log("\n" + out)
	fmt.Print(out)
}

// exchangeDelta is what an agent's exchange counters grew by from s0 to s1.
func exchangeDelta(s0, s1 signedStats) string {
	if s0.Agent == nil || s1.Agent == nil {
		return "(no agent stats)"
	}
	a, b := s0.Agent.Exchange, s1.Agent.Exchange
	return jsonOf(exchangeStats{OffersSent: b.OffersSent - a.OffersSent, OffersReceived: b.OffersReceived - a.OffersReceived,
		Requests: b.Requests - a.Requests, BytesIn: b.BytesIn - a.BytesIn, BytesOut: b.BytesOut - a.BytesOut,
		Adopted: b.Adopted - a.Adopted, Refused: b.Refused - a.Refused})
}

func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
