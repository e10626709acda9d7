package e2e

import (
	"testing"
	"time"
)

// The site swarm (agent/swarm.js): two visitors of a signed site meet in the metadata-less torrent of
// the site's key as well as in the package's torrents, it never counts as a joined torrent, and each
// speaks ut_planktos with the other on every one of those wires (both hold the same sequence: offers
// only, no transfer).
func TestSignedSiteSwarm(t *testing.T) {
	s := newSignedSite(t, "")
	a := newBrowser(t, "", uaTag("A"))
	a.installed("/", s.pkg.storable())
	b := newBrowser(t, "", uaTag("B"))
	b.installed("/", s.pkg.storable())
	const siteJS = `(() => {
	  const sw = window.planktosAgent && window.planktosAgent.swarm;
	  const t = sw && sw.site && sw.site.torrent;
	  return { peers: t ? t.numPeers : -1, metadata: !!(t && t.metadata), torrents: sw ? sw.torrents.size : -1,
	    exchange: window.planktosAgent ? window.planktosAgent.exchange.stats() : null };
	})()`
	type site struct {
		Peers    int  `json:"peers"`
		Metadata bool `json:"metadata"`
		Torrents int  `json:"torrents"`
		Exchange *struct {
			Connections    int   `json:"connections"`
			OffersReceived int   `json:"offersReceived"`
			Requests       int   `json:"requests"`
			BytesIn        int64 `json:"bytesIn"`
			BytesOut       int64 `json:"bytesOut"`
		} `json:"exchange"`
	}
	for _, br := range []*browser{a, b} {
		var got site
		br.waitFor("a peer in the site swarm, and ut_planktos on its wire and a torrent's", 30*time.Second, func() bool {
			return br.eval(siteJS, &got) == nil && got.Peers >= 1 && got.Exchange != nil && got.Exchange.Connections >= 2
		})
		if got.Metadata || got.Torrents != len(s.pkg.Torrents) || got.Exchange.Requests != 0 {
			t.Errorf("site swarm: %+v (exchange %+v), want no metadata, %d torrents joined, no request", got, got.Exchange, len(s.pkg.Torrents))
		}
		if st := br.stats(); st.Agent == nil || st.Agent.Torrents != len(s.pkg.Torrents) {
			t.Errorf("stats count %+v torrents, want %d: the site swarm is not one", st.Agent, len(s.pkg.Torrents))
		}
		if c := planktosErrors(br.consoleErrors()); len(c) > 0 {
			t.Errorf("console: %q", c)
		}
		t.Logf("site swarm: %d peer(s); exchange over %d connections: %d offers received, %d bytes in, %d out",
			got.Peers, got.Exchange.Connections, got.Exchange.OffersReceived, got.Exchange.BytesIn, got.Exchange.BytesOut)
	}
}
