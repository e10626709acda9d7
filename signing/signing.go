// Package signing reads and writes the Ed25519 key that signs a site's packages (manifest/sign.go says
// what is signed and how browsers check it).
//
// A key is a PEM "PRIVATE KEY" block holding PKCS#8: what `planktos keygen` writes and what
// `openssl genpkey -algorithm ed25519` writes. A key reaches packaging as a spec (Config.SigningKey): the
// path of a key file, or, from a CI secret in PLANKTOS_SIGNING_KEY, the PEM text itself. Every error of
// Load names the fix; none of them prints key material.
package signing

import (
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/planktos/planktos/manifest"
	"github.com/spf13/afero"
)

// pemType is the PEM block type of a PKCS#8 private key.
const pemType = "PRIVATE KEY"

// Key is a loaded signing key.
type Key struct {
	Private ed25519.PrivateKey
	// File is the key file's path as given; empty when the key came as PEM text.
	File string
	// Raw is what was read: the key file's bytes or the PEM text. Packaging refuses to publish a file
	// with these bytes.
	Raw []byte
}

// Public returns the key's public half.
func (k *Key) Public() ed25519.PublicKey { return k.Private.Public().(ed25519.PublicKey) }

// ID returns the public key in its text form (manifest.EncodeKey): Manifest.Key, the prelude's key.
func (k *Key) ID() string { return manifest.EncodeKey(k.Public()) }

// Source names where the key came from, for messages: the file, or the environment's PEM text.
func (k *Key) Source() string {
	if k.File == "" {
		return "the PEM text in PLANKTOS_SIGNING_KEY"
	}
	return k.File
}

// Short abbreviates a public key's text form for output lines: its first 12 characters.
func Short(id string) string {
	if len(id) <= 12 {
		return id
	}
	return id[:12] + "…"
}

// IsPEM says whether a spec is the key's PEM text rather than a path.
func IsPEM(spec string) bool { return strings.HasPrefix(strings.TrimSpace(spec), "-----BEGIN") }

// fixMalformed is the fix for every malformed key.
const fixMalformed = "it must be an Ed25519 private key in PEM (PKCS#8), as `planktos keygen` or " +
	"`openssl genpkey -algorithm ed25519` write it"

// Parse decodes a PEM PKCS#8 Ed25519 private key.
func Parse(b []byte) (ed25519.PrivateKey, error) {
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, fmt.Errorf("not PEM; %s", fixMalformed)
	}
	if block.Type != pemType {
		return nil, fmt.Errorf("a PEM %q block, not %q; %s", block.Type, pemType, fixMalformed)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("its PEM block is not a PKCS#8 private key; %s", fixMalformed)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("an %s key, not an Ed25519 key; %s", algorithm(k), fixMalformed)
	}
	return priv, nil
}

// algorithm names the kind of a private key x509 parsed.
func algorithm(k any) string {
	switch k.(type) {
	case *rsa.PrivateKey:
		return "RSA"
	case *ecdsa.PrivateKey:
		return "ECDSA"
	case *ecdh.PrivateKey:
		return "X25519/ECDH"
	}
	return fmt.Sprintf("%T", k)
}

// Marshal encodes priv as Parse reads it.
func Marshal(priv ed25519.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("encode key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: pemType, Bytes: der}), nil
}

// Load reads the key spec names: PEM text (IsPEM), else the path of a key file in fsys.
func Load(fsys afero.Fs, spec string) (*Key, error) {
	if IsPEM(spec) {
		priv, err := Parse([]byte(spec))
		if err != nil {
			return nil, fmt.Errorf("signing key in PLANKTOS_SIGNING_KEY: %w", err)
		}
		return &Key{Private: priv, Raw: []byte(spec)}, nil
	}
	b, err := readFile(fsys, spec)
	if err != nil {
		return nil, err
	}
	priv, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %w", spec, err)
	}
	return &Key{Private: priv, File: spec, Raw: b}, nil
}

// readFile reads a key file, with errors that say what to do.
func readFile(fsys afero.Fs, name string) ([]byte, error) {
	fi, err := fsys.Stat(name)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("signing key %s does not exist: create it with `planktos keygen %s`, or fix "+
			"signing_key in planktos.toml (relative to that file) or PLANKTOS_SIGNING_KEY", name, name)
	case err != nil:
		return nil, fmt.Errorf("signing key %s: %w (check its permissions)", name, err)
	case fi.IsDir():
		return nil, fmt.Errorf("signing key %s is a directory; signing_key must name the key file", name)
	}
	b, err := afero.ReadFile(fsys, name)
	if err != nil {
		return nil, fmt.Errorf("read signing key %s: %w (check its permissions: planktos must be able to read it)",
			name, err)
	}
	return b, nil
}

// ErrExists is wrapped by Create's error for a file that is already there.
var ErrExists = errors.New("already exists")

// Create generates a key and writes it to path, mode 0600. It refuses an existing file unless force is
// set: overwriting a site's key loses it, and visitors pinned to it then accept updates only from the
// origin.
func Create(path string, force bool) (*Key, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate key: %w", err)
	}
	b, err := Marshal(priv)
	if err != nil {
		return nil, err
	}
	flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if force {
		flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	}
	f, err := os.OpenFile(path, flags, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("%s %w; it may be the key visitors have pinned: keep it, or give another file, "+
			"or replace it with --force (see the README on key rotation)", path, ErrExists)
	}
	if err != nil {
		return nil, fmt.Errorf("create key file: %w", err)
	}
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(path, 0o600) // --force over a file with looser permissions
	}
	if err != nil {
		return nil, fmt.Errorf("write key file: %w", err)
	}
	return &Key{Private: priv, File: path, Raw: b}, nil
}
