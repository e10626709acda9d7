package verify_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	mathbig "math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	pion "github.com/pion/stun/v3"
	"github.com/planktos/planktos/config"
	"github.com/planktos/planktos/internal/wait"
	"github.com/planktos/planktos/stun"
	"github.com/planktos/planktos/verify"
)

// silentUDP is a UDP socket that reads and drops everything: a STUN server that is down behind a
// firewall that drops packets.
func silentUDP(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 2048)
		for {
			if _, _, err := pc.ReadFrom(buf); err != nil {
				return
			}
		}
	}()
	return pc.LocalAddr().String()
}

func stunURLs(urls ...string) []config.ICEServer { return []config.ICEServer{{URLs: urls}} }

// iceCheck packages a site with ice and returns the ICE check of the folder.
func iceCheck(t *testing.T, o options, roots *x509.CertPool) verify.Check {
	t.Helper()
	s := newSite(t, o, false)
	rep, err := verify.Run(context.Background(), s.dir, verify.Options{Client: s.client, ICETimeout: time.Second,
		ICERoots: roots})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Checks) != 12 || rep.Checks[11].Name != verify.CheckICE || rep.Checks[11].Step != verify.StepICE {
		t.Fatalf("checks %+v", rep.Checks)
	}
	return rep.Checks[11]
}

// TestICESTUN: a STUN server that answers passes, with the address it mapped; one that never answers
// fails after the timeout, naming it and the fix; both together warn; a package with trackers and no
// ICE server fails "no STUN server" with the tracker's host in the fix; broken URLs fail.
func TestICESTUN(t *testing.T) {
	silent := "stun:" + silentUDP(t)
	c := iceCheck(t, options{}, nil) // newSite's default: a planktos STUN server
	if c.Status != verify.Pass || !strings.Contains(c.Message, "1 ICE server answered: stun:127.0.0.1:") ||
		!strings.Contains(c.Message, "mapped address 127.0.0.1:") {
		t.Errorf("answering STUN server: %+v", c)
	}

	start := time.Now()
	c = iceCheck(t, options{ice: stunURLs(silent)}, nil)
	if c.Status != verify.Fail || !strings.Contains(c.Message, "no ICE server answered: "+silent+": no answer within 1s") ||
		!strings.Contains(c.Fix, "planktos tracker --stun :3478") {
		t.Errorf("silent STUN server: %+v", c)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("took %s", took)
	}

	c = iceCheck(t, options{ice: []config.ICEServer{stunURLs(silent)[0], iceCheckServer(t)}}, nil)
	if c.Status != verify.Warn || !strings.Contains(c.Message, "1 of 2 ICE servers did not answer: "+silent) ||
		!strings.Contains(c.Message, "answered: stun:127.0.0.1:") || c.Fix == "" {
		t.Errorf("one of two: %+v", c)
	}

	c = iceCheck(t, options{noICE: true}, nil)
	if c.Status != verify.Fail || !strings.HasPrefix(c.Message, "no STUN server:") ||
		!strings.Contains(c.Fix, `ice_servers = [{ urls = ["stun:localhost:3478"] }]`) {
		t.Errorf("no ice_servers: %+v", c)
	}

	for _, bad := range []config.ICEServer{{URLs: []string{"stun.example.org:3478"}}, {URLs: []string{"turn:127.0.0.1:9"}}} {
		c = iceCheck(t, options{ice: []config.ICEServer{iceCheckServer(t), bad}}, nil)
		if c.Status != verify.Fail || !strings.Contains(c.Message, "browsers refuse the whole ice_servers list") {
			t.Errorf("%v: %+v", bad, c)
		}
	}
}

// iceCheckServer is an ICE server entry for a planktos STUN server that lives until the test ends.
func iceCheckServer(t *testing.T) config.ICEServer {
	t.Helper()
	s, err := stun.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return config.ICEServer{URLs: []string{"stun:" + s.Addr().String()}}
}

// coturn is a real TURN server (Debian's coturn) on loopback, with a TLS listener, user u:p, until the
// test ends.
type coturn struct {
	port, tlsPort int
	pool          *x509.CertPool
}

func startCoturn(t *testing.T) *coturn {
	t.Helper()
	bin, err := exec.LookPath("turnserver")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("turnserver (Debian coturn) is not installed; CI needs it: apt-get install coturn")
		}
		t.Skip("turnserver (Debian coturn) is not installed: apt-get install coturn")
	}
	dir := t.TempDir()
	certFile, keyFile, pool := selfSigned(t, dir)
	for attempt := 0; ; attempt++ {
		c := &coturn{port: freePort(t), tlsPort: freePort(t), pool: pool}
		var out bytes.Buffer
		cmd := exec.Command(bin, "-n", "--no-cli", "--listening-ip", "127.0.0.1",
			"--listening-port", strconv.Itoa(c.port), "--tls-listening-port", strconv.Itoa(c.tlsPort),
			"--relay-ip", "127.0.0.1", "--lt-cred-mech", "--user", "u:p", "--realm", "planktos.test", "--no-dtls",
			"--cert", certFile, "--pkey", keyFile, "--log-file", "stdout", "--pidfile", filepath.Join(dir, "pid"))
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }()
		stop := func() { cmd.Process.Kill(); <-exited }
		if ready(c, exited) {
			t.Cleanup(stop)
			return c
		}
		stop()
		if attempt == 2 {
			t.Fatalf("turnserver did not start:\n%s", out.String())
		}
	}
}

// ready waits until coturn answers a Binding request on UDP and accepts TCP on its TLS port, and
// reports false if it exits or does not within 10 s.
func ready(c *coturn, exited <-chan struct{}) bool {
	gone := false
	up := wait.Until(10*time.Second, func() bool {
		select {
		case <-exited:
			gone = true
			return true
		default:
		}
		return answers(c)
	})
	return up && !gone
}

// answers reports whether coturn answers a Binding request and accepts a TCP connection now.
func answers(c *coturn) bool {
	conn, err := net.Dial("udp", fmt.Sprintf("127.0.0.1:%d", c.port))
	if err != nil {
		return false
	}
	req := pion.MustBuild(pion.TransactionID, pion.BindingRequest)
	conn.Write(req.Raw)
	conn.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	_, err = conn.Read(make([]byte, 1500))
	conn.Close()
	if err != nil {
		return false
	}
	tc, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", c.tlsPort))
	if err != nil {
		return false
	}
	tc.Close()
	return true
}

// freePort returns a port free on loopback for both TCP and UDP at the time of the call.
func freePort(t *testing.T) int {
	t.Helper()
	for {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		pc, err := net.ListenPacket("udp", ln.Addr().String())
		ln.Close()
		if err == nil {
			pc.Close()
			return port
		}
	}
}

// selfSigned writes a certificate for 127.0.0.1 and its key, and returns a pool trusting it.
func selfSigned(t *testing.T, dir string) (string, string, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: mathbig.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(24 * time.Hour), KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	leaf, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return certFile, keyFile, pool
}

// TestICETURN checks a real TURN server (coturn) over UDP, TCP and TLS: without credentials it answers
// 401, with the manifest's it allocates; wrong credentials fail, naming the server; stun: and stuns: URLs
// of the same server answer Binding requests.
func TestICETURN(t *testing.T) {
	ct := startCoturn(t)
	host := "127.0.0.1:" + strconv.Itoa(ct.port)
	tlsHost := "127.0.0.1:" + strconv.Itoa(ct.tlsPort)
	urls := []string{"turn:" + host, "turn:" + host + "?transport=tcp", "turns:" + tlsHost + "?transport=tcp"}
	ice := []config.ICEServer{{URLs: []string{"stun:" + host, "stuns:" + tlsHost}},
		{URLs: urls, Username: "u", Credential: "p"}}
	c := iceCheck(t, options{ice: ice}, ct.pool)
	if c.Status != verify.Pass || !strings.HasPrefix(c.Message, "5 ICE servers answered") {
		t.Errorf("coturn: %+v", c)
	}
	for _, u := range urls {
		if !strings.Contains(c.Message, u+` (401 asks for credentials, realm "planktos.test"; the manifest's `+
			"username and credential get an allocation)") {
			t.Errorf("%s: not in %q", u, c.Message)
		}
	}

	ice[1].Credential = "wrong"
	c = iceCheck(t, options{ice: ice[1:]}, ct.pool)
	if c.Status != verify.Fail || !strings.Contains(c.Message, "turn:"+host+` refuses the manifest's username "u" and credential (401)`) {
		t.Errorf("wrong credential: %+v", c)
	}

	// without the test's certificate authority, the TLS URLs fail and the others answer
	ice[1].Credential = "p"
	c = iceCheck(t, options{ice: ice}, nil)
	if c.Status != verify.Warn || !strings.Contains(c.Message, "2 of 5 ICE servers did not answer") ||
		!strings.Contains(c.Message, "certificate") {
		t.Errorf("TLS without the CA: %+v", c)
	}
}
