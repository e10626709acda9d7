package stun_test

import (
	"bytes"
	"errors"
	"net"
	"testing"
	"time"

	pion "github.com/pion/stun/v3"
	"github.com/planktos/planktos/internal/wait"
	"github.com/planktos/planktos/stun"
)

func listen(t *testing.T) *stun.Server {
	t.Helper()
	s, err := stun.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestBinding asks the server for the client's address with pion's STUN client: the mapped address is
// the client socket's own (no NAT on loopback), in both attributes, with SOFTWARE and a valid FINGERPRINT.
func TestBinding(t *testing.T) {
	s := listen(t)
	conn, err := net.Dial("udp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c, err := pion.NewClient(conn)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i := range 3 {
		var res *pion.Message
		var rerr error
		err = c.Do(pion.MustBuild(pion.TransactionID, pion.BindingRequest, pion.Fingerprint), func(e pion.Event) {
			if e.Error != nil {
				rerr = e.Error
				return
			}
			res = new(pion.Message)
			rerr = e.Message.CloneTo(res)
		})
		if err != nil || rerr != nil {
			t.Fatalf("request %d: %v %v", i, err, rerr)
		}
		if res.Type != pion.BindingSuccess {
			t.Fatalf("response type %s", res.Type)
		}
		var xor pion.XORMappedAddress
		var mapped pion.MappedAddress
		var sw pion.Software
		if err := res.Parse(&xor, &mapped, &sw); err != nil {
			t.Fatal(err)
		}
		local := conn.LocalAddr().(*net.UDPAddr)
		if !xor.IP.Equal(local.IP) || xor.Port != local.Port || !mapped.IP.Equal(local.IP) || mapped.Port != local.Port {
			t.Errorf("mapped %s and %s, want the client's %s", xor, mapped, local)
		}
		if sw.String() != "planktos" {
			t.Errorf("SOFTWARE %q", sw)
		}
		if err := pion.Fingerprint.Check(res); err != nil {
			t.Errorf("FINGERPRINT: %v", err)
		}
	}
	if st := s.Stats(); st.Answered != 3 || st.Dropped != 0 {
		t.Errorf("stats %+v, want 3 answered", st)
	}
}

// raw builds a STUN message's bytes.
func raw(t *testing.T, setters ...pion.Setter) []byte {
	t.Helper()
	m, err := pion.Build(setters...)
	if err != nil {
		t.Fatal(err)
	}
	return append([]byte(nil), m.Raw...)
}

// TestGarbageIgnored sends datagrams that are not well-formed Binding requests, then one that is: the
// only answer is to the last one, and every other datagram counts as dropped.
func TestGarbageIgnored(t *testing.T) {
	s := listen(t)
	conn, err := net.Dial("udp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	good := raw(t, pion.TransactionID, pion.BindingRequest)
	badFingerprint := raw(t, pion.TransactionID, pion.BindingRequest, pion.Fingerprint)
	badFingerprint[len(badFingerprint)-1] ^= 1
	longer := append(raw(t, pion.TransactionID, pion.BindingRequest), 0, 0, 0, 0)
	rfc3489 := append([]byte{0, 1, 0, 0}, bytes.Repeat([]byte{7}, 16)...) // no magic cookie
	channelData := append([]byte{0x40, 0, 0, 4}, raw(t, pion.TransactionID, pion.BindingRequest)[4:]...)
	garbage := [][]byte{
		nil, {0}, []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), bytes.Repeat([]byte{0xff}, 1400),
		bytes.Repeat([]byte{0}, stun.MaxPacket+1), rfc3489, good[:19], longer, badFingerprint, channelData,
		raw(t, pion.TransactionID, pion.BindingSuccess),
		raw(t, pion.TransactionID, pion.NewType(pion.MethodAllocate, pion.ClassRequest)),
		raw(t, pion.TransactionID, pion.NewType(pion.MethodBinding, pion.ClassIndication)),
		raw(t, pion.TransactionID, pion.BindingRequest, pion.Fingerprint, pion.NewSoftware("after fingerprint")),
	}
	for _, g := range garbage {
		if _, err := conn.Write(g); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := conn.Write(good); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	buf := make([]byte, 2048)
	n, err := conn.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf[8:20], good[8:20]) {
		t.Fatalf("first answer is to transaction %x, not to the valid request's %x", buf[8:20], good[8:20])
	}
	conn.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if n, err = conn.Read(buf); err == nil {
		t.Fatalf("a second answer (%d bytes): garbage was answered", n)
	}
	if st := s.Stats(); st.Answered != 1 || st.Dropped != uint64(len(garbage)) {
		t.Errorf("stats %+v, want 1 answered and %d dropped", st, len(garbage))
	}
}

// TestUnknownAttribute: a Binding request with a comprehension-required attribute the server does not
// know (RFC 5780's CHANGE-REQUEST) gets a 420 error that lists it.
func TestUnknownAttribute(t *testing.T) {
	s := listen(t)
	conn, err := net.Dial("udp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	req, _ := pion.Build(pion.TransactionID, pion.BindingRequest)
	req.Add(pion.AttrChangeRequest, []byte{0, 0, 0, 6})
	req.Add(0x8888, []byte{1, 2, 3, 4}) // comprehension-optional: ignored
	conn.Write(req.Raw)
	conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	buf := make([]byte, 2048)
	n, err := conn.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	res := &pion.Message{Raw: buf[:n]}
	if err := res.Decode(); err != nil {
		t.Fatal(err)
	}
	var code pion.ErrorCodeAttribute
	var unknown pion.UnknownAttributes
	if res.Type.Class != pion.ClassErrorResponse || res.Parse(&code, &unknown) != nil ||
		code.Code != pion.CodeUnknownAttribute || len(unknown) != 1 || unknown[0] != pion.AttrChangeRequest {
		t.Errorf("answer %s, code %v, unknown %v", res, code, unknown)
	}
}

// TestServeAndClose: Serve works on a conn of the caller's, and returns ErrServerClosed after Close.
func TestServeAndClose(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var s stun.Server
	s.Software = "test"
	done := make(chan error, 1)
	go func() { done <- s.Serve(pc) }()
	conn, _ := net.Dial("udp", pc.LocalAddr().String())
	defer conn.Close()
	conn.Write(raw(t, pion.TransactionID, pion.BindingRequest))
	conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	buf := make([]byte, 2048)
	n, err := conn.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	res := &pion.Message{Raw: buf[:n]}
	var sw pion.Software
	if res.Decode() != nil || sw.GetFrom(res) != nil || sw.String() != "test" {
		t.Errorf("SOFTWARE %q", sw)
	}
	wait.For(t, "the server's address", 2*time.Second, func() bool { return s.Addr() != nil })
	if s.Port() != pc.LocalAddr().(*net.UDPAddr).Port {
		t.Errorf("Port %d, conn %s", s.Port(), pc.LocalAddr())
	}
	s.Close()
	select {
	case err := <-done:
		if !errors.Is(err, stun.ErrServerClosed) {
			t.Errorf("Serve returned %v", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Serve did not return after Close")
	}
	if err := s.Serve(pc); !errors.Is(err, stun.ErrServerClosed) {
		t.Errorf("Serve after Close: %v", err)
	}
}

func TestListenError(t *testing.T) {
	if _, err := stun.Listen("256.0.0.1:1"); err == nil {
		t.Fatal("no error for a bad address")
	}
}
