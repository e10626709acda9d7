// Package fieldnet builds, for one test, a network shaped like the one real visitors are on: a "public"
// network where the origin, the tracker and STUN listen, and homes, each a host behind its own NAT router
// — so that a browser in a home has one interface, a default route, a private address, and reaches
// another home only through its router's public mapping (what STUN discovers).
//
// Everything happens inside the private network namespace that test.sh runs `go test` in
// (scripts/netns.sh: `unshare --net --mount --propagation private`, a tmpfs on /run/netns), so no packet
// can leave the machine, and only addresses in 198.18.0.0/15 (RFC 2544's benchmarking range) are used:
//
//	test process's namespace ("public")   bridge fieldnet0, 198.19.0.1/24 — origin, tracker, STUN
//	  └─ home k router namespace           wan 198.19.0.(10+k) ─ NAT ─ lan 198.18.(100+k).1/24
//	       └─ home k host namespace        eth0 198.18.(100+k).2, default via 198.18.(100+k).1
//
// Each router masquerades what leaves its WAN (`iptables -t nat -A POSTROUTING -o wan -j MASQUERADE`,
// plus `--random-fully` for a Symmetric home) and drops every new connection coming in on its WAN
// (INPUT and FORWARD, `--ctstate NEW -j DROP`): only answers to what the home sent get in, as on a
// home router. Without that drop an unsolicited packet leaves a conntrack entry that forces a new port
// on the home's next mapping, and hole punching between two cone homes fails.
//
// The public namespace is the test process's own, shared with every test of the `go test ./...` run
// (other packages' test binaries run in parallel in the same namespace): New takes an exclusive lock
// (a flock on /run/netns/fieldnet.lock) that it holds until the test's cleanup, so at most one
// field network exists at a time in a namespace. Cleanup kills what runs in the homes and removes
// every namespace, link and route that New and Home added.
//
// The network is IPv4 only (IPv6 is disabled on every link it makes): nothing outside 198.18.0.0/15,
// and no IPv6 link-local address appearing after a browser started (Chromium takes an address change
// for a network change and fails navigations in flight with ERR_NETWORK_CHANGED). For the same reason
// a field network should not come and go while another test's browser navigates in the public
// namespace; this package's own tests run in a nested namespace of their own.
package fieldnet

import (
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/planktos/planktos/internal/netns"
)

// Command is how to run tests that need a field network (from the repository root).
const Command = `go test -count=1 -run XXX ./... && scripts/netns.sh go test ./...`

// Bridge is the public network's bridge in the test process's namespace.
const Bridge = "fieldnet0"

// Public is the test process's address on the public network: where the origin, tracker and STUN
// listen for the homes.
var Public = netip.MustParseAddr("198.19.0.1")

// Kind is a home router's NAT behaviour.
type Kind int

const (
	// Cone is a home router as most visitors have: Linux MASQUERADE keeps a socket's source port as its
	// public port when it is free, and uses one mapping for every destination (endpoint-independent
	// mapping), so the address STUN reports is the one peers can reach once both sides have sent.
	// Filtering is per remote address and port (conntrack; a "port-restricted cone"): a peer's packets
	// get in only after the home has sent to that peer's address and port — hole punching.
	Cone Kind = iota
	// Symmetric is a carrier-grade NAT (MASQUERADE --random-fully): every destination gets a new random
	// public port, so the address STUN reports is useless to a peer, and only TURN would connect.
	Symmetric
)

func (k Kind) String() string {
	if k == Symmetric {
		return "symmetric"
	}
	return "cone"
}

// Net is one test's field network. Make it with New; it is torn down at the test's cleanup.
type Net struct {
	t            testing.TB
	lock         *os.File
	mu           sync.Mutex
	homes        []*Home
	cmds         []*exec.Cmd
	addedDefault bool
}

// Home is a host behind its own NAT router.
type Home struct {
	Name   string
	Kind   Kind
	NS     string     // the host's network namespace (an `ip netns` name)
	Router string     // the router's network namespace
	Addr   netip.Addr // the host's private address, 198.18.(100+k).2
	WAN    netip.Addr // the router's public address, 198.19.0.(10+k): what the public network sees
	net    *Net
	k      int
}

// Available says why a field network cannot be made here, or "" when it can: it needs the test
// namespace (see internal/netns), a private mount namespace with a tmpfs on /run/netns (so `ip netns`
// touches nothing outside), and the ip and iptables commands.
func Available() string {
	if netns.Addr() == "" {
		return "not inside the test network namespace"
	}
	if !privateRunNetns() {
		return "/run/netns is not a private tmpfs of the test's own mount namespace (ip netns would change the machine's)"
	}
	for _, c := range []string{"ip", "iptables"} {
		if _, err := exec.LookPath(c); err != nil {
			return c + " is not installed (scripts/deps.sh installs it)"
		}
	}
	return ""
}

// New makes the public side of a field network (the bridge and, if the namespace has none, a default
// route through it) and registers its teardown with t.Cleanup. It skips t where Available says no —
// except that in CI (CI set) missing tools fail the test. It waits for any other test binary's field
// network to be torn down first.
func New(t testing.TB) *Net {
	t.Helper()
	if why := Available(); why != "" {
		if os.Getenv("CI") != "" && strings.Contains(why, "not installed") {
			t.Fatalf("fieldnet: %s", why)
		}
		t.Skipf("fieldnet: %s; run ./test.sh, or: %s", why, Command)
	}
	n := &Net{t: t}
	n.acquire()
	t.Cleanup(n.teardown)
	n.must("ip", "link", "add", Bridge, "type", "bridge")
	n.must("sysctl", "-qw", "net.ipv6.conf."+Bridge+".disable_ipv6=1") // IPv4 only (see Home)
	n.must("ip", "addr", "add", Public.String()+"/24", "dev", Bridge)
	n.must("ip", "link", "set", Bridge, "up")
	if out, _ := run("ip", "-4", "route", "show", "default"); strings.TrimSpace(out) == "" {
		// every host has a default route; the public network's is its bridge (there is nothing beyond)
		n.must("ip", "route", "add", "default", "dev", Bridge)
		n.addedDefault = true
	}
	return n
}

// acquire takes the machine-wide (test-namespace-wide) field network lock, waiting up to 20 minutes.
func (n *Net) acquire() {
	f, err := os.OpenFile("/run/netns/fieldnet.lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		n.t.Fatalf("fieldnet: %v", err)
	}
	start := time.Now()
	for logged := false; ; {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			break
		}
		if err != unix.EWOULDBLOCK || time.Since(start) > 20*time.Minute {
			f.Close()
			n.t.Fatalf("fieldnet: another test's field network holds the lock: %v", err)
		}
		if !logged {
			n.t.Logf("fieldnet: waiting for another test binary's field network to be torn down")
			logged = true
		}
		time.Sleep(100 * time.Millisecond)
	}
	n.lock = f
}

var names = regexp.MustCompile(`^[a-z][a-z0-9]{0,11}$`)

// Home adds a home named name (lower-case letters and digits, at most 12) whose router has the given
// NAT kind. The k-th home (from 1) gets WAN 198.19.0.(10+k) and LAN 198.18.(100+k).0/24.
func (n *Net) Home(name string, kind Kind) *Home {
	n.t.Helper()
	if !names.MatchString(name) {
		n.t.Fatalf("fieldnet: home name %q: want [a-z][a-z0-9]{0,11}", name)
	}
	n.mu.Lock()
	for _, h := range n.homes {
		if h.Name == name {
			n.mu.Unlock()
			n.t.Fatalf("fieldnet: two homes named %q", name)
		}
	}
	k := len(n.homes) + 1
	h := &Home{Name: name, Kind: kind, NS: "fn-" + name, Router: "fn-" + name + "-r", net: n, k: k,
		Addr: netip.AddrFrom4([4]byte{198, 18, byte(100 + k), 2}),
		WAN:  netip.AddrFrom4([4]byte{198, 19, 0, byte(10 + k)})}
	n.homes = append(n.homes, h) // before anything is made: teardown removes what exists
	n.mu.Unlock()
	if k > 100 {
		n.t.Fatalf("fieldnet: more than 100 homes")
	}
	lan := netip.AddrFrom4([4]byte{198, 18, byte(100 + k), 1})
	wanLink, lanLink := fmt.Sprintf("fnw%d", k), fmt.Sprintf("fnl%d", k)
	r, ho := h.Router, h.NS
	steps := [][]string{
		{"ip", "netns", "add", r},
		{"ip", "netns", "add", ho},
		// IPv4 only: no IPv6 link-local address ever appears (its late arrival, after duplicate address
		// detection, is a network change that makes Chromium fail a navigation in flight with
		// ERR_NETWORK_CHANGED), and no address outside 198.18.0.0/15
		{"ip", "netns", "exec", r, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"},
		{"ip", "netns", "exec", ho, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"},
		{"ip", "-n", r, "link", "set", "lo", "up"},
		{"ip", "-n", ho, "link", "set", "lo", "up"},
		// the router's WAN: a veth whose other end is a port of the public bridge
		{"ip", "link", "add", wanLink, "type", "veth", "peer", "name", "wan", "netns", r},
		{"sysctl", "-qw", "net.ipv6.conf." + wanLink + ".disable_ipv6=1"},
		{"ip", "link", "set", wanLink, "master", Bridge, "up"},
		{"ip", "-n", r, "addr", "add", h.WAN.String() + "/24", "dev", "wan"},
		{"ip", "-n", r, "link", "set", "wan", "up"},
		{"ip", "-n", r, "route", "add", "default", "via", Public.String()},
		// the home's LAN: router end "lan", host end "eth0"
		{"ip", "-n", r, "link", "add", "lan", "type", "veth", "peer", "name", lanLink, "netns", ho},
		{"ip", "-n", ho, "link", "set", lanLink, "name", "eth0"},
		{"ip", "-n", r, "addr", "add", lan.String() + "/24", "dev", "lan"},
		{"ip", "-n", r, "link", "set", "lan", "up"},
		{"ip", "-n", ho, "addr", "add", h.Addr.String() + "/24", "dev", "eth0"},
		{"ip", "-n", ho, "link", "set", "eth0", "up"},
		{"ip", "-n", ho, "route", "add", "default", "via", lan.String()},
		{"ip", "netns", "exec", r, "sysctl", "-qw", "net.ipv4.ip_forward=1"},
	}
	masq := []string{"ip", "netns", "exec", r, "iptables", "-t", "nat", "-A", "POSTROUTING", "-o", "wan", "-j", "MASQUERADE"}
	if kind == Symmetric {
		masq = append(masq, "--random-fully")
	}
	steps = append(steps, masq)
	for _, chain := range []string{"INPUT", "FORWARD"} {
		steps = append(steps, []string{"ip", "netns", "exec", r, "iptables", "-A", chain, "-i", "wan",
			"-m", "conntrack", "--ctstate", "NEW", "-j", "DROP"})
	}
	for _, s := range steps {
		n.must(s...)
	}
	return h
}

// Command returns a command that runs name inside the home's host namespace (`ip netns exec`; the PID
// is the program's own, as ip execs it). If it is still running at the network's teardown, it is
// killed then; callers should Wait for it themselves before that.
func (h *Home) Command(name string, arg ...string) *exec.Cmd {
	cmd := exec.Command("ip", append([]string{"netns", "exec", h.NS, name}, arg...)...)
	// if the test binary dies, so does what it started in the home
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	h.net.mu.Lock()
	h.net.cmds = append(h.net.cmds, cmd)
	h.net.mu.Unlock()
	return cmd
}

// Dropped returns how many packets the router has dropped as unsolicited (new connections coming in
// on its WAN, for itself or for the host): the proof that something from outside was refused.
func (h *Home) Dropped() (int, error) {
	total := 0
	for _, chain := range []string{"INPUT", "FORWARD"} {
		out, err := run("ip", "netns", "exec", h.Router, "iptables", "-L", chain, "-v", "-x", "-n")
		if err != nil {
			return 0, err
		}
		for _, line := range strings.Split(out, "\n") {
			f := strings.Fields(line)
			if len(f) > 3 && f[2] == "DROP" {
				var p int
				fmt.Sscan(f[0], &p)
				total += p
			}
		}
	}
	return total, nil
}

func (n *Net) teardown() {
	n.mu.Lock()
	cmds, homes := n.cmds, n.homes
	n.mu.Unlock()
	for _, c := range cmds { // what the test started in a home and left running
		if c.Process != nil && c.ProcessState == nil && c.Process.Signal(syscall.Signal(0)) == nil {
			n.t.Logf("fieldnet: killing %s (pid %d), still running at teardown", filepath.Base(c.Args[4]), c.Process.Pid)
			c.Process.Kill()
		}
	}
	for i := len(homes) - 1; i >= 0; i-- {
		for _, ns := range []string{homes[i].NS, homes[i].Router} {
			if _, err := os.Stat("/run/netns/" + ns); err != nil {
				continue
			}
			// what still runs there descends from a command above (a browser's helpers, say): only this
			// test uses these namespaces, so everything in them is ours
			killIn(ns)
			if out, err := run("ip", "netns", "del", ns); err != nil {
				n.t.Errorf("fieldnet: ip netns del %s: %v %s", ns, err, out)
			}
		}
	}
	if n.addedDefault {
		run("ip", "route", "del", "default", "dev", Bridge)
	}
	if out, err := run("ip", "link", "del", Bridge); err != nil && !strings.Contains(out, "Cannot find") {
		n.t.Errorf("fieldnet: ip link del %s: %v %s", Bridge, err, out)
	}
	for k := range homes { // normally gone with their namespaces' peers
		run("ip", "link", "del", fmt.Sprintf("fnw%d", k+1))
	}
	if n.lock != nil {
		n.lock.Close() // releases the flock
	}
}

// killIn kills every process in namespace ns by PID and waits (up to 5 s) until none is left.
func killIn(ns string) {
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		out, _ := run("ip", "netns", "pids", ns)
		pids := strings.Fields(out)
		if len(pids) == 0 {
			return
		}
		for _, p := range pids {
			var pid int
			if _, err := fmt.Sscan(p, &pid); err == nil && pid > 1 && pid != os.Getpid() {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	}
}

// privateRunNetns says whether /run/netns is the tmpfs that scripts/netns.sh mounts in its private
// mount namespace (source "planktos-netns"). `ip netns add` later makes it shared, but only within
// that namespace: it was created there, so it has no peer outside.
func privateRunNetns() bool {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(b), "\n") {
		pre, post, ok := strings.Cut(line, " - ")
		f, g := strings.Fields(pre), strings.Fields(post)
		if ok && len(f) >= 5 && f[4] == "/run/netns" && len(g) >= 2 && g[0] == "tmpfs" && g[1] == "planktos-netns" {
			return true
		}
	}
	return false
}

func (n *Net) must(args ...string) {
	n.t.Helper()
	if out, err := run(args...); err != nil {
		n.t.Fatalf("fieldnet: %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func run(args ...string) (string, error) {
	var b bytes.Buffer
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdout, cmd.Stderr = &b, &b
	err := cmd.Run()
	return b.String(), err
}
