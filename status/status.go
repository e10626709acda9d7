// Package status is the owner's dashboard of `planktos serve` and `planktos tracker`: what the origin
// served over HTTP, what its seeder uploaded over WebRTC, what the tracker's swarms hold, and what
// visitors reported moving (tracker.Reports), with a chart of P2P vs HTTP bytes per second over the
// last ten minutes that updates live.
//
// # Routes
//
// Every route starts with Prefix and is answered to loopback clients; from anywhere else only with
// Options.Token, given as ?token=T or "Authorization: Bearer T"; otherwise 404, as if there were no
// dashboard. A request that came through a proxy (it carries Forwarded, X-Forwarded-For or
// X-Real-IP) is not a loopback client, even from 127.0.0.1.
//
//	/planktos/status            the page (HTML; its figures are rendered by the server, so it reads
//	                            without JavaScript; the chart and live updates are chart.js)
//	/planktos/status.json       Snapshot as JSON, series included
//	/planktos/status/events     server-sent events: one "status" event per Options.Interval, its data a
//	                            Snapshot; the first (and any after the sources change) has Series,
//	                            the others only Sample, the last interval's bytes
//	/planktos/status/chart.js   the page's module (vanilla ES module, draws an SVG)
//
// # Figures
//
// P2P bytes are what visitors got from peers: the sum of their reports when any arrived, else what
// the origin's seeder uploaded (the part of P2P the server sees itself), else none. HTTP bytes are
// the origin's 2xx response bodies when the dashboard runs in `planktos serve`, else the sum of
// visitors' reported HTTP bytes. Share.Source and Share.HTTPSource name the sources; Share.Share is
// P2P / (P2P + HTTP), the one number the summary and `planktos stats` lead with.
//
// # The page's stable hooks (for browser tests)
//
//   - main#planktos-status: data-server ("serve" or "tracker"), data-updated (unix ms of the figures
//     shown), data-updates (live updates applied since load; 0 until the event stream delivers).
//   - Every figure is an element with data-field = its JSON path in Snapshot ("p2p.share",
//     "p2p.bytes", "p2p.http_bytes", "origin.bytes", "origin.requests", "seeder.uploaded",
//     "reports.peers", "reports.store", "reports.http", "reports.uploaded", "reports.accepted",
//     "reports.dropped.malformed|oversized|not_allowed|flood", "tracker.swarms", "tracker.peers",
//     "tracker.seeders", "tracker.leechers", "tracker.connections") and data-value = its raw number;
//     its text is the number for people. #p2p-share is the share's element.
//   - svg#chart: data-points (intervals drawn), data-p2p and data-http (bytes per second in the last
//     interval), data-max (the y axis' top, bytes per second); path#chart-p2p and path#chart-http.
//   - tbody#torrents: one tr[data-infohash] per swarm (the largest 50), with data-complete and
//     data-incomplete.
package status

import (
	"sync"
	"time"

	"github.com/planktos/planktos/tracker"
)

// Paths of the dashboard's routes.
const (
	Prefix     = "/planktos/status"
	PagePath   = Prefix
	JSONPath   = Prefix + ".json"
	EventsPath = Prefix + "/events"
	ScriptPath = Prefix + "/chart.js"
)

// maxTorrents is how many swarms a Snapshot lists.
const maxTorrents = 50

// Sources are what the dashboard reads; any may be nil.
type Sources struct {
	Server  string          // "serve" or "tracker", for the page and `planktos stats`
	Tracker *tracker.Server // swarms and peers
	Reports *tracker.Reports
	// Origin returns the 2xx body bytes and the requests the origin has answered.
	Origin func() (bytes, requests int64)
	// Seeder returns the piece bytes the origin's seeder has uploaded over WebRTC.
	Seeder func() int64
}

// Options tune the dashboard; zero fields get their defaults.
type Options struct {
	// Token, if set, opens the dashboard to clients other than loopback ones that present it.
	Token string
	// Interval is the time between samples and live updates (default 1 s); Window the span of the
	// chart (default 10 minutes).
	Interval, Window time.Duration
}

// Dashboard samples its Sources every Interval and serves the routes above. Close stops it.
type Dashboard struct {
	src   Sources
	opt   Options
	start time.Time
	stop  chan struct{}
	done  chan struct{}

	mu     sync.Mutex
	points []point // cumulative counters, oldest first, at most Window/Interval + 1
	subs   map[chan []byte]bool
	last   string // the sources the last event's figures came from
}

// point is the cumulative counters at one sample.
type point struct {
	at                         time.Time
	origin, seeder, rpeers, rh int64
}

// New starts a dashboard on src.
func New(src Sources, opt Options) *Dashboard {
	if opt.Interval <= 0 {
		opt.Interval = time.Second
	}
	if opt.Window <= 0 {
		opt.Window = 10 * time.Minute
	}
	d := &Dashboard{src: src, opt: opt, start: time.Now(), stop: make(chan struct{}),
		done: make(chan struct{}), subs: map[chan []byte]bool{}}
	d.points = []point{d.read()}
	s := d.Snapshot(false)
	d.last = s.P2P.sources()
	go d.run()
	return d
}

// Close stops sampling and ends the event streams.
func (d *Dashboard) Close() {
	d.mu.Lock()
	select {
	case <-d.stop:
	default:
		close(d.stop)
	}
	d.mu.Unlock()
	<-d.done
}

func (d *Dashboard) run() {
	defer close(d.done)
	t := time.NewTicker(d.opt.Interval)
	defer t.Stop()
	for {
		select {
		case <-d.stop:
			return
		case <-t.C:
			d.sample()
		}
	}
}

// sample records the counters and sends the subscribers an event.
func (d *Dashboard) sample() {
	p := d.read()
	d.mu.Lock()
	d.points = append(d.points, p)
	if n := int(d.opt.Window/d.opt.Interval) + 1; len(d.points) > n {
		d.points = append(d.points[:0], d.points[len(d.points)-n:]...)
	}
	subs := len(d.subs)
	d.mu.Unlock()
	if subs == 0 {
		return
	}
	s := d.Snapshot(false)
	d.mu.Lock()
	if key := s.P2P.sources(); key != d.last {
		d.last = key
		d.mu.Unlock()
		s = d.Snapshot(true) // the series' meaning changed: send it whole
		d.mu.Lock()
	}
	ev := event(s)
	for ch := range d.subs {
		select {
		case ch <- ev:
		default: // a slow reader misses this one; the next carries cumulative figures anyway
		}
	}
	d.mu.Unlock()
}

// read returns the sources' cumulative counters now.
func (d *Dashboard) read() point {
	p := point{at: time.Now()}
	if d.src.Origin != nil {
		p.origin, _ = d.src.Origin()
	}
	if d.src.Seeder != nil {
		p.seeder = d.src.Seeder()
	}
	if d.src.Reports != nil {
		st := d.src.Reports.Stats()
		p.rpeers, p.rh = st.Peers, st.HTTP
	}
	return p
}
