package main_test

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	pion "github.com/pion/stun/v3"
)

// testCert is a self-signed certificate made for the test, its PEM files and a pool that trusts it.
type testCert struct {
	certFile, keyFile string
	pool              *x509.CertPool
	key               *ecdsa.PrivateKey
	der               []byte
}

// newCert makes a self-signed certificate for names (IP addresses or DNS names), valid for a year.
func newCert(t *testing.T, names ...string) *testCert {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: names[0]},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(365 * 24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	dir := t.TempDir()
	c := &testCert{certFile: filepath.Join(dir, "cert.pem"), keyFile: filepath.Join(dir, "key.pem"), pool: pool,
		key: key, der: der}
	kb, _ := x509.MarshalECPrivateKey(key)
	os.WriteFile(c.certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	os.WriteFile(c.keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	return c
}

// client trusts only the test's certificate; dial, if set, replaces the address dialed.
func (c *testCert) client(dial string) *http.Client {
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: c.pool}}
	if dial != "" {
		var d net.Dialer
		tr.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) { return d.DialContext(ctx, "tcp", dial) }
	}
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// startCmd runs planktos with args in dir until the test ends and returns the first lines of its stderr
// up to the one matching until.
func startCmd(t *testing.T, dir string, until *regexp.Regexp, args ...string) []string {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	var lines []string
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if until.MatchString(sc.Text()) {
			go func() {
				for sc.Scan() {
				}
			}()
			return lines
		}
	}
	t.Fatalf("%v exited: %q", args, lines)
	return nil
}

// find returns the first submatch of re in lines.
func find(t *testing.T, lines []string, re string) string {
	t.Helper()
	m := regexp.MustCompile(re).FindStringSubmatch(strings.Join(lines, "\n"))
	if m == nil {
		t.Fatalf("no %s in %q", re, lines)
	}
	return m[1]
}

// announce opens a WebSocket to url with client and expects the tracker's reply to an announce.
func announce(t *testing.T, client *http.Client, url string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPClient: client})
	if err != nil {
		t.Fatalf("WebSocket handshake with %s: %v", url, err)
	}
	defer ws.CloseNow()
	id := strings.Repeat("a", 20)
	msg, _ := json.Marshal(map[string]any{"action": "announce", "info_hash": id, "peer_id": id, "left": 0})
	ws.Write(ctx, websocket.MessageText, msg)
	if _, reply, err := ws.Read(ctx); err != nil || !strings.Contains(string(reply), `"complete":1`) {
		t.Fatalf("reply %s, %v", reply, err)
	}
}

// binding sends a STUN Binding request to addr and returns the mapped address it answers.
func binding(t *testing.T, addr string) string {
	t.Helper()
	c, err := pion.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var mapped string
	err = c.Do(pion.MustBuild(pion.TransactionID, pion.BindingRequest), func(e pion.Event) {
		var xor pion.XORMappedAddress
		if e.Error == nil && xor.GetFrom(e.Message) == nil {
			mapped = xor.String()
		}
	})
	if err != nil || mapped == "" {
		t.Fatalf("STUN Binding to %s: %v, mapped %q", addr, err, mapped)
	}
	return mapped
}

// TestServeTLS serves a packaged site over TLS with a certificate made for 127.0.0.1: pages come over
// HTTPS, the served manifest points at the server's own wss:// tracker and STUN server, the tracker
// answers over wss://, and the STUN server answers Binding requests on the same port number over UDP.
func TestServeTLS(t *testing.T) {
	dir := hugoSite(t, nil)
	if code, _, errs := run(t, dir, "hugo"); code != 0 {
		t.Fatal(errs)
	}
	c := newCert(t, "127.0.0.1")
	lines := startCmd(t, dir, regexp.MustCompile(`^STUN at`), "serve", "--addr", "127.0.0.1:0", "--quiet",
		"--tls-cert", c.certFile, "--tls-key", c.keyFile, "public")
	addr := find(t, lines, `at https://(\S+)/blog/`)
	if ws := find(t, lines, `Tracker at (\S+)`); ws != "wss://"+addr+"/announce" {
		t.Errorf("tracker line says %s", ws)
	}
	stunAddr := find(t, lines, `STUN at stun:(\S+) \(UDP\)`)
	if _, port, _ := net.SplitHostPort(addr); !strings.HasSuffix(stunAddr, ":"+port) {
		t.Errorf("STUN at %s, not on the HTTP port of %s", stunAddr, addr)
	}
	client := c.client("")
	resp, err := client.Get("https://" + addr + "/blog/planktos/manifest.json")
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Trackers []string
		Runtime  struct {
			ICEServers []struct {
				URLs []string `json:"urls"`
			} `json:"iceServers"`
		}
	}
	json.NewDecoder(resp.Body).Decode(&m)
	resp.Body.Close()
	if len(m.Trackers) != 1 || m.Trackers[0] != "wss://"+addr+"/announce" {
		t.Errorf("served trackers %v, want this server's wss:// one", m.Trackers)
	}
	if len(m.Runtime.ICEServers) != 1 || strings.Join(m.Runtime.ICEServers[0].URLs, " ") != "stun:"+stunAddr {
		t.Errorf("served iceServers %+v, want stun:%s", m.Runtime.ICEServers, stunAddr)
	}
	announce(t, client, "wss://"+addr+"/announce")
	binding(t, stunAddr)
	if resp, err := http.Get("http://" + addr + "/blog/"); err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest { // net/http: "client sent an HTTP request to an HTTPS server"
			t.Errorf("plain HTTP on the TLS port: %s", resp.Status)
		}
	}
}

// TestTrackerTLSAndSTUN runs `planktos tracker` with TLS and --stun: wss:// announces, https:// stats,
// and STUN Binding answers with the client's own address.
func TestTrackerTLSAndSTUN(t *testing.T) {
	c := newCert(t, "127.0.0.1")
	lines := startCmd(t, t.TempDir(), regexp.MustCompile(`^STUN at`), "tracker", "--addr", "127.0.0.1:0",
		"--stun", "127.0.0.1:0", "--tls-cert", c.certFile, "--tls-key", c.keyFile)
	addr := find(t, lines, `Tracker at wss://(\S+)/announce, stats at https://`)
	client := c.client("")
	announce(t, client, "wss://"+addr+"/announce")
	resp, err := client.Get("https://" + addr + "/stats")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("/stats: %s", resp.Status)
	}
	if mapped := binding(t, find(t, lines, `STUN at stun:(\S+) \(UDP\)`)); !strings.HasPrefix(mapped, "127.0.0.1:") {
		t.Errorf("mapped address %s", mapped)
	}
	resp, err = client.Get("https://" + addr + "/stats/stun")
	if err != nil {
		t.Fatal(err)
	}
	var st struct{ Answered, Dropped int }
	json.NewDecoder(resp.Body).Decode(&st)
	resp.Body.Close()
	if st.Answered != 1 || st.Dropped != 0 {
		t.Errorf("/stats/stun: %+v, want 1 answered", st)
	}
}

// TestTrackerACMEWiring: with --tls-domain the tracker serves the certificate autocert keeps in
// --tls-cache for that name (put there by the test, so no ACME server is needed), and refuses a
// handshake for any other name (the host policy allows only the names given).
func TestTrackerACMEWiring(t *testing.T) {
	c := newCert(t, "tracker.example.org")
	cache := t.TempDir()
	kb, _ := x509.MarshalECPrivateKey(c.key)
	entry := append(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.der})...)
	if err := os.WriteFile(filepath.Join(cache, "tracker.example.org"), entry, 0o600); err != nil {
		t.Fatal(err)
	}
	lines := startCmd(t, t.TempDir(), regexp.MustCompile(`^Tracker at`), "tracker", "--addr", "127.0.0.1:0",
		"--tls-domain", "tracker.example.org,www.example.org", "--tls-cache", cache)
	addr := find(t, lines, `Tracker at wss://(\S+)/announce`)
	announce(t, c.client(addr), "wss://tracker.example.org/announce")

	conf := &tls.Config{RootCAs: c.pool, ServerName: "other.example.org", InsecureSkipVerify: true}
	if conn, err := tls.Dial("tcp", addr, conf); err == nil {
		conn.Close()
		t.Error("a handshake for a name not given to --tls-domain succeeded")
	}
}

// TestTLSFlagErrors: each mistake exits 2 with a message naming the flag to fix.
func TestTLSFlagErrors(t *testing.T) {
	c, other := newCert(t, "127.0.0.1"), newCert(t, "127.0.0.1")
	missing := filepath.Join(t.TempDir(), "missing.pem")
	notPEM := filepath.Join(t.TempDir(), "cert.txt")
	os.WriteFile(notPEM, []byte("not a certificate"), 0o644)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--tls-cert", c.certFile}, "--tls-cert needs --tls-key"},
		{[]string{"--tls-key", c.keyFile}, "--tls-key needs --tls-cert"},
		{[]string{"--tls-cert", missing, "--tls-key", c.keyFile}, "--tls-cert: open " + missing},
		{[]string{"--tls-cert", c.certFile, "--tls-key", missing}, "--tls-key: open " + missing},
		{[]string{"--tls-cert", c.certFile, "--tls-key", other.keyFile}, "is not the private key of --tls-cert"},
		{[]string{"--tls-cert", notPEM, "--tls-key", c.keyFile}, "holds no PEM certificate"},
		{[]string{"--tls-cert", c.certFile, "--tls-key", c.keyFile, "--tls-domain", "x.example.org"}, "not both"},
		{[]string{"--tls-domain", "https://x.example.org/"}, "is not a domain name"},
		{[]string{"--tls-domain", "127.0.0.1"}, "is not a domain name"},
	}
	for _, cmd := range []string{"tracker", "serve"} {
		for _, tc := range cases {
			args := append([]string{cmd, "--addr", "127.0.0.1:0"}, tc.args...)
			if cmd == "serve" {
				args = append(args, t.TempDir())
			}
			code, _, errs := run(t, t.TempDir(), args...)
			if code != 2 || !strings.Contains(errs, tc.want) {
				t.Errorf("%v: exit %d, stderr %q; want exit 2 and %q", args, code, errs, tc.want)
			}
		}
	}
}

// TestServeSTUNOff: --stun off runs no STUN server and serves the package's own (empty) iceServers.
func TestServeSTUNOff(t *testing.T) {
	dir := hugoSite(t, nil)
	if code, _, errs := run(t, dir, "hugo"); code != 0 {
		t.Fatal(errs)
	}
	lines := startCmd(t, dir, regexp.MustCompile(`^Tracker at`), "serve", "--addr", "127.0.0.1:0", "--stun", "off", "public")
	addr := find(t, lines, `Tracker at ws://(\S+)/announce`)
	resp, err := http.Get("http://" + addr + "/blog/planktos/manifest.json")
	if err != nil {
		t.Fatal(err)
	}
	var m struct{ Runtime struct{ ICEServers []any } }
	json.NewDecoder(resp.Body).Decode(&m)
	resp.Body.Close()
	if len(m.Runtime.ICEServers) != 0 {
		t.Errorf("iceServers %v with --stun off", m.Runtime.ICEServers)
	}
}
