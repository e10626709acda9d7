package e2e

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"

	"github.com/planktos/planktos/internal/netns"
	pkgmanifest "github.com/planktos/planktos/manifest"
	"github.com/planktos/planktos/seeder"
)

// mediaAnswer is one answer the service worker gave the video element: its range, where its bytes came
// from, and when (seconds, the browser's monotonic clock) it was asked for and answered.
type mediaAnswer struct {
	Range    string
	Source   string
	Asked    float64
	Answered float64
}

// mediaAnswers picks the answers for path (a video) out of the responses a Chromium page saw, in the
// order they were asked for.
func mediaAnswers(rs []network.Response, path string) []mediaAnswer {
	var out []mediaAnswer
	for _, r := range rs {
		if !strings.HasSuffix(r.URL, path) || !r.FromServiceWorker || r.Status != 206 {
			continue
		}
		a := mediaAnswer{Range: fmt.Sprint(r.Headers["content-range"]), Source: fmt.Sprint(r.Headers["x-planktos-source"])}
		if r.Timing != nil {
			a.Asked = r.Timing.RequestTime
			a.Answered = r.Timing.RequestTime + r.Timing.ReceiveHeadersEnd/1000
		}
		out = append(out, a)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Asked < out[j].Asked })
	return out
}

// mediaSite is the testsite with prefetch = "visited", served by `planktos serve` with the Go seeder,
// and visitor V, whose agent met the seeder; vt is V's second tab (the first keeps the agent).
type mediaSite struct {
	video pkgmanifest.Entry
	piece int64 // the piece length of the video's torrent
	o     *p2pOrigin
	s     *seeder.Seeder
	v, vt *browser
}

func newMediaSite(t *testing.T) *mediaSite {
	t.Helper()
	netns.Need(t)
	needChromium(t)
	dir := packedSite(t, "/", "prefetch = \"visited\"\n")
	m := readManifest(t, dir)
	video := m.Files["media/clip.webm"]
	ms := &mediaSite{video: video, piece: m.Torrents[video.Torrent].PieceLength, o: servePlanktos(t, dir), s: seedPlanktos(t, dir)}
	ms.v = visitor(t, "V", "/")
	ms.vt = ms.v.tab()
	return ms
}

// play forgets the origin's log so far, then opens the media page in vt, plays the video until its
// time advances, pauses, seeks to 10 s and fetches a range (ffVideoJS), and returns the service
// worker's answers to the element.
func (ms *mediaSite) play(t *testing.T) []mediaAnswer {
	t.Helper()
	ms.o.log()
	ms.vt.responses()
	ms.vt.open("/media/")
	var got ffVideo
	ms.vt.mustEval(ffVideoJS, &got)
	t.Logf("video: %+v", got)
	if got.At < 9.5 || got.Played <= 0 || got.RangeStatus != 206 || got.RangeBytes != 1000 {
		t.Errorf("video %+v: want played, at 10 s after seeking, and a 206 with 1000 bytes", got)
	}
	return mediaAnswers(ms.vt.responses(), "/media/clip.webm")
}

// Video with peers connected (issue 13 item 5): with prefetch = "visited" and the Go seeder connected,
// a visitor plays the video and seeks in it. The service worker answers the element's open-ended ranges
// in slices and races each slice between peers (asked first) and HTTP (asked after a head start, for
// that slice only, verified piece by piece): the origin's log shows it never sent the whole video, the
// visitor's stats count the video's bytes as from peers, and most answers came from peers.
func TestMediaFromPeers(t *testing.T) {
	ms := newMediaSite(t)
	video, o, s, v := ms.video, ms.o, ms.s, ms.v
	before := v.stats()
	up0 := s.Stats().Uploaded
	answers := ms.play(t)
	after := v.stats()

	var originBytes int64
	for _, h := range o.log() {
		if h.Browser == "V" && (h.Path == "/planktos/files/"+video.SHA256 || h.Path == "/media/clip.webm") {
			originBytes += h.Bytes
		}
	}
	byPeers, byHTTP := 0, 0
	firstPeer := -1.0
	for _, a := range answers {
		switch a.Source {
		case "peers":
			byPeers++
			if firstPeer < 0 && a.Asked > 0 {
				firstPeer = (a.Answered - answers[0].Asked) * 1000
			}
		case "http":
			byHTTP++
		}
	}
	fromPeers := after.Served["peers"].Bytes - before.Served["peers"].Bytes
	t.Logf("video of %d bytes: %d answers (%d from peers, %d over HTTP), first from peers %.0f ms after the first request; "+
		"the origin sent %d bytes of it; the service worker served %d bytes from peers; the seeder uploaded %d",
		video.Size, len(answers), byPeers, byHTTP, firstPeer, originBytes, fromPeers, s.Stats().Uploaded-up0)
	for _, a := range answers {
		t.Logf("  %s from %s in %.0f ms", a.Range, a.Source, (a.Answered-a.Asked)*1000)
	}
	if originBytes >= video.Size/2 {
		t.Errorf("the origin sent %d bytes of the %d-byte video (want well under half: HTTP answers a slice at most)", originBytes, video.Size)
	}
	if fromPeers <= 0 || byPeers == 0 || byPeers < byHTTP {
		t.Errorf("%d bytes served from peers, %d answers from peers and %d over HTTP: want most from peers", fromPeers, byPeers, byHTTP)
	}
	if c := pageErrors(ms.vt.consoleErrors()); len(c) > 0 {
		t.Errorf("console: %q", c)
	}
}

// The same visitor once the seeder is gone (peers proved reachable a moment ago, so the service worker
// still races them): the video plays and seeks from HTTP alone, and the origin is asked for slices of
// it — each answer at most a media slice and a piece of the torrent — checked piece by piece, never
// for the whole file.
func TestMediaHTTPSlices(t *testing.T) {
	ms := newMediaSite(t)
	video, o, v := ms.video, ms.o, ms.v
	ms.s.Close()
	v.waitFor("V's agent to lose the seeder", 30*time.Second, func() bool { return agentPeers(v) == 0 })
	answers := ms.play(t)
	vt := ms.vt
	var hits, total, largest int64
	for _, h := range o.log() {
		if h.Browser != "V" || (h.Path != "/planktos/files/"+video.SHA256 && h.Path != "/media/clip.webm") {
			continue
		}
		hits++
		total += h.Bytes
		largest = max(largest, h.Bytes)
		if h.Status != 206 {
			t.Errorf("the origin answered %s with %d (%d bytes): want 206, a slice", h.Path, h.Status, h.Bytes)
		}
	}
	t.Logf("%d answers to the element (%v); the origin: %d requests for the video, %d bytes in all, %d at most",
		len(answers), sources(answers), hits, total, largest)
	// an answer to the element is a slice of an open-ended range, or what a bounded range asked for; the
	// origin's is that widened to whole pieces (at most one more piece at each end)
	bound := int64(256 << 10)
	for _, a := range answers {
		var from, to, size int64
		if _, err := fmt.Sscanf(a.Range, "bytes %d-%d/%d", &from, &to, &size); err == nil {
			bound = max(bound, to-from+1)
		}
	}
	bound += 2 * ms.piece
	if hits == 0 || largest > bound {
		t.Errorf("the origin answered %d requests for the video, the largest %d bytes: want slices of at most %d", hits, largest, bound)
	}
	if c := pageErrors(vt.consoleErrors()); len(c) > 0 {
		t.Errorf("console: %q", c)
	}
}

// sources counts answers by source.
func sources(as []mediaAnswer) map[string]int {
	n := map[string]int{}
	for _, a := range as {
		n[a.Source]++
	}
	return n
}

// A first visit straight to the video page, the Go seeder running: the page starts without a service
// worker, so its video element reads from the network until planktos's worker claims the page; it then
// keeps reading from the network (Chromium fails a media resource whose ranges come partly from the
// network and partly from a service worker: "data source error"), and plays and seeks.
func TestMediaFirstVisit(t *testing.T) {
	netns.Need(t)
	needChromium(t)
	dir := packedSite(t, "/", "prefetch = \"visited\"\n")
	servePlanktos(t, dir)
	seedPlanktos(t, dir)
	v := newBrowser(t, "", uaTag("V"))
	v.open("/media/")
	var ok bool
	v.mustEval(`window.planktos.ready`, &ok)
	var got ffVideo
	v.mustEval(ffVideoJS, &got)
	t.Logf("video %+v", got)
	if got.At < 9.5 || got.Played <= 0 {
		t.Errorf("video %+v: want played, then at 10 s after seeking", got)
	}
	for _, r := range v.responses() {
		if strings.HasSuffix(r.URL, "/media/clip.webm") && r.FromServiceWorker && r.Headers["x-planktos-source"] == nil {
			t.Errorf("an answer for the video came through the service worker without planktos's source header: %+v", r.Headers)
		}
	}
	if c := pageErrors(v.consoleErrors()); len(c) > 0 {
		t.Errorf("console: %q", c)
	}
}
