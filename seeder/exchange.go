package seeder

import (
	"bytes"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/anacrolix/torrent"
	pp "github.com/anacrolix/torrent/peer_protocol"

	"github.com/planktos/planktos/manifest"
)

// The seeder's side of ut_planktos (the protocol is manifest/exchange.go's doc comment).
//
// A signed package's seeder holds the envelope of the manifest on disk (once its signature verifies
// under the manifest's own key) and speaks ut_planktos on every peer connection of its client: the
// package's torrents and the site swarm. It offers the envelope once a peer's extended handshake says
// the peer speaks ut_planktos, and again on every such connection when it holds a new one; it answers
// a request with the piece, or with reject when it no longer holds that sequence. It never adopts: the
// peers' offers and data are ignored, the package on disk is the seeder's only source. The kill-switch
// package (Disabled) is served the same way, which is how a disable reaches returning visitors while
// the site's web server is down.
//
// anacrolix calls the callbacks below with its client lock held, and PeerConn.WriteExtendedMessage
// takes that lock: messages are queued, and each connection's queue is sent by a goroutine of its
// own, paced (wire.go). Lock order: client, then x.mu.

// exchange is the ut_planktos state shared by all connections of one client.
type exchange struct {
	ltepOnce sync.Once
	ltep     *torrent.LocalLtepProtocolMap // the client's protocols plus ut_planktos, never modified after

	mu    sync.Mutex
	env   []byte                      // the envelope held; nil while none verifies
	seq   int64                       // its sequence
	conns map[*torrent.PeerConn]*wire // connections whose peer speaks ut_planktos, and their queues

	offers, pieces, rejects, sent atomic.Int64 // messages and wire bytes sent
	received                      atomic.Int64 // messages received
}

func newExchange() *exchange { return &exchange{conns: map[*torrent.PeerConn]*wire{}} }

// install hooks x into the client's callbacks.
func (x *exchange) install(c *torrent.Callbacks) {
	c.PeerConnAdded = append(c.PeerConnAdded, x.added)
	c.ReadExtendedHandshake = x.handshake
	c.PeerConnReadExtensionMessage = append(c.PeerConnReadExtensionMessage, x.read)
	c.PeerConnClosed = x.closed
}

// added makes the connection advertise ut_planktos in its extended handshake. anacrolix points every
// connection at the client's own map and asks that it be replaced, not modified: one copy serves all.
func (x *exchange) added(pc *torrent.PeerConn) {
	x.ltepOnce.Do(func() {
		m := *pc.LocalLtepProtocolMap
		m.Index = slices.Clone(m.Index)
		m.AddUserProtocol(manifest.ExtensionName)
		x.ltep = &m
	})
	pc.LocalLtepProtocolMap = x.ltep
}

// handshake notes a peer that speaks ut_planktos and offers it the envelope held.
func (x *exchange) handshake(pc *torrent.PeerConn, h *pp.ExtendedHandshakeMessage) {
	if h.M[manifest.ExtensionName] == 0 {
		return
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.conns[pc] == nil {
		x.conns[pc] = &wire{}
	}
	if x.env != nil {
		x.offer(pc, x.seq, len(x.env))
	}
}

func (x *exchange) closed(pc *torrent.PeerConn) {
	x.mu.Lock()
	delete(x.conns, pc)
	x.mu.Unlock()
}

// read answers one ut_planktos message: a request gets its piece, or reject for a sequence not held.
func (x *exchange) read(ev torrent.PeerConnReadExtensionMessageEvent) {
	if ev.ExtensionNumber == pp.HandshakeExtendedID {
		return
	}
	name, builtin, err := ev.PeerConn.LocalLtepProtocolMap.LookupId(ev.ExtensionNumber)
	if err != nil || builtin || name != manifest.ExtensionName {
		return
	}
	x.received.Add(1)
	m, err := manifest.DecodeMessage(ev.Payload)
	if err != nil || m.Type != manifest.MsgRequest {
		return // offers and data: the seeder never adopts; unknown types are ignored
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.conns[ev.PeerConn] == nil {
		return // its handshake did not name ut_planktos: nothing can be sent back
	}
	if x.env == nil || m.Sequence != x.seq {
		x.rejects.Add(1)
		x.write(ev.PeerConn, manifest.Message{Type: manifest.MsgReject, Sequence: m.Sequence, Piece: m.Piece})
		return
	}
	start := int64(m.Piece) * manifest.PieceSize
	if m.Piece >= manifest.Pieces(int64(len(x.env))) {
		return // not a piece of the offer: a broken peer
	}
	end := min(start+manifest.PieceSize, int64(len(x.env)))
	x.pieces.Add(1)
	x.write(ev.PeerConn, manifest.Message{Type: manifest.MsgData, Sequence: x.seq, Piece: m.Piece,
		Size: int64(len(x.env)), Data: x.env[start:end]})
}

// hold makes env (sequence seq) the envelope offered, and offers it on every connection that speaks
// ut_planktos; nil withdraws it (requests are rejected from then on). It reports whether env is new.
func (x *exchange) hold(env []byte, seq int64) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	if bytes.Equal(env, x.env) && seq == x.seq {
		return false
	}
	x.env, x.seq = env, seq
	if env != nil {
		for pc := range x.conns {
			x.offer(pc, seq, len(env))
		}
	}
	return true
}

// held is the sequence of the envelope held, 0 for none.
func (x *exchange) held() int64 {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.seq
}

// offer sends pc an offer; x.mu is held.
func (x *exchange) offer(pc *torrent.PeerConn, seq int64, size int) {
	x.offers.Add(1)
	x.write(pc, manifest.Message{Type: manifest.MsgOffer, Sequence: seq, Size: int64(size)})
}

// write queues m for pc (see wire.go); x.mu is held. A connection that closes drops its queue; its
// peer asks again elsewhere.
func (x *exchange) write(pc *torrent.PeerConn, m manifest.Message) {
	if w := x.conns[pc]; w != nil && w.push(m) {
		go x.drain(pc, w)
	}
}

// speakers is the number of open connections whose peer speaks ut_planktos.
func (x *exchange) speakers() int {
	x.mu.Lock()
	defer x.mu.Unlock()
	return len(x.conns)
}
