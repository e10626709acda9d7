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
// writes it to the receiving socket itself. A frame is kept as its header and the caller's own
// payload, which is never modified afterwards, so nothing is copied.
//
// The system call is deferred to the end of the current round of readers (flush_linux.go): under
// load, the answers to one peer's offers, its announce reply and the offers relayed to it leave in
// one writev; when idle, at once. What the socket does not take (the descriptor is non-blocking)
// waits for a drainer goroutine, which lives only while there is a backlog. A backlog past
// MaxQueueBytes — counting what the drainer is writing until the socket has taken it — or a write
// stuck for the write timeout, fails the connection (a client that does not read).
// While the reader batches, its socket is not flushed.
type writeSide struct {
	wmu      sync.Mutex
	out      []piece // not yet written, in order
	outLen   int     // bytes of out and of the pieces the drainer is writing
	batch    bool
	draining bool
	dirty    bool // waits for the flusher
	werr     error
}

// piece is a part of the output: a frame header or a payload; buf, when set, is the pooled buffer
// b is (a tail of), given back once b is written.
type piece struct {
	b   []byte
	buf *[]byte
}

var errSlowReader = errors.New("client does not read: write backlog over the limit")

// writeFrame queues one frame for the socket.
func (c *wireConn) writeFrame(f frame) error {
	hdr := frameHeader(f.op, len(f.p))
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.werr != nil {
		putMsg(f.buf)
		return c.werr
	}
	c.out = append(c.out, piece{b: hdr})
	if len(f.p) > 0 {
		c.out = append(c.out, piece{f.p, f.buf})
	} else {
		putMsg(f.buf)
	}
	c.outLen += len(hdr) + len(f.p)
	if c.outLen > c.owner.s.cfg.MaxQueueBytes {
		c.fail(errSlowReader)
		return c.werr
	}
	if !c.batch {
		c.schedule()
	}
	return nil
}

// pushNow ends any batch and writes what the socket takes now.
func (c *wireConn) pushNow() {
	c.wmu.Lock()
	c.batch = false
	c.push()
	c.wmu.Unlock()
}

// schedule has the flusher push the pending pieces (wmu held).
func (c *wireConn) schedule() {
	if c.dirty || c.draining || len(c.out) == 0 {
		return
	}
	if c.owner.s.poll.flusher.mark(c) {
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
	for ; i < len(c.out) && n >= len(c.out[i].b); i++ {
		n -= len(c.out[i].b)
		putMsg(c.out[i].buf)
	}
	clear(c.out[:i])
	c.out = c.out[i:]
	if len(c.out) > 0 {
		c.out[0].b = c.out[0].b[n:]
	} else {
		c.out = nil
	}
}

// drain writes the backlog with blocking writes until it is empty. The pieces being written stay
// in outLen until the socket has taken them, so MaxQueueBytes bounds all the connection holds.
func (c *wireConn) drain() {
	c.wmu.Lock()
	for len(c.out) > 0 && c.werr == nil {
		out := c.out
		c.out = nil
		c.wmu.Unlock()
		bufs := make(net.Buffers, len(out))
		for i, p := range out {
			bufs[i] = p.b
		}
		c.TCPConn.SetWriteDeadline(time.Now().Add(c.owner.s.cfg.WriteTimeout))
		n, err := bufs.WriteTo(c.TCPConn)
		releasePieces(out)
		c.wmu.Lock()
		if err != nil {
			c.fail(err)
			break
		}
		if c.werr == nil { // fail has emptied the backlog
			c.outLen -= int(n)
		}
	}
	c.draining = false
	c.TCPConn.SetWriteDeadline(time.Time{}) // or push's non-blocking writes would time out
	c.wmu.Unlock()
}

// fail records the write error and reports it once (wmu held).
func (c *wireConn) fail(err error) {
	if c.werr == nil {
		c.werr = err
		releasePieces(c.out)
		c.out, c.outLen = nil, 0
		go c.owner.writeFailed(err)
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

func releasePieces(out []piece) {
	for _, p := range out {
		putMsg(p.buf)
	}
}

// writev writes up to 1024 pieces with one system call on a non-blocking descriptor.
func writev(fd int, out []piece) (int, error) {
	iov := make([]syscall.Iovec, 0, min(len(out), 1024))
	for _, p := range out {
		if len(iov) == cap(iov) {
			break
		}
		if len(p.b) > 0 {
			v := syscall.Iovec{Base: &p.b[0]}
			v.SetLen(len(p.b))
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
