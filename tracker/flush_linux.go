//go:build linux

package tracker

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
)

// flusher writes the sockets that have pending output. Writes made during a round (the readers of
// one batch of ready sockets) wait for the end of the round, so a peer's announce reply, the offers
// relayed to it and the answers to its own offers that come in the same round leave in one system
// call. Writes outside a round wake the flusher goroutine at once.
type flusher struct {
	mu      sync.Mutex
	dirty   []*wireConn
	stopped bool
	inRound atomic.Bool
	signal  chan struct{}
}

func newFlusher(ctx context.Context) *flusher {
	f := &flusher{signal: make(chan struct{}, 1)}
	go f.run(ctx)
	return f
}

// mark queues c; false once the server has stopped (the caller writes at once then).
func (f *flusher) mark(c *wireConn) bool {
	f.mu.Lock()
	if f.stopped {
		f.mu.Unlock()
		return false
	}
	f.dirty = append(f.dirty, c)
	first := len(f.dirty) == 1
	f.mu.Unlock()
	if first && !f.inRound.Load() {
		select {
		case f.signal <- struct{}{}:
		default:
		}
	}
	return true
}

func (f *flusher) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			f.mu.Lock()
			f.stopped = true
			f.mu.Unlock()
			f.flushAll()
			return
		case <-f.signal:
			f.flushAll()
		}
	}
}

// flushAll writes every socket marked so far.
func (f *flusher) flushAll() {
	f.mu.Lock()
	list := f.dirty
	f.dirty = nil
	f.mu.Unlock()
	for _, c := range list {
		c.flush()
	}
}

// runRound starts the readers of ready, yields so that they run (the poller goes to the back of
// the run queue), then writes what they produced. Under load many readers run before the poller
// comes back, and their writes share system calls; when idle the round ends at once.
func (f *flusher) runRound(ready []*conn) {
	f.inRound.Store(true)
	for _, c := range ready {
		c.wake()
	}
	runtime.Gosched()
	f.inRound.Store(false) // before taking the list: later marks signal the flusher
	f.flushAll()
}
