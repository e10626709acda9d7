//go:build linux

package tracker

import (
	"context"
	"runtime"
	"sync"
)

// flusher writes the sockets that have pending output. It yields once before each round, so that
// the readers already scheduled run first and their writes to the same sockets join the round:
// that is what turns the five answers a peer receives for its five offers into one system call.
type flusher struct {
	mu      sync.Mutex
	dirty   []*wireConn
	stopped bool
	signal  chan struct{}
}

func newFlusher(ctx context.Context) *flusher {
	f := &flusher{signal: make(chan struct{}, 1)}
	go f.run(ctx)
	return f
}

// mark queues c for the next round; false once the server has stopped (write at once then).
func (f *flusher) mark(c *wireConn) bool {
	f.mu.Lock()
	if f.stopped {
		f.mu.Unlock()
		return false
	}
	f.dirty = append(f.dirty, c)
	first := len(f.dirty) == 1
	f.mu.Unlock()
	if first {
		select {
		case f.signal <- struct{}{}:
		default:
		}
	}
	return true
}

func (f *flusher) run(ctx context.Context) {
	for stop := false; !stop; {
		select {
		case <-ctx.Done():
			stop = true
		case <-f.signal:
			runtime.Gosched()
		}
		f.mu.Lock()
		list := f.dirty
		f.dirty, f.stopped = nil, stop
		f.mu.Unlock()
		for _, c := range list {
			c.flush()
		}
	}
}
