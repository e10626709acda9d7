package tracker

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"testing"

	"github.com/gobwas/ws"
)

// FuzzFrames feeds arbitrary client bytes to the frame reader: it never panics, never returns a
// message over MaxMessageBytes, and returns exactly what gobwas/ws's own reader assembles from the
// same bytes for a well-formed stream.
func FuzzFrames(f *testing.F) {
	var seed bytes.Buffer
	msg := []byte(js(announceMsg(testID(1), testID(2), nil)))
	ws.WriteFrame(&seed, ws.MaskFrame(ws.NewFrame(ws.OpText, false, msg[:7])))
	ws.WriteFrame(&seed, ws.MaskFrame(ws.NewPingFrame([]byte("p"))))
	ws.WriteFrame(&seed, ws.MaskFrame(ws.NewFrame(ws.OpContinuation, true, msg[7:])))
	ws.WriteFrame(&seed, ws.MaskFrame(ws.NewCloseFrame(ws.NewCloseFrameBody(ws.StatusNormalClosure, ""))))
	f.Add(seed.Bytes())
	f.Add([]byte{0x81, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}) // a 2^63-byte frame
	s := &Server{cfg: Config{MaxMessageBytes: 1000}.WithDefaults(), now: wallClock}
	f.Fuzz(func(t *testing.T, in []byte) {
		local, remote := net.Pipe()
		defer local.Close()
		go io.Copy(io.Discard, remote) // the client reads pongs and close frames
		c := &conn{s: s, nc: local, q: &writeQueue{br: bufio.NewReader(bytes.NewReader(in))}}
		var got [][]byte
		for {
			var buf bytes.Buffer
			err := c.readMessage(&buf)
			if err != nil {
				break
			}
			if int64(buf.Len()) > s.cfg.MaxMessageBytes {
				t.Fatalf("message of %d bytes", buf.Len())
			}
			got = append(got, bytes.Clone(buf.Bytes()))
		}
		remote.Close()
		if want, ok := wholeMessages(in); ok && !equalMessages(got, want) {
			t.Fatalf("read %q, gobwas/ws reads %q", got, want)
		}
	})
}

// wholeMessages reads whole data messages with gobwas/ws's stateful reader (which also checks every
// rule), stopping at the first error or close frame; ok is false when it ran into an error, in
// which case only a prefix of the stream is comparable and it is not compared.
func wholeMessages(in []byte) (msgs [][]byte, ok bool) {
	r := bufio.NewReader(bytes.NewReader(in))
	var cur []byte
	state := ws.StateServerSide
	for {
		f, err := ws.ReadFrame(r)
		if err == io.EOF {
			return msgs, cur == nil
		}
		if err != nil || ws.CheckHeader(f.Header, state) != nil || int64(len(cur))+f.Header.Length > 1000 {
			return nil, false
		}
		f = ws.UnmaskFrame(f)
		switch {
		case f.Header.OpCode == ws.OpClose:
			return msgs, true
		case f.Header.OpCode.IsControl():
			continue
		}
		cur = append(cur, f.Payload...)
		if !f.Header.Fin {
			state = state.Set(ws.StateFragmented)
			continue
		}
		msgs, cur, state = append(msgs, cur), nil, ws.StateServerSide
	}
}

func equalMessages(a, b [][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}
