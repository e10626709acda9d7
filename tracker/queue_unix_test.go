//go:build unix

package tracker

import (
	"bufio"
	"context"
	"io"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/planktos/planktos/internal/wait"
)

// TestQueueBound feeds a client that reads slower than it is sent to and checks that what the
// tracker holds for it — queued, and being written until the socket takes it — never passes
// MaxQueueBytes, and that it is dropped. The socket buffers on both sides are made small and
// are counted: what was sent minus what the client has read is at most MaxQueueBytes plus what
// the kernel holds.
func TestQueueBound(t *testing.T) {
	const max = 512 << 10
	tr, url := startTracker(t, Config{MaxQueueBytes: max, MessageRate: -1})
	nc, br := dialSmallBuffer(t, url, 8<<10)
	msg := []byte(js(announceMsg(testID(1), testID(2), nil)))
	ws.WriteFrame(nc, ws.MaskFrame(ws.NewTextFrame(msg)))
	wait.For(t, "the client to join", 5*time.Second, func() bool { return connOf(tr, testID(1), testID(2)) != nil })
	c := connOf(tr, testID(1), testID(2))
	sndbuf := setSendBuffer(t, c.nc, 8<<10)
	rcvbuf := sockopt(t, nc, syscall.SO_RCVBUF)
	// The kernel holds at most both buffers, one segment over the send buffer (64 KiB on
	// loopback), and the client's bufio buffer.
	kernel := sndbuf + rcvbuf + 64<<10 + br.Size()

	payload := make([]byte, 10000)
	frameLen := len(frameHeader(ws.OpText, len(payload))) + len(payload)
	read := 0
	readSome := func(n int) {
		nc.SetReadDeadline(time.Now().Add(5 * time.Second))
		m, err := io.ReadFull(br, make([]byte, n))
		read += m
		if err != nil {
			t.Fatalf("client read after %d bytes: %v", read, err)
		}
	}
	sent := 0
	for ; c.sendFrame(frame{op: ws.OpText, p: payload}); sent += frameLen {
		if held := sent + frameLen - read; held > max+kernel {
			t.Fatalf("%d bytes sent, %d read: the tracker holds more than MaxQueueBytes (%d) + the kernel's %d",
				sent+frameLen, read, max, kernel)
		}
		if sent > 64<<20 {
			t.Fatal("a client reading half of what it is sent was never dropped")
		}
		readSome(frameLen / 3)
	}
	wait.For(t, "the slow reader to be dropped", 5*time.Second, func() bool { return tr.Stats().Connections == 0 })
	t.Logf("dropped after %d bytes sent, %d read (limit %d, kernel ≤ %d)", sent, read, max, kernel)
}

// dialSmallBuffer connects a WebSocket client whose receive buffer is rcvbuf bytes.
func dialSmallBuffer(t *testing.T, url string, rcvbuf int) (net.Conn, *bufio.Reader) {
	t.Helper()
	d := ws.Dialer{NetDial: func(ctx context.Context, network, addr string) (net.Conn, error) {
		nd := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
			var err error
			rc.Control(func(fd uintptr) { err = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, rcvbuf) })
			return err
		}}
		return nd.DialContext(ctx, network, addr)
	}}
	nc, br, _, err := d.Dial(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	if br == nil {
		br = bufio.NewReader(nc)
	}
	return nc, br
}

// setSendBuffer sets the server socket's send buffer and returns its size as the kernel reports it.
func setSendBuffer(t *testing.T, nc net.Conn, n int) int {
	t.Helper()
	if err := nc.(interface{ SetWriteBuffer(int) error }).SetWriteBuffer(n); err != nil {
		t.Fatal(err)
	}
	return sockopt(t, nc, syscall.SO_SNDBUF)
}

func sockopt(t *testing.T, nc net.Conn, opt int) int {
	t.Helper()
	rc, err := nc.(syscall.Conn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var v int
	rc.Control(func(fd uintptr) { v, err = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, opt) })
	if err != nil {
		t.Fatal(err)
	}
	return v
}
