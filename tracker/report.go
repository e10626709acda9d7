package tracker

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// Visitors' reports: what a site's visitors say they moved, so that the owner's dashboard can show
// the swarm's P2P share. This is the contract with the page agent (runtime/src/agent/report.js).
//
// A page whose manifest says runtime.report = true POSTs, to the HTTP form of each WebSocket tracker
// it uses with the path ReportPath (ws://h/announce → http://h/planktos/report, wss → https), a
// text/plain body (no CORS preflight; navigator.sendBeacon or fetch keepalive) of at most
// MaxReportBytes of JSON:
//
//	{"v":1,"site":"https://example.org/blog/","peers":N,"store":N,"http":N,"uploaded":N}
//
// site is the page's origin followed by the site's base path; peers, store and http are the bytes the
// page got from peers, from the browser's own store and over HTTP, and uploaded the bytes it sent to
// peers, each counted since that page's previous report: integers from 0 to MaxReportCount, no
// fraction or exponent. Other fields are ignored (a later version may add some). Nothing else is sent:
// no URL of a page, no peer address.
//
// The tracker answers 204 to a report it counted. It drops the others and counts them by reason:
// 400 malformed (not that JSON, a field missing or out of range), 413 oversized, 403 not allowed (see
// Reports.ServeHTTP), 429 flood (a client address over its rate, or all clients over the global rate).
// Dropping costs little, and the WebSocket tracker is untouched: announces go on being answered.

// ReportPath is where the tracker's HTTP server answers reports.
const ReportPath = "/planktos/report"

const (
	// MaxReportBytes is the largest report body accepted.
	MaxReportBytes = 1024
	// MaxReportCount is the largest byte count one report may carry (1 TiB).
	MaxReportCount = 1 << 40
	maxSiteLen     = 512
)

// Report is one visitor's report, as parsed.
type Report struct {
	Site string
	ReportBytes
}

// ReportBytes are byte counts reported by visitors.
type ReportBytes struct {
	Peers    int64 `json:"peers"`    // received from peers over WebRTC
	Store    int64 `json:"store"`    // served from the browser's own store
	HTTP     int64 `json:"http"`     // received over HTTP
	Uploaded int64 `json:"uploaded"` // sent to peers
}

func (b *ReportBytes) add(o ReportBytes) {
	b.Peers += o.Peers
	b.Store += o.Store
	b.HTTP += o.HTTP
	b.Uploaded += o.Uploaded
}

// ReportConfig bounds what reports may cost. Zero fields get their defaults.
type ReportConfig struct {
	// Burst and Rate make the per-client-address token bucket: Burst reports at once, then Rate per
	// second (defaults 20 and 1; a page reports every 30 s and once when it is closed).
	Burst int
	Rate  float64
	// GlobalBurst and GlobalRate bound all clients together (defaults 1000 and 200 per second).
	GlobalBurst int
	GlobalRate  float64
	// MaxClients caps the client addresses remembered by the rate limit (default 10000); when full,
	// reports from new addresses count as a flood until old buckets have refilled.
	MaxClients int
	// MaxSites caps the sites totalled one by one (default 64); reports for further sites are added
	// under the site "other".
	MaxSites int
}

func (c ReportConfig) withDefaults() ReportConfig {
	orDefault(&c.Burst, 20)
	orDefault(&c.Rate, 1)
	orDefault(&c.GlobalBurst, 1000)
	orDefault(&c.GlobalRate, 200)
	orDefault(&c.MaxClients, 10000)
	orDefault(&c.MaxSites, 64)
	return c
}

// orDefault sets *v to d unless it is positive.
func orDefault[T int | float64](v *T, d T) {
	if *v <= 0 {
		*v = d
	}
}

// Reports receives visitors' reports (an http.Handler for ReportPath) and totals them.
type Reports struct {
	rc      ReportConfig
	allowed map[string]bool // nil: any origin
	logf    func(string, ...any)
	now     func() int64 // unix ns

	mu      sync.Mutex // guards everything below
	buckets map[string]*bucket
	global  bucket
	stats   ReportStats
	sites   map[string]*SiteReport
}

// ReportStats are the reports counted and dropped, and the bytes they carried.
type ReportStats struct {
	Accepted uint64      `json:"accepted"`
	Dropped  ReportDrops `json:"dropped"`
	ReportBytes
	Sites []SiteReport `json:"sites"` // by site, most bytes first
}

// ReportDrops counts reports dropped, by reason.
type ReportDrops struct {
	Malformed  uint64 `json:"malformed"`
	Oversized  uint64 `json:"oversized"`
	NotAllowed uint64 `json:"not_allowed"`
	Flood      uint64 `json:"flood"`
}

// SiteReport totals one site's reports.
type SiteReport struct {
	Site    string `json:"site"`
	Reports uint64 `json:"reports"`
	ReportBytes
}

type bucket struct {
	tokens float64
	at     int64 // unix ns of the last refill
}

// take refills b at rate up to burst since its last refill and takes one token if there is one.
func (b *bucket) take(now int64, rate float64, burst int) bool {
	if now > b.at { // a clock that steps back refills nothing
		b.tokens = min(float64(burst), b.tokens+float64(now-b.at)/1e9*rate)
		b.at = now
	}
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// NewReports returns a report receiver for a tracker of configuration cfg: its AllowedOrigins, when
// set, also bound which sites may report, and its Log receives nothing per report (a flood would fill
// it) but a line when the client table is full.
func NewReports(cfg Config, rc ReportConfig) *Reports {
	rc = rc.withDefaults()
	r := &Reports{rc: rc, logf: cfg.logf, now: wallClock, buckets: map[string]*bucket{},
		sites: map[string]*SiteReport{}}
	r.global = bucket{tokens: float64(rc.GlobalBurst), at: r.now()}
	if len(cfg.AllowedOrigins) > 0 {
		r.allowed = map[string]bool{}
		for _, o := range cfg.AllowedOrigins {
			r.allowed[o] = true
		}
	}
	return r
}

// ServeHTTP takes one report. With Config.AllowedOrigins set, the request's Origin header (when a
// browser sent one) must be listed and the site's origin must be listed; in any case the site must
// start with the Origin header's origin. An allowed Origin gets Access-Control-Allow-Origin.
func (rp *Reports) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	origin := r.Header.Get("Origin")
	if origin != "" && (rp.allowed == nil || rp.allowed[origin]) {
		w.Header().Set("Access-Control-Allow-Origin", origin)
		w.Header().Set("Vary", "Origin")
	}
	switch r.Method {
	case http.MethodPost:
	case http.MethodOptions: // text/plain needs no preflight, but a client may still ask
		w.Header().Set("Access-Control-Allow-Methods", "POST")
		w.Header().Set("Access-Control-Allow-Headers", "Content-Type")
		w.WriteHeader(http.StatusNoContent)
		return
	default:
		w.Header().Set("Allow", "POST")
		http.Error(w, "POST a report here", http.StatusMethodNotAllowed)
		return
	}
	if !rp.admit(clientIP(r)) {
		rp.drop(&rp.stats.Dropped.Flood)
		http.Error(w, "too many reports", http.StatusTooManyRequests)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxReportBytes+1))
	if len(body) > MaxReportBytes || r.ContentLength > MaxReportBytes {
		rp.drop(&rp.stats.Dropped.Oversized)
		http.Error(w, "report too large", http.StatusRequestEntityTooLarge)
		return
	}
	var rep Report
	if err == nil {
		rep, err = ParseReport(body)
	}
	if err != nil {
		rp.drop(&rp.stats.Dropped.Malformed)
		http.Error(w, "malformed report: "+err.Error(), http.StatusBadRequest)
		return
	}
	if err := rp.check(origin, rep.Site); err != nil {
		rp.drop(&rp.stats.Dropped.NotAllowed)
		http.Error(w, err.Error(), http.StatusForbidden)
		return
	}
	rp.add(rep)
	w.WriteHeader(http.StatusNoContent)
}

// check says why site may not report from a page of origin ("" when no browser sent one).
func (rp *Reports) check(origin, site string) error {
	if origin != "" && site != origin && !strings.HasPrefix(site, origin+"/") {
		return fmt.Errorf("site %q is not on the page's origin %s", site, origin)
	}
	if rp.allowed == nil {
		return nil
	}
	if origin != "" && !rp.allowed[origin] {
		return fmt.Errorf("origin %s not allowed", origin)
	}
	u, _ := url.Parse(site) // ParseReport parsed it
	if so := u.Scheme + "://" + u.Host; !rp.allowed[so] {
		return fmt.Errorf("site origin %s not allowed", so)
	}
	return nil
}

// admit takes a token from ip's bucket and the global one.
func (rp *Reports) admit(ip string) bool {
	now := rp.now()
	rp.mu.Lock()
	defer rp.mu.Unlock()
	b := rp.buckets[ip]
	if b == nil {
		if len(rp.buckets) >= rp.rc.MaxClients && !rp.evict(now) {
			return false
		}
		b = &bucket{tokens: float64(rp.rc.Burst), at: now}
		rp.buckets[ip] = b
	}
	if !b.take(now, rp.rc.Rate, rp.rc.Burst) {
		return false
	}
	return rp.global.take(now, rp.rc.GlobalRate, rp.rc.GlobalBurst)
}

// evict forgets the clients whose buckets have refilled (they lose nothing) and reports whether
// there is room for another.
func (rp *Reports) evict(now int64) bool {
	full := int64(float64(rp.rc.Burst) / rp.rc.Rate * 1e9)
	for ip, b := range rp.buckets {
		if now-b.at >= full {
			delete(rp.buckets, ip)
		}
	}
	if len(rp.buckets) >= rp.rc.MaxClients {
		rp.logf("tracker: %d clients are reporting; reports from new ones are dropped", len(rp.buckets))
		return false
	}
	return true
}

func (rp *Reports) drop(n *uint64) {
	rp.mu.Lock()
	*n++
	rp.mu.Unlock()
}

func (rp *Reports) add(rep Report) {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	rp.stats.Accepted++
	rp.stats.add(rep.ReportBytes)
	s := rp.sites[rep.Site]
	if s == nil {
		name := rep.Site
		if len(rp.sites) >= rp.rc.MaxSites {
			name = "other"
		}
		if s = rp.sites[name]; s == nil {
			s = &SiteReport{Site: name}
			rp.sites[name] = s
		}
	}
	s.Reports++
	s.add(rep.ReportBytes)
}

// Stats returns the reports' counters and totals.
func (rp *Reports) Stats() ReportStats {
	rp.mu.Lock()
	st := rp.stats
	st.Sites = make([]SiteReport, 0, len(rp.sites))
	for _, s := range rp.sites {
		st.Sites = append(st.Sites, *s)
	}
	rp.mu.Unlock()
	sort.Slice(st.Sites, func(i, j int) bool {
		a, b := st.Sites[i], st.Sites[j]
		if ta, tb := a.Peers+a.HTTP+a.Store, b.Peers+b.HTTP+b.Store; ta != tb {
			return ta > tb
		}
		return a.Site < b.Site
	})
	return st
}

// clientIP is the request's remote address without its port. Behind a proxy every report comes
// from the proxy's address: X-Forwarded-For is not trusted, since any client can write it.
func clientIP(r *http.Request) string {
	if h, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return h
	}
	return r.RemoteAddr
}

var errReport = errors.New("want {\"v\":1,\"site\":\"https://host/base/\",\"peers\":N,\"store\":N,\"http\":N,\"uploaded\":N}")

// ParseReport reads a report body: one JSON object with v = 1, site an http(s) URL without query
// or fragment (at most 512 bytes), and the four counts, each an integer 0..MaxReportCount written
// without sign, fraction or exponent. Unknown fields are ignored; the body may hold nothing else.
func ParseReport(b []byte) (Report, error) {
	var m map[string]json.RawMessage
	d := json.NewDecoder(bytes.NewReader(b))
	if err := d.Decode(&m); err != nil || m == nil {
		return Report{}, errReport
	}
	if _, err := d.Token(); err != io.EOF {
		return Report{}, fmt.Errorf("data after the report: %w", errReport)
	}
	if string(m["v"]) != "1" {
		return Report{}, fmt.Errorf("version not 1: %w", errReport)
	}
	var rep Report
	if err := json.Unmarshal(m["site"], &rep.Site); err != nil || m["site"][0] != '"' {
		return Report{}, fmt.Errorf("site: %w", errReport)
	}
	if err := checkSite(rep.Site); err != nil {
		return Report{}, err
	}
	for _, f := range []struct {
		name string
		v    *int64
	}{{"peers", &rep.Peers}, {"store", &rep.Store}, {"http", &rep.HTTP}, {"uploaded", &rep.Uploaded}} {
		n, err := count(m[f.name])
		if err != nil {
			return Report{}, fmt.Errorf("%s: %w", f.name, err)
		}
		*f.v = n
	}
	return rep, nil
}

// checkSite accepts an absolute http(s) URL with a host and a path, no user, query or fragment.
func checkSite(site string) error {
	u, err := url.Parse(site)
	if err != nil || len(site) > maxSiteLen || u.Scheme != "http" && u.Scheme != "https" || u.Host == "" ||
		u.User != nil || u.RawQuery != "" || u.Fragment != "" || strings.Contains(site, "#") ||
		strings.Contains(site, "?") || !strings.HasPrefix(u.Path, "/") && u.Path != "" {
		return fmt.Errorf("site %q is not an http(s) origin and base path", site)
	}
	return nil
}

// count reads a non-negative integer of at most MaxReportCount, digits only.
func count(raw json.RawMessage) (int64, error) {
	s := string(raw)
	if s == "" || len(s) > 13 || len(s) > 1 && s[0] == '0' || strings.Trim(s, "0123456789") != "" {
		return 0, fmt.Errorf("not an integer 0..2^40: %w", errReport)
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n > MaxReportCount {
		return 0, fmt.Errorf("not an integer 0..2^40: %w", errReport)
	}
	return n, nil
}
