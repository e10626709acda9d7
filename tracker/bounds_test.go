package tracker

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/gobwas/ws"
	"github.com/planktos/planktos/internal/wait"
)

func TestMaxMessageBytes(t *testing.T) {
	_, url := startTracker(t, Config{})
	c := dial(t, url)
	// Five browser-sized offers, and one of 60 KB, pass the 64 KiB default.
	if r := c.join(testID(1), testID(2), map[string]any{"offers": offers(5, 3000, 0)}); r["failure reason"] != nil {
		t.Fatal(r)
	}
	if r := c.join(testID(1), testID(2), map[string]any{"offers": offers(1, 60000, 0)}); r["failure reason"] != nil {
		t.Fatal(r)
	}
	c.send(announceMsg(testID(1), testID(2), map[string]any{"offers": offers(1, 1<<20, 0)}))
	if code := c.closeStatus(); code != websocket.StatusMessageTooBig {
		t.Fatalf("1 MB message: close %v, want 1009", code)
	}

	_, url = startTracker(t, Config{MaxMessageBytes: 1000})
	c = dial(t, url)
	c.join(testID(1), testID(2), nil)
	c.send(announceMsg(testID(1), testID(2), map[string]any{"offers": offers(1, 1000, 0)}))
	if code := c.closeStatus(); code != websocket.StatusMessageTooBig {
		t.Fatalf("configured limit: close %v, want 1009", code)
	}
}

func TestMaxSwarmsPerConn(t *testing.T) {
	tr, url := startTracker(t, Config{MaxSwarmsPerConn: 3})
	c := dial(t, url)
	for i := range 3 {
		c.join(testID(byte(i)), testID(9), nil)
	}
	r := c.join(testID(3), testID(9), nil)
	if !strings.Contains(r["failure reason"].(string), "too many swarms") || r["info_hash"] == nil {
		t.Fatalf("4th swarm: %v", r)
	}
	if r := c.join(testID(0), testID(9), nil); r["failure reason"] != nil {
		t.Fatalf("re-announce: %v", r)
	}
	c.join(testID(0), testID(9), map[string]any{"event": "stopped"})
	if r := c.join(testID(3), testID(9), nil); r["failure reason"] != nil {
		t.Fatalf("after a stop: %v", r)
	}
	if st := tr.Stats(); st.Swarms != 3 {
		t.Fatalf("stats %+v", st)
	}
}

func TestMaxOffers(t *testing.T) {
	for _, tc := range []struct{ max, sent, want int }{{0, 15, 10}, {3, 5, 3}} {
		tr, url := startTracker(t, Config{MaxOffers: tc.max})
		var cs []*client
		for i := range 20 {
			c := dial(t, url)
			c.join(testID(1), testID(byte(10+i)), nil)
			cs = append(cs, c)
		}
		s := dial(t, url)
		s.join(testID(1), testID(99), map[string]any{"offers": offers(tc.sent, 10, 0)})
		waitRelayed(t, tr, tc.want)
		got := 0
		for _, c := range cs {
			got += len(c.received())
		}
		if got != tc.want {
			t.Errorf("MaxOffers %d, %d offers: %d received, want %d", tc.max, tc.sent, got, tc.want)
		}
	}
}

// TestRateLimit checks the token bucket on the tracker's clock, which only the test moves.
func TestRateLimit(t *testing.T) {
	tr, url, clk := startTrackerClock(t, Config{MessageRate: 2, MessageBurst: 3})
	c := dial(t, url)
	for range 6 {
		c.send(announceMsg(testID(1), testID(2), nil))
	}
	wait.For(t, "six messages handled", 5*time.Second, func() bool { return tr.Stats().RateLimited == 3 })
	// The burst is answered, then one notice for the run of dropped messages; what follows must
	// then be the reply to the next message, once the bucket has a token again.
	for i, want := range []string{"", "", "", "rate limit exceeded"} {
		if r, _ := c.recv()["failure reason"].(string); r != "" && want == "" || !strings.Contains(r, want) {
			t.Fatalf("message %d: failure %q, want %q", i+1, r, want)
		}
	}
	clk.advance(500 * time.Millisecond) // one token at 2 a second
	if r := c.join(testID(1), testID(2), nil); r["failure reason"] != nil {
		t.Fatalf("after the refill: %v", r)
	}
	if r, _ := c.join(testID(1), testID(2), nil)["failure reason"].(string); !strings.Contains(r, "rate limit") {
		t.Fatalf("the bucket empty again: %q, want a new notice", r)
	}
	clk.advance(499 * time.Millisecond) // not yet a token: dropped in the same run, no notice
	c.send(announceMsg(testID(1), testID(2), nil))
	wait.For(t, "the message dropped", 5*time.Second, func() bool { return tr.Stats().RateLimited == 5 })
	clk.advance(time.Millisecond)
	scrapeFiles(t, c, nil) // fails if the announce passed: its reply would come first
	if st := tr.Stats(); st.Messages != 10 {
		t.Fatalf("stats %+v", st)
	}

	_, url = startTracker(t, Config{MessageRate: -1})
	c = dial(t, url)
	for range 300 {
		c.send(announceMsg(testID(1), testID(2), nil))
	}
	for range 300 {
		if r := c.recv(); r["failure reason"] != nil {
			t.Fatalf("unlimited: %v", r)
		}
	}
}

// TestIdleTimeout moves the tracker's clock by half idle timeouts and sweeps the connections as
// the janitor does: a socket outside any swarm is closed after one, a member that answers pings
// stays, one that does not is dropped.
func TestIdleTimeout(t *testing.T) {
	const idle = 5 * time.Minute
	tr, url, clk := startTrackerClock(t, Config{IdleTimeout: idle})
	silent := dial(t, url) // answers pings but never joins a swarm
	member := dial(t, url) // in a swarm; sends nothing more, answers pings
	member.join(testID(1), testID(2), nil)
	gone := dialNoRead(t, url) // in a swarm, then stops reading: no pongs
	gone.send(announceMsg(testID(1), testID(3), nil))
	wait.For(t, "two peers", 5*time.Second, func() bool { return tr.Stats().Peers == 2 })
	mc := connOf(tr, testID(1), testID(2))

	for step := 1; step <= 6; step++ { // three idle timeouts
		clk.advance(idle / 2)
		now := clk.now()
		tr.sweep(now) // pings the members
		if mc.closing.Load() {
			t.Fatalf("after %v: the member answering pings is dropped", time.Duration(step)*idle/2)
		}
		wait.For(t, "the member's pong", 5*time.Second, func() bool { return mc.lastSeen.Load() == now })
		if step == 2 {
			if code := silent.closeStatus(); code != websocket.StatusPolicyViolation {
				t.Fatalf("swarm-less socket: close %v", code)
			}
			wait.For(t, "the unresponsive peer to go", 5*time.Second, func() bool {
				st := tr.Stats()
				return st.Peers == 1 && st.Connections == 1
			})
		}
	}
	if r := member.join(testID(1), testID(2), nil); num(r["incomplete"]) != 1 {
		t.Fatal(r)
	}
}

func TestMaxConns(t *testing.T) {
	tr, url := startTracker(t, Config{MaxConns: 2})
	a := dial(t, url)
	dial(t, url)
	wait.For(t, "both connections registered", 5*time.Second, func() bool { return tr.Stats().Connections == 2 })
	_, resp, err := websocket.Dial(context.Background(), url, nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("3rd connection: %v %v", err, resp)
	}
	a.ws.CloseNow()
	wait.For(t, "a free slot", 5*time.Second, func() bool { return tr.Stats().Connections == 1 })
	dial(t, url)
	if tr.Stats().Refused != 1 {
		t.Fatalf("stats %+v", tr.Stats())
	}
}

func dialOrigin(url, origin string) (*http.Response, error) {
	h := http.Header{}
	if origin != "" {
		h.Set("Origin", origin)
	}
	ws, resp, err := websocket.Dial(context.Background(), url, &websocket.DialOptions{HTTPHeader: h})
	if err == nil {
		ws.CloseNow()
	}
	return resp, err
}

func TestOriginAllowList(t *testing.T) {
	_, url := startTracker(t, Config{AllowedOrigins: []string{"https://site.example"}})
	for origin, want := range map[string]int{
		"https://site.example": http.StatusSwitchingProtocols,
		"":                     http.StatusSwitchingProtocols,
		"https://evil.example": http.StatusForbidden,
	} {
		if resp, _ := dialOrigin(url, origin); resp == nil || resp.StatusCode != want {
			t.Errorf("origin %q: %v, want %d", origin, resp, want)
		}
	}
	_, open := startTracker(t, Config{})
	if _, err := dialOrigin(open, "https://any.example"); err != nil {
		t.Errorf("no allow-list: cross-origin refused: %v", err)
	}
}

func TestSlowReaderDropped(t *testing.T) {
	tr, url := startTracker(t, Config{MaxQueueBytes: 64 << 10, MessageRate: -1})
	fast, slow, s := dial(t, url), dialNoRead(t, url), dial(t, url)
	fast.join(testID(1), testID(2), nil)
	slow.send(announceMsg(testID(2), testID(3), nil))
	wait.For(t, "both peers", 5*time.Second, func() bool { return tr.Stats().Peers == 2 })
	sent := 0
	for ; tr.Stats().Connections == 3; sent++ { // one 10 KB offer to each, until the slow one is dropped
		if sent > 5000 {
			t.Fatalf("slow reader never dropped: %+v", tr.Stats())
		}
		s.join(testID(1), testID(4), map[string]any{"offers": offers(1, 10000, 0)})
		s.join(testID(2), testID(4), map[string]any{"offers": offers(1, 10000, 0)})
		if m := fast.recv(); m["offer"] == nil {
			t.Fatal(m)
		}
	}
	// The socket buffers took far more than the 64 KiB queue before the queue filled up.
	if sent < 20 {
		t.Fatalf("dropped after %d offers: not a slow reader", sent)
	}
	if st := tr.Stats(); st.Connections != 2 || st.Peers != 3 {
		t.Fatalf("stats %+v", st)
	}
	t.Logf("dropped after %d offers of 10 KB", sent)
}

func TestMaxScrape(t *testing.T) {
	_, url := startTracker(t, Config{MaxScrape: 2})
	c := dial(t, url)
	for i := range 5 {
		c.join(testID(byte(i)), testID(9), nil)
	}
	if n := len(scrapeFiles(t, c, nil)); n != 2 {
		t.Fatalf("all-swarms scrape: %d entries, want 2", n)
	}
	ih := testID(0)
	c.send(map[string]any{"action": "scrape", "info_hash": []any{bin(ih[:]), bin(ih[:]), bin(ih[:])}})
	if r := c.recv(); !strings.Contains(r["failure reason"].(string), "too many") {
		t.Fatal(r)
	}
}

func TestCloseGoingAway(t *testing.T) {
	tr, url := startTracker(t, Config{})
	c := dial(t, url)
	c.join(testID(1), testID(2), nil)
	tr.Close()
	if code := c.closeStatus(); code != websocket.StatusGoingAway {
		t.Fatalf("close %v", code)
	}
	if _, resp, err := websocket.Dial(context.Background(), url, nil); err == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("after Close: %v", err)
	}
	tr.Close() // twice is fine
}

// TestMessageInUpgradePacket sends the upgrade request and the first message in one write, so
// that net/http has read part of the WebSocket stream before the upgrade: it must not be lost.
func TestMessageInUpgradePacket(t *testing.T) {
	_, url := startTracker(t, Config{})
	host := strings.TrimSuffix(strings.TrimPrefix(url, "ws://"), "/announce")
	nc, err := net.Dial("tcp", host)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	msg := []byte(js(announceMsg(testID(1), testID(2), nil)))
	key := [4]byte{1, 2, 3, 4}
	frame := append([]byte{0x81, 0x80 | 126, byte(len(msg) >> 8), byte(len(msg))}, key[:]...)
	for i, b := range msg {
		frame = append(frame, b^key[i%4])
	}
	req := "GET /announce HTTP/1.1\r\nHost: " + host + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
	nc.Write(append([]byte(req), frame...))
	nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade: %v %v", resp, err)
	}
	var h [2]byte
	if _, err := io.ReadFull(br, h[:]); err != nil {
		t.Fatalf("no reply to the early message: %v", err)
	}
	reply := make([]byte, h[1]&0x7F)
	io.ReadFull(br, reply)
	if !strings.Contains(string(reply), `"incomplete":1`) {
		t.Fatalf("reply %q", reply)
	}
}

// TestWriteTimeout drops a client whose socket stops taking data, before its queue fills.
func TestWriteTimeout(t *testing.T) {
	tr, url := startTracker(t, Config{WriteTimeout: 200 * time.Millisecond, MaxQueueBytes: 1 << 30, MessageRate: -1})
	stuck, s := dialNoRead(t, url), dial(t, url)
	stuck.send(announceMsg(testID(1), testID(2), nil))
	wait.For(t, "the stuck peer", 5*time.Second, func() bool { return tr.Stats().Peers == 1 })
	for i := 0; i < 2000 && tr.Stats().Connections == 2; i++ { // fill its socket buffers
		s.join(testID(1), testID(3), map[string]any{"offers": offers(1, 50000, 0)})
	}
	wait.For(t, "the stuck client to be dropped", 10*time.Second, func() bool { return tr.Stats().Connections == 1 })
}

// TestFraming checks the WebSocket framing rules (RFC 6455) a client can hit: fragments with a ping between them, close handshakes, and protocol violations.
func TestFraming(t *testing.T) {
	tr, url := startTracker(t, Config{})
	msg := []byte(js(announceMsg(testID(1), testID(2), nil)))

	c := rawDial(t, url, "fragments") // a ping in between
	c.write(ws.NewFrame(ws.OpText, false, msg[:10]))
	c.write(ws.NewPingFrame([]byte("hi")))
	c.write(ws.NewFrame(ws.OpContinuation, false, msg[10:20]))
	c.write(ws.NewFrame(ws.OpContinuation, true, msg[20:]))
	if f := c.read(); f.Header.OpCode != ws.OpPong || string(f.Payload) != "hi" {
		t.Fatalf("ping answered with %v %q", f.Header.OpCode, f.Payload)
	}
	if f := c.read(); f.Header.OpCode != ws.OpText || !strings.Contains(string(f.Payload), `"incomplete":1`) {
		t.Fatalf("fragmented announce answered with %v %q", f.Header.OpCode, f.Payload)
	}
	c.write(ws.NewCloseFrame(ws.NewCloseFrameBody(ws.StatusNormalClosure, "bye")))
	if code := c.closeCode(false); code != ws.StatusNormalClosure {
		t.Fatalf("client close echoed with %v", code)
	}
	wait.For(t, "the closed peer to leave", 5*time.Second, func() bool { return tr.Stats().Peers == 0 })

	c = rawDial(t, url, "announce and close in one write") // the reply leaves before the close
	var both bytes.Buffer
	ws.WriteFrame(&both, ws.MaskFrame(ws.NewTextFrame(msg)))
	ws.WriteFrame(&both, ws.MaskFrame(ws.NewCloseFrame(ws.NewCloseFrameBody(ws.StatusNormalClosure, ""))))
	c.nc.Write(both.Bytes())
	if f := c.read(); f.Header.OpCode != ws.OpText {
		t.Fatalf("announce then close: got %v %q first", f.Header.OpCode, f.Payload)
	}
	if code := c.closeCode(false); code != ws.StatusNormalClosure {
		t.Fatalf("announce then close: close %v", code)
	}

	for name, f := range map[string]ws.Frame{
		"unmasked":            ws.NewTextFrame(msg),
		"continuation first":  ws.MaskFrame(ws.NewFrame(ws.OpContinuation, true, msg)),
		"reserved opcode":     ws.MaskFrame(ws.NewFrame(0x3, true, msg)),
		"rsv bit":             ws.MaskFrame(ws.Frame{Header: ws.Header{Fin: true, Rsv: 4, OpCode: ws.OpText, Length: int64(len(msg))}, Payload: msg}),
		"control fragmented":  ws.MaskFrame(ws.NewFrame(ws.OpPing, false, nil)),
		"text inside a frame": ws.MaskFrame(ws.NewFrame(ws.OpText, false, msg)),
	} {
		c := rawDial(t, url, name)
		if err := ws.WriteFrame(c.nc, f); err != nil {
			t.Fatal(err)
		}
		if name == "text inside a frame" { // a new message before the last one's end
			c.write(ws.NewTextFrame(msg))
		}
		if code := c.closeCode(true); code != ws.StatusProtocolError {
			t.Errorf("%s: close %v, want 1002", name, code)
		}
	}
}

// rawConn is a client made of gobwas/ws frame functions, to send what well-behaved clients don't.
type rawConn struct {
	t    *testing.T
	name string
	nc   net.Conn
	br   *bufio.Reader
}

func rawDial(t *testing.T, url, name string) *rawConn {
	t.Helper()
	nc, br, _, err := ws.Dial(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	if br == nil {
		br = bufio.NewReader(nc)
	}
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	return &rawConn{t, name, nc, br}
}

// write sends f masked, as a client must.
func (c *rawConn) write(f ws.Frame) {
	c.t.Helper()
	if err := ws.WriteFrame(c.nc, ws.MaskFrame(f)); err != nil {
		c.t.Fatal(err)
	}
}

func (c *rawConn) read() ws.Frame {
	c.t.Helper()
	f, err := ws.ReadFrame(c.br)
	if err != nil {
		c.t.Fatal(err)
	}
	return f
}

// closeCode reads until the server's close frame, answers it if asked (when the server began the
// handshake), and checks that the server then closes the socket.
func (c *rawConn) closeCode(answer bool) ws.StatusCode {
	c.t.Helper()
	for {
		f := c.read()
		if f.Header.OpCode != ws.OpClose {
			continue
		}
		code, _ := ws.ParseCloseFrameData(f.Payload)
		if answer {
			c.write(ws.NewCloseFrame(f.Payload))
		}
		if _, err := c.br.ReadByte(); err != io.EOF {
			c.t.Errorf("%s: after the close handshake: %v, want EOF", c.name, err)
		}
		return code
	}
}
