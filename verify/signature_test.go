package verify_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/planktos/planktos/manifest"
	"github.com/planktos/planktos/signing"
	"github.com/planktos/planktos/verify"
)

// newKey writes a signing key outside any site folder and returns its path and public key.
func newKey(t *testing.T) (string, string) {
	t.Helper()
	k, err := signing.Create(filepath.Join(t.TempDir(), "planktos.key"), false)
	if err != nil {
		t.Fatal(err)
	}
	return k.File, k.ID()
}

// TestSignedPackagePasses verifies a signed package as a folder and by URL: the signature check says which
// key signed it and the sequence.
func TestSignedPackagePasses(t *testing.T) {
	file, id := newKey(t)
	s := newSite(t, options{key: file}, false)
	for _, target := range []string{s.dir, s.url} {
		rep := s.verify(t, target)
		expect(t, rep)
		c := check(rep, verify.CheckSignature)
		if c.Status != verify.Pass || !strings.Contains(c.Message, "signed by key "+id+", sequence ") ||
			!strings.Contains(c.Message, "planktos.sw.js pins the same key") {
			t.Errorf("%s: %s %q", target, c.Status, c.Message)
		}
	}
	u := newSite(t, options{}, false)
	if c := check(u.verify(t, u.dir), verify.CheckSignature); c.Status != verify.Pass || !strings.Contains(c.Message, "unsigned") {
		t.Errorf("unsigned package: %s %q", c.Status, c.Message)
	}
}

// TestBrokenSignature breaks one part of a signed package each: only the signature check fails, with a fix.
func TestBrokenSignature(t *testing.T) {
	rewrite := func(rel string, f func([]byte) []byte) func(*testing.T, string, *manifest.Manifest) {
		return func(t *testing.T, dir string, _ *manifest.Manifest) {
			p := filepath.Join(dir, filepath.FromSlash(rel))
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, f(b), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	cases := []struct {
		name   string
		mutate func(*testing.T, string, *manifest.Manifest)
		want   string
	}{
		{"signature missing", func(t *testing.T, dir string, _ *manifest.Manifest) {
			os.Remove(filepath.Join(dir, filepath.FromSlash(manifest.SigPath)))
		}, "manifest.sig is missing"},
		{"manifest edited", rewrite(manifest.Path, func(b []byte) []byte {
			return bytes.Replace(b, []byte(`"generator": "`), []byte(`"generator": "edited `), 1)
		}), "does not verify"},
		{"signature of other bytes", rewrite(manifest.SigPath, func([]byte) []byte {
			_, k, _ := ed25519.GenerateKey(rand.Reader)
			return manifest.Sign(k, []byte("other"))
		}), "does not verify"},
		{"service worker pins no key", rewrite(manifest.SWPath, func(b []byte) []byte {
			_, rest, _ := bytes.Cut(b, []byte("\n"))
			return rest
		}), "pins no key"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			file, _ := newKey(t)
			s := newSite(t, options{key: file, mutate: tc.mutate}, false)
			for _, target := range []string{s.dir, s.url} {
				rep := s.verify(t, target)
				expect(t, rep, verify.CheckSignature)
				if c := check(rep, verify.CheckSignature); !strings.Contains(c.Message, tc.want) {
					t.Errorf("%s: %q lacks %q", target, c.Message, tc.want)
				}
			}
		})
	}
}

// TestLeftoverSignature: an unsigned package beside a manifest.sig (a host that keeps removed files) warns.
func TestLeftoverSignature(t *testing.T) {
	s := newSite(t, options{mutate: func(t *testing.T, dir string, _ *manifest.Manifest) {
		os.WriteFile(filepath.Join(dir, filepath.FromSlash(manifest.SigPath)), []byte("x\n"), 0o644)
	}}, false)
	c := check(s.verify(t, s.dir), verify.CheckSignature)
	if c.Status != verify.Warn || c.Fix == "" || !strings.Contains(c.Message, "leftover") {
		t.Errorf("%s %q (fix %q)", c.Status, c.Message, c.Fix)
	}
}
