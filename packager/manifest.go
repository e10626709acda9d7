package packager

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/planktos/planktos/config"
)

// ManifestVersion is the schema version written to Manifest.Version.
const ManifestVersion = 1

// Manifest describes a package: which file every published path resolves to, and the torrents that carry
// them. It is written to planktos/manifest.json, the last file a packaging run writes.
type Manifest struct {
	Version   int    `json:"version"`
	Generator string `json:"generator"`
	// Base is the URL path the site is served under: "/" or "/project/".
	Base string `json:"base"`
	// Revision is the SHA-256 of everything else in the manifest but Generator: it changes iff any
	// published byte, torrent or runtime setting changes.
	Revision string `json:"revision"`
	// Trackers are the WebSocket trackers browsers announce to.
	Trackers []string `json:"trackers"`
	// Webseeds are URLs of the package's planktos/ folder (BEP 19: <webseed>files/<sha256>).
	Webseeds []string         `json:"webseeds"`
	Torrents []TorrentRef     `json:"torrents"`
	Files    map[string]Entry `json:"files"`
	Runtime  Runtime          `json:"runtime"`
}

// TorrentRef points at one torrent of the package.
type TorrentRef struct {
	InfoHash    string `json:"infohash"`    // hex BitTorrent v1 infohash
	URL         string `json:"url"`         // relative to Base: planktos/torrents/<infohash>.torrent
	PieceLength int64  `json:"pieceLength"` // bytes
	Length      int64  `json:"length"`      // total bytes of the torrent's files
}

// Entry is one published file. Its key in Manifest.Files is its relative POSIX path ("posts/x/index.html").
type Entry struct {
	SHA256  string `json:"sha256"`
	Size    int64  `json:"size"`
	Type    string `json:"type"`
	Torrent int    `json:"torrent"` // index into Manifest.Torrents; -1 when in none (empty files)
}

// Runtime carries the settings the browser runtime reads.
type Runtime struct {
	Version string `json:"version"` // the runtime build the package ships

	Prefetch      string             `json:"prefetch"`      // all | visited | none
	PrefetchLimit int64              `json:"prefetchLimit"` // bytes; 0 means no limit
	P2P           string             `json:"p2p"`           // on | download-only | off
	ICEServers    []config.ICEServer `json:"iceServers"`
	// SiteWorkers are the site's own service worker scripts (manifest keys) that planktos.sw.js imports.
	SiteWorkers []string `json:"siteWorkers,omitempty"`
}

// seal sets m.Revision from the rest of the manifest.
func (m *Manifest) seal() error {
	c := *m
	c.Revision, c.Generator = "", ""
	b, err := json.Marshal(c) // maps marshal with sorted keys: the bytes are canonical
	if err != nil {
		return fmt.Errorf("manifest: %w", err)
	}
	sum := sha256.Sum256(b)
	m.Revision = hex.EncodeToString(sum[:])
	return nil
}

// ParseManifest decodes and checks a manifest.
func ParseManifest(b []byte) (*Manifest, error) {
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	if m.Version != ManifestVersion {
		return nil, fmt.Errorf("manifest: schema version %d, this planktos reads %d", m.Version, ManifestVersion)
	}
	for p, e := range m.Files {
		if len(e.SHA256) != 64 || e.Torrent < -1 || e.Torrent >= len(m.Torrents) {
			return nil, fmt.Errorf("manifest: entry %q is malformed", p)
		}
	}
	return &m, nil
}
