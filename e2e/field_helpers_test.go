package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/planktos/planktos/internal/fieldnet"
	"github.com/planktos/planktos/stun"
)

// certs is the test CA and the origin's certificate it signed, made once per test binary.
type certs struct {
	caFile string          // the CA certificate, PEM
	leaf   tls.Certificate // for 198.19.0.1 (the field network's public address), 127.0.0.1 and localhost
	spki   string          // base64 SHA-256 of the leaf's SubjectPublicKeyInfo (Chromium's SPKI pin format)
}

var (
	caOnce sync.Once
	ca     *certs
	caErr  error
)

// testCA returns the test CA, making it on first use: an ECDSA P-256 root "planktos e2e test CA" and a
// leaf for the origin's addresses, valid for a day. Browsers trust it through the NSS database of
// their HOME (trustingHome), as a machine trusts a CA its administrator installed: no flag.
func testCA(t *testing.T) *certs {
	t.Helper()
	caOnce.Do(func() { ca, caErr = makeCA(filepath.Join(env.work, "ca")) })
	if caErr != nil {
		t.Fatalf("test CA: %v", caErr)
	}
	return ca
}

func makeCA(dir string) (*certs, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	now := time.Now()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "planktos e2e test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	caCert, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: fieldnet.Public.String()},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IPAddresses: []net.IP{net.IP(fieldnet.Public.AsSlice()), net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	leaf, _ := x509.ParseCertificate(der)
	c := &certs{caFile: filepath.Join(dir, "ca.pem"),
		leaf: tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}}
	sum := sha256.Sum256(leaf.RawSubjectPublicKeyInfo)
	c.spki = base64.StdEncoding.EncodeToString(sum[:])
	if err := os.WriteFile(c.caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o644); err != nil {
		return nil, err
	}
	return c, nil
}

// trustingHome makes a HOME directory whose NSS database (~/.pki/nssdb, where Chromium on Linux reads
// the machine user's own trust anchors) trusts the test CA for TLS servers (certutil, Debian
// libnss3-tools).
func trustingHome(t *testing.T) string {
	t.Helper()
	c := testCA(t)
	home := t.TempDir()
	db := filepath.Join(home, ".pki", "nssdb")
	if err := os.MkdirAll(db, 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := exec.LookPath("certutil"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("CI is set but certutil is missing (apt-get install -y libnss3-tools)")
		}
		t.Skip("certutil missing (apt-get install -y libnss3-tools): field test skipped")
	}
	for _, args := range [][]string{
		{"-N", "-d", "sql:" + db, "--empty-password"},
		{"-A", "-d", "sql:" + db, "-t", "C,,", "-n", "planktos-test", "-i", c.caFile},
	} {
		if out, err := exec.Command("certutil", args...).CombinedOutput(); err != nil {
			t.Fatalf("certutil %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	return home
}

// field is one field test's network (internal/fieldnet): the test process is the public network,
// where the HTTPS origin (https://198.19.0.1:PORT/, with its wss:// tracker) and STUN listen, and each
// visitor's Chromium runs in a home of its own behind a NAT router.
type field struct {
	t   *testing.T
	net *fieldnet.Net
}

// newField makes the network and makes https://198.19.0.1:PORT t's origin (setOrigin): packedSite,
// servePlanktos and browser.open then build for, serve at and open that origin.
func newField(t *testing.T) *field {
	t.Helper()
	needChromium(t)
	n := fieldnet.New(t)
	setOrigin(t, fmt.Sprintf("https://%s:%d", fieldnet.Public, env.port))
	return &field{t: t, net: n}
}

// startSTUN runs planktos's STUN server (package stun) on the public network until the test ends and
// returns its server's URL for ice_servers ("stun:198.19.0.1:PORT").
func (f *field) startSTUN() (*stun.Server, string) {
	f.t.Helper()
	s, err := stun.Listen(fieldnet.Public.String() + ":0")
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() { s.Close() })
	return s, "stun:" + s.Addr().String()
}

// visitor starts Chromium as shipped for visitor name (its User-Agent tagged with name) in a new home
// of the given NAT kind, trusting the test CA.
func (f *field) visitor(name string, kind fieldnet.Kind, extra ...chromedp.ExecAllocatorOption) (*browser, *fieldnet.Home) {
	f.t.Helper()
	h := f.net.Home(strings.ToLower(name), kind)
	return f.browserIn(h, name, "", extra...), h
}

// browserIn starts Chromium as shipped for visitor name in home h with profile ("" for a fresh one;
// a closed browser's profile for a returning visitor).
func (f *field) browserIn(h *fieldnet.Home, name, profile string, extra ...chromedp.ExecAllocatorOption) *browser {
	f.t.Helper()
	opts := append([]chromedp.ExecAllocatorOption{uaTag(name), inHome(f.t, h)}, extra...)
	return newBrowser(f.t, profile, opts...)
}

// inHome makes newBrowser start Chromium inside home h's host namespace (`ip netns exec`, through
// fieldnet's Home.Command; the PID stays Chromium's) with a HOME whose NSS database trusts the test CA.
// chromedp drives it over its DevTools pipe (file descriptors 3 and 4, which `ip netns exec` passes
// through), so nothing listens on a port and no forwarding between namespaces is needed; graceful
// close and kill-by-PID work as for any browser newBrowser starts.
func inHome(t *testing.T, h *fieldnet.Home) chromedp.ExecAllocatorOption {
	t.Helper()
	home := trustingHome(t)
	return func(a *chromedp.ExecAllocator) {
		chromedp.Env("HOME=" + home)(a)
		chromedp.ModifyCmdFunc(func(cmd *exec.Cmd) {
			w := h.Command(cmd.Path, cmd.Args[1:]...)
			cmd.Path, cmd.Args, cmd.SysProcAttr = w.Path, w.Args, w.SysProcAttr
		})(a)
	}
}

// startFlatSTUN runs planktos's STUN server on addr (the flat namespace's d0 address) until the test
// ends, and returns it with its URL for ice_servers.
func startFlatSTUN(t *testing.T, addr string) (*stun.Server, string) {
	t.Helper()
	s, err := stun.Listen(addr + ":0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, "stun:" + s.Addr().String()
}
