package tracker

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/gobwas/ws"
)

// WebSocket framing (RFC 6455) with github.com/gobwas/ws's frame functions. They keep no state of
// their own, so a connection costs only its socket and its conn: what a stateful WebSocket library
// keeps per connection (readers, writers, locks, contexts) was most of an idle connection's memory.

// closeError fails the connection with a close frame (a protocol violation, a message too big).
type closeError struct {
	code   ws.StatusCode
	reason string
}

func (e *closeError) Error() string { return e.reason }

var (
	errTooBig = &closeError{ws.StatusMessageTooBig, "message too big"}
	// errPeerClosed: the client sent a close frame, which has been answered.
	errPeerClosed = errors.New("client closed the connection")
)

// closeWait bounds how long a closing connection waits for the client's close frame.
const closeWait = 5 * time.Second

// upgrader answers the opening handshake; the tracker offers no extensions or subprotocols.
var upgrader = ws.HTTPUpgrader{Timeout: 10 * time.Second}

// upgrade completes the handshake and returns the socket and net/http's reader on it, which may
// hold bytes the client sent after its request. On error the client has had its answer.
func upgrade(w http.ResponseWriter, r *http.Request) (net.Conn, *bufio.Reader, error) {
	nc, rw, _, err := upgrader.Upgrade(r, w)
	if err != nil {
		if nc != nil {
			nc.Close()
		}
		return nil, nil, err
	}
	return nc, rw.Reader, nil
}

// readMessage reads frames into buf until a whole data message is there, answering control frames
// on the way. Text and binary messages are both accepted: the JSON scanner validates UTF-8 itself.
func (c *conn) readMessage(buf *bytes.Buffer) error {
	state := ws.StateServerSide
	for {
		h, err := ws.ReadHeaderBuffer(c.reader(), c.hdr[:])
		if err != nil {
			return err
		}
		if err := ws.CheckHeader(h, state); err != nil {
			c.skip = h.Length
			return &closeError{ws.StatusProtocolError, err.Error()}
		}
		if h.OpCode.IsControl() {
			if err := c.control(h); err != nil {
				return err
			}
			continue
		}
		if int64(buf.Len())+h.Length > c.s.cfg.MaxMessageBytes {
			c.skip = h.Length
			return errTooBig
		}
		n := int(h.Length)
		buf.Grow(n)
		p := buf.AvailableBuffer()[:n]
		if _, err := io.ReadFull(c.reader(), p); err != nil {
			return err
		}
		ws.Cipher(p, h.Mask, 0)
		buf.Write(p) // p is buf's own free space: this only extends buf
		if h.Fin {
			return nil
		}
		state = state.Set(ws.StateFragmented)
	}
}

// control handles a ping, pong or close frame whose header was just read.
func (c *conn) control(h ws.Header) error {
	var b [ws.MaxControlFramePayloadSize]byte
	p := b[:h.Length]
	if _, err := io.ReadFull(c.reader(), p); err != nil {
		return err
	}
	ws.Cipher(p, h.Mask, 0)
	c.seen()
	switch h.OpCode {
	case ws.OpPing:
		c.writeFrame(ws.OpPong, bytes.Clone(p))
	case ws.OpClose:
		code, reason := ws.ParseCloseFrameData(p)
		if len(p) > 0 && ws.CheckCloseFrameData(code, reason) != nil {
			code = ws.StatusProtocolError
		}
		c.closeFrame(code, "")
		return errPeerClosed
	}
	return nil
}

// closeFrame sends a close frame (once) and returns when it is written; a zero code sends one
// without a body.
func (c *conn) closeFrame(code ws.StatusCode, reason string) {
	if c.closeSent.Swap(true) {
		return
	}
	var body []byte
	if !code.Empty() {
		body = ws.NewCloseFrameBody(code, reason)
	}
	c.writeNow(ws.OpClose, body)
}

// closeHandshake sends a close frame and reads (discarding data) until the client's close frame
// comes, closeWait passes or the socket fails. The caller holds the reader's place. Closing a socket
// with unread data would reset it, and the client would not see the frame.
func (c *conn) closeHandshake(code ws.StatusCode, reason string) {
	c.closeFrame(code, reason)
	c.nc.SetReadDeadline(time.Now().Add(closeWait))
	if _, err := io.CopyN(io.Discard, c.reader(), c.skip); err != nil {
		return
	}
	for {
		h, err := ws.ReadHeaderBuffer(c.reader(), c.hdr[:])
		if err != nil {
			return
		}
		if _, err := io.CopyN(io.Discard, c.reader(), h.Length); err != nil || h.OpCode == ws.OpClose {
			return
		}
	}
}

// failWith ends a connection after a read error: violations get a close frame and the handshake.
func (c *conn) failWith(err error) {
	if ce, ok := errors.AsType[*closeError](err); ok {
		c.closeHandshake(ce.code, ce.reason)
	}
}

// frameHeader encodes the header of an unmasked, final frame carrying n bytes.
func frameHeader(op ws.OpCode, n int) []byte {
	var scratch [ws.MaxHeaderSize]byte
	w := appendWriter(make([]byte, 0, ws.HeaderSize(ws.Header{Length: int64(n)})))
	ws.WriteHeaderBuffer(&w, ws.Header{Fin: true, OpCode: op, Length: int64(n)}, scratch[:])
	return w
}

type appendWriter []byte

func (w *appendWriter) Write(p []byte) (int, error) { *w = append(*w, p...); return len(p), nil }
