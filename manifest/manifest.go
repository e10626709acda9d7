// Package manifest defines planktos/manifest.json: the schema a packaging run writes and every reader
// (the seeder, verify, serve, and the browser runtime's runtime/src/sw/manifest.js) decodes, its
// validation, its revision, and the package layout it points into (layout.go).
//
// A manifest is written by Seal then Encode, and read by Parse. The encoding is canonical: maps marshal
// with sorted keys, so two runs over the same site write the same bytes. testdata/golden.json is a
// manifest with every field that both the Go tests and runtime/test/manifest-golden.test.js decode, so
// a change to the schema breaks both sides or neither.
package manifest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
)

// Version is the schema version written to Manifest.Version. A reader refuses any other.
const Version = 1

// Manifest describes a package: which file every published path resolves to, and the torrents that carry
// them. It is written to Path, the last file a packaging run writes.
type Manifest struct {
	Version   int    `json:"version"`
	Generator string `json:"generator"`
	// Base is the URL path the site is served under: "/" or "/project/".
	Base string `json:"base"`
	// Revision is the SHA-256 of everything else in the manifest but Generator: it changes iff any
	// published byte, torrent or runtime setting changes. Seal sets it.
	Revision string `json:"revision"`
	// Trackers are the WebSocket trackers browsers announce to.
	Trackers []string `json:"trackers"`
	// Webseeds are URLs of the package's planktos/ folder (BEP 19: <webseed>files/<sha256>).
	Webseeds []string         `json:"webseeds"`
	Torrents []TorrentRef     `json:"torrents"`
	Files    map[string]Entry `json:"files"`
	Runtime  Runtime          `json:"runtime"`

	// Sequence numbers the signed packages of a site: every signed packaging run that changes the
	// revision writes a greater one. A browser adopts a manifest from a peer only if its sequence is
	// greater than the one it has (see sign.go). 0 in an unsigned manifest. Not part of Revision.
	Sequence int64 `json:"sequence,omitempty"`
	// Key is the base64 (standard, padded) Ed25519 public key whose signature over the manifest's exact
	// bytes is SigPath; empty in an unsigned manifest.
	Key string `json:"key,omitempty"`
	// Disabled marks the kill-switch package (enabled = false): a browser that adopts it removes planktos.
	Disabled bool `json:"disabled,omitempty"`
}

// TorrentRef points at one torrent of the package.
type TorrentRef struct {
	InfoHash    string `json:"infohash"`    // hex BitTorrent v1 infohash
	URL         string `json:"url"`         // relative to Base: TorrentPath(InfoHash)
	PieceLength int64  `json:"pieceLength"` // bytes
	Length      int64  `json:"length"`      // total bytes of the torrent's files
}

// Entry is one published file. Its key in Manifest.Files is its relative POSIX path ("posts/x/index.html");
// its bytes are at FilePath(SHA256).
type Entry struct {
	SHA256  string `json:"sha256"`
	Size    int64  `json:"size"`
	Type    string `json:"type"`    // the Content-Type it is served with
	Torrent int    `json:"torrent"` // index into Manifest.Torrents; -1 when in none (empty files)
}

// Runtime carries the settings the browser runtime reads.
type Runtime struct {
	Version string `json:"version"` // the runtime build the package ships

	Prefetch      string      `json:"prefetch"`      // all | visited | none
	PrefetchLimit int64       `json:"prefetchLimit"` // bytes; 0 means no limit
	P2P           string      `json:"p2p"`           // on | download-only | off
	ICEServers    []ICEServer `json:"iceServers"`
	// SiteWorkers are the site's own service worker scripts (manifest keys) that planktos.sw.js imports.
	SiteWorkers []string `json:"siteWorkers,omitempty"`
	// Badge shows visitors the small offload badge (planktos/badge.js); off loads nothing.
	Badge bool `json:"badge,omitempty"`
	// Report has page agents send aggregate byte counters (no URLs, no addresses) to the trackers.
	Report bool `json:"report,omitempty"`
}

// ICEServer is one WebRTC ICE server, encoded as the browser's RTCIceServer. Its credentials are public:
// every visitor's browser reads them from the manifest.
type ICEServer struct {
	URLs       []string `json:"urls"`
	Username   string   `json:"username,omitempty"`
	Credential string   `json:"credential,omitempty"`
}

// Seal sets m.Revision from the rest of the manifest (Generator and Sequence excepted, so a new planktos
// build over the same site keeps the revision, and a signed package's number is not part of its content). Call it after the last change to m, before Encode.
func (m *Manifest) Seal() error {
	c := *m
	c.Revision, c.Generator, c.Sequence = "", "", 0
	b, err := json.Marshal(c) // maps marshal with sorted keys: the bytes are canonical
	if err != nil {
		return fmt.Errorf("manifest: %w", err)
	}
	sum := sha256.Sum256(b)
	m.Revision = hex.EncodeToString(sum[:])
	return nil
}

// Encode returns the bytes written to Path: indented JSON and a final newline.
func (m *Manifest) Encode() ([]byte, error) {
	b, err := json.MarshalIndent(m, "", " ")
	if err != nil {
		return nil, fmt.Errorf("encode manifest: %w", err)
	}
	return append(b, '\n'), nil
}

// Parse decodes b and validates it (see Validate). Unknown fields are ignored, as the browser runtime
// ignores them.
func Parse(b []byte) (*Manifest, error) {
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return &m, nil
}

// Validate reports what would make a reader trip over m: another schema version, no revision, no files,
// a torrent without a hex infohash, or an entry with a path that is not relative, a malformed SHA-256, a
// negative size or a torrent index out of range. runtime/src/sw/manifest.js refuses the same manifests
// (testdata/refused.json lists them for both).
func (m *Manifest) Validate() error {
	if m.Version != Version {
		return fmt.Errorf("manifest: schema version %d, this planktos reads %d", m.Version, Version)
	}
	if m.Revision == "" || m.Files == nil {
		return fmt.Errorf("manifest: no revision or no files")
	}
	for i, t := range m.Torrents {
		if !isHex(t.InfoHash, 40) {
			return fmt.Errorf("manifest: torrent %d has a malformed infohash %q", i, t.InfoHash)
		}
	}
	for p, e := range m.Files {
		if p == "" || strings.HasPrefix(p, "/") || !isHex(e.SHA256, 64) || e.Size < 0 ||
			e.Torrent < -1 || e.Torrent >= len(m.Torrents) {
			return fmt.Errorf("manifest: entry %q is malformed", p)
		}
	}
	return nil
}

// isHex reports whether s is n lower-case hex digits.
func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
