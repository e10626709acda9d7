package tracker

import (
	"bufio"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gobwas/ws"
)

// writeQueue is a connection's outgoing queue where socket writes can block (without epoll; on
// Linux writes never block: wirewrite_linux.go). Whoever finds it idle starts its writer, a
// goroutine that lives until the queue is empty: the connection's own reader once it has handled
// the input at hand (its replies leave together), anyone relaying an offer or answer to it. No
// reader ever blocks on a socket's writes: a slow reader never blocks the peer whose offer it
// receives, and a client that stops reading while it writes (as one that answers offers from its
// reading loop does) cannot deadlock with its own reader. A queue past MaxQueueBytes — counting
// the bytes being written until the socket has taken them — or a write stuck for WriteTimeout,
// drops the connection.
type writeQueue struct {
	br      *bufio.Reader // reads come through net/http's buffer
	mu      sync.Mutex
	frames  []frame
	queued  int // payload bytes of frames and of the batch being written
	writing bool
	closed  bool
	since   atomic.Int64 // unix ns when the current write began; 0 when not writing
}

// frame is an outgoing WebSocket frame; p is never modified once queued. When buf is set, p is
// the content of a buffer from getMsg, which goes back to its pool once written or dropped.
type frame struct {
	op  ws.OpCode
	p   []byte
	buf *[]byte
}

// send writes text message msg to c's socket; any goroutine may call it.
func (c *conn) send(msg []byte) { c.sendFrame(frame{op: ws.OpText, p: msg}) }

// sendPooled sends a text message held in a buffer from getMsg; the socket owns it from now on.
func (c *conn) sendPooled(buf *[]byte) { c.sendFrame(frame{op: ws.OpText, p: *buf, buf: buf}) }

// writeFrame sends one frame without blocking; any goroutine may call it.
func (c *conn) writeFrame(op ws.OpCode, p []byte) { c.sendFrame(frame{op: op, p: p}) }

// sendFrame queues f and reports whether it was queued: false means that the connection is
// closing (its close frame is sent) or being dropped (its writes failed, or its queue would pass
// MaxQueueBytes).
func (c *conn) sendFrame(f frame) bool {
	if c.closeSent.Load() { // nothing follows a close frame (RFC 6455, 5.5.1)
		putMsg(f.buf)
		return false
	}
	if f.op == ws.OpText {
		c.s.n.bytesOut.Add(uint64(len(f.p)))
	}
	if c.direct() { // the socket's writes never block (Linux)
		if c.directWrite(f) != nil {
			go c.kill()
			return false
		}
		return true
	}
	queued, start := c.enqueue(f)
	if start {
		go c.flush()
	}
	return queued
}

// writeNow sends a frame and returns once it is written (or the socket failed, or a second
// passed): a close frame must leave before the socket closes. Frames queued before it leave first.
func (c *conn) writeNow(op ws.OpCode, p []byte) {
	if c.direct() {
		if c.directWrite(frame{op: op, p: p}) == nil {
			c.directPush()
		}
		return
	}
	if _, start := c.enqueue(frame{op: op, p: p}); start {
		c.flush()
		return
	}
	for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		c.q.mu.Lock()
		busy := c.q.writing && !c.q.closed
		c.q.mu.Unlock()
		if !busy {
			return
		}
	}
}

// reply writes msg to the reader's own socket. Replies to a burst of messages go out together:
// on Linux the reader batches while input is buffered; elsewhere the reader starts the queue's
// writer once it has handled the input at hand (flushReplies).
func (c *conn) reply(msg []byte) {
	if c.direct() || c.closeSent.Load() {
		c.send(msg)
		return
	}
	c.s.n.bytesOut.Add(uint64(len(msg)))
	if _, start := c.enqueue(frame{op: ws.OpText, p: msg}); start {
		c.replying = true
	}
}

func (c *conn) flushReplies() {
	if c.replying {
		c.replying = false
		go c.flush()
	}
}

// enqueue adds f, and reports whether it did and whether the caller must write the queue.
func (c *conn) enqueue(f frame) (queued, start bool) {
	c.q.mu.Lock()
	if c.q.closed {
		c.q.mu.Unlock()
		putMsg(f.buf)
		return false, false
	}
	if c.q.queued+len(f.p) > c.s.cfg.MaxQueueBytes {
		c.q.closed = true
		release(c.q.frames)
		c.q.frames = nil
		c.q.mu.Unlock()
		putMsg(f.buf)
		c.s.cfg.logf("tracker: dropping a client that does not read (%d bytes queued)", c.q.queued)
		go c.kill()
		return false, false
	}
	c.q.frames = append(c.q.frames, f)
	c.q.queued += len(f.p)
	start = !c.q.writing
	c.q.writing = true
	c.q.mu.Unlock()
	return true, start
}

// flush writes the queue until it is empty; each round is one batch (one system call on Linux).
// The batch being written still counts in queued until the socket has taken it, so MaxQueueBytes
// bounds everything the connection holds.
func (c *conn) flush() {
	for {
		c.q.mu.Lock()
		q := c.q.frames
		if len(q) == 0 || c.q.closed {
			c.q.writing, c.q.frames, c.q.queued = false, nil, 0
			c.q.mu.Unlock()
			return
		}
		c.q.frames = nil
		c.q.mu.Unlock()
		ok := c.writeBatch(q)
		release(q)
		if !ok {
			c.shut()
			go c.kill()
			return
		}
		c.q.mu.Lock()
		for _, f := range q {
			c.q.queued -= len(f.p)
		}
		c.q.mu.Unlock()
	}
}

// writeBatch writes q with one gathered write.
func (c *conn) writeBatch(q []frame) bool {
	c.q.since.Store(c.s.now())
	defer c.q.since.Store(0)
	bufs := make(net.Buffers, 0, 2*len(q))
	for _, f := range q {
		bufs = append(bufs, frameHeader(f.op, len(f.p)))
		if len(f.p) > 0 {
			bufs = append(bufs, f.p)
		}
	}
	c.nc.SetWriteDeadline(time.Now().Add(c.s.cfg.WriteTimeout))
	_, err := bufs.WriteTo(c.nc)
	return err == nil
}

// writeStalled reports a write that has not finished within WriteTimeout.
func (c *conn) writeStalled(now int64) bool {
	if c.q == nil {
		return false // a wireConn times its own writes
	}
	since := c.q.since.Load()
	return since != 0 && now-since > int64(c.s.cfg.WriteTimeout)
}

// shut stops all further writes.
func (c *conn) shut() {
	if c.q == nil {
		return
	}
	c.q.mu.Lock()
	c.q.closed = true
	release(c.q.frames)
	c.q.frames = nil
	c.q.mu.Unlock()
}

// release gives the pooled buffers of frames that will not be written (or were) back.
func release(frames []frame) {
	for _, f := range frames {
		putMsg(f.buf)
	}
}
