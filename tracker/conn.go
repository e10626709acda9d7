package tracker

import (
	"bytes"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gobwas/ws"
)

var errTooManyHashes = errors.New("too many info hashes in one scrape")

// conn is one client socket. One reader at a time (reading) parses and handles its messages in
// order: on Linux a goroutine started when the socket becomes readable (poll_linux.go), elsewhere
// a goroutine for the socket's lifetime. Writes never block on Linux (wirewrite_linux.go) and go
// through a queue elsewhere (write.go).
type conn struct {
	s    *Server
	nc   net.Conn                   // the socket (on Linux with epoll, a *wireConn)
	hdr  [ws.MaxHeaderSize - 2]byte // frame header scratch; reader only
	skip int64                      // payload bytes of a refused frame still unread; reader only
	wireFields

	reading atomic.Bool // a reader runs (or the connection is finished)
	done    atomic.Bool // finished

	members   *peer        // memberships, linked through peer.next; guarded by s.mu
	nmembers  atomic.Int32 // length of members
	lastMsg   atomic.Int64 // unix ns of the last message
	lastSeen  atomic.Int64 // unix ns of the last message, ping or pong
	pingAt    atomic.Int64
	closing   atomic.Bool
	closeSent atomic.Bool

	tokens   float64 // rate limit bucket; reader only
	tokenAt  int64
	limited  bool // the last message was dropped
	replying bool // the reader must write the queue (reply)

	q *writeQueue // without epoll: its write queue and read buffer
}

// reader is where frames are read from.
func (c *conn) reader() io.Reader {
	if c.q != nil {
		return c.q.br
	}
	return c.nc
}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// wake starts a reader unless one runs.
func (c *conn) wake() {
	if c.reading.CompareAndSwap(false, true) {
		go c.drain(true)
	}
}

// drain reads and handles messages. With poll it stops once no input is buffered and re-arms the
// socket; without, it reads until the socket closes. The caller has set reading.
func (c *conn) drain(poll bool) {
	batching := false
	for {
		if !batching && c.pending() { // more input is here: hold writes to c until it is handled
			c.beginBatch()
			batching = true
		}
		if err := c.readOne(); err != nil {
			c.closing.Store(true)
			c.endBatch()
			c.failWith(err) // a violation (a message over the limit) is closed with its reason
			c.finish()
			return
		}
		if !c.pending() {
			if batching {
				c.endBatch()
				batching = false
			}
			c.flushReplies()
			if poll {
				break
			}
		}
	}
	c.reading.Store(false)
	if !c.rearm() {
		c.abandon()
	}
}

// readOne reads and handles one message.
func (c *conn) readOne() error {
	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	err := c.readMessage(buf)
	if err == nil {
		c.handle(buf.Bytes())
	}
	if buf.Cap() <= 64<<10 { // keep no buffer a rare huge message grew
		bufPool.Put(buf)
	}
	return err
}

// handle answers one message. Offers and answers are copied out of msg before it returns.
func (c *conn) handle(msg []byte) {
	if c.closeSent.Load() { // closing: the client's close frame is all that is read now
		return
	}
	now := c.s.now()
	c.lastMsg.Store(now)
	c.lastSeen.Store(now)
	s := c.s
	s.n.messages.Add(1)
	s.n.bytesIn.Add(uint64(len(msg)))
	if !c.take(now) {
		s.n.rateLimited.Add(1)
		if !c.limited { // one notice per run of dropped messages
			c.limited = true
			c.reply(failure("announce", nil, "rate limit exceeded: message dropped"))
			s.n.failures.Add(1)
		}
		return
	}
	c.limited = false
	r, err := parse(msg)
	switch {
	case err != nil:
		c.fail(&r, err)
	case r.action == "scrape":
		s.scrape(c, &r)
	default:
		s.announce(c, &r)
	}
}

// take takes a token from the bucket, refilled at MessageRate per second up to MessageBurst.
func (c *conn) take(now int64) bool {
	rate := c.s.cfg.MessageRate
	if rate < 0 {
		return true
	}
	c.tokens = min(c.tokens+float64(now-c.tokenAt)/1e9*rate, float64(c.s.cfg.MessageBurst))
	c.tokenAt = now
	if c.tokens < 1 {
		return false
	}
	c.tokens--
	return true
}

// fail replies with a failure reason naming the request's action and info hash when known.
func (c *conn) fail(r *request, err error) {
	var ih *ID
	if r.hasIH {
		ih = &r.infoHash
	}
	c.reply(failure(r.action, ih, err.Error()))
	c.s.n.failures.Add(1)
}

func (c *conn) seen() { c.lastSeen.Store(c.s.now()) }

// kill drops the connection without a close handshake.
func (c *conn) kill() {
	c.closing.Store(true)
	c.nc.Close()
	c.abandon()
}

// closeWith closes with a close frame, waiting up to 5 s for the client's. The handshake reads
// the socket, so it needs the reader's place: a reader that does not finish within 200 ms (one
// waiting for the rest of a message) gets the socket closed under it instead. In the goroutine
// engine the reader keeps its place for the socket's lifetime: closeWith sends the close frame and
// sets a read deadline, and the reader ends the connection when the client's close frame comes or
// the deadline passes.
func (c *conn) closeWith(code ws.StatusCode, reason string) {
	c.closing.Store(true)
	if c.q != nil {
		c.closeFrame(code, reason)
		c.nc.SetReadDeadline(time.Now().Add(closeWait))
		for !c.done.Load() {
			time.Sleep(5 * time.Millisecond)
		}
		return
	}
	for deadline := time.Now().Add(200 * time.Millisecond); !c.reading.CompareAndSwap(false, true); {
		if c.done.Load() {
			return
		}
		if time.Now().After(deadline) {
			c.kill()
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	c.closeHandshake(code, reason)
	c.finish()
}

// abandon finishes a closed connection unless a reader is there to notice the close itself.
func (c *conn) abandon() {
	if c.reading.CompareAndSwap(false, true) {
		c.finish()
	}
}

// finish is "stopped" for every swarm the socket joined; it runs once.
func (c *conn) finish() {
	if c.done.Swap(true) {
		return
	}
	c.nc.Close()
	c.shut()
	c.s.dropConn(c)
	c.s.nconns.Add(-1)
	c.s.connMu.Lock()
	delete(c.s.conns, c) // last: Stats().Connections counts it until it is gone everywhere
	c.s.connMu.Unlock()
}

// check closes the socket when idle and pings swarm members when quiet (called by the janitor).
// Clients that re-announce every Interval are never pinged with the default timings. A connection
// it drops is marked closing before check returns.
func (c *conn) check(now int64) {
	if c.closing.Load() {
		return
	}
	idle := int64(c.s.cfg.IdleTimeout)
	quiet := now - c.lastSeen.Load()
	switch {
	case c.nmembers.Load() == 0 && now-c.lastMsg.Load() >= idle:
		c.closing.Store(true)
		go c.closeWith(ws.StatusPolicyViolation, "idle timeout")
	case quiet >= idle: // a swarm member that answers no pings: gone or stuck
		c.closing.Store(true)
		go c.kill()
	case c.writeStalled(now):
		c.s.cfg.logf("tracker: dropping a client whose socket accepts no data")
		c.closing.Store(true)
		go c.kill()
	case c.nmembers.Load() > 0 && quiet >= idle/2 && now-c.pingAt.Load() >= idle/2:
		c.pingAt.Store(now)
		c.writeFrame(ws.OpPing, nil) // a client that does not answer is dropped above, at IdleTimeout
	}
}
