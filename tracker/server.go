package tracker

import (
	"context"
	"encoding/json"
	"math"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gobwas/ws"
	"golang.org/x/net/http/httpguts"
)

// Server is a WebSocket tracker. It is an http.Handler for the WebSocket endpoint (mount it at
// /announce); StatsHandler serves its statistics.
type Server struct {
	cfg    Config
	ctx    context.Context // ends at Close; every read runs under it
	cancel context.CancelFunc

	mu            sync.Mutex // guards swarms, peers, seeders and every conn.members
	swarms        map[ID]*swarm
	peers         int
	seeders       int
	connMu        sync.Mutex
	conns         map[*conn]struct{}
	nconns        atomic.Int64
	rate          atomic.Uint64 // float64 bits: messages in the last second
	n             counters
	poll          *poller // nil: a goroutine per connection
	janitorDone   chan struct{}
	closeOnce     sync.Once
	originAllowed map[string]bool
	// now is the clock of the rate limit, idle timeouts and pings (unix ns): time.Now, or a test's.
	now func() int64
}

// useEpoll selects the Linux epoll engine; PLANKTOS_TRACKER_ENGINE=goroutine runs the portable
// goroutine engine instead (what every other system runs), to test or measure it on Linux.
var useEpoll = os.Getenv("PLANKTOS_TRACKER_ENGINE") != "goroutine"

func wallClock() int64 { return time.Now().UnixNano() }

type counters struct {
	messages, bytesIn, bytesOut, offers, answers, answersDropped, failures, rateLimited,
	refused atomic.Uint64
}

// New returns a running tracker; call Close to stop it.
func New(cfg Config) *Server { return newServer(cfg, wallClock) }

// newServer is New with the clock now (unix ns).
func newServer(cfg Config, now func() int64) *Server {
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{
		cfg: cfg.WithDefaults(), ctx: ctx, cancel: cancel,
		swarms: map[ID]*swarm{}, conns: map[*conn]struct{}{}, janitorDone: make(chan struct{}),
		now: now,
	}
	if len(cfg.AllowedOrigins) > 0 {
		s.originAllowed = map[string]bool{}
		for _, o := range cfg.AllowedOrigins {
			s.originAllowed[o] = true
		}
	}
	if useEpoll {
		var err error
		if s.poll, err = newPoller(ctx); err != nil {
			s.cfg.logf("tracker: %v; reading with a goroutine per connection", err)
		}
	}
	go s.janitor()
	return s
}

// ServeHTTP upgrades the request to a WebSocket and serves the tracker protocol on it until the
// socket closes. It answers 403 to an Origin outside Config.AllowedOrigins and 503 above
// Config.MaxConns or after Close.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if o := r.Header.Get("Origin"); o != "" && s.originAllowed != nil && !s.originAllowed[o] {
		s.n.refused.Add(1)
		http.Error(w, "origin not allowed", http.StatusForbidden)
		return
	}
	if !httpguts.HeaderValuesContainsToken(r.Header["Connection"], "upgrade") ||
		!httpguts.HeaderValuesContainsToken(r.Header["Upgrade"], "websocket") {
		w.Header().Set("Upgrade", "websocket")
		http.Error(w, "this is a WebTorrent tracker: connect with a WebSocket client", http.StatusUpgradeRequired)
		return
	}
	n := s.nconns.Add(1)
	if s.ctx.Err() != nil || s.cfg.MaxConns > 0 && n > int64(s.cfg.MaxConns) {
		s.nconns.Add(-1)
		s.n.refused.Add(1)
		http.Error(w, "too many connections", http.StatusServiceUnavailable)
		return
	}
	// Any origin may connect (a tracker serves pages of other sites) unless AllowedOrigins is set.
	c := &conn{s: s}
	if err := s.accept(w, r, c); err != nil {
		s.nconns.Add(-1)
		return // the client has had its answer
	}
	now := s.now()
	c.lastMsg.Store(now)
	c.lastSeen.Store(now)
	c.tokens, c.tokenAt = float64(s.cfg.MessageBurst), now
	c.reading.Store(true) // ours until attach
	s.connMu.Lock()
	s.conns[c] = struct{}{}
	s.connMu.Unlock()
	if s.ctx.Err() != nil { // Close ran meanwhile and did not see c
		c.reading.Store(false)
		c.kill()
		return
	}
	s.attach(c) // on Linux this returns at once: the socket waits in the epoll set
}

// dropConn is "stopped" for every swarm socket c joined.
func (s *Server) dropConn(c *conn) {
	s.mu.Lock()
	for p := c.members; p != nil; p = p.next {
		s.drop(p)
	}
	c.members = nil
	c.nmembers.Store(0)
	s.mu.Unlock()
}

// announce handles an announce: join or leave, reply, relay offers.
func (s *Server) announce(c *conn, r *request) {
	if r.answer != nil {
		s.answer(c, r)
		return
	}
	var targets []*conn
	var sw *swarm
	var err error
	s.mu.Lock()
	if r.event == "stopped" {
		s.leave(c, r.infoHash, r.peerID)
		sw = s.swarms[r.infoHash]
	} else if sw, err = s.join(c, r); err == nil && len(r.offers) > 0 {
		targets = sw.pick(r.peerID, min(len(r.offers), s.cfg.MaxOffers))
	}
	complete, incomplete := sw.counts()
	s.mu.Unlock()
	if err != nil {
		c.fail(r, err)
		return
	}
	c.reply(announceReply(r.infoHash, complete, incomplete, s.interval()))
	for i, t := range targets {
		t.sendPooled(relayed("offer", r.offers[i].sdp, r.offers[i].id, r.peerID, r.infoHash))
	}
	s.n.offers.Add(uint64(len(targets)))
}

// answer forwards an answer to to_peer_id. Like bittorrent-tracker it also counts as an update
// announce of the answerer, and gets no reply.
func (s *Server) answer(c *conn, r *request) {
	var to *conn
	s.mu.Lock()
	sw, err := s.join(c, r)
	if err == nil {
		if p := sw.peers[r.toPeerID]; p != nil {
			to = p.c
		}
	}
	s.mu.Unlock()
	switch {
	case err != nil:
		c.fail(r, err)
	case to == nil:
		s.n.answersDropped.Add(1)
	default:
		to.sendPooled(relayed("answer", r.answer, r.offerID, r.peerID, r.infoHash))
		s.n.answers.Add(1)
	}
}

// scrape reports the listed swarms, or every swarm (up to MaxScrape) for an empty list.
func (s *Server) scrape(c *conn, r *request) {
	if len(r.infoHashes) > s.cfg.MaxScrape {
		c.fail(r, errTooManyHashes)
		return
	}
	var counts []scrapeCount
	seen := make(map[ID]bool, len(r.infoHashes))
	s.mu.Lock()
	if len(r.infoHashes) == 0 {
		counts = make([]scrapeCount, 0, min(len(s.swarms), s.cfg.MaxScrape))
		for ih, sw := range s.swarms {
			if len(counts) == s.cfg.MaxScrape {
				break
			}
			counts = append(counts, scrapeCount{ih: ih})
			counts[len(counts)-1].complete, counts[len(counts)-1].incomplete = sw.counts()
		}
	}
	for _, ih := range r.infoHashes {
		if !seen[ih] {
			seen[ih] = true
			cnt := scrapeCount{ih: ih}
			cnt.complete, cnt.incomplete = s.swarms[ih].counts()
			counts = append(counts, cnt)
		}
	}
	s.mu.Unlock()
	c.reply(scrapeReply(counts, s.interval()))
}

func (s *Server) interval() int { return int(math.Ceil(s.cfg.Interval.Seconds())) }

// Stats returns a snapshot of the tracker's state and counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	st := Stats{Swarms: len(s.swarms), Peers: s.peers, Seeders: s.seeders, Leechers: s.peers - s.seeders}
	s.mu.Unlock()
	s.connMu.Lock()
	st.Connections = len(s.conns)
	s.connMu.Unlock()
	st.MessagesPerSecond = math.Float64frombits(s.rate.Load())
	st.Messages = s.n.messages.Load()
	st.BytesIn, st.BytesOut = s.n.bytesIn.Load(), s.n.bytesOut.Load()
	st.OffersRelayed, st.AnswersForwarded = s.n.offers.Load(), s.n.answers.Load()
	st.AnswersDropped, st.Failures = s.n.answersDropped.Load(), s.n.failures.Load()
	st.RateLimited, st.Refused = s.n.rateLimited.Load(), s.n.refused.Load()
	return st
}

// StatsHandler serves Stats as JSON.
func (s *Server) StatsHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Access-Control-Allow-Origin", "*")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.Encode(s.Stats())
	})
}

// Close sends every client a going-away close frame, waits up to a second for the handshakes, then
// drops the remaining connections. New connections get 503. Close is safe to call more than once.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		s.cancel()
		s.connMu.Lock()
		all := make([]*conn, 0, len(s.conns))
		for c := range s.conns {
			all = append(all, c)
		}
		s.connMu.Unlock()
		var wg sync.WaitGroup
		for _, c := range all {
			wg.Go(func() { c.closeWith(ws.StatusGoingAway, "tracker shutting down") })
		}
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(time.Second):
			for _, c := range all {
				c.kill()
			}
		}
		<-s.janitorDone
	})
}

// janitor samples the message rate each second and closes idle connections, pinging quiet ones.
func (s *Server) janitor() {
	defer close(s.janitorDone)
	tick := min(max(s.cfg.IdleTimeout/10, 10*time.Millisecond), time.Second)
	t := time.NewTicker(tick)
	defer t.Stop()
	lastAt, lastN := time.Now(), s.n.messages.Load()
	for {
		select {
		case <-s.ctx.Done():
			return
		case now := <-t.C:
			if d := now.Sub(lastAt); d >= time.Second {
				n := s.n.messages.Load()
				s.rate.Store(math.Float64bits(float64(n-lastN) / d.Seconds()))
				lastAt, lastN = now, n
			}
			s.sweep(s.now())
		}
	}
}

// sweep closes the connections idle at now and pings the quiet ones.
func (s *Server) sweep(now int64) {
	s.connMu.Lock()
	for c := range s.conns {
		c.check(now)
	}
	s.connMu.Unlock()
}
