package e2e

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/planktos/planktos/internal/wait"
	"github.com/planktos/planktos/status"
	"github.com/planktos/planktos/tracker"
)

// withDashboard gives o what `planktos serve` adds to its handler (cmd/planktos/serve.go): visitors'
// reports at tracker.ReportPath and the dashboard over the origin's counters, the tracker and the
// reports. Call it before any browser opens a page.
func withDashboard(t *testing.T, o *p2pOrigin) *tracker.Reports {
	t.Helper()
	rp := tracker.NewReports(tracker.Config{}, tracker.ReportConfig{})
	d := status.New(status.Sources{Server: "serve", Tracker: o.tracker, Reports: rp,
		Origin: func() (int64, int64) { return o.h.Served.Load(), o.h.Requests.Load() }}, status.Options{})
	o.h.Reports, o.h.Status = rp, d
	t.Cleanup(d.Close)
	return rp
}

// dashboardState is what the dashboard page shows: every [data-field]'s data-value, the live
// updates applied, and the chart (its paths' highest point above the baseline, in SVG units).
type dashboardState struct {
	Fields  map[string]float64 `json:"fields"`
	Updates int                `json:"updates"`
	Points  int                `json:"points"`
	P2PTop  float64            `json:"p2pTop"`
	HTTPTop float64            `json:"httpTop"`
}

const dashboardJS = `(() => {
  const main = document.getElementById('planktos-status'), svg = document.getElementById('chart');
  const top = (id) => { const ys = (svg.querySelector(id).getAttribute('d') || '').split(/[ML]/).filter(s => s.trim())
    .map(p => Number(p.trim().split(' ')[1])); return ys.length ? Math.max(...ys) - Math.min(...ys) : 0; };
  return {
    fields: Object.fromEntries([...document.querySelectorAll('[data-field]')].map(e => [e.dataset.field, Number(e.dataset.value)])),
    updates: Number(main.dataset.updates || 0), points: Number(svg.dataset.points || 0),
    p2pTop: top('#chart-p2p'), httpTop: top('#chart-http'),
  };
})()`

// figuresOf is common/figures.js in Go: the four figures a visitor reports, from its stats().
func figuresOf(s stats) map[string]int64 {
	f := map[string]int64{"store": s.Served["store"].Bytes, "http": s.Served["http"].Bytes}
	if s.Agent != nil {
		f["peers"] = s.Agent.Downloaded["peers"]
		f["http"] += s.Agent.Downloaded["http"]
		f["uploaded"] = s.Agent.Uploaded
	}
	return f
}

// within1 says whether a and b differ by at most 1 % of the larger.
func within1(a, b float64) bool { return math.Abs(a-b) <= 0.01*math.Max(math.Abs(a), math.Abs(b)) }

// The owner's dashboard, as `planktos serve` answers it, with the testsite packaged with badge and
// report on. A third tab (in A's browser) opens /planktos/status before anyone visits; then A keeps the
// whole site and B gets the gallery from A (feedFromPeer). The page renders; its chart updates live
// while they exchange (the HTTP line rises off its baseline, the live updates count up); and, once
// the visitors' periodic reports arrived (every 30 s: the test waits for them rather than shortening
// the interval, so that it runs the visitors' code as shipped), its figures match the visitors' own
// stats() and the origin's request log within 1 %, and the P2P line shows their peer bytes. Last, B
// plays part of the video from A and leaves: its pagehide report brings the dashboard those bytes.
func TestDashboard(t *testing.T) {
	start := time.Now()
	dir := packedSite(t, "/", "badge = true\nreport = true\n")
	m := readManifest(t, dir)
	if !m.Runtime.Report {
		t.Fatal("report = true did not reach the manifest")
	}
	o := servePlanktos(t, dir)
	withDashboard(t, o)

	a := newBrowser(t, "", uaTag("A"))
	dash := a.tab()
	dash.open(status.PagePath)
	var d0 dashboardState
	dash.mustEval(dashboardJS, &d0)
	if len(d0.Fields) == 0 {
		t.Fatalf("the dashboard shows no figure: %+v", d0)
	}

	b := newBrowser(t, "", uaTag("B"))
	bt := feedFromPeer(t, o, m, a, b)
	var d dashboardState
	dash.waitFor("the chart to draw the exchange's HTTP bytes, live", 20*time.Second, func() bool {
		dash.mustEval(dashboardJS, &d)
		return d.Updates > d0.Updates && d.HTTPTop > 0
	})

	// what the origin sent: its log, the dashboard's own requests and the reports aside
	var logged int64
	originLog := func() int64 {
		for _, h := range o.log() {
			if h.Status >= 200 && h.Status < 300 && !status.Owns(h.Path) && h.Path != tracker.ReportPath {
				logged += h.Bytes
			}
		}
		return logged
	}
	var want map[string]int64
	var why string
	ok := wait.Poll(time.Second).Until(100*time.Second, func() bool {
		fa, fb := figuresOf(a.stats()), figuresOf(b.stats())
		want = map[string]int64{}
		for _, k := range []string{"peers", "store", "http", "uploaded"} {
			want[k] = fa[k] + fb[k]
		}
		dash.mustEval(dashboardJS, &d)
		var off []string
		for k, v := range want {
			if got := d.Fields["reports."+k]; !within1(got, float64(v)) {
				off = append(off, fmt.Sprintf("reports.%s %v, visitors %d", k, got, v))
			}
		}
		if got := d.Fields["origin.bytes"]; !within1(got, float64(originLog())) {
			off = append(off, fmt.Sprintf("origin.bytes %v, log %d", got, logged))
		}
		why = strings.Join(off, "; ")
		if want["peers"] == 0 || d.P2PTop == 0 {
			off = append(off, fmt.Sprintf("peer bytes %d, the chart's P2P line %v high", want["peers"], d.P2PTop))
		}
		why = strings.Join(off, "; ")
		return len(off) == 0
	})
	if !ok {
		t.Fatalf("after %v the dashboard shows %v: %s", time.Since(start).Round(time.Second), d.Fields, why)
	}
	if got, peers := d.Fields["p2p.bytes"], float64(want["peers"]); !within1(got, peers) {
		t.Errorf("p2p.bytes %v, the visitors' peer bytes %v", got, peers)
	}
	if share := float64(want["peers"]) / float64(want["peers"]+logged); math.Abs(d.Fields["p2p.share"]-share) > 0.01 {
		t.Errorf("p2p.share %v, want %v (visitors' peer bytes over those and the origin's)", d.Fields["p2p.share"], share)
	}

	// the pagehide report: B plays part of the video, from A, and leaves as soon as no more bytes
	// come; only that report can carry them (B's agent counts them itself: exact whatever the
	// worker's last read)
	seekVideo(t, bt, "/media/")
	var paused bool
	bt.mustEval(`(() => { const v = document.querySelector('video'); v.pause(); return v.paused; })()`, &paused)
	var peers int64 = -1
	wait.Poll(time.Second).For(t, "B's download from A to end", 30*time.Second, func() bool {
		now := figuresOf(a.stats())["peers"] + figuresOf(b.stats())["peers"]
		done := now == peers
		peers = now
		return done
	})
	if peers <= want["peers"] {
		t.Fatalf("B got no more bytes from A: %d, before %d", peers, want["peers"])
	}
	bt.open("about:blank") // B's other tab: its agent does not lead, it reports nothing
	b.open("about:blank")  // pagehide: B's leading agent reports
	dash.waitFor("B's pagehide report", 20*time.Second, func() bool {
		dash.mustEval(dashboardJS, &d)
		return within1(d.Fields["reports.peers"], float64(peers))
	})
	if c := pageErrors(dash.consoleErrors()); len(c) > 0 { // (the page names no icon: Chromium asks for one)
		t.Errorf("the dashboard logged: %q", c)
	}
	t.Logf("dashboard after %v: %v (visitors %v and, after B's pagehide report, %d peer bytes; origin log %d bytes; %d live updates, %d points)",
		time.Since(start).Round(time.Millisecond), d.Fields, want, peers, logged, d.Updates, d.Points)
}
