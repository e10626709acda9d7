package tracker

import (
	"errors"
	"math/rand/v2"
)

// Swarm state. Everything here is guarded by Server.mu.

// peer is one (info hash, peer id) membership, held by the socket it last announced on. A
// socket's memberships are linked through next, so closing it can leave every swarm.
type peer struct {
	id   ID
	pos  uint32 // position in sw.list, and seederBit (48 bytes a peer: there may be millions)
	c    *conn
	sw   *swarm
	next *peer
}

const seederBit = 1 << 31

func (p *peer) idx() int     { return int(p.pos &^ seederBit) }
func (p *peer) setIdx(i int) { p.pos = p.pos&seederBit | uint32(i) }
func (p *peer) seeder() bool { return p.pos&seederBit != 0 }
func (p *peer) markSeeder()  { p.pos |= seederBit }

// swarm is the peers of one info hash; list allows picking random peers in O(1).
type swarm struct {
	ih      ID
	peers   map[ID]*peer
	list    []*peer
	seeders int
}

var errTooManySwarms = errors.New("too many swarms on this connection")

// join adds or updates peer r.peerID in swarm r.infoHash for socket c and returns the swarm.
// A peer id announced from a new socket moves there (the client reconnected).
func (s *Server) join(c *conn, r *request) (*swarm, error) {
	sw := s.swarms[r.infoHash]
	var p *peer
	if sw != nil {
		p = sw.peers[r.peerID]
	}
	if (p == nil || p.c != c) && int(c.nmembers.Load()) >= s.cfg.MaxSwarmsPerConn {
		return nil, errTooManySwarms
	}
	if sw == nil {
		sw = &swarm{ih: r.infoHash, peers: make(map[ID]*peer, 1)}
		s.swarms[r.infoHash] = sw
	}
	switch {
	case p == nil:
		p = &peer{id: r.peerID, pos: uint32(len(sw.list)), sw: sw}
		sw.peers[r.peerID] = p
		sw.list = append(sw.list, p)
		s.peers++
		c.addMember(p)
	case p.c != c:
		p.c.removeMember(p)
		c.addMember(p)
	}
	if (r.seeder || r.event == "completed") && !p.seeder() {
		p.markSeeder()
		sw.seeders++
		s.seeders++
	}
	return sw, nil
}

// leave removes peer pid from swarm ih if socket c holds it.
func (s *Server) leave(c *conn, ih, pid ID) {
	sw := s.swarms[ih]
	if sw == nil {
		return
	}
	if p := sw.peers[pid]; p != nil && p.c == c {
		c.removeMember(p)
		s.drop(p)
	}
}

// drop removes p from its swarm (p is no longer any socket's member).
func (s *Server) drop(p *peer) {
	sw := p.sw
	last := sw.list[len(sw.list)-1]
	sw.list[p.idx()] = last
	last.setIdx(p.idx())
	sw.list[len(sw.list)-1] = nil
	sw.list = sw.list[:len(sw.list)-1]
	delete(sw.peers, p.id)
	s.peers--
	if p.seeder() {
		sw.seeders--
		s.seeders--
	}
	if len(sw.list) == 0 {
		delete(s.swarms, sw.ih)
	}
}

// counts returns the seeders and leechers of a swarm (0, 0 for none).
func (sw *swarm) counts() (complete, incomplete int) {
	if sw == nil {
		return 0, 0
	}
	return sw.seeders, len(sw.list) - sw.seeders
}

// pick returns the sockets of up to k distinct random peers, never the peer from.
// It is a partial Fisher–Yates shuffle of the list: O(k), uniform.
func (sw *swarm) pick(from ID, k int) []*conn {
	out := make([]*conn, 0, k)
	n := len(sw.list)
	for i := 0; i < n && len(out) < k; i++ {
		j := i + rand.IntN(n-i)
		sw.list[i], sw.list[j] = sw.list[j], sw.list[i]
		sw.list[i].setIdx(i)
		sw.list[j].setIdx(j)
		if p := sw.list[i]; p.id != from {
			out = append(out, p.c)
		}
	}
	return out
}

// addMember and removeMember keep a socket's list of memberships.
func (c *conn) addMember(p *peer) {
	p.c, p.next, c.members = c, c.members, p
	c.nmembers.Add(1)
}

func (c *conn) removeMember(p *peer) {
	for at := &c.members; *at != nil; at = &(*at).next {
		if *at == p {
			*at, p.next = p.next, nil
			c.nmembers.Add(-1)
			return
		}
	}
}
