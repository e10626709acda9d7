package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"golang.org/x/crypto/acme"
)

// writePair writes a fresh self-signed certificate for name and its key to cert and key.
func writePair(t *testing.T, cert, key, name string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		DNSNames: []string{name}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(k)
	os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	os.WriteFile(key, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
}

// TestCertFilesReload: a renewed certificate (new files) is served from the next check on; a renewal
// that does not load leaves the one in use.
func TestCertFilesReload(t *testing.T) {
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writePair(t, cert, key, "one.example.org")
	f := &tlsFlags{cert: cert, key: key}
	cfg, err := f.config()
	if err != nil {
		t.Fatal(err)
	}
	name := func() string {
		c, err := cfg.GetCertificate(nil)
		if err != nil {
			t.Fatal(err)
		}
		return c.Leaf.Subject.CommonName
	}
	if got := name(); got != "one.example.org" {
		t.Fatalf("serves %s", got)
	}
	writePair(t, cert, key, "two.example.org")
	later := time.Now().Add(time.Second)
	os.Chtimes(cert, later, later) // the same second may not change the stamp on coarse filesystems
	if got := name(); got != "one.example.org" {
		t.Errorf("reloaded before the next check: %s", got)
	}
	backdate := func() {
		files := f.files
		files.mu.Lock()
		files.checked = time.Now().Add(-time.Minute)
		files.mu.Unlock()
	}
	backdate()
	if got := name(); got != "two.example.org" {
		t.Errorf("after renewal serves %s", got)
	}
	os.WriteFile(key, []byte("garbage"), 0o600)
	os.Chtimes(key, later.Add(time.Second), later.Add(time.Second))
	backdate()
	if got := name(); got != "two.example.org" {
		t.Errorf("after a broken renewal serves %s", got)
	}
}

// TestACMEConfig: --tls-domain's configuration answers TLS-ALPN-01 challenges (acme-tls/1 among the
// protocols), gets its certificates from autocert, and asks only for the names given.
func TestACMEConfig(t *testing.T) {
	f := &tlsFlags{domains: []string{"Tracker.Example.org", " www.example.org."}, cache: filepath.Join(t.TempDir(), "acme")}
	cfg, err := f.config()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.GetCertificate == nil || !slices.Contains(cfg.NextProtos, acme.ALPNProto) {
		t.Errorf("config %+v lacks autocert's GetCertificate or %s", cfg, acme.ALPNProto)
	}
	m, err := f.manager()
	if err != nil {
		t.Fatal(err)
	}
	for name, allowed := range map[string]bool{"tracker.example.org": true, "www.example.org": true,
		"example.org": false, "evil.example.net": false} {
		if err := m.HostPolicy(context.Background(), name); (err == nil) != allowed {
			t.Errorf("host policy for %s: %v", name, err)
		}
	}
	if fi, err := os.Stat(f.cache); err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o700 {
		t.Errorf("cache folder %s: %v %v", f.cache, fi, err)
	}
}
