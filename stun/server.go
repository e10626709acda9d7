// Package stun is planktos's STUN server: it answers RFC 5389 Binding requests on UDP, so that a
// visitor's browser behind a NAT learns its server-reflexive address (the address and port its NAT
// gives it on the Internet) and can offer it to other visitors. Without one, two visitors behind home
// NATs never connect to each other.
//
// It does binding only: no TURN relay, no authentication, no RFC 5780 NAT behaviour discovery. A
// request the server cannot handle is either dropped or answered with a small error, never with more
// than about 100 bytes:
//
//   - A packet that is not a well-formed STUN Binding request — anything without the RFC 5389 magic
//     cookie (RFC 3489 clients included), with a length that does not match the packet, a class other
//     than request, a method other than Binding, a FINGERPRINT that does not match, or larger than
//     MaxPacket — gets no answer at all and counts as dropped. A STUN server must never answer garbage:
//     a forged source address would turn it into an amplifier.
//   - A Binding request with a comprehension-required attribute the server does not know (e.g. a TURN
//     attribute, or RFC 5780's CHANGE-REQUEST) gets a 420 Unknown Attribute error listing them.
//   - Every other Binding request gets a Binding Success response with XOR-MAPPED-ADDRESS (what RFC
//     5389 clients read), MAPPED-ADDRESS (for clients that only read the RFC 3489 attribute), SOFTWARE
//     and FINGERPRINT. Both addresses are the request's source address as the server saw it.
//
// A Server's zero value is ready to use with Serve; Listen opens a UDP socket and serves it.
package stun

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/stun/v3"
)

// MaxPacket is the size of the largest datagram the server reads; larger ones are dropped. Binding
// requests are small (browsers send 20–100 bytes).
const MaxPacket = 1500

// DefaultPort is the registered STUN port (UDP 3478).
const DefaultPort = 3478

// ErrServerClosed is returned by Serve after Close.
var ErrServerClosed = errors.New("stun: server closed")

// Server answers STUN Binding requests. Its methods are safe for concurrent use.
type Server struct {
	// Software is the SOFTWARE attribute of every response; empty means "planktos". It must not change
	// once the server serves.
	Software string

	answered, dropped atomic.Uint64

	mu     sync.Mutex
	conns  map[net.PacketConn]struct{}
	closed bool
	first  net.Addr // the address of the first conn served, for Addr
}

// Stats counts what a Server did since it started.
type Stats struct {
	Answered uint64 `json:"answered"` // requests answered (Binding Success or an error response)
	Dropped  uint64 `json:"dropped"`  // datagrams ignored: not a STUN Binding request, or malformed
}

// Listen opens a UDP socket on addr ("host:port"; ":3478" for every interface, port 0 for any free one)
// and serves it in a goroutine until Close. Use Addr to learn the port picked.
func Listen(addr string) (*Server, error) {
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		return nil, fmt.Errorf("stun: listen on UDP %s: %w", addr, err)
	}
	s := &Server{}
	if err := s.track(pc); err != nil { // cannot fail: s is new
		pc.Close()
		return nil, err
	}
	go s.serve(pc)
	return s, nil
}

// Serve answers the Binding requests that arrive on pc until pc fails or the server is closed, and
// closes pc when it returns. It returns ErrServerClosed after Close, otherwise the error that stopped
// reading. A Server can serve several conns at once (e.g. IPv4 and IPv6 sockets).
func (s *Server) Serve(pc net.PacketConn) error {
	if err := s.track(pc); err != nil {
		pc.Close()
		return err
	}
	return s.serve(pc)
}

// track registers pc for Close and Addr.
func (s *Server) track(pc net.PacketConn) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrServerClosed
	}
	if s.conns == nil {
		s.conns = map[net.PacketConn]struct{}{}
	}
	s.conns[pc] = struct{}{}
	if s.first == nil {
		s.first = pc.LocalAddr()
	}
	return nil
}

func (s *Server) serve(pc net.PacketConn) error {
	defer func() {
		s.mu.Lock()
		delete(s.conns, pc)
		s.mu.Unlock()
		pc.Close()
	}()
	software := stun.NewSoftware(s.software())
	buf := make([]byte, MaxPacket+1)
	req, res := new(stun.Message), new(stun.Message)
	var backoff time.Duration
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			if s.isClosed() {
				return ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return err // a deadline the caller set
			}
			if errors.Is(err, net.ErrClosed) {
				return err
			}
			// e.g. ICMP port unreachable reported on a later read: go on, pausing if errors persist
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		if n > MaxPacket || !reply(buf[:n], from, req, res, software) {
			s.dropped.Add(1)
			continue
		}
		if _, err := pc.WriteTo(res.Raw, from); err != nil {
			s.dropped.Add(1)
			continue
		}
		s.answered.Add(1)
	}
}

func (s *Server) software() string {
	if s.Software == "" {
		return "planktos"
	}
	return s.Software
}

func (s *Server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// Addr returns the local address of the first conn served (the socket Listen opened), or nil.
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.first
}

// Port returns the UDP port of Addr, or 0.
func (s *Server) Port() int {
	if a, ok := s.Addr().(*net.UDPAddr); ok {
		return a.Port
	}
	return 0
}

// Close stops serving and closes every conn being served. Serve calls then return ErrServerClosed.
func (s *Server) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	var err error
	for pc := range s.conns {
		if e := pc.Close(); e != nil && err == nil {
			err = e
		}
	}
	return err
}

// Stats returns the server's counters.
func (s *Server) Stats() Stats {
	return Stats{Answered: s.answered.Load(), Dropped: s.dropped.Load()}
}

// knownRequired lists the comprehension-required attributes (type < 0x8000) a Binding request may
// carry and the server understands (or may ignore: it authenticates nobody).
var knownRequired = map[stun.AttrType]bool{
	stun.AttrMappedAddress:     true,
	stun.AttrUsername:          true,
	stun.AttrMessageIntegrity:  true,
	stun.AttrErrorCode:         true,
	stun.AttrUnknownAttributes: true,
	stun.AttrRealm:             true,
	stun.AttrNonce:             true,
	stun.AttrXORMappedAddress:  true,
	stun.AttrPriority:          true,
	stun.AttrUseCandidate:      true,
}

// reply builds in res the answer to the datagram pkt from addr, and reports whether there is one:
// false means the datagram is to be dropped. req is scratch space.
func reply(pkt []byte, from net.Addr, req, res *stun.Message, software stun.Software) bool {
	ip, port, ok := udpAddr(from)
	if !ok || !valid(pkt, req) {
		return false
	}
	var unknown stun.UnknownAttributes
	for _, a := range req.Attributes {
		if a.Type < 0x8000 && !knownRequired[a.Type] {
			unknown = append(unknown, a.Type)
		}
	}
	res.Reset()
	var err error
	if len(unknown) > 0 {
		if len(unknown) > 8 {
			unknown = unknown[:8] // keep the error small
		}
		err = res.Build(stun.NewTransactionIDSetter(req.TransactionID),
			stun.NewType(stun.MethodBinding, stun.ClassErrorResponse), stun.CodeUnknownAttribute, unknown,
			software, stun.Fingerprint)
	} else {
		err = res.Build(stun.NewTransactionIDSetter(req.TransactionID), stun.BindingSuccess,
			&stun.XORMappedAddress{IP: ip, Port: port}, &stun.MappedAddress{IP: ip, Port: port},
			software, stun.Fingerprint)
	}
	return err == nil
}

// valid decodes pkt into req and reports whether it is a well-formed Binding request: RFC 5389 header
// (leading zero bits, magic cookie, a length that is a multiple of 4 and covers exactly the packet),
// class request, method Binding, and a FINGERPRINT, if any, that matches and comes last.
func valid(pkt []byte, req *stun.Message) bool {
	if len(pkt) < 20 || pkt[0]&0xC0 != 0 || !stun.IsMessage(pkt) {
		return false
	}
	size := int(pkt[2])<<8 | int(pkt[3])
	if size%4 != 0 || 20+size != len(pkt) {
		return false
	}
	req.Reset()
	req.Raw = append(req.Raw[:0], pkt...)
	if err := req.Decode(); err != nil {
		return false
	}
	if req.Type != stun.BindingRequest {
		return false
	}
	for i, a := range req.Attributes {
		if a.Type == stun.AttrFingerprint {
			if i != len(req.Attributes)-1 || stun.Fingerprint.Check(req) != nil {
				return false
			}
		}
	}
	return true
}

// udpAddr returns the IP and port of a datagram's source.
func udpAddr(a net.Addr) (net.IP, int, bool) {
	switch a := a.(type) {
	case *net.UDPAddr:
		ip := a.IP
		if v4 := ip.To4(); v4 != nil {
			ip = v4
		}
		return ip, a.Port, true
	case nil:
		return nil, 0, false
	default: // another PacketConn's address type: parse it, never resolve it
		ap, err := netip.ParseAddrPort(a.String())
		if err != nil {
			return nil, 0, false
		}
		return udpAddr(net.UDPAddrFromAddrPort(ap))
	}
}
