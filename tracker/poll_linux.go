//go:build linux

package tracker

import (
	"context"
	"net/http"
	"os"
	"slices"
	"sync"
	"syscall"
)

// On Linux an idle connection has no goroutine: its socket sits in an epoll set (one-shot, level
// triggered) and a goroutine is started to read only when it becomes readable. That goroutine
// reads every message already received, then re-arms the socket and exits. A message that arrives
// in pieces simply keeps its goroutine waiting for the rest. The epoll
// descriptor is watched through Go's own netpoller, so no thread sits in epoll_wait holding a P.

const epollOneShot = 0x40000000 // EPOLLONESHOT

type poller struct {
	flusher *flusher
	epfd    int
	file    *os.File     // epfd, waited on through Go's netpoller (no thread blocks in epoll_wait)
	life    sync.RWMutex // held for reading around every use of epfd; closed under the write lock
	closed  bool
	mu      sync.Mutex // guards conns
	conns   []*conn    // by descriptor
}

func newPoller(ctx context.Context) (*poller, error) {
	fd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err == nil {
		err = syscall.SetNonblock(fd, true)
	}
	if err != nil {
		return nil, err
	}
	p := &poller{epfd: fd, file: os.NewFile(uintptr(fd), "epoll"), flusher: newFlusher(ctx)}
	rc, err := p.file.SyscallConn()
	if err != nil {
		p.file.Close()
		return nil, err
	}
	go p.run(rc)
	go func() {
		<-ctx.Done()
		p.life.Lock()
		p.closed = true
		p.file.Close() // ends run
		p.life.Unlock()
	}()
	return p, nil
}

// run waits for ready sockets and runs a round of readers for them (flush_linux.go). The epoll
// descriptor is itself readable when events are pending, so the wait parks this goroutine in Go's
// netpoller.
func (p *poller) run(rc syscall.RawConn) {
	events := make([]syscall.EpollEvent, 256)
	var ready []*conn
	for {
		var n int
		err := rc.Read(func(fd uintptr) bool {
			n, _ = syscall.EpollWait(int(fd), events, 0)
			return n > 0
		})
		if err != nil {
			return // closed
		}
		ready = ready[:0]
		p.mu.Lock()
		for _, ev := range events[:n] {
			if int(ev.Fd) < len(p.conns) && p.conns[ev.Fd] != nil {
				ready = append(ready, p.conns[ev.Fd])
			}
		}
		p.mu.Unlock()
		p.flusher.runRound(ready)
	}
}

func (p *poller) ctl(op int, fd int32) error {
	p.life.RLock()
	defer p.life.RUnlock()
	if p.closed {
		return syscall.EBADF
	}
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLRDHUP | epollOneShot, Fd: fd}
	return syscall.EpollCtl(p.epfd, op, int(fd), &ev)
}

// add watches c's socket.
func (p *poller) add(c *conn) error {
	p.mu.Lock()
	fd := int(c.wire.fd)
	if fd >= len(p.conns) {
		p.conns = slices.Grow(p.conns, fd+1-len(p.conns))
		p.conns = p.conns[:cap(p.conns)]
	}
	p.conns[fd] = c
	p.mu.Unlock()
	return p.ctl(syscall.EPOLL_CTL_ADD, c.wire.fd)
}

// arm watches c's socket for the next input.
func (p *poller) arm(c *conn) error { return p.ctl(syscall.EPOLL_CTL_MOD, c.wire.fd) }

// remove forgets c's socket; it runs before the descriptor is closed (wireConn.Close).
func (p *poller) remove(c *conn) {
	p.mu.Lock()
	if int(c.wire.fd) < len(p.conns) && p.conns[c.wire.fd] == c {
		p.conns[c.wire.fd] = nil
	}
	p.mu.Unlock()
	p.ctl(syscall.EPOLL_CTL_DEL, c.wire.fd)
}

// accept upgrades the request; with epoll, c reads through a wireConn.
func (s *Server) accept(w http.ResponseWriter, r *http.Request, c *conn) error {
	nc, br, err := upgrade(w, r)
	if err != nil {
		return err
	}
	if s.poll != nil {
		early, _ := br.Peek(br.Buffered())
		if wire, err := newWireConn(nc, early); err == nil {
			wire.owner = c
			c.wire, c.nc = wire, wire
			return nil
		}
	}
	c.nc, c.q = nc, &writeQueue{br: br} // no epoll, or not TCP: a goroutine reads it
	return nil
}

// writeFailed drops a connection whose socket cannot be written.
func (c *conn) writeFailed(err error) {
	c.s.cfg.logf("tracker: dropping a client: %v", err)
	c.kill()
}

// attach hands the connection to the poller, or reads it on this goroutine without one. The
// caller holds the reader's place (reading) until here.
func (s *Server) attach(c *conn) {
	early := c.pending() // bytes read with the upgrade request raise no epoll event
	if c.wire == nil || s.poll.add(c) != nil {
		c.drain(false)
		return
	}
	c.reading.Store(false)
	switch {
	case early:
		c.wake()
	case !c.rearm(): // an event that came while we held the place was dropped: ask again
		c.abandon()
	}
}

// pending reports whether input waits in user space.
func (c *conn) pending() bool { return c.wire != nil && c.wire.buffered() }

// rearm is called by a reader that found no more buffered input.
func (c *conn) rearm() bool {
	return c.s.poll.arm(c) == nil
}

// wireFields is the Linux socket state of a conn (nil wire: no epoll, a goroutine reads).
type wireFields struct {
	wire *wireConn
}

// direct reports whether writes go straight to the socket (they never block).
func (c *conn) direct() bool { return c.wire != nil }

func (c *conn) directWrite(f frame) error { return c.wire.writeFrame(f) }
func (c *conn) directPush()               { c.wire.pushNow() }

func (c *conn) beginBatch() {
	if c.wire != nil {
		c.wire.beginBatch()
	}
}

func (c *conn) endBatch() error {
	if c.wire != nil {
		return c.wire.endBatch()
	}
	return nil
}
