package signing_test

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/planktos/planktos/manifest"
	"github.com/planktos/planktos/signing"
	"github.com/spf13/afero"
)

// TestCreateAndLoad: Create writes a 0600 key that Load reads back from the file and as PEM text, and
// refuses to overwrite a key unless forced.
func TestCreateAndLoad(t *testing.T) {
	file := filepath.Join(t.TempDir(), "planktos.key")
	k, err := signing.Create(file, false)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, %v; want 0600", fi.Mode(), err)
	}
	for _, spec := range []string{file, string(k.Raw)} {
		got, err := signing.Load(afero.NewOsFs(), spec)
		if err != nil || !got.Private.Equal(k.Private) || got.ID() != manifest.EncodeKey(k.Public()) {
			t.Errorf("Load(%.20q): %v", spec, err)
		}
	}
	if _, err := signing.Create(file, false); !errors.Is(err, signing.ErrExists) || !strings.Contains(err.Error(), "--force") {
		t.Errorf("Create over a key: %v", err)
	}
	os.Chmod(file, 0o644)
	k2, err := signing.Create(file, true)
	if err != nil || k2.Private.Equal(k.Private) {
		t.Fatalf("Create --force: %v (same key: %v)", err, k2 != nil && k2.Private.Equal(k.Private))
	}
	if fi, _ := os.Stat(file); fi.Mode().Perm() != 0o600 {
		t.Errorf("forced key file mode %v, want 0600", fi.Mode())
	}
}

// TestParseRefuses names what is wrong with a key that is not a PEM PKCS#8 Ed25519 private key.
func TestParseRefuses(t *testing.T) {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	good, _ := signing.Marshal(priv)
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecDER, _ := x509.MarshalPKCS8PrivateKey(ec)
	for in, want := range map[string]string{
		"":   "not PEM",
		"hi": "not PEM",
		strings.Replace(string(good), "PRIVATE KEY", "PUBLIC KEY", 2):             `"PUBLIC KEY" block`,
		"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n":          "not a PKCS#8 private key",
		string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: ecDER})): "an ECDSA key",
	} {
		if _, err := signing.Parse([]byte(in)); err == nil || !strings.Contains(err.Error(), want) ||
			!strings.Contains(err.Error(), "openssl genpkey -algorithm ed25519") {
			t.Errorf("Parse(%.30q): %v, want %q and the fix", in, err, want)
		}
	}
}
