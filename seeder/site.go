package seeder

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"

	"github.com/anacrolix/torrent"
	"github.com/anacrolix/torrent/metainfo"

	"github.com/planktos/planktos/internal/units"
	"github.com/planktos/planktos/manifest"
)

// A signed package's seeder also offers the package's manifest itself (exchange.go), on every
// connection and in the site swarm: the metadata-less torrent manifest.SiteSwarm(key) that every page
// agent of the site joins whatever revision it holds. The seeder joins it like the package's torrents
// (same trackers, same connection cap), but it has no pieces, uploads nothing and is reported apart
// (Stats.Site), not among Stats.Torrents.

// sigPath is the package's manifest signature file.
func sigPath(dir string) string { return filepath.Join(dir, filepath.FromSlash(manifest.SigPath)) }

// offerSigned makes the envelope of the manifest b (parsed as m) the one offered, and joins m's site
// swarm, if m is signed and manifest.sig verifies over b under m.Key. A signature that does not
// verify may be a packaging run in progress (it writes the signature just before the manifest): the
// envelope held so far stays offered and the error says so; the caller retries at its next poll. An
// unsigned manifest withdraws the envelope and leaves the site swarm. s.mu is held.
func (s *Seeder) offerSigned(m *manifest.Manifest, b []byte, trackers []string) error {
	if m.Key == "" {
		if s.x.hold(nil, 0) && s.site != nil {
			s.logf("revision %.12s is not signed: no manifest offered to peers", m.Revision)
		}
		s.leaveSite()
		return nil
	}
	pub, err := manifest.ParseKey(m.Key)
	if err != nil {
		return fmt.Errorf("seeder: revision %.12s: %w", m.Revision, err)
	}
	file, err := os.ReadFile(sigPath(s.cfg.Dir))
	if err == nil {
		err = manifest.Verify(pub, b, file)
	}
	if err != nil {
		still := "nothing offered to peers yet"
		if seq := s.x.held(); seq != 0 {
			still = fmt.Sprintf("still offering sequence %d", seq)
		}
		return fmt.Errorf("seeder: %s does not sign sequence %d of the manifest (%w), a packaging run "+
			"in progress? %s", manifest.SigPath, m.Sequence, err, still)
	}
	sig, err := base64.StdEncoding.DecodeString(string(bytes.TrimSpace(file)))
	if err != nil {
		return fmt.Errorf("seeder: %s: %w", manifest.SigPath, err) // Verify decoded it already
	}
	if err := s.joinSite(manifest.SiteSwarm(pub), trackers); err != nil {
		return err
	}
	env := manifest.Envelope(sig, b)
	if s.x.hold(env, m.Sequence) {
		s.logf("offering signed manifest sequence %d (%s, %d pieces) to peers, in site swarm %.12s",
			m.Sequence, units.Bytes(int64(len(env))), manifest.Pieces(int64(len(env))), s.site.InfoHash().HexString())
	}
	return nil
}

// joinSite makes the seeder a member of the site swarm ih (hex), leaving another it was in (a new key).
func (s *Seeder) joinSite(hex string, trackers []string) error {
	var ih metainfo.Hash
	if err := ih.FromHexString(hex); err != nil {
		return fmt.Errorf("seeder: site swarm %q: %w", hex, err)
	}
	if s.site != nil && s.site.InfoHash() != ih {
		s.leaveSite()
	}
	if s.site == nil {
		s.site, _ = s.cl.AddTorrentOpt(torrent.AddTorrentOpts{InfoHash: ih, Storage: s.store,
			DisallowDataDownload: true})
		s.site.SetMaxEstablishedConns(s.cfg.MaxPeers)
	}
	// a new revision may list new trackers: add them (those the site swarm has are kept)
	if err := s.site.MergeSpec(&torrent.TorrentSpec{Trackers: [][]string{trackers}}); err != nil {
		return fmt.Errorf("seeder: site swarm %s: %w", hex, err)
	}
	return nil
}

func (s *Seeder) leaveSite() {
	if s.site != nil {
		s.site.Drop()
		s.site = nil
	}
}

// SiteStats is the signed manifest's exchange: the site swarm and ut_planktos on every connection.
type SiteStats struct {
	InfoHash string `json:"infohash"` // the site swarm's
	Sequence int64  `json:"sequence"` // of the manifest offered; 0 while none verifies
	Peers    int    `json:"peers"`    // site swarm connections open now (not in Stats.Peers)
	Speakers int    `json:"speakers"` // open connections of any torrent whose peer speaks ut_planktos
	Offers   int64  `json:"offers"`   // offers sent
	Pieces   int64  `json:"pieces"`   // data messages sent (requests answered)
	Rejects  int64  `json:"rejects"`  // requests for a sequence no longer held
	Received int64  `json:"received"` // ut_planktos messages received
	Sent     int64  `json:"sent"`     // ut_planktos bytes sent, BitTorrent framing included
}

// siteStats is nil for an unsigned package; s.mu is held.
func (s *Seeder) siteStats() *SiteStats {
	if s.site == nil {
		return nil
	}
	x := s.x
	return &SiteStats{InfoHash: s.site.InfoHash().HexString(), Sequence: x.held(), Peers: s.site.Stats().ActivePeers,
		Speakers: x.speakers(), Offers: x.offers.Load(), Pieces: x.pieces.Load(), Rejects: x.rejects.Load(),
		Received: x.received.Load(), Sent: x.sent.Load()}
}
