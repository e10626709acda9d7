//go:build linux

package tracker

import (
	"errors"
	"net"
	"runtime"
	"sync"
	"syscall"
	"time"
	"unsafe"
)

// The write side of a wireConn never blocks its caller, so the goroutine that relays an offer
// writes it to the receiving socket itself. coder/websocket writes each frame through a small
// bufio.Writer (wbufSize) and flushes it: we get a copy of that buffer (a frame header and the
// start of the payload, or a whole control frame) and then, for a larger payload, the caller's own
// message bytes, which are never modified afterwards and are kept without a copy.
//
// The system call is deferred to the end of the current round of readers (flush_linux.go): under
// load, the answers to one peer's offers, its announce reply and the offers relayed to it leave in
// one writev; when idle, at once. What the socket does
// not take (the descriptor is non-blocking) waits for a drainer goroutine, which lives only while
// there is a backlog. A backlog past maxOut, or a write stuck for the write timeout, fails the
// connection (a client that does not read). While the reader batches, its socket is not flushed.
type writeSide struct {
	wmu      sync.Mutex
	out      [][]byte // pieces not yet written, in order
	outLen   int
	batch    bool
	draining bool
	dirty    bool // waits for the flusher
	werr     error
	maxOut   int
	timeout  time.Duration
	onFail   func()   // called once the socket cannot be written
	flusher  *flusher // nil: write at once
}

const wbufSize = 256 // > the largest control frame (2 + 125 bytes), so control frames are never split

var errSlowReader = errors.New("client does not read: write backlog over the limit")

func (c *wireConn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.werr != nil {
		return 0, c.werr
	}
	if len(p) > wbufSize {
		c.out = append(c.out, p) // the message itself
	} else {
		c.out = append(c.out, append([]byte(nil), p...)) // bufio's buffer, reused after this call
	}
	c.outLen += len(p)
	if c.outLen > c.maxOut {
		c.fail(errSlowReader)
		return 0, c.werr
	}
	// A full buffer is the first part of a frame whose rest follows at once: send them together.
	if !c.batch && len(p) != wbufSize {
		c.schedule()
	}
	return len(p), nil
}

// schedule has the flusher push the pending pieces (wmu held).
func (c *wireConn) schedule() {
	if c.dirty || c.draining || len(c.out) == 0 {
		return
	}
	if c.flusher != nil && c.flusher.mark(c) {
		c.dirty = true
		return
	}
	c.push()
}

// flush is the flusher's push.
func (c *wireConn) flush() {
	c.wmu.Lock()
	c.dirty = false
	if !c.batch {
		c.push()
	}
	c.wmu.Unlock()
}

// push writes what the socket takes now and leaves the rest to a drainer (wmu held).
func (c *wireConn) push() {
	if c.draining || len(c.out) == 0 || c.werr != nil {
		return
	}
	var n int
	var err error
	if rerr := c.rc.Write(func(fd uintptr) bool {
		n, err = writev(int(fd), c.out)
		return true // never wait here
	}); rerr != nil {
		err = rerr
	}
	if err != nil && err != syscall.EAGAIN {
		c.fail(err)
		return
	}
	c.consume(n)
	if len(c.out) > 0 {
		c.draining = true
		go c.drain()
	}
}

// consume drops the first n written bytes from out.
func (c *wireConn) consume(n int) {
	c.outLen -= n
	i := 0
	for ; i < len(c.out) && n >= len(c.out[i]); i++ {
		n -= len(c.out[i])
	}
	clear(c.out[:i])
	c.out = c.out[i:]
	if len(c.out) > 0 {
		c.out[0] = c.out[0][n:]
	} else {
		c.out = nil
	}
}

// drain writes the backlog with blocking writes until it is empty.
func (c *wireConn) drain() {
	for {
		c.wmu.Lock()
		if len(c.out) == 0 || c.werr != nil {
			c.draining = false
			c.TCPConn.SetWriteDeadline(time.Time{}) // or push's non-blocking writes would time out
			c.wmu.Unlock()
			return
		}
		bufs := net.Buffers(c.out)
		c.out, c.outLen = nil, 0
		c.wmu.Unlock()
		c.TCPConn.SetWriteDeadline(time.Now().Add(c.timeout))
		if _, err := bufs.WriteTo(c.TCPConn); err != nil {
			c.wmu.Lock()
			c.draining = false
			c.fail(err)
			c.wmu.Unlock()
			return
		}
	}
}

// fail records the write error and reports it once (wmu held).
func (c *wireConn) fail(err error) {
	if c.werr == nil {
		c.werr = err
		c.out, c.outLen = nil, 0
		if c.onFail != nil {
			go c.onFail()
		}
	}
}

// beginBatch holds writes until endBatch.
func (c *wireConn) beginBatch() {
	c.wmu.Lock()
	c.batch = true
	c.wmu.Unlock()
}

func (c *wireConn) endBatch() error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.batch = false
	c.schedule()
	return c.werr
}

// writev writes up to 1024 pieces with one system call on a non-blocking descriptor.
func writev(fd int, bufs [][]byte) (int, error) {
	iov := make([]syscall.Iovec, 0, min(len(bufs), 1024))
	for _, b := range bufs {
		if len(iov) == cap(iov) {
			break
		}
		if len(b) > 0 {
			v := syscall.Iovec{Base: &b[0]}
			v.SetLen(len(b))
			iov = append(iov, v)
		}
	}
	if len(iov) == 0 {
		return 0, nil
	}
	for {
		n, _, e := syscall.Syscall(syscall.SYS_WRITEV, uintptr(fd), uintptr(unsafe.Pointer(&iov[0])), uintptr(len(iov)))
		runtime.KeepAlive(iov)
		switch e {
		case 0:
			return int(n), nil
		case syscall.EINTR:
			continue
		}
		return 0, e
	}
}
