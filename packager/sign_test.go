package packager_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"path/filepath"
	"strings"
	"testing"

	"github.com/planktos/planktos/manifest"
	"github.com/planktos/planktos/packager"
	"github.com/planktos/planktos/signing"
	"github.com/spf13/afero"
)

const keyFile = "/site/planktos.key" // beside the publish folder, as `planktos keygen` puts it

// writeKey writes a new key to name in fsys and returns it.
func writeKey(t *testing.T, fsys afero.Fs, name string) ed25519.PrivateKey {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	b, err := signing.Marshal(priv)
	if err != nil {
		t.Fatal(err)
	}
	if err := afero.WriteFile(fsys, name, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return priv
}

// signedOptions are options that sign with the key file name.
func signedOptions(name string) packager.Options {
	opts := options("https://example.org/")
	opts.Config.SigningKey = name
	return opts
}

// readSigned reads the package's manifest and signature, checks the signature under pub, and returns them.
func readSigned(t *testing.T, fsys afero.Fs, pub ed25519.PublicKey) (*manifest.Manifest, []byte, []byte) {
	t.Helper()
	b, err := afero.ReadFile(fsys, filepath.Join(root, manifest.Path))
	if err != nil {
		t.Fatal(err)
	}
	sig, err := afero.ReadFile(fsys, filepath.Join(root, manifest.SigPath))
	if err != nil {
		t.Fatalf("no signature: %v", err)
	}
	if err := manifest.Verify(pub, b, sig); err != nil {
		t.Fatalf("the signature does not verify: %v", err)
	}
	m, err := manifest.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if m.Key != manifest.EncodeKey(pub) {
		t.Fatalf("manifest key %q, want %q", m.Key, manifest.EncodeKey(pub))
	}
	return m, b, sig
}

// prelude returns the prelude of the package's planktos.sw.js.
func prelude(t *testing.T, fsys afero.Fs) (packager.Prelude, bool) {
	t.Helper()
	sw, err := afero.ReadFile(fsys, filepath.Join(root, manifest.SWPath))
	if err != nil {
		t.Fatal(err)
	}
	return packager.ParsePrelude(sw)
}

// TestPackSigned signs a package, changes the site and packages it again (the sequence grows), then packages
// the same site twice more (nothing changes, not a byte).
func TestPackSigned(t *testing.T) {
	fsys := afero.NewMemMapFs()
	writeSite(t, fsys, site)
	priv := writeKey(t, fsys, keyFile)
	pub := priv.Public().(ed25519.PublicKey)
	rec := &recorder{}
	opts := signedOptions(keyFile)
	opts.Events = rec
	pack(t, fsys, opts)
	m1, _, _ := readSigned(t, fsys, pub)
	if m1.Sequence <= 0 || m1.Disabled {
		t.Errorf("sequence %d, disabled %v", m1.Sequence, m1.Disabled)
	}
	if p, ok := prelude(t, fsys); !ok || p.Key != m1.Key || p.Workers == nil || len(p.Workers) != 0 {
		t.Errorf("prelude %+v (found %v), want the key and no workers", p, ok)
	}
	if all := strings.Join(rec.details, "\n"); !strings.Contains(all, "Signed with key "+signing.Short(m1.Key)) {
		t.Errorf("no line about the signature in %q", all)
	}

	writeSite(t, fsys, map[string]string{"posts/three/index.html": "<html><head></head><body>3</body></html>"})
	pack(t, fsys, opts)
	m2, b2, sig2 := readSigned(t, fsys, pub)
	if m2.Sequence <= m1.Sequence || m2.Revision == m1.Revision {
		t.Errorf("second package: sequence %d after %d, revision %s after %s", m2.Sequence, m1.Sequence,
			m2.Revision, m1.Revision)
	}

	for range 2 {
		pack(t, fsys, opts)
		_, b, sig := readSigned(t, fsys, pub)
		if !bytes.Equal(b, b2) || !bytes.Equal(sig, sig2) {
			t.Fatalf("packaging the same site again changed the manifest or its signature:\n%s\n%s", b2, b)
		}
	}
}

// TestPackSignedFromText signs with the key's PEM text, as PLANKTOS_SIGNING_KEY passes it from a CI secret.
func TestPackSignedFromText(t *testing.T) {
	fsys := afero.NewMemMapFs()
	writeSite(t, fsys, site)
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	text, _ := signing.Marshal(priv)
	pack(t, fsys, signedOptions(string(text)))
	readSigned(t, fsys, priv.Public().(ed25519.PublicKey))
}

// TestPackUnsignedAfterSigned drops the key: the package is unsigned as before signing existed, and the
// stale signature is gone.
func TestPackUnsignedAfterSigned(t *testing.T) {
	fsys := afero.NewMemMapFs()
	writeSite(t, fsys, site)
	writeKey(t, fsys, keyFile)
	pack(t, fsys, signedOptions(keyFile))
	res := pack(t, fsys, options("https://example.org/"))
	if m := res.Manifest; m.Key != "" || m.Sequence != 0 || m.Disabled {
		t.Errorf("unsigned manifest has key %q, sequence %d, disabled %v", m.Key, m.Sequence, m.Disabled)
	}
	if ok, _ := afero.Exists(fsys, filepath.Join(root, manifest.SigPath)); ok {
		t.Error("the stale manifest.sig is still there")
	}
	if p, ok := prelude(t, fsys); ok {
		t.Errorf("an unsigned package without site workers has a prelude: %+v", p)
	}
}

// TestPackKillSwitchDisabled checks that the kill-switch package says so in its manifest, signed or not.
func TestPackKillSwitchDisabled(t *testing.T) {
	for _, signed := range []bool{false, true} {
		fsys := afero.NewMemMapFs()
		writeSite(t, fsys, site)
		priv := writeKey(t, fsys, keyFile)
		opts := options("https://example.org/")
		if signed {
			opts = signedOptions(keyFile)
		}
		pack(t, fsys, opts)
		opts.Config.Enabled = false
		m := pack(t, fsys, opts).Manifest
		if !m.Disabled {
			t.Errorf("signed %v: the kill switch's manifest is not disabled", signed)
		}
		if signed {
			if got, _, _ := readSigned(t, fsys, priv.Public().(ed25519.PublicKey)); !got.Disabled {
				t.Error("the signed kill switch is not disabled")
			}
		}
	}
}

// TestPackKeyRotation signs with another key than the previous package's: allowed, with a note.
func TestPackKeyRotation(t *testing.T) {
	fsys := afero.NewMemMapFs()
	writeSite(t, fsys, site)
	writeKey(t, fsys, keyFile)
	pack(t, fsys, signedOptions(keyFile))
	old := pack(t, fsys, signedOptions(keyFile)).Manifest
	priv := writeKey(t, fsys, "/site/new.key")
	rec := &recorder{}
	opts := signedOptions("/site/new.key")
	opts.Events = rec
	pack(t, fsys, opts)
	m, _, _ := readSigned(t, fsys, priv.Public().(ed25519.PublicKey))
	if m.Sequence <= old.Sequence {
		t.Errorf("sequence %d after %d", m.Sequence, old.Sequence)
	}
	if all := strings.Join(rec.details, "\n"); !strings.Contains(all, "signed by another key ("+signing.Short(old.Key)) {
		t.Errorf("no note about the rotation in %q", all)
	}
}

// TestPackBadKey starts from a signed package, breaks the key or the package, and checks that the next
// run fails with a message that names the fix while the previous package, signature included, stays whole.
func TestPackBadKey(t *testing.T) {
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecDER, _ := x509.MarshalPKCS8PrivateKey(ecKey)
	cases := []struct {
		name  string
		setup func(t *testing.T, f *faultFs, o *packager.Options)
		want  string
	}{
		{"missing key file", func(t *testing.T, f *faultFs, o *packager.Options) {
			o.Config.SigningKey = "/site/nokey.pem"
		}, "planktos keygen /site/nokey.pem"},
		{"unreadable key file", func(t *testing.T, f *faultFs, o *packager.Options) {
			f.unreadable = keyFile
		}, "check its permissions"},
		{"key path is a directory", func(t *testing.T, f *faultFs, o *packager.Options) {
			f.MkdirAll("/site/keys", 0o755)
			o.Config.SigningKey = "/site/keys"
		}, "must name the key file"},
		{"not PEM", func(t *testing.T, f *faultFs, o *packager.Options) {
			afero.WriteFile(f.Fs, keyFile, []byte("not a key"), 0o600)
		}, "not PEM"},
		{"not Ed25519", func(t *testing.T, f *faultFs, o *packager.Options) {
			afero.WriteFile(f.Fs, keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: ecDER}), 0o600)
		}, "not an Ed25519 key"},
		{"PEM text not a key", func(t *testing.T, f *faultFs, o *packager.Options) {
			o.Config.SigningKey = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
		}, "PLANKTOS_SIGNING_KEY"},
		{"key inside the publish folder", func(t *testing.T, f *faultFs, o *packager.Options) {
			writeKey(t, f.Fs, root+"/planktos/key.pem")
			o.Config.SigningKey = root + "/planktos/key.pem"
		}, "is inside the publish folder"},
		{"key published under another name", func(t *testing.T, f *faultFs, o *packager.Options) {
			b, _ := afero.ReadFile(f.Fs, keyFile)
			afero.WriteFile(f.Fs, root+"/notes.txt", b, 0o644)
		}, "notes.txt is the signing key"},
		{"previous manifest edited", func(t *testing.T, f *faultFs, o *packager.Options) {
			change(t, f, "css/site.css")
			p := filepath.Join(root, manifest.Path)
			b, _ := afero.ReadFile(f.Fs, p)
			afero.WriteFile(f.Fs, p, bytes.Replace(b, []byte(`"sequence": `), []byte(`"sequence": 9`), 1), 0o644)
		}, "delete " + filepath.Join(root, manifest.Path) + " to start over"},
		{"previous signature lost", func(t *testing.T, f *faultFs, o *packager.Options) {
			f.Remove(filepath.Join(root, manifest.SigPath))
		}, "does not match its signature"},
		{"failure at the switch to the new manifest", func(t *testing.T, f *faultFs, o *packager.Options) {
			change(t, f, "css/site.css")
			f.failRename = filepath.Join(root, manifest.Path)
		}, "write manifest"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			mem := afero.NewMemMapFs()
			writeSite(t, mem, site)
			priv := writeKey(t, mem, keyFile)
			opts := signedOptions(keyFile)
			pack(t, mem, opts)
			f := newFaultFs(mem)
			tc.setup(t, f, &opts)
			before, _ := afero.ReadFile(mem, filepath.Join(root, manifest.Path))
			sig, _ := afero.ReadFile(mem, filepath.Join(root, manifest.SigPath))
			packFails(t, f, opts, tc.want)
			after, _ := afero.ReadFile(mem, filepath.Join(root, manifest.Path))
			sigAfter, _ := afero.ReadFile(mem, filepath.Join(root, manifest.SigPath))
			if !bytes.Equal(after, before) || !bytes.Equal(sigAfter, sig) {
				t.Fatal("the manifest or its signature changed")
			}
			checkIntact(t, mem, after)
			if tc.name == "failure at the switch to the new manifest" {
				readSigned(t, mem, priv.Public().(ed25519.PublicKey))
			}
		})
	}
}
