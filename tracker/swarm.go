package tracker

import (
	"errors"
	"math/rand/v2"
)

// Swarm state. Everything here is guarded by Server.mu.

// peer is one (info hash, peer id) membership, held by the socket it last announced on.
type peer struct {
	id     ID
	c      *conn
	seeder bool
	idx    int // position in swarm.list
}

// swarm is the peers of one info hash; list allows picking random peers in O(1).
type swarm struct {
	peers   map[ID]*peer
	list    []*peer
	seeders int
}

// member names a membership from the socket's side, so closing the socket can leave every swarm.
type member struct{ ih, pid ID }

var errTooManySwarms = errors.New("too many swarms on this connection")

// join adds or updates peer r.peerID in swarm r.infoHash for socket c and returns the swarm.
// A peer id announced from a new socket moves there (the client reconnected).
func (s *Server) join(c *conn, r *request) (*swarm, error) {
	sw := s.swarms[r.infoHash]
	var p *peer
	if sw != nil {
		p = sw.peers[r.peerID]
	}
	if (p == nil || p.c != c) && len(c.members) >= s.cfg.MaxSwarmsPerConn {
		return nil, errTooManySwarms
	}
	if sw == nil {
		sw = &swarm{peers: make(map[ID]*peer, 1)}
		s.swarms[r.infoHash] = sw
	}
	m := member{r.infoHash, r.peerID}
	switch {
	case p == nil:
		p = &peer{id: r.peerID, c: c, idx: len(sw.list)}
		sw.peers[r.peerID] = p
		sw.list = append(sw.list, p)
		s.peers++
		c.addMember(m)
	case p.c != c:
		p.c.removeMember(m)
		p.c = c
		c.addMember(m)
	}
	if (r.seeder || r.event == "completed") && !p.seeder {
		p.seeder = true
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
	p := sw.peers[pid]
	if p == nil || p.c != c {
		return
	}
	last := sw.list[len(sw.list)-1]
	sw.list[p.idx], last.idx = last, p.idx
	sw.list[len(sw.list)-1] = nil
	sw.list = sw.list[:len(sw.list)-1]
	delete(sw.peers, pid)
	s.peers--
	if p.seeder {
		sw.seeders--
		s.seeders--
	}
	if len(sw.list) == 0 {
		delete(s.swarms, ih)
	}
	c.removeMember(member{ih, pid})
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
		sw.list[i].idx, sw.list[j].idx = i, j
		if p := sw.list[i]; p.id != from {
			out = append(out, p.c)
		}
	}
	return out
}

// addMember and removeMember keep a socket's list of memberships.
func (c *conn) addMember(m member) {
	c.members = append(c.members, m)
	c.nmembers.Store(int32(len(c.members)))
}

func (c *conn) removeMember(m member) {
	for i, x := range c.members {
		if x == m {
			last := len(c.members) - 1
			c.members[i] = c.members[last]
			c.members = c.members[:last]
			break
		}
	}
	c.nmembers.Store(int32(len(c.members)))
}
