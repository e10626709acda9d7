package status

import (
	"time"

	"github.com/planktos/planktos/tracker"
)

// Snapshot is the dashboard's figures at one moment: status.json, and each live event's data.
type Snapshot struct {
	Planktos      string               `json:"planktos"` // always "status": how `planktos stats` knows it
	Version       int                  `json:"version"`  // 1
	Server        string               `json:"server"`   // "serve" or "tracker"
	Time          int64                `json:"time"`     // unix ms
	UptimeSeconds int64                `json:"uptime_seconds"`
	P2P           Share                `json:"p2p"`
	Origin        *Origin              `json:"origin,omitempty"`  // serve only
	Seeder        *Seeder              `json:"seeder,omitempty"`  // serve --seed only
	Tracker       *Tracker             `json:"tracker,omitempty"` // when a tracker runs here
	Reports       *tracker.ReportStats `json:"reports,omitempty"` // when reports are taken
	Series        *Series              `json:"series,omitempty"`
	Sample        *Sample              `json:"sample,omitempty"`
}

// Share is the P2P share of bytes and what it is made of (see the package doc).
type Share struct {
	Share      float64 `json:"share"` // Bytes / (Bytes + HTTPBytes); 0 when both are 0
	Bytes      int64   `json:"bytes"`
	Source     string  `json:"source"` // "reports", "seeder" or "none"
	HTTPBytes  int64   `json:"http_bytes"`
	HTTPSource string  `json:"http_source"` // "origin", "reports" or "none"
}

// sources names where the figures come from: an event stream sends the whole series when it changes.
func (s Share) sources() string { return s.Source + "/" + s.HTTPSource }

// Origin is what the origin served over HTTP.
type Origin struct {
	Bytes    int64 `json:"bytes"`    // 2xx response bodies
	Requests int64 `json:"requests"` // every request answered (the dashboard's and the tracker's aside)
}

// Seeder is what the origin's seeder sent over WebRTC.
type Seeder struct {
	Uploaded int64 `json:"uploaded"`
}

// Tracker is the tracker's swarms now.
type Tracker struct {
	Swarms      int                  `json:"swarms"`
	Peers       int                  `json:"peers"`
	Seeders     int                  `json:"seeders"`
	Leechers    int                  `json:"leechers"`
	Connections int                  `json:"connections"`
	Torrents    []tracker.SwarmStats `json:"torrents"` // the largest 50 swarms
}

// Series is the chart: bytes per interval, oldest first, the last one ending at End.
type Series struct {
	IntervalSeconds float64 `json:"interval_seconds"`
	WindowSeconds   float64 `json:"window_seconds"`
	End             int64   `json:"end"` // unix ms
	P2P             []int64 `json:"p2p"`
	HTTP            []int64 `json:"http"`
}

// Sample is the last interval's bytes.
type Sample struct {
	End  int64 `json:"end"` // unix ms
	P2P  int64 `json:"p2p"`
	HTTP int64 `json:"http"`
}

// Snapshot returns the figures now, with the whole series if series is set and the last interval's
// sample otherwise.
func (d *Dashboard) Snapshot(series bool) Snapshot {
	now := time.Now()
	s := Snapshot{Planktos: "status", Version: 1, Server: d.src.Server, Time: now.UnixMilli(),
		UptimeSeconds: int64(now.Sub(d.start).Seconds())}
	cur := point{}
	if d.src.Seeder != nil {
		cur.seeder = d.src.Seeder()
		s.Seeder = &Seeder{Uploaded: cur.seeder}
	}
	if d.src.Origin != nil {
		b, n := d.src.Origin()
		s.Origin = &Origin{Bytes: b, Requests: n}
		cur.origin = b
	}
	if tr := d.src.Tracker; tr != nil {
		st := tr.Stats()
		list, _ := tr.Swarms(maxTorrents)
		s.Tracker = &Tracker{Swarms: st.Swarms, Peers: st.Peers, Seeders: st.Seeders, Leechers: st.Leechers,
			Connections: st.Connections, Torrents: list}
	}
	if d.src.Reports != nil {
		st := d.src.Reports.Stats()
		s.Reports = &st
		cur.rpeers, cur.rh = st.Peers, st.HTTP
	}
	p2p, http := d.pick(s.Reports)
	s.P2P = Share{Bytes: p2p.get(cur), Source: p2p.name, HTTPBytes: http.get(cur), HTTPSource: http.name}
	if t := s.P2P.Bytes + s.P2P.HTTPBytes; t > 0 {
		s.P2P.Share = float64(s.P2P.Bytes) / float64(t)
	}
	d.mu.Lock()
	pts := d.points
	last := pts[len(pts)-1]
	if series {
		s.Series = &Series{IntervalSeconds: d.opt.Interval.Seconds(), WindowSeconds: d.opt.Window.Seconds(),
			End: last.at.UnixMilli(), P2P: make([]int64, len(pts)-1), HTTP: make([]int64, len(pts)-1)}
		for i := 1; i < len(pts); i++ {
			s.Series.P2P[i-1] = p2p.get(pts[i]) - p2p.get(pts[i-1])
			s.Series.HTTP[i-1] = http.get(pts[i]) - http.get(pts[i-1])
		}
	} else if len(pts) > 1 {
		prev := pts[len(pts)-2]
		s.Sample = &Sample{End: last.at.UnixMilli(), P2P: p2p.get(last) - p2p.get(prev),
			HTTP: http.get(last) - http.get(prev)}
	}
	d.mu.Unlock()
	return s
}

// sourceFunc reads one figure from a point.
type sourceFunc struct {
	name string
	get  func(point) int64
}

// pick chooses the P2P and HTTP sources, as the package doc says.
func (d *Dashboard) pick(rs *tracker.ReportStats) (p2p, http sourceFunc) {
	reported := rs != nil && rs.Accepted > 0
	switch {
	case reported:
		p2p = sourceFunc{"reports", func(p point) int64 { return p.rpeers }}
	case d.src.Seeder != nil:
		p2p = sourceFunc{"seeder", func(p point) int64 { return p.seeder }}
	default:
		p2p = sourceFunc{"none", func(point) int64 { return 0 }}
	}
	switch {
	case d.src.Origin != nil:
		http = sourceFunc{"origin", func(p point) int64 { return p.origin }}
	case reported:
		http = sourceFunc{"reports", func(p point) int64 { return p.rh }}
	default:
		http = sourceFunc{"none", func(point) int64 { return 0 }}
	}
	return p2p, http
}
