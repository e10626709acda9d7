// Package netns tells tests whether they run inside the private network namespace that test.sh makes
// for WebRTC (scripts/netns.sh): only loopback and interfaces addressed in 198.18.0.0/15 (RFC 2544's
// benchmarking range, which no real network uses) — d0 at 198.18.0.1 with the default route, and the
// field networks' bridge at 198.19.0.1 while a field test runs (internal/fieldnet). pion/webrtc (the Go side of anacrolix's WebTorrent) gathers no
// loopback ICE candidates, so a Go peer needs that non-loopback interface; and tests must not open WebRTC
// on a real network, so they require the namespace rather than any non-loopback interface.
package netns

import (
	"net"
	"testing"
)

// Command is how test.sh runs `go test` in the namespace (documented in the README).
const Command = `go test -count=1 -run XXX ./... && scripts/netns.sh go test ./...`

var bench = net.IPNet{IP: net.IPv4(198, 18, 0, 0), Mask: net.CIDRMask(15, 32)}

// Addr returns an address of the namespace's interface (d0), or "" outside such a namespace (when an
// interface other than loopback and 198.18.0.0/15 ones is up, or none of those is).
func Addr() string {
	ifs, err := net.Interfaces()
	if err != nil {
		return ""
	}
	found := ""
	for _, ifc := range ifs {
		if ifc.Flags&net.FlagUp == 0 || ifc.Flags&net.FlagLoopback != 0 {
			continue
		}
		addrs, err := ifc.Addrs()
		if err != nil {
			return ""
		}
		for _, a := range addrs {
			ipn, ok := a.(*net.IPNet)
			if !ok {
				continue
			}
			if ipn.IP.IsLinkLocalUnicast() {
				continue // fe80:: on the interface itself
			}
			if !bench.Contains(ipn.IP) {
				return "" // a real network is reachable: not the test namespace
			}
			found = ipn.IP.String()
		}
	}
	return found
}

// Need skips t unless it runs inside the WebRTC test namespace, and returns the interface's
// address.
func Need(t testing.TB) string {
	t.Helper()
	a := Addr()
	if a == "" {
		t.Skip("WebRTC with a Go peer needs the test network namespace (only lo and interfaces in " +
			"198.18.0.0/15; pion gathers no loopback ICE candidates, and tests must not use a real network); " +
			"run ./test.sh, or: " + Command)
	}
	return a
}
