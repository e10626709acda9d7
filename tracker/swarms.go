package tracker

import "sort"

// SwarmStats is one swarm's size, as the dashboard lists it.
type SwarmStats struct {
	InfoHash   string `json:"infohash"`   // hex
	Complete   int    `json:"complete"`   // seeders
	Incomplete int    `json:"incomplete"` // leechers
}

// Swarms returns up to limit swarms, the largest first (ties by info hash), and the number of swarms.
func (s *Server) Swarms(limit int) ([]SwarmStats, int) {
	s.mu.Lock()
	all := make([]SwarmStats, 0, len(s.swarms))
	for ih, sw := range s.swarms {
		c, i := sw.counts()
		all = append(all, SwarmStats{InfoHash: ih.String(), Complete: c, Incomplete: i})
	}
	s.mu.Unlock()
	sort.Slice(all, func(i, j int) bool {
		a, b := all[i], all[j]
		if na, nb := a.Complete+a.Incomplete, b.Complete+b.Incomplete; na != nb {
			return na > nb
		}
		return a.InfoHash < b.InfoHash
	})
	return all[:min(limit, len(all))], len(all)
}
