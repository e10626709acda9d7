package stun

import (
	"net"
	"testing"

	"github.com/pion/stun/v3"
)

// FuzzReply feeds arbitrary datagrams to the packet handler: it never panics, answers only
// well-formed Binding requests (to the same transaction, with the sender's address), and never
// answers with more than 120 bytes (no amplification beyond a small, fixed factor).
func FuzzReply(f *testing.F) {
	add := func(setters ...stun.Setter) {
		m, err := stun.Build(setters...)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(append([]byte(nil), m.Raw...))
	}
	add(stun.TransactionID, stun.BindingRequest)
	add(stun.TransactionID, stun.BindingRequest, stun.Fingerprint)
	add(stun.TransactionID, stun.BindingRequest, stun.NewSoftware("x"), stun.NewUsername("a:b"), stun.Fingerprint)
	add(stun.TransactionID, stun.BindingSuccess)
	add(stun.TransactionID, stun.NewType(stun.MethodAllocate, stun.ClassRequest))
	m, _ := stun.Build(stun.TransactionID, stun.BindingRequest)
	m.Add(stun.AttrChangeRequest, []byte{0, 0, 0, 6})
	m.Add(stun.AttrRequestedTransport, []byte{17, 0, 0, 0})
	f.Add(append([]byte(nil), m.Raw...))
	f.Add([]byte("GET / HTTP/1.1\r\n\r\n"))
	f.Add([]byte{})
	from := &net.UDPAddr{IP: net.IPv4(198, 18, 0, 7), Port: 40000}
	sw := stun.NewSoftware("planktos")
	f.Fuzz(func(t *testing.T, pkt []byte) {
		req, res := new(stun.Message), new(stun.Message)
		in := append([]byte(nil), pkt...)
		if !reply(pkt, from, req, res, sw) {
			return
		}
		if string(in) != string(pkt) {
			t.Fatal("reply modified the datagram")
		}
		if len(pkt) < 20 || !stun.IsMessage(pkt) || pkt[0] != 0 || pkt[1] != 1 {
			t.Fatalf("answered a datagram that is not a Binding request: %x", pkt)
		}
		if len(res.Raw) > 120 {
			t.Fatalf("%d-byte answer", len(res.Raw))
		}
		got := &stun.Message{Raw: append([]byte(nil), res.Raw...)}
		if err := got.Decode(); err != nil {
			t.Fatalf("answer does not decode: %v", err)
		}
		if got.TransactionID != req.TransactionID || string(pkt[8:20]) != string(got.TransactionID[:]) {
			t.Fatal("answer to another transaction")
		}
		if err := stun.Fingerprint.Check(got); err != nil {
			t.Fatalf("answer's FINGERPRINT: %v", err)
		}
		switch got.Type {
		case stun.BindingSuccess:
			var xor stun.XORMappedAddress
			if err := xor.GetFrom(got); err != nil || !xor.IP.Equal(from.IP) || xor.Port != from.Port {
				t.Fatalf("XOR-MAPPED-ADDRESS %s (%v), want %s", xor, err, from)
			}
		case stun.NewType(stun.MethodBinding, stun.ClassErrorResponse):
			var code stun.ErrorCodeAttribute
			if err := code.GetFrom(got); err != nil || code.Code != stun.CodeUnknownAttribute {
				t.Fatalf("error %v (%v)", code, err)
			}
		default:
			t.Fatalf("answer of type %s", got.Type)
		}
	})
}
