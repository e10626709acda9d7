package main_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/planktos/planktos/manifest"
	"github.com/planktos/planktos/signing"
	"github.com/spf13/afero"
)

// readKey loads a key file keygen wrote.
func readKey(t *testing.T, file string) *signing.Key {
	t.Helper()
	k, err := signing.Load(afero.NewOsFs(), file)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// verifySigned checks that the package in dir is signed by k.
func verifySigned(t *testing.T, dir string, k *signing.Key) *manifest.Manifest {
	t.Helper()
	b, _ := os.ReadFile(filepath.Join(dir, filepath.FromSlash(manifest.Path)))
	sig, _ := os.ReadFile(filepath.Join(dir, filepath.FromSlash(manifest.SigPath)))
	if err := manifest.Verify(k.Public(), b, sig); err != nil {
		t.Fatalf("the package is not signed by %s: %v", k.ID(), err)
	}
	m, err := manifest.Parse(b)
	if err != nil || m.Key != k.ID() || m.Sequence <= 0 {
		t.Fatalf("manifest %v: key %q sequence %d", err, m.Key, m.Sequence)
	}
	return m
}

// TestKeygen makes a key beside planktos.toml, refuses to overwrite it or to write one into the publish
// folder, then packages the site signed with it from another folder (signing_key is relative to
// planktos.toml) and verifies the package.
func TestKeygen(t *testing.T) {
	dir := hugoSite(t, nil)
	code, out, errs := run(t, dir, "keygen")
	if code != 0 {
		t.Fatalf("keygen: exit %d\n%s%s", code, out, errs)
	}
	file := filepath.Join(dir, "planktos.key")
	k := readKey(t, file)
	for _, want := range []string{"Public key: " + k.ID(), `signing_key = "planktos.key"`, "PLANKTOS_SIGNING_KEY"} {
		if !strings.Contains(out, want) {
			t.Errorf("keygen's output lacks %q:\n%s", want, out)
		}
	}
	if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, %v; want 0600", fi.Mode(), err)
	}

	before, _ := os.ReadFile(file)
	if code, _, errs := run(t, dir, "keygen"); code != 2 || !strings.Contains(errs, "already exists") ||
		!strings.Contains(errs, "--force") {
		t.Errorf("keygen over a key: exit %d, %q", code, errs)
	}
	if after, _ := os.ReadFile(file); !bytes.Equal(after, before) {
		t.Error("keygen overwrote the key")
	}
	if code, _, errs := run(t, dir, "keygen", "public/site.key"); code != 2 || !strings.Contains(errs, "inside the publish folder") {
		t.Errorf("keygen into public/: exit %d, %q", code, errs)
	}
	if _, err := os.Stat(filepath.Join(dir, "public/site.key")); err == nil {
		t.Error("keygen wrote a key into the publish folder")
	}
	if code, _, errs := run(t, dir, "keygen", "--force"); code != 0 || readKey(t, file).ID() == k.ID() {
		t.Errorf("keygen --force: exit %d, %q, the key is the same", code, errs)
	}
	k = readKey(t, file)

	os.WriteFile(filepath.Join(dir, "planktos.toml"), []byte(`signing_key = "planktos.key"`+"\n"), 0o644)
	code, out, errs = run(t, t.TempDir(), "hugo", "-s", dir)
	if code != 0 || !strings.Contains(out, "Signed with key "+signing.Short(k.ID())) {
		t.Fatalf("signed hugo: exit %d\n%s%s", code, out, errs)
	}
	m := verifySigned(t, filepath.Join(dir, "public"), k)
	var res struct {
		Packages []struct {
			Key      string `json:"key"`
			Sequence int64  `json:"sequence"`
		} `json:"packages"`
	}
	_, out, _ = run(t, dir, "hugo", "--json")
	if json.Unmarshal([]byte(out), &res) != nil || len(res.Packages) != 1 || res.Packages[0].Key != k.ID() ||
		res.Packages[0].Sequence != m.Sequence {
		t.Errorf("hugo --json does not give the key and the sequence %d: %s", m.Sequence, out)
	}
	// (run's tracker is down: only the signature check matters here)
	if _, out, errs := run(t, dir, "verify", "public"); !strings.Contains(out, "✓ signature: ") ||
		!strings.Contains(out, "signed by key "+k.ID()) {
		t.Errorf("verify:\n%s%s", out, errs)
	}
}

// TestSigningKeyFromEnv signs with a key openssl made, passed as PEM text in PLANKTOS_SIGNING_KEY (a CI
// secret), and refuses bad keys with their fix while the previous package stays.
func TestSigningKeyFromEnv(t *testing.T) {
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("openssl is missing (install it: apt-get install openssl)")
		}
		t.Skip("openssl not installed")
	}
	pemText, err := exec.Command(openssl, "genpkey", "-algorithm", "ed25519").Output()
	if err != nil {
		t.Fatalf("openssl genpkey: %v", err)
	}
	k, err := signing.Load(afero.NewOsFs(), string(pemText))
	if err != nil {
		t.Fatal(err)
	}
	dir := hugoSite(t, nil)
	if code, out, errs := runEnv(t, dir, []string{"PLANKTOS_SIGNING_KEY=" + string(pemText)}, "hugo"); code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	verifySigned(t, filepath.Join(dir, "public"), k)
	before, _ := os.ReadFile(filepath.Join(dir, filepath.FromSlash("public/"+manifest.Path)))

	os.WriteFile(filepath.Join(dir, "public/k.pem"), pemText, 0o600)
	for env, want := range map[string]string{
		"PLANKTOS_SIGNING_KEY=missing.key":  "`planktos keygen missing.key`",
		"PLANKTOS_SIGNING_KEY=public/k.pem": "is inside the publish folder",
		"PLANKTOS_SIGNING_KEY=hugo.toml":    "not PEM",
	} {
		code, _, errs := runEnv(t, dir, []string{env}, "hugo")
		if code != 1 || !strings.Contains(errs, want) {
			t.Errorf("%s: exit %d, %q; want exit 1 and %q", env, code, errs, want)
		}
	}
	if after, _ := os.ReadFile(filepath.Join(dir, filepath.FromSlash("public/"+manifest.Path))); !bytes.Equal(after, before) {
		t.Error("a refused run changed the manifest")
	}
}
