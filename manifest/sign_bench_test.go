package manifest_test

import (
	"testing"

	"github.com/planktos/planktos/bench/signgen"
	"github.com/planktos/planktos/manifest"
)

// The cost of checking a signed manifest a peer offers, at 10,000 files (issue 15, "Measure"): what a
// Go reader (the seeder, verify) spends per envelope. runtime/src/common/signed.js's openEnvelope on the
// same bytes is timed by bench/gensigned/open.mjs (BENCHMARKS.md has both).
//
//	go test -run '^$' -bench 'Verify|ParseSigned' -benchmem ./manifest

const benchFiles = 10000

func signed10k(b *testing.B) signgen.Signed {
	b.Helper()
	s, err := signgen.Make(benchFiles)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(s.Manifest)))
	return s
}

// BenchmarkVerify10k: manifest.Verify (base64 signature file, Ed25519 over the exact bytes).
func BenchmarkVerify10k(b *testing.B) {
	s := signed10k(b)
	for b.Loop() {
		if err := manifest.Verify(s.Key, s.Manifest, s.SigFile); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseSigned10k: manifest.Parse (JSON decode and Validate) of the same bytes.
func BenchmarkParseSigned10k(b *testing.B) {
	s := signed10k(b)
	for b.Loop() {
		if _, err := manifest.Parse(s.Manifest); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyParse10k: what adopting an envelope costs a Go reader: verify, then parse, then check
// that the manifest names the key it verified under.
func BenchmarkVerifyParse10k(b *testing.B) {
	s := signed10k(b)
	want := manifest.EncodeKey(s.Key)
	for b.Loop() {
		if err := manifest.Verify(s.Key, s.Manifest, s.SigFile); err != nil {
			b.Fatal(err)
		}
		m, err := manifest.Parse(s.Manifest)
		if err != nil || m.Key != want {
			b.Fatalf("parse: %v, key %q", err, m.Key)
		}
	}
}

// TestSigned10k: the benchmarks' manifest is a valid signed one of 10,000 files (so they measure the
// success path), and generating it twice gives the same bytes.
func TestSigned10k(t *testing.T) {
	s, err := signgen.Make(benchFiles)
	if err != nil {
		t.Fatal(err)
	}
	if err := manifest.Verify(s.Key, s.Manifest, s.SigFile); err != nil {
		t.Fatal(err)
	}
	m, err := manifest.Parse(s.Manifest)
	if err != nil || len(m.Files) != benchFiles || m.Key != manifest.EncodeKey(s.Key) {
		t.Fatalf("parse: %v; %d files", err, len(m.Files))
	}
	again, _ := signgen.Make(benchFiles)
	if string(again.Manifest) != string(s.Manifest) || string(again.Envelope()) != string(s.Envelope()) {
		t.Error("two runs of signgen.Make gave different bytes")
	}
}
