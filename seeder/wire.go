package seeder

import (
	"time"

	"github.com/anacrolix/torrent"

	"github.com/planktos/planktos/manifest"
)

// Sending ut_planktos messages, paced.
//
// anacrolix writes a connection's whole write buffer to the WebRTC data channel in one Write, and
// pion's SCTP refuses a message over 64 KiB (its default maximum message size) — the connection then
// dies. anacrolix keeps its own piece messages under that (it fills the buffer to 32 KiB only), but
// extension messages bypass that limit: a browser that pipelines every request of a 2 MB envelope
// would have 2 MB in the buffer at once. So each connection's messages leave one at a time: the next
// is written once the connection's written-bytes counter shows at least the previous one's size gone
// out. That bounds this file's share of the buffer to about two data messages (33 KiB), which
// anacrolix's 32 KiB fill counts against its own piece messages. Without the pacing, a pipelined
// fetch of a 400 kB envelope (TestManifestExchange) got no data message at all, 3 runs in 3; with
// it, every run gets the envelope (TestExchangeCost: a 10,000-file site's 2 MB in 0.5-1.8 s).

const (
	// wireOverhead is the BitTorrent framing of one extended message: length (4), type 20, extended id.
	wireOverhead = 6
	// maxQueue bounds a connection's queue: every piece of the largest envelope a peer accepts. A
	// peer that asks for more gets nothing for the excess and asks again.
	maxQueue = (manifest.MaxEnvelope + manifest.PieceSize - 1) / manifest.PieceSize
	// drainTimeout gives up on a connection that sends nothing for that long.
	drainTimeout = 30 * time.Second
)

// wire is one connection's queue; the exchange's mu guards it.
type wire struct {
	queue []manifest.Message // waiting, oldest first; a data message's Data is a slice of the envelope
	busy  bool               // a drain goroutine runs
}

// push queues m and reports whether a drain goroutine must be started.
func (w *wire) push(m manifest.Message) (start bool) {
	if len(w.queue) >= maxQueue {
		return false
	}
	w.queue = append(w.queue, m)
	start, w.busy = !w.busy, true
	return start
}

// drain sends w's queue to pc, one message at a time, until it is empty or pc is gone.
func (x *exchange) drain(pc *torrent.PeerConn, w *wire) {
	for {
		x.mu.Lock()
		if x.conns[pc] != w || len(w.queue) == 0 {
			w.busy = false
			x.mu.Unlock()
			return
		}
		m := w.queue[0]
		w.queue = w.queue[1:]
		x.mu.Unlock()
		b, err := manifest.EncodeMessage(m)
		if err != nil {
			continue // a Message always encodes
		}
		before := written(pc)
		if pc.WriteExtendedMessage(manifest.ExtensionName, b) != nil {
			continue
		}
		x.sent.Add(int64(len(b) + wireOverhead))
		if !x.flushed(pc, w, before+int64(len(b)+wireOverhead)) {
			x.mu.Lock()
			w.queue, w.busy = nil, false
			x.mu.Unlock()
			return
		}
	}
}

// flushed waits until pc has written at least n bytes in all, and reports whether it did (false: the
// connection closed, or wrote nothing for drainTimeout).
func (x *exchange) flushed(pc *torrent.PeerConn, w *wire, n int64) bool {
	last, idle := int64(-1), time.Now()
	for pause := 200 * time.Microsecond; ; pause = min(2*pause, 10*time.Millisecond) {
		out := written(pc)
		if out >= n {
			return true
		}
		x.mu.Lock()
		open := x.conns[pc] == w
		x.mu.Unlock()
		if out != last {
			last, idle, pause = out, time.Now(), 200*time.Microsecond
		}
		if !open || time.Since(idle) > drainTimeout {
			return false
		}
		time.Sleep(pause)
	}
}

// written is the number of bytes pc has written to its peer, framing and handshakes included.
func written(pc *torrent.PeerConn) int64 {
	st := pc.Stats()
	return st.BytesWritten.Int64()
}
