package verify

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/pion/stun/v3"
	"github.com/planktos/planktos/manifest"
	"golang.org/x/sync/errgroup"
)

const (
	fixNoSTUN = "add a STUN server to planktos.toml, e.g. ice_servers = [{ urls = [\"stun:YOUR-TRACKER-HOST:3478\"] }], " +
		"run `planktos tracker --stun :3478` there (UDP port 3478 open), then run planktos again and deploy"
	fixICE = "start the servers that did not answer (`planktos tracker --stun :3478` for STUN; a TURN server such " +
		"as coturn), open their ports (UDP 3478), or remove them from ice_servers in planktos.toml; then run " +
		"planktos again and deploy"
)

// checkICE asks every STUN and TURN server of the manifest's runtime.iceServers for an answer, as a
// visitor's browser will: a STUN Binding request (stun:, stuns:) must get a success response, a TURN
// Allocate request without credentials (turn:, turns:) must get the 401 a live TURN server answers, and
// then, with the manifest's username and credential, an allocation (released at once). A package with
// trackers but no ICE server fails: visitors behind a NAT (nearly all) reach each other only through the
// address a STUN server tells their browser. The servers are the package's, not the web host's, so the
// check runs on a folder as on a URL.
func (r *run) checkICE(ctx context.Context) Check {
	if r.m == nil {
		return noManifest(CheckICE)
	}
	servers := r.m.Runtime.ICEServers
	if len(servers) == 0 {
		switch {
		case r.m.Runtime.P2P == "off":
			return skip(CheckICE, "p2p is off: browsers open no WebRTC connection")
		case len(webTrackers(r.m.Trackers)) == 0:
			return skip(CheckICE, "no ICE servers, and no WebSocket tracker: visitors never connect to each other")
		}
		host := "YOUR-TRACKER-HOST"
		if h := trackerHost(r.m.Trackers); h != "" {
			host = h
		}
		return fail(CheckICE, strings.ReplaceAll(fixNoSTUN, "YOUR-TRACKER-HOST", host), "no STUN server: the "+
			"manifest's runtime.iceServers is empty, so visitors behind a NAT (nearly all) cannot reach each other; "+
			"only the origin's seeder (planktos seed) can serve them over WebRTC")
	}
	type probe struct {
		url    string
		server manifest.ICEServer
		res    iceResult
	}
	var probes []*probe
	var broken []string // what makes browsers refuse the whole list
	for _, s := range servers {
		if len(s.URLs) == 0 {
			broken = append(broken, "an ICE server has no urls")
		}
		for _, u := range s.URLs {
			probes = append(probes, &probe{url: u, server: s})
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	for _, p := range probes {
		g.Go(func() error {
			p.res = r.probeICE(gctx, p.url, p.server)
			return nil
		})
	}
	g.Wait()
	var answered, unchecked []string
	var silent problems
	for _, p := range probes {
		switch {
		case p.res.broken != "":
			broken = append(broken, p.res.broken)
		case p.res.unchecked:
			unchecked = append(unchecked, p.url+" (not checked: "+p.res.note+")")
		case p.res.err != nil:
			silent.add("%v", p.res.err)
		default:
			answered = append(answered, p.url+" ("+p.res.note+")")
		}
	}
	rest := strings.Join(append(answered, unchecked...), ", ")
	switch {
	case len(broken) > 0:
		return fail(CheckICE, "fix ice_servers in planktos.toml (each entry: { urls = [\"stun:HOST:3478\"] }, TURN "+
			"URLs with username and credential), then run planktos again and deploy",
			"browsers refuse the whole ice_servers list and open no WebRTC connection: %s", strings.Join(broken, "; "))
	case !silent.empty() && len(answered) == 0:
		return fail(CheckICE, fixICE, "no ICE server answered: %s", silent.String())
	case !silent.empty():
		return warn(CheckICE, fixICE, "%d of %s did not answer: %s; answered: %s", len(silent.list),
			plural(len(probes), "ICE server", "ICE servers"), silent.String(), rest)
	case len(answered) == 0:
		return skip(CheckICE, "%s", rest)
	}
	return pass(CheckICE, "%s answered: %s", plural(len(answered), "ICE server", "ICE servers"), rest)
}

// webTrackers returns the ws:// and wss:// trackers.
func webTrackers(trackers []string) []string {
	var web []string
	for _, t := range trackers {
		if strings.HasPrefix(t, "ws://") || strings.HasPrefix(t, "wss://") {
			web = append(web, t)
		}
	}
	return web
}

// trackerHost is the host of the first WebSocket tracker, as a stun: URL writes it, or "".
func trackerHost(trackers []string) string {
	web := webTrackers(trackers)
	if len(web) == 0 {
		return ""
	}
	rest := web[0][strings.Index(web[0], "://")+3:]
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		rest = rest[:i]
	}
	if h, _, err := net.SplitHostPort(rest); err == nil {
		rest = h
	}
	if strings.Contains(rest, ":") {
		return "[" + rest + "]"
	}
	return rest
}

// iceResult is what one ICE server URL did.
type iceResult struct {
	note      string // what it answered, or why it was not checked
	err       error  // it did not answer as it should
	broken    string // a mistake browsers reject the whole list for
	unchecked bool
}

// probeICE checks one URL of server.
func (r *run) probeICE(ctx context.Context, raw string, server manifest.ICEServer) iceResult {
	u, err := stun.ParseURI(raw)
	if err != nil {
		return iceResult{broken: fmt.Sprintf("%q is not a STUN or TURN URL (%v)", raw, err)}
	}
	turn := u.Scheme == stun.SchemeTypeTURN || u.Scheme == stun.SchemeTypeTURNS
	if turn && (server.Username == "" || server.Credential == "") {
		return iceResult{broken: raw + " has no username and credential"}
	}
	network := "udp"
	switch {
	case u.IsSecure():
		network = "tls"
	case u.Proto == stun.ProtoTypeTCP:
		network = "tcp"
	}
	addr := net.JoinHostPort(u.Host, strconv.Itoa(u.Port))
	c, err := r.dialICE(ctx, network, addr, u.Host)
	if err != nil {
		return iceResult{err: fmt.Errorf("%s: %w", raw, err)}
	}
	defer c.Close()
	if !turn {
		res, err := c.do(ctx, stun.MustBuild(stun.TransactionID, stun.BindingRequest, stun.Fingerprint))
		if err != nil {
			return iceResult{err: fmt.Errorf("%s: %w", raw, err)}
		}
		if res.Type != stun.BindingSuccess {
			return iceResult{err: fmt.Errorf("%s answered %s, not a Binding success (%s)", raw, res.Type, errorCode(res))}
		}
		var xor stun.XORMappedAddress
		if err := xor.GetFrom(res); err != nil {
			var mapped stun.MappedAddress
			if mapped.GetFrom(res) != nil {
				return iceResult{err: fmt.Errorf("%s answered without a mapped address", raw)}
			}
			return iceResult{note: "mapped address " + mapped.String() + ", no XOR-MAPPED-ADDRESS"}
		}
		return iceResult{note: "mapped address " + xor.String()}
	}
	note, err := allocate(ctx, c, raw, server)
	return iceResult{note: note, err: err}
}

// allocate asks a TURN server for an allocation without credentials (a live one answers 401 with its
// realm and a nonce), then with server's username and credential, and releases what it got.
func allocate(ctx context.Context, c *iceConn, raw string, server manifest.ICEServer) (string, error) {
	udp := stun.RawAttribute{Type: stun.AttrRequestedTransport, Value: []byte{17, 0, 0, 0}}
	allocateReq := stun.NewType(stun.MethodAllocate, stun.ClassRequest)
	res, err := c.do(ctx, stun.MustBuild(stun.TransactionID, allocateReq, udp, stun.Fingerprint))
	if err != nil {
		return "", fmt.Errorf("%s: %w", raw, err)
	}
	var code stun.ErrorCodeAttribute
	var realm stun.Realm
	var nonce stun.Nonce
	if res.Type.Class == stun.ClassSuccessResponse {
		release(ctx, c, nil)
		return "allocates without credentials: an open relay anyone can use", nil
	}
	if code.GetFrom(res) != nil || code.Code != stun.CodeUnauthorized || realm.GetFrom(res) != nil || nonce.GetFrom(res) != nil {
		return "", fmt.Errorf("%s answered an Allocate request with %s (%s), not the 401 of a TURN server", raw,
			res.Type, errorCode(res))
	}
	note := fmt.Sprintf("401 asks for credentials, realm %q", realm)
	integrity := stun.NewLongTermIntegrity(server.Username, realm.String(), server.Credential)
	for try := 0; ; try++ {
		res, err = c.do(ctx, stun.MustBuild(stun.TransactionID, allocateReq, udp, stun.NewUsername(server.Username),
			realm, nonce, integrity, stun.Fingerprint))
		if err != nil {
			return "", fmt.Errorf("%s: authenticated Allocate: %w", raw, err)
		}
		if res.Type.Class == stun.ClassSuccessResponse {
			release(ctx, c, []stun.Setter{stun.NewUsername(server.Username), realm, nonce, integrity})
			return note + "; the manifest's username and credential get an allocation", nil
		}
		if code.GetFrom(res) == nil && code.Code == stun.CodeStaleNonce && try == 0 && nonce.GetFrom(res) == nil {
			continue
		}
		if code.GetFrom(res) == nil && code.Code == stun.CodeUnauthorized {
			return "", fmt.Errorf("%s refuses the manifest's username %q and credential (401)", raw, server.Username)
		}
		return "", fmt.Errorf("%s answered an authenticated Allocate request with %s", raw, errorCode(res))
	}
}

// release ends the allocation just made (a Refresh with LIFETIME 0), not waiting long for the answer.
func release(ctx context.Context, c *iceConn, auth []stun.Setter) {
	lifetime := stun.RawAttribute{Type: stun.AttrLifetime, Value: []byte{0, 0, 0, 0}}
	setters := append([]stun.Setter{stun.TransactionID, stun.NewType(stun.MethodRefresh, stun.ClassRequest), lifetime},
		auth...)
	m, err := stun.Build(append(setters, stun.Fingerprint)...)
	if err != nil {
		return
	}
	c.timeout = 500 * time.Millisecond
	c.do(ctx, m)
}

// errorCode describes a response's ERROR-CODE, if any.
func errorCode(m *stun.Message) string {
	var code stun.ErrorCodeAttribute
	if code.GetFrom(m) != nil {
		return "no error code"
	}
	return "error " + code.String()
}

// iceConn carries STUN transactions to one server: over UDP with retransmissions (RFC 5389 §7.2.1, from
// 250 ms), over TCP or TLS once (STUN messages are self-delimiting on a stream).
type iceConn struct {
	net.Conn
	udp     bool
	timeout time.Duration
}

func (r *run) dialICE(ctx context.Context, network, addr, host string) (*iceConn, error) {
	d := &net.Dialer{Timeout: r.opts.ICETimeout}
	var conn net.Conn
	var err error
	switch network {
	case "tls":
		td := &tls.Dialer{NetDialer: d, Config: &tls.Config{ServerName: host, RootCAs: r.opts.ICERoots}}
		conn, err = td.DialContext(ctx, "tcp", addr)
	default:
		conn, err = d.DialContext(ctx, network, addr)
	}
	if err != nil {
		var op *net.OpError
		if errors.As(err, &op) {
			return nil, op
		}
		return nil, err
	}
	return &iceConn{Conn: conn, udp: network == "udp", timeout: r.opts.ICETimeout}, nil
}

// do sends req and returns the response to its transaction, within c.timeout.
func (c *iceConn) do(ctx context.Context, req *stun.Message) (*stun.Message, error) {
	deadline := time.Now().Add(c.timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Now()) })
	defer stop()
	if !c.udp {
		c.SetDeadline(deadline)
		if _, err := c.Write(req.Raw); err != nil {
			return nil, fmt.Errorf("send: %w", err)
		}
		for {
			res, err := readStream(c)
			if err != nil {
				if errors.Is(err, io.EOF) {
					return nil, errors.New("closed the connection without an answer")
				}
				return nil, timeoutOr(err, c.timeout)
			}
			if res.TransactionID == req.TransactionID {
				return res, nil
			}
		}
	}
	buf := make([]byte, 1500)
	rto := 250 * time.Millisecond
	next := time.Now()
	for {
		now := time.Now()
		if !now.Before(deadline) {
			return nil, fmt.Errorf("no answer within %s (%d requests sent over UDP)", c.timeout, countSends(c.timeout))
		}
		if !now.Before(next) {
			if _, err := c.Write(req.Raw); err != nil {
				return nil, fmt.Errorf("send: %w", err)
			}
			next = now.Add(rto)
			rto *= 2
		}
		c.SetReadDeadline(minTime(next, deadline))
		n, err := c.Read(buf)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				continue
			}
			if errors.Is(err, syscall.ECONNREFUSED) {
				return nil, errors.New("nothing listens on that UDP port (ICMP port unreachable)")
			}
			return nil, err
		}
		res := &stun.Message{Raw: append([]byte(nil), buf[:n]...)}
		if res.Decode() == nil && res.TransactionID == req.TransactionID {
			return res, nil
		}
	}
}

// countSends is how many UDP requests do sends within timeout (at 0, 250 ms, 750 ms, 1.75 s, …).
func countSends(timeout time.Duration) int {
	n, at, rto := 0, time.Duration(0), 250*time.Millisecond
	for at < timeout {
		n++
		at += rto
		rto *= 2
	}
	return n
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func timeoutOr(err error, timeout time.Duration) error {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return fmt.Errorf("no answer within %s", timeout)
	}
	return err
}

// readStream reads one STUN message from a stream (TCP, TLS).
func readStream(r io.Reader) (*stun.Message, error) {
	hdr := make([]byte, 20)
	if _, err := io.ReadFull(r, hdr); err != nil {
		return nil, err
	}
	if !stun.IsMessage(hdr) {
		return nil, errors.New("answered something that is not STUN")
	}
	n := int(binary.BigEndian.Uint16(hdr[2:4]))
	raw := make([]byte, 20+n)
	copy(raw, hdr)
	if _, err := io.ReadFull(r, raw[20:]); err != nil {
		return nil, err
	}
	m := &stun.Message{Raw: raw}
	if err := m.Decode(); err != nil {
		return nil, fmt.Errorf("answered a malformed STUN message: %w", err)
	}
	return m, nil
}
