package seeder

import (
	"sort"
)

// Stats is what the seeder has done so far.
type Stats struct {
	Revision string         `json:"revision"` // the manifest revision seeded
	Peers    int            `json:"peers"`    // peer connections open now, all torrents together
	Uploaded int64          `json:"uploaded"` // piece bytes sent since the start, dropped torrents included
	Torrents []TorrentStats `json:"torrents"` // the torrents seeded now, by infohash
}

// TorrentStats is one torrent's share of Stats.
type TorrentStats struct {
	InfoHash string `json:"infohash"`
	Peers    int    `json:"peers"`    // peer connections open now
	Uploaded int64  `json:"uploaded"` // piece bytes sent
	Pieces   int    `json:"pieces"`   // pieces in the torrent
	Complete int    `json:"complete"` // pieces the seeder can send (all, unless a store file is damaged)
}

// Stats returns a snapshot of the seeder's counters.
func (s *Seeder) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := Stats{Revision: s.revision, Uploaded: s.gone}
	for ih, t := range s.torrents {
		ts := t.Stats()
		up := ts.BytesWrittenData.Int64()
		st.Torrents = append(st.Torrents, TorrentStats{InfoHash: ih.HexString(), Peers: ts.ActivePeers,
			Uploaded: up, Pieces: t.NumPieces(), Complete: ts.PiecesComplete})
		st.Peers += ts.ActivePeers
		st.Uploaded += up
	}
	sort.Slice(st.Torrents, func(i, j int) bool { return st.Torrents[i].InfoHash < st.Torrents[j].InfoHash })
	return st
}
