package tracker

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// startTracker serves a tracker at /announce (and /stats) on a loopback test server.
func startTracker(t *testing.T, cfg Config) (*Server, string) {
	t.Helper()
	tr := New(cfg)
	return tr, serveTracker(t, tr)
}

func serveTracker(t *testing.T, tr *Server) string {
	mux := http.NewServeMux()
	mux.Handle("/announce", tr)
	mux.Handle("/stats", tr.StatsHandler())
	hs := httptest.NewServer(mux)
	t.Cleanup(func() { tr.Close(); hs.Close() })
	return "ws" + strings.TrimPrefix(hs.URL, "http") + "/announce"
}

// client is a real WebSocket client; a goroutine reads its messages into msgs (which keeps
// answering pings) until the socket closes, then reports why on done.
type client struct {
	t    *testing.T
	ws   *websocket.Conn
	msgs chan map[string]any
	done chan error
}

func dial(t *testing.T, url string) *client {
	t.Helper()
	c := dialNoRead(t, url)
	go c.readLoop()
	return c
}

// dialNoRead connects without reading: the socket then answers no pings.
func dialNoRead(t *testing.T, url string) *client {
	t.Helper()
	ws, _, err := websocket.Dial(context.Background(), url, nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	ws.SetReadLimit(-1)
	t.Cleanup(func() { ws.CloseNow() })
	return &client{t: t, ws: ws, msgs: make(chan map[string]any, 100), done: make(chan error, 1)}
}

func (c *client) readLoop() {
	for {
		_, b, err := c.ws.Read(context.Background())
		if err != nil {
			c.done <- err
			return
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			m = map[string]any{"unparsable": string(b)}
		}
		c.msgs <- m
	}
}

// bin writes bytes as a binary string (one character per byte), as JavaScript clients do.
func bin(b []byte) string {
	r := make([]rune, len(b))
	for i, c := range b {
		r[i] = rune(c)
	}
	return string(r)
}

// unbin reverses bin.
func unbin(t *testing.T, v any) []byte {
	t.Helper()
	s, ok := v.(string)
	if !ok {
		t.Fatalf("not a string: %#v", v)
	}
	var b []byte
	for _, r := range s {
		if r > 0xFF {
			t.Fatalf("rune %U in binary string", r)
		}
		b = append(b, byte(r))
	}
	return b
}

// testID returns an ID whose bytes include the awkward ones (NUL, quote, backslash, ≥ 0x80).
func testID(seed byte) ID {
	var id ID
	for i := range id {
		id[i] = seed + byte(i)*13
	}
	id[0], id[1], id[2], id[3] = 0, '"', '\\', 0xFF
	id[19] = seed
	return id
}

func (c *client) send(msg map[string]any) {
	c.t.Helper()
	b, err := json.Marshal(msg)
	if err != nil {
		c.t.Fatal(err)
	}
	c.sendRaw(b)
}

func (c *client) sendRaw(b []byte) {
	c.t.Helper()
	if err := c.ws.Write(context.Background(), websocket.MessageText, b); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// recv returns the next message, failing after 5 s.
func (c *client) recv() map[string]any {
	c.t.Helper()
	m, err := c.tryRecv(5 * time.Second)
	if err != nil {
		c.t.Fatalf("recv: %v", err)
	}
	return m
}

var errTimeout = errors.New("timeout")

// tryRecv returns the next message, the reason the socket closed, or errTimeout.
func (c *client) tryRecv(d time.Duration) (map[string]any, error) {
	select {
	case m := <-c.msgs:
		return m, nil
	case err := <-c.done:
		c.done <- err
		return nil, err
	case <-time.After(d):
		return nil, errTimeout
	}
}

// received returns the messages c got before the reply to a scrape it sends now: everything the
// tracker had written or queued to c before it read the scrape (its reader handles c's messages in
// order, and a socket's frames leave in the order they were queued). With it a test shows that
// nothing more came without waiting for nothing to happen.
func (c *client) received() []map[string]any {
	c.t.Helper()
	c.send(map[string]any{"action": "scrape", "info_hash": bin(barrierIH[:])})
	var got []map[string]any
	for {
		m := c.recv()
		if files, _ := m["files"].(map[string]any); m["action"] == "scrape" && files[bin(barrierIH[:])] != nil {
			return got
		}
		got = append(got, m)
	}
}

// barrierIH is the info hash received scrapes; no test joins it.
var barrierIH = ID{'b', 'a', 'r', 'r', 'i', 'e', 'r'}

// expectNone fails unless received finds no message.
func (c *client) expectNone(why string) {
	c.t.Helper()
	if got := c.received(); len(got) > 0 {
		c.t.Fatalf("%s: got %v", why, got)
	}
}

// closeStatus waits for the server to close the socket and returns the close code.
func (c *client) closeStatus() websocket.StatusCode {
	c.t.Helper()
	for {
		_, err := c.tryRecv(5 * time.Second)
		switch {
		case err == errTimeout:
			c.t.Fatal("socket still open after 5 s")
		case err != nil:
			return websocket.CloseStatus(err)
		}
	}
}

// announceMsg builds an announce; extra fields are merged in.
func announceMsg(ih, pid ID, extra map[string]any) map[string]any {
	m := map[string]any{
		"action": "announce", "info_hash": bin(ih[:]), "peer_id": bin(pid[:]),
		"numwant": 5, "uploaded": 0, "downloaded": 0, "left": 100,
	}
	for k, v := range extra {
		m[k] = v
	}
	return m
}

// offers builds n offers with distinct offer ids and SDPs of size bytes.
func offers(n, size int, seed byte) []any {
	var out []any
	for i := range n {
		oid := testID(seed + byte(i))
		sdp := "v=0\r\n" + strings.Repeat("a", size) + string(rune('A'+i))
		out = append(out, map[string]any{
			"offer":    map[string]any{"type": "offer", "sdp": sdp},
			"offer_id": bin(oid[:]),
		})
	}
	return out
}

// join announces (ih, pid) on c and returns the reply.
func (c *client) join(ih, pid ID, extra map[string]any) map[string]any {
	c.t.Helper()
	c.send(announceMsg(ih, pid, extra))
	return c.recv()
}

func num(v any) int {
	f, _ := v.(float64)
	return int(f)
}
