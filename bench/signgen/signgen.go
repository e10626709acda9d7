// Package signgen makes the signed manifest the signature-cost benchmarks share: a site of N files in
// sections, sharded over torrents the way a packaging run shards a large site, signed under a key derived
// from a fixed seed. manifest/sign_bench_test.go measures manifest.Verify and Parse over its bytes;
// bench/gensigned writes the same bytes for bench/gensigned/open.mjs, which times the browser runtime's
// openEnvelope (runtime/src/common/signed.js) on them. The same n always gives byte-identical output.
package signgen

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/planktos/planktos/manifest"
)

// Signed is one generated package's manifest as a packaging run writes it.
type Signed struct {
	Manifest []byte            // planktos/manifest.json's exact bytes
	SigFile  []byte            // planktos/manifest.sig: base64 signature and a newline
	Sig      []byte            // the 64 raw signature bytes (the envelope's head)
	Key      ed25519.PublicKey // the signing key's public half (Manifest's Key)
}

// Envelope is what peers exchange for s: the raw signature, then the manifest bytes.
func (s Signed) Envelope() []byte { return manifest.Envelope(s.Sig, s.Manifest) }

// Key is the benchmark's signing key, the same on every run.
func Key() ed25519.PrivateKey {
	seed := sha256.Sum256([]byte("planktos signgen key"))
	return ed25519.NewKeyFromSeed(seed[:])
}

// filesPerTorrent is the shard size: a 10k-file site gets 10 torrents.
const filesPerTorrent = 1000

// Make returns the signed manifest of a generated site of n files (n ≥ 1).
func Make(n int) (Signed, error) {
	priv := Key()
	pub := priv.Public().(ed25519.PublicKey)
	m := &manifest.Manifest{
		Version: manifest.Version, Generator: "planktos signgen", Base: "/",
		Trackers: []string{"wss://tracker.example.org/announce"},
		Webseeds: []string{"https://example.org/planktos/"},
		Files:    make(map[string]manifest.Entry, n),
		Runtime:  manifest.Runtime{Version: "bench", Prefetch: "all", P2P: "on"},
		Sequence: 1764633600000, Key: manifest.EncodeKey(pub),
	}
	for i := 0; i < (n+filesPerTorrent-1)/filesPerTorrent; i++ {
		ih := sha256.Sum256([]byte(fmt.Sprintf("torrent %d", i)))
		h := hex.EncodeToString(ih[:20])
		m.Torrents = append(m.Torrents, manifest.TorrentRef{InfoHash: h, URL: manifest.TorrentPath(h),
			PieceLength: 1 << 20, Length: filesPerTorrent * 20000})
	}
	for i := range n {
		path, typ := fmt.Sprintf("section-%02d/page-%05d/index.html", i%40, i), "text/html; charset=utf-8"
		if i%10 == 9 {
			path, typ = fmt.Sprintf("images/img-%05d.png", i), "image/png"
		}
		sum := sha256.Sum256([]byte(path))
		m.Files[path] = manifest.Entry{SHA256: hex.EncodeToString(sum[:]), Size: int64(5000 + i*37%35000),
			Type: typ, Torrent: i / filesPerTorrent}
	}
	if err := m.Seal(); err != nil {
		return Signed{}, err
	}
	b, err := m.Encode()
	if err != nil {
		return Signed{}, err
	}
	return Signed{Manifest: b, SigFile: manifest.Sign(priv, b), Sig: ed25519.Sign(priv, b), Key: pub}, nil
}
