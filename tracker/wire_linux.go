//go:build linux

package tracker

import (
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
)

// wireConn is a client socket on Linux. It keeps an idle connection small:
//
//   - reads go through a pooled 16 KiB buffer taken only for the read system call and given back
//     as soon as it is drained, so an idle socket holds none;
//   - writes never block the writer (wirewrite_linux.go), so any goroutine can write to any socket;
//   - Close takes the socket out of the epoll set before the descriptor can be reused.
type wireConn struct {
	*net.TCPConn
	rc     syscall.RawConn
	fd     int32
	closed atomic.Bool
	owner  *conn // its settings, its poller, and whom to drop when writes fail

	rbuf *[]byte // read side: one reader at a time (the conn's reader)
	r, w int32

	writeSide
}

const rbufSize = 16 << 10

var ioPool = sync.Pool{New: func() any { b := make([]byte, 0, rbufSize); return &b }}

func getIOBuf() *[]byte { b := ioPool.Get().(*[]byte); *b = (*b)[:0]; return b }

func putIOBuf(b *[]byte) {
	if cap(*b) == rbufSize {
		ioPool.Put(b)
	}
}

// newWireConn wraps a hijacked connection; early holds bytes the client sent after its upgrade
// request that net/http already read.
func newWireConn(nc net.Conn, early []byte) (*wireConn, error) {
	tc, ok := nc.(*net.TCPConn)
	if !ok {
		return nil, errors.New("not a TCP connection")
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return nil, err
	}
	c := &wireConn{TCPConn: tc, rc: rc}
	rc.Control(func(fd uintptr) { c.fd = int32(fd) })
	if len(early) > 0 {
		c.rbuf = getIOBuf()
		*c.rbuf = append(*c.rbuf, early...)
		c.w = int32(len(early))
	}
	return c, nil
}

func (c *wireConn) Read(p []byte) (int, error) {
	if c.rbuf == nil {
		if err := c.fill(); err != nil {
			return 0, err
		}
	}
	n := copy(p, (*c.rbuf)[c.r:c.w])
	c.r += int32(n)
	if c.r == c.w {
		putIOBuf(c.rbuf)
		c.rbuf = nil
	}
	return n, nil
}

// fill waits until the socket is readable, then reads what is there into a pooled buffer.
func (c *wireConn) fill() error {
	var n int
	var rerr error
	err := c.rc.Read(func(fd uintptr) bool {
		b := getIOBuf()
		for {
			n, rerr = syscall.Read(int(fd), (*b)[:rbufSize])
			if rerr != syscall.EINTR {
				break
			}
		}
		if rerr == syscall.EAGAIN {
			putIOBuf(b)
			return false // wait for readability
		}
		if n > 0 {
			c.rbuf, c.r, c.w = b, 0, int32(n)
		} else {
			putIOBuf(b)
		}
		return true
	})
	switch {
	case err != nil:
		return err
	case rerr != nil:
		return rerr
	case n == 0:
		return io.EOF
	}
	return nil
}

// buffered reports whether read data waits in user space.
func (c *wireConn) buffered() bool { return c.rbuf != nil }

func (c *wireConn) Close() error {
	if !c.closed.Swap(true) && c.owner != nil {
		c.owner.s.poll.remove(c.owner) // before the descriptor can be reused
	}
	return c.TCPConn.Close()
}
