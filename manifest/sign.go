package manifest

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
)

// Signed packages.
//
// With a signing key, a packaging run sets Manifest.Key to the key's public half and Manifest.Sequence
// to a number greater than any the site published before, encodes the manifest, and writes the Ed25519
// signature over exactly those bytes to SigPath (just before Path). The signature covers the file's
// bytes, not a re-encoding, so no reader has to reproduce Go's JSON: it verifies what it received.
//
// The browser runtime pins the public key built into planktos.sw.js (the packager's prelude), so the
// key comes from the origin with the service worker script and with nothing else. A manifest a peer
// offers is adopted only if its signature verifies under the pinned key, its Key is that key and its
// Sequence is greater than the current one; see exchange.go for how peers offer manifests.

// ErrBadSignature means a signature does not verify over the manifest bytes under the key.
var ErrBadSignature = errors.New("manifest: the signature does not verify")

// Sign returns the signature of the encoded manifest b under priv, as written to SigPath.
func Sign(priv ed25519.PrivateKey, b []byte) []byte {
	sig := base64.StdEncoding.EncodeToString(ed25519.Sign(priv, b))
	return []byte(sig + "\n")
}

// Verify checks that sigFile (the contents of SigPath) is pub's signature over the encoded manifest b.
func Verify(pub ed25519.PublicKey, b, sigFile []byte) error {
	sig, err := base64.StdEncoding.DecodeString(string(bytes.TrimSpace(sigFile)))
	if err != nil || len(sig) != ed25519.SignatureSize {
		return fmt.Errorf("manifest: the signature is not %d base64 bytes", ed25519.SignatureSize)
	}
	if len(pub) != ed25519.PublicKeySize || !ed25519.Verify(pub, b, sig) {
		return ErrBadSignature
	}
	return nil
}

// EncodeKey is the text form of a public key: Manifest.Key, the prelude's and `planktos keygen`'s.
func EncodeKey(pub ed25519.PublicKey) string { return base64.StdEncoding.EncodeToString(pub) }

// ParseKey decodes EncodeKey's form.
func ParseKey(s string) (ed25519.PublicKey, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("manifest: %q is not a base64 Ed25519 public key", s)
	}
	return ed25519.PublicKey(b), nil
}

// SiteSwarm is the hex infohash of the site swarm of the key pub: a torrent without metadata that every
// page agent and seeder of the site joins only to meet peers and exchange signed manifests, whatever
// revision each holds. It is SHA-1("planktos-site:" || the 32 raw key bytes).
func SiteSwarm(pub ed25519.PublicKey) string {
	h := sha1.New()
	h.Write([]byte("planktos-site:"))
	h.Write(pub)
	return hex.EncodeToString(h.Sum(nil))
}
