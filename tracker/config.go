package tracker

import (
	"log"
	"time"
)

// Config bounds the tracker. The zero value of a field means its default; a negative value means
// "no limit" for the fields that say so.
type Config struct {
	// Interval is the re-announce interval told to clients (default 2 minutes, bittorrent-tracker's).
	Interval time.Duration
	// MaxMessageBytes is the largest message read; a larger one closes the socket with status 1009
	// (default 64 KiB: five browser offers of several KB each fit with room to spare).
	MaxMessageBytes int64
	// MaxSwarmsPerConn caps the (info_hash, peer_id) pairs one socket may hold (default 256).
	MaxSwarmsPerConn int
	// MaxOffers caps the offers relayed per announce; the rest are ignored (default 10; browsers send 5).
	MaxOffers int
	// MessageRate is the sustained messages per second per connection (default 10; negative: no
	// limit), MessageBurst the bucket size (default 100). Messages over the rate are dropped.
	MessageRate  float64
	MessageBurst int
	// IdleTimeout closes a connection outside any swarm that sent no message for this long. A
	// connection in a swarm stays while it is alive: quiet for IdleTimeout/2 it is pinged, and it is
	// dropped only when nothing (message, ping, pong) came for IdleTimeout (default 5 minutes; so
	// browsers, which re-announce every Interval, are never pinged).
	IdleTimeout time.Duration
	// MaxConns caps open WebSocket connections; more get HTTP 503 (default 20000; negative: no limit).
	MaxConns int
	// MaxScrape caps the info hashes in one scrape request and in an all-swarms scrape reply
	// (default 1000).
	MaxScrape int
	// MaxQueueBytes caps the bytes waiting to be written to one connection; a reader that falls
	// further behind is disconnected (default 1 MiB).
	MaxQueueBytes int
	// WriteTimeout bounds one write to a client (default 10 s).
	WriteTimeout time.Duration
	// AllowedOrigins, when not empty, lists the page origins (e.g. "https://example.org") allowed to
	// connect; other browser origins get HTTP 403. Requests without an Origin header (non-browser
	// clients, which could send any Origin anyway) are allowed.
	AllowedOrigins []string
	// Log receives connection errors worth a look; nil discards them.
	Log *log.Logger
}

// WithDefaults returns c with every zero field set to its default.
func (c Config) WithDefaults() Config {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	if c.Interval <= 0 {
		c.Interval = 2 * time.Minute
	}
	if c.MaxMessageBytes <= 0 {
		c.MaxMessageBytes = 64 << 10
	}
	def(&c.MaxSwarmsPerConn, 256)
	def(&c.MaxOffers, 10)
	def(&c.MessageBurst, 100)
	def(&c.MaxConns, 20000)
	def(&c.MaxScrape, 1000)
	def(&c.MaxQueueBytes, 1<<20)
	if c.MessageRate == 0 {
		c.MessageRate = 10
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = 5 * time.Minute
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = 10 * time.Second
	}
	return c
}

// Stats is a snapshot of the tracker, served as JSON by StatsHandler.
type Stats struct {
	Swarms      int `json:"swarms"`
	Peers       int `json:"peers"`    // (swarm, peer) memberships
	Seeders     int `json:"seeders"`  // peers with complete copies
	Leechers    int `json:"leechers"` // peers still downloading
	Connections int `json:"connections"`
	// MessagesPerSecond counts messages received during the last full second.
	MessagesPerSecond float64 `json:"messages_per_second"`
	Messages          uint64  `json:"messages"` // received since start
	BytesIn           uint64  `json:"bytes_in"`
	BytesOut          uint64  `json:"bytes_out"`
	OffersRelayed     uint64  `json:"offers_relayed"`
	AnswersForwarded  uint64  `json:"answers_forwarded"`
	AnswersDropped    uint64  `json:"answers_dropped"` // to_peer_id not in the swarm
	Failures          uint64  `json:"failures"`        // failure replies sent
	RateLimited       uint64  `json:"rate_limited"`    // messages dropped by the rate limit
	Refused           uint64  `json:"refused"`         // connections refused (limit, Origin)
}

func (c Config) logf(format string, args ...any) {
	if c.Log != nil {
		c.Log.Printf(format, args...)
	}
}
