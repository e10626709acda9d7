package main

// A minimal WebSocket client (RFC 6455) made to be cheap, so that one core of load generator can
// saturate one core of server: frames are written whole in one system call (several frames batched
// when the reader has more input queued), with the all-zero masking key (legal; the payload is then
// sent as is, no per-byte masking), and read through a large buffer so that many frames cost one
// read. Servers cannot tell it from any other client.

import (
	"bufio"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"time"
)

type wsConn struct {
	nc  net.Conn
	br  *bufio.Reader
	msg []byte // last message read (reused)
}

// wsDial opens a WebSocket to a ws:// URL.
func wsDial(rawURL string, timeout time.Duration) (*wsConn, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme != "ws" {
		return nil, fmt.Errorf("need a ws:// URL: %s", rawURL)
	}
	nc, err := net.DialTimeout("tcp", u.Host, timeout)
	if err != nil {
		return nil, err
	}
	nc.SetDeadline(time.Now().Add(timeout))
	key := make([]byte, 16)
	rand.Read(key)
	req := fmt.Sprintf("GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n", u.RequestURI(), u.Host, base64.StdEncoding.EncodeToString(key))
	if _, err := io.WriteString(nc, req); err != nil {
		nc.Close()
		return nil, err
	}
	br := bufio.NewReaderSize(nc, 16<<10)
	resp, err := http.ReadResponse(br, nil)
	if err == nil && resp.StatusCode != http.StatusSwitchingProtocols {
		err = fmt.Errorf("upgrade refused: %s", resp.Status)
	}
	if err != nil {
		nc.Close()
		return nil, err
	}
	nc.SetDeadline(time.Time{})
	return &wsConn{nc: nc, br: br}, nil
}

// appendFrame appends one masked (zero key) frame of the given opcode to b.
func appendFrame(b []byte, opcode byte, payload []byte) []byte {
	b = append(b, 0x80|opcode)
	switch n := len(payload); {
	case n < 126:
		b = append(b, 0x80|byte(n))
	case n <= 0xFFFF:
		b = append(b, 0x80|126, byte(n>>8), byte(n))
	default:
		b = append(b, 0x80|127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	b = append(b, 0, 0, 0, 0) // masking key
	return append(b, payload...)
}

// write sends already framed bytes.
func (c *wsConn) write(frames []byte) error {
	_, err := c.nc.Write(frames)
	return err
}

var errClosed = errors.New("closed by the server")

// read returns the next text or binary message (valid until the next read), answering pings.
func (c *wsConn) read() ([]byte, error) {
	c.msg = c.msg[:0]
	for {
		var h [2]byte
		if _, err := io.ReadFull(c.br, h[:]); err != nil {
			return nil, err
		}
		n := int64(h[1] & 0x7F)
		switch n {
		case 126:
			var x [2]byte
			if _, err := io.ReadFull(c.br, x[:]); err != nil {
				return nil, err
			}
			n = int64(binary.BigEndian.Uint16(x[:]))
		case 127:
			var x [8]byte
			if _, err := io.ReadFull(c.br, x[:]); err != nil {
				return nil, err
			}
			n = int64(binary.BigEndian.Uint64(x[:]))
		}
		if h[1]&0x80 != 0 || n > 16<<20 {
			return nil, errors.New("bad frame from server")
		}
		start := len(c.msg)
		c.msg = slices.Grow(c.msg, int(n))[:start+int(n)]
		if _, err := io.ReadFull(c.br, c.msg[start:]); err != nil {
			return nil, err
		}
		switch op := h[0] & 0x0F; op {
		case 0x8:
			return nil, errClosed
		case 0x9: // ping: pong with the same payload
			pong := appendFrame(nil, 0xA, c.msg[start:])
			c.msg = c.msg[:start]
			if err := c.write(pong); err != nil {
				return nil, err
			}
			continue
		case 0xA:
			c.msg = c.msg[:start]
			continue
		}
		if h[0]&0x80 != 0 { // FIN
			return c.msg, nil
		}
	}
}

// buffered reports whether more input is already waiting.
func (c *wsConn) buffered() bool { return c.br.Buffered() > 0 }

func (c *wsConn) close() { c.nc.Close() }
