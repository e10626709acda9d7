package seeder

import (
	"context"
	"fmt"
	"sort"
	"time"
)

// Stats is what the seeder has done so far.
type Stats struct {
	Revision string         `json:"revision"` // the manifest revision seeded
	Peers    int            `json:"peers"`    // peer connections open now, all torrents together
	Uploaded int64          `json:"uploaded"` // piece bytes sent since the start, dropped torrents included
	Torrents []TorrentStats `json:"torrents"` // the torrents seeded now, by infohash
	// Site is the signed manifest's exchange (site.go), nil for an unsigned package. Its site swarm
	// is not a torrent of the package: it is in neither Torrents nor Peers.
	Site *SiteStats `json:"site,omitempty"`
}

// TorrentStats is one torrent's share of Stats.
type TorrentStats struct {
	InfoHash string `json:"infohash"`
	Peers    int    `json:"peers"`    // peer connections open now
	Uploaded int64  `json:"uploaded"` // piece bytes sent
	Pieces   int    `json:"pieces"`   // pieces in the torrent
	Complete int    `json:"complete"` // pieces the seeder can send (all, unless a store file is damaged)
	Checking int    `json:"checking"` // pieces being hashed or waiting for it (Config.Verify)
}

// Stats returns a snapshot of the seeder's counters.
func (s *Seeder) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := Stats{Revision: s.revision, Uploaded: s.gone, Site: s.siteStats()}
	for ih, t := range s.torrents {
		ts := t.Stats()
		up := ts.BytesWrittenData.Int64()
		checking := 0
		for _, r := range t.PieceStateRuns() {
			if r.Hashing || r.QueuedForHash || r.Marking {
				checking += r.Length
			}
		}
		st.Torrents = append(st.Torrents, TorrentStats{InfoHash: ih.HexString(), Peers: ts.ActivePeers,
			Uploaded: up, Pieces: t.NumPieces(), Complete: ts.PiecesComplete, Checking: checking})
		st.Peers += ts.ActivePeers
		st.Uploaded += up
	}
	sort.Slice(st.Torrents, func(i, j int) bool { return st.Torrents[i].InfoHash < st.Torrents[j].InfoHash })
	return st
}

// Checked waits until no piece is being hashed (with Config.Verify, the initial check of the torrents
// added so far), and returns the number of pieces that failed it: those are never uploaded.
func (s *Seeder) Checked(ctx context.Context) (bad int, err error) {
	for {
		st, checking := s.Stats(), 0
		bad = 0
		for _, t := range st.Torrents {
			checking += t.Checking
			bad += t.Pieces - t.Complete - t.Checking
		}
		if checking == 0 {
			return bad, nil
		}
		select {
		case <-ctx.Done():
			return bad, fmt.Errorf("seeder: %d pieces still being checked: %w", checking, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}
