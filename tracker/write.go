package tracker

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// writeState is a connection's outgoing queue where socket writes can block (without epoll; on
// Linux writes never block: wirewrite_linux.go). Whoever finds it idle becomes its writer: the
// connection's own reader writes its replies itself once it has handled the input at hand (a
// client that does not read only slows itself down); messages for other connections start a
// goroutine that lives until the queue is empty, so a slow reader never blocks the peer whose
// offer it receives. A queue past MaxQueueBytes, or a write stuck for WriteTimeout, drops the
// connection.
type writeState struct {
	wmu        sync.Mutex
	queue      [][]byte
	queued     int
	writing    bool
	closed     bool
	writeSince atomic.Int64 // unix ns when the current write began; 0 when not writing
}

// send writes msg to c's socket; any goroutine may call it.
func (c *conn) send(msg []byte) {
	if c.direct() { // the socket's writes never block (Linux)
		c.s.n.bytesOut.Add(uint64(len(msg)))
		if c.ws.Write(context.Background(), websocket.MessageText, msg) != nil {
			go c.kill()
		}
		return
	}
	if c.enqueue(msg) {
		go c.flush()
	}
}

// reply writes msg to the reader's own socket. Replies to a burst of messages go out together:
// on Linux the reader batches while input is buffered; elsewhere the reader writes its queue once it
// has handled the input at hand (flushReplies).
func (c *conn) reply(msg []byte) {
	if c.direct() {
		c.send(msg)
		return
	}
	if c.enqueue(msg) {
		c.replying = true
	}
}

func (c *conn) flushReplies() {
	if c.replying {
		c.replying = false
		c.flush()
	}
}

// enqueue adds msg and reports whether the caller must write the queue.
func (c *conn) enqueue(msg []byte) bool {
	c.wmu.Lock()
	if c.closed {
		c.wmu.Unlock()
		return false
	}
	if c.queued+len(msg) > c.s.cfg.MaxQueueBytes {
		c.closed, c.queue = true, nil
		c.wmu.Unlock()
		c.s.cfg.logf("tracker: dropping a client that does not read (%d bytes queued)", c.queued)
		go c.kill()
		return false
	}
	c.queue = append(c.queue, msg)
	c.queued += len(msg)
	start := !c.writing
	c.writing = true
	c.wmu.Unlock()
	return start
}

// flush writes the queue until it is empty; each round is one batch (one system call on Linux).
func (c *conn) flush() {
	for {
		c.wmu.Lock()
		q := c.queue
		if len(q) == 0 || c.closed {
			c.writing, c.queue, c.queued = false, nil, 0
			c.wmu.Unlock()
			return
		}
		c.queue, c.queued = nil, 0
		c.wmu.Unlock()
		if !c.writeBatch(q) {
			c.shut()
			go c.kill()
			return
		}
	}
}

func (c *conn) writeBatch(q [][]byte) bool {
	c.writeSince.Store(time.Now().UnixNano())
	defer c.writeSince.Store(0)
	c.beginBatch()
	for _, m := range q {
		c.s.n.bytesOut.Add(uint64(len(m)))
		if c.ws.Write(context.Background(), websocket.MessageText, m) != nil {
			c.endBatch()
			return false
		}
	}
	return c.endBatch() == nil
}

// writeStalled reports a write that has not finished within WriteTimeout.
func (c *conn) writeStalled(now int64) bool {
	since := c.writeSince.Load()
	return since != 0 && now-since > int64(c.s.cfg.WriteTimeout)
}

// shut stops all further writes.
func (c *conn) shut() {
	c.wmu.Lock()
	c.closed, c.queue = true, nil
	c.wmu.Unlock()
}
