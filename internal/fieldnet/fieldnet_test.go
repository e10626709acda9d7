package fieldnet

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestMain runs this package's tests in a network namespace of their own (scripts/netns.sh again,
// nested): test.sh runs every package's tests at once in one shared namespace, and the field networks
// made here would appear there while other binaries' browsers navigate (an address change is a
// network change to Chromium, which fails requests in flight).
func TestMain(m *testing.M) {
	if os.Getenv("FIELDNET_OWN_NAMESPACE") == "" && Available() == "" {
		cmd := exec.Command("../../scripts/netns.sh", os.Args...)
		cmd.Env = append(os.Environ(), "FIELDNET_OWN_NAMESPACE=1")
		cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
		if err := cmd.Run(); err != nil {
			if ee, ok := err.(*exec.ExitError); ok {
				os.Exit(ee.ExitCode())
			}
			fmt.Fprintln(os.Stderr, "fieldnet: re-running the tests in their own namespace:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// reflector is a STUN-like UDP server on the public network: it answers every datagram with the
// source address it saw, "ip:port".
func reflector(t *testing.T) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(Public, 0)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	go func() {
		buf := make([]byte, 1500)
		for {
			_, from, err := c.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			c.WriteToUDPAddrPort([]byte(from.String()), from)
		}
	}()
	return c
}

// mapped sends from c to the reflector at to until it answers, and returns the public address it saw.
func mapped(t *testing.T, c net.PacketConn, to net.Addr) netip.AddrPort {
	t.Helper()
	buf := make([]byte, 100)
	for i := 0; i < 50; i++ {
		if _, err := c.WriteTo([]byte("?"), to); err != nil {
			t.Fatal(err)
		}
		c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		n, from, err := c.ReadFrom(buf)
		if err != nil {
			continue
		}
		if from.String() != to.String() {
			t.Fatalf("answer from %v, want %v", from, to)
		}
		ap, err := netip.ParseAddrPort(string(buf[:n]))
		if err != nil {
			t.Fatal(err)
		}
		return ap
	}
	t.Fatalf("no answer from %v in 5 s", to)
	return netip.AddrPort{}
}

func localPort(c net.PacketConn) uint16 { return c.LocalAddr().(*net.UDPAddr).AddrPort().Port() }

// A home reaches the public network through its NAT over UDP and TCP: the public side sees the
// router's WAN address, and the answers come back. Its host has a default route via the router, and
// Dial reaches a server on the home's own loopback (what the e2e tests need for a browser's DevTools).
func TestHomeToPublic(t *testing.T) {
	n := New(t)
	h := n.Home("alpha", Cone)
	for _, ns := range []string{h.NS, h.Router} {
		if out, err := exec.Command("ip", "-n", ns, "-6", "addr").CombinedOutput(); err != nil || len(strings.TrimSpace(string(out))) > 0 {
			t.Errorf("namespace %s has IPv6 addresses: %s %v", ns, out, err)
		}
	}

	r := reflector(t)
	c, err := h.ListenPacket("udp4", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	got := mapped(t, c, r.LocalAddr())
	if got.Addr() != h.WAN {
		t.Errorf("UDP from the home arrived from %v, want the router's WAN %v", got, h.WAN)
	}

	l, err := net.Listen("tcp4", netip.AddrPortFrom(Public, 0).String())
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			s, err := l.Accept()
			if err != nil {
				return
			}
			fmt.Fprintf(s, "%s\n", s.RemoteAddr())
			s.Close()
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	tc, err := h.Dial(ctx, "tcp4", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(tc).ReadString('\n')
	tc.Close()
	if err != nil {
		t.Fatal(err)
	}
	if ap, err := netip.ParseAddrPort(strings.TrimSpace(line)); err != nil || ap.Addr() != h.WAN {
		t.Errorf("TCP from the home arrived from %q, want the router's WAN %v", line, h.WAN)
	}

	out, err := h.Command("ip", "-4", "route", "show", "default").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "via 198.18.101.1 dev eth0") {
		t.Errorf("the home's default route: %q %v", out, err)
	}

	hl, err := h.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer hl.Close()
	go func() {
		if s, err := hl.Accept(); err == nil {
			io.WriteString(s, "home\n")
			s.Close()
		}
	}()
	if _, err := net.DialTimeout("tcp4", hl.Addr().String(), time.Second); err == nil {
		t.Errorf("the home's loopback listener %v is reachable from the test's namespace", hl.Addr())
	}
	lc, err := h.Dial(ctx, "tcp4", hl.Addr().String())
	if err != nil {
		t.Fatalf("Dial to the home's loopback: %v", err)
	}
	b, _ := io.ReadAll(lc)
	lc.Close()
	if string(b) != "home\n" {
		t.Errorf("from the home's loopback: %q", b)
	}
}

// An unsolicited datagram from the public network to a home's router is dropped (its drop counter
// rises) and never reaches the host, even on the port the host listens on; the answer to what the
// host sent does get in.
func TestUnsolicitedDropped(t *testing.T) {
	n := New(t)
	h := n.Home("alpha", Cone)
	c, err := h.ListenPacket("udp4", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	port := localPort(c)
	out := reflector(t)
	before, err := h.Dropped()
	if err != nil {
		t.Fatal(err)
	}
	to := netip.AddrPortFrom(h.WAN, port)
	dropped := before
	for i := 0; i < 50 && dropped < before+3; i++ {
		out.WriteToUDPAddrPort([]byte("unsolicited"), to)
		if dropped, err = h.Dropped(); err != nil {
			t.Fatal(err)
		}
	}
	if dropped < before+3 {
		t.Fatalf("the router dropped %d packets, want ≥ %d", dropped, before+3)
	}
	// the packets were dropped, so they are not in the host's socket (the router's counter is the proof;
	// this read only checks that nothing slipped through another way)
	c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	buf := make([]byte, 100)
	if n, from, err := c.ReadFrom(buf); err == nil {
		t.Fatalf("the host received %q from %v, unsolicited", buf[:n], from)
	} else if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatal(err)
	}
	// once the host has sent to out, out's answers get in
	if got := mapped(t, c, out.LocalAddr()); got != to {
		t.Errorf("the home's socket is mapped to %v, want %v (a cone router keeps the port)", got, to)
	}
}

// STUN-like probing from the public network (what a browser's ICE agent does), then hole punching
// between two homes: with two cone routers each socket keeps its port for every destination (the
// address STUN reports is the one a peer can use), and once both have sent to each other's mapping
// the datagrams get through both NATs. A symmetric router maps each destination to another port.
func TestMappingsAndHolePunching(t *testing.T) {
	n := New(t)
	a, b := n.Home("alpha", Cone), n.Home("beta", Cone)
	s := n.Home("gamma", Symmetric)
	r1, r2 := reflector(t), reflector(t)

	socks := map[string]net.PacketConn{}
	maps := map[string]netip.AddrPort{}
	for _, h := range []*Home{a, b, s} {
		c, err := h.ListenPacket("udp4", "0.0.0.0:0")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		m1, m2 := mapped(t, c, r1.LocalAddr()), mapped(t, c, r2.LocalAddr())
		t.Logf("%s (%s NAT): local port %d, mapped %v to one server and %v to another", h.Name, h.Kind, localPort(c), m1, m2)
		if h.Kind == Cone && (m1 != m2 || m1.Port() != localPort(c)) {
			t.Errorf("cone home %s: local port %d mapped to %v and %v, want the same port for both", h.Name, localPort(c), m1, m2)
		}
		if h.Kind == Symmetric && m1 == m2 {
			t.Errorf("symmetric home %s: one mapping %v for two destinations", h.Name, m1)
		}
		socks[h.Name], maps[h.Name] = c, m1
	}

	// hole punching: each side sends to the other's mapping until it hears from the other
	heard := func(from, to string) bool {
		c := socks[to]
		buf := make([]byte, 100)
		for i := 0; i < 50; i++ {
			socks[from].WriteTo([]byte("hello from "+from), net.UDPAddrFromAddrPort(maps[to]))
			c.WriteTo([]byte("hello from "+to), net.UDPAddrFromAddrPort(maps[from]))
			c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
			n, _, err := c.ReadFrom(buf)
			if err == nil && string(buf[:n]) == "hello from "+from {
				return true
			}
		}
		return false
	}
	if !heard("alpha", "beta") || !heard("beta", "alpha") {
		t.Errorf("two cone homes could not punch through to each other's mapped address (%v, %v)", maps["alpha"], maps["beta"])
	}
	// towards the symmetric home the mapping STUN reported is the wrong one for a peer: what beta sends
	// there is dropped as unsolicited, so beta never hears gamma
	before, _ := s.Dropped()
	if heard("gamma", "beta") {
		t.Errorf("beta heard the symmetric home at the mapping a STUN server saw (%v)", maps["gamma"])
	}
	if after, _ := s.Dropped(); after <= before {
		t.Errorf("the symmetric router dropped nothing (%d → %d) while beta sent to its STUN mapping", before, after)
	}
}
