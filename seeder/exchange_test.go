package seeder_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"io"
	"log"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anacrolix/torrent"
	"github.com/anacrolix/torrent/metainfo"
	pp "github.com/anacrolix/torrent/peer_protocol"

	"github.com/planktos/planktos/bench/signgen"
	"github.com/planktos/planktos/internal/units"
	"github.com/planktos/planktos/internal/wait"
	"github.com/planktos/planktos/manifest"
	"github.com/planktos/planktos/seeder"
	"github.com/planktos/planktos/tracker"
)

// signPackage signs the package in dir as a signed packaging run does: the manifest gains priv's
// public key and sequence seq (signedManifest), its signature is written to manifest.sig, then the
// manifest itself (each file renamed into place). It returns the manifest's bytes.
func signPackage(t *testing.T, dir string, priv ed25519.PrivateKey, seq int64, edits ...func(*manifest.Manifest)) []byte {
	t.Helper()
	b := signedManifest(t, dir, priv, seq, edits...)
	writeRenamed(t, filepath.Join(dir, filepath.FromSlash(manifest.SigPath)), manifest.Sign(priv, b))
	writeRenamed(t, filepath.Join(dir, filepath.FromSlash(manifest.Path)), b)
	return b
}

// signedManifest is the bytes of dir's manifest with priv's public key and sequence seq, and edits.
func signedManifest(t *testing.T, dir string, priv ed25519.PrivateKey, seq int64, edits ...func(*manifest.Manifest)) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(manifest.Path)))
	if err != nil {
		t.Fatal(err)
	}
	m, err := manifest.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	m.Key, m.Sequence = manifest.EncodeKey(priv.Public().(ed25519.PublicKey)), seq
	for _, edit := range edits {
		edit(m)
	}
	if err := m.Seal(); err != nil {
		t.Fatal(err)
	}
	if b, err = m.Encode(); err != nil {
		t.Fatal(err)
	}
	return b
}

func writeRenamed(t *testing.T, name string, b []byte) {
	t.Helper()
	if err := os.WriteFile(name+".tmp", b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(name+".tmp", name); err != nil {
		t.Fatal(err)
	}
}

// planktosPeer is a second BitTorrent client, anacrolix as a WebTorrent peer (WebRTC through the
// tracker only), that speaks ut_planktos as a page agent does and records every message it receives.
type planktosPeer struct {
	cl   *torrent.Client
	mu   sync.Mutex
	got  map[*torrent.PeerConn][]manifest.Message // per connection, in order
	wire map[*torrent.PeerConn]int                // ut_planktos bytes received, BitTorrent framing included
	ltep *torrent.LocalLtepProtocolMap
}

func newPlanktosPeer(t *testing.T) *planktosPeer {
	p := &planktosPeer{got: map[*torrent.PeerConn][]manifest.Message{}, wire: map[*torrent.PeerConn]int{}}
	cfg := torrent.NewDefaultClientConfig()
	cfg.DataDir = t.TempDir()
	cfg.NoDHT, cfg.DisablePEX, cfg.DisableWebseeds = true, true, true
	cfg.DisableTCP, cfg.DisableUTP, cfg.NoDefaultPortForwarding = true, true, true
	cfg.DisableIPv6, cfg.ListenPort = true, 0
	cfg.Slogger = slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg.Callbacks.PeerConnAdded = append(cfg.Callbacks.PeerConnAdded, func(pc *torrent.PeerConn) {
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.ltep == nil {
			m := *pc.LocalLtepProtocolMap
			m.Index = slices.Clone(m.Index)
			m.AddUserProtocol(manifest.ExtensionName)
			p.ltep = &m
		}
		pc.LocalLtepProtocolMap = p.ltep
	})
	cfg.Callbacks.PeerConnReadExtensionMessage = append(cfg.Callbacks.PeerConnReadExtensionMessage,
		func(ev torrent.PeerConnReadExtensionMessageEvent) {
			name, builtin, err := ev.PeerConn.LocalLtepProtocolMap.LookupId(ev.ExtensionNumber)
			if ev.ExtensionNumber == pp.HandshakeExtendedID || err != nil || builtin || name != manifest.ExtensionName {
				return
			}
			m, err := manifest.DecodeMessage(ev.Payload)
			if err != nil {
				t.Errorf("a ut_planktos message that does not decode: %v", err)
				return
			}
			m.Data = bytes.Clone(m.Data) // the payload is anacrolix's
			p.mu.Lock()
			p.got[ev.PeerConn] = append(p.got[ev.PeerConn], m)
			p.wire[ev.PeerConn] += len(ev.Payload) + 6
			p.mu.Unlock()
		})
	cl, err := torrent.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	p.cl = cl
	return p
}

// join adds a torrent: by its metainfo, or by infohash alone (the site swarm) announced to trackers.
func (p *planktosPeer) join(t *testing.T, ih metainfo.Hash, mi *metainfo.MetaInfo, trackers []string) *torrent.Torrent {
	t.Helper()
	opts := torrent.AddTorrentOpts{InfoHash: ih, DisallowDataDownload: true}
	if mi != nil {
		opts.InfoBytes = mi.InfoBytes
	}
	tt, _ := p.cl.AddTorrentOpt(opts)
	if err := tt.MergeSpec(&torrent.TorrentSpec{Trackers: [][]string{trackers}}); err != nil {
		t.Fatal(err)
	}
	return tt
}

// conn waits for the connection of torrent tt whose peer has offered sequence seq, and returns it.
func (p *planktosPeer) conn(t *testing.T, tt *torrent.Torrent, seq int64) *torrent.PeerConn {
	t.Helper()
	var found *torrent.PeerConn
	wait.For(t, "an offer of sequence "+strconv.FormatInt(seq, 10)+" on "+tt.InfoHash().HexString()[:12], time.Minute, func() bool {
		for _, pc := range tt.PeerConns() {
			if _, ok := p.offered(pc, seq); ok {
				found = pc
				return true
			}
		}
		return false
	})
	return found
}

// offered returns the last offer of sequence seq pc received.
func (p *planktosPeer) offered(pc *torrent.PeerConn, seq int64) (manifest.Message, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, m := range slices.Backward(p.got[pc]) {
		if m.Type == manifest.MsgOffer && m.Sequence == seq {
			return m, true
		}
	}
	return manifest.Message{}, false
}

// fetch requests every piece of the envelope offered (all pipelined, as the protocol allows) and
// returns it whole once every data message arrived.
func (p *planktosPeer) fetch(t *testing.T, pc *torrent.PeerConn, offer manifest.Message) []byte {
	t.Helper()
	n := manifest.Pieces(offer.Size)
	for i := range n {
		p.send(t, pc, manifest.Message{Type: manifest.MsgRequest, Sequence: offer.Sequence, Piece: i})
	}
	env := make([]byte, offer.Size)
	wait.For(t, "every piece of the envelope", time.Minute, func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		have := map[int]bool{}
		for _, m := range p.got[pc] {
			if m.Type == manifest.MsgData && m.Sequence == offer.Sequence && m.Size == offer.Size {
				copy(env[int64(m.Piece)*manifest.PieceSize:], m.Data)
				have[m.Piece] = true
			}
		}
		return len(have) == n
	})
	return env
}

func (p *planktosPeer) send(t *testing.T, pc *torrent.PeerConn, m manifest.Message) {
	t.Helper()
	b, err := manifest.EncodeMessage(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := pc.WriteExtendedMessage(manifest.ExtensionName, b); err != nil {
		t.Fatal(err)
	}
}

// cost is what pc received so far: ut_planktos messages and wire bytes.
func (p *planktosPeer) cost(pc *torrent.PeerConn) (int, int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.got[pc]), p.wire[pc]
}

// checkEnvelope checks that env is the signature of manifest bytes want under pub, followed by them.
func checkEnvelope(t *testing.T, env, want []byte, pub ed25519.PublicKey) {
	t.Helper()
	if len(env) != ed25519.SignatureSize+len(want) || !bytes.Equal(env[ed25519.SignatureSize:], want) {
		t.Fatalf("envelope of %d bytes does not hold the manifest's %d", len(env), len(want))
	}
	sig := base64.StdEncoding.EncodeToString(env[:ed25519.SignatureSize])
	if err := manifest.Verify(pub, env[ed25519.SignatureSize:], []byte(sig)); err != nil {
		t.Fatalf("the envelope's signature: %v", err)
	}
}

// TestManifestExchange: the seeder of a signed package joins the site swarm (announced to the tracker
// although it has no metadata) and speaks ut_planktos on every connection. A second BitTorrent client
// (anacrolix as a WebTorrent peer, through the Go tracker) joins the site swarm, a metadata-less
// torrent whose only other member is the seeder (its first connection is the seeder's answer to the
// client's offer), and one of the package's torrents: the seeder offers
// its sequence on both connections after the extended handshake, and the whole envelope fetched
// piece by piece is the signature and the manifest's exact bytes, and verifies. When a new sequence is
// published (a 2,000-file site's envelope, every request pipelined: see wire.go), the seeder offers it
// on the same connections, rejects requests for the old one, and serves the new one; so it does the
// kill switch (disabled). The site swarm is not one of the torrents
// in the seeder's stats.
func TestManifestExchange(t *testing.T) {
	dir, o, m := packedTestsite(t)
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	b1 := signPackage(t, dir, priv, 1)
	s := startSeeder(t, seeder.Config{Dir: dir})
	if st := s.Stats(); st.Site == nil || st.Site.Sequence != 1 || st.Site.InfoHash != manifest.SiteSwarm(pub) {
		t.Fatalf("seeder site stats %+v, want sequence 1 in site swarm %s", st.Site, manifest.SiteSwarm(pub))
	}

	// anacrolix announces the metadata-less site swarm to the WebSocket tracker (left: -1, a leecher)
	wait.For(t, "the seeder in the site swarm at the tracker", 30*time.Second, func() bool {
		sw, _ := o.tr.Swarms(1000)
		return slices.ContainsFunc(sw, func(s tracker.SwarmStats) bool {
			return s.InfoHash == manifest.SiteSwarm(pub) && s.Complete+s.Incomplete == 1
		})
	})

	start := time.Now()
	p := newPlanktosPeer(t)
	var siteIH, pkgIH metainfo.Hash
	siteIH.FromHexString(manifest.SiteSwarm(pub))
	pkgIH.FromHexString(m.Torrents[0].InfoHash)
	site := p.join(t, siteIH, nil, []string{o.announce()})
	pkg := p.join(t, pkgIH, torrents(t, dir, m)[0], []string{o.announce()})
	sitePC := p.conn(t, site, 1)
	t.Logf("offer on the site swarm %v after joining", time.Since(start).Round(time.Millisecond))
	pkgPC := p.conn(t, pkg, 1)
	offerMsgs, offerBytes := p.cost(sitePC)

	offer, _ := p.offered(sitePC, 1)
	if offer.Size != int64(ed25519.SignatureSize+len(b1)) {
		t.Fatalf("offer of %d bytes, the envelope has %d", offer.Size, ed25519.SignatureSize+len(b1))
	}
	start = time.Now()
	checkEnvelope(t, p.fetch(t, sitePC, offer), b1, pub)
	msgs, wire := p.cost(sitePC)
	t.Logf("ut_planktos cost per connection: offer %d message(s), %d bytes; a %d-byte envelope (%d pieces) "+
		"in %v: %d messages, %d bytes received (the requests: %d messages)", offerMsgs, offerBytes, offer.Size,
		manifest.Pieces(offer.Size), time.Since(start).Round(time.Millisecond), msgs, wire, manifest.Pieces(offer.Size))

	b2 := signPackage(t, dir, priv, 2, padded(t, 2000)) // 400 kB, 25 pieces: more than a data channel message
	wait.For(t, "sequence 2 offered on the open connections", time.Minute, func() bool {
		_, site := p.offered(sitePC, 2)
		_, pkg := p.offered(pkgPC, 2)
		return site && pkg
	})
	n, _ := p.cost(sitePC)
	p.send(t, sitePC, manifest.Message{Type: manifest.MsgRequest, Sequence: 1, Piece: 0})
	wait.For(t, "a reject of sequence 1", 30*time.Second, func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		for _, m := range p.got[sitePC][n:] {
			if m.Type == manifest.MsgReject && m.Sequence == 1 {
				return true
			}
		}
		return false
	})
	offer, _ = p.offered(pkgPC, 2)
	checkEnvelope(t, p.fetch(t, pkgPC, offer), b2, pub)

	// the kill switch travels the same way
	b3 := signPackage(t, dir, priv, 3, func(m *manifest.Manifest) { m.Disabled = true })
	wait.For(t, "the kill switch offered", time.Minute, func() bool { _, ok := p.offered(sitePC, 3); return ok })
	offer, _ = p.offered(sitePC, 3)
	env := p.fetch(t, sitePC, offer)
	checkEnvelope(t, env, b3, pub)
	if m3, err := manifest.Parse(env[ed25519.SignatureSize:]); err != nil || !m3.Disabled {
		t.Errorf("sequence 3 from the seeder: %v, disabled %v", err, m3 != nil && m3.Disabled)
	}

	st := s.Stats()
	if len(st.Torrents) != len(m.Torrents) || st.Site.Sequence != 3 || st.Site.Peers < 1 || st.Site.Speakers < 2 ||
		st.Site.Offers < 4 || st.Site.Rejects < 1 {
		t.Errorf("seeder stats %+v, site %+v", st, st.Site)
	}
	for _, ts := range st.Torrents {
		if ts.InfoHash == siteIH.HexString() {
			t.Error("the site swarm is counted among the package's torrents")
		}
	}
	t.Logf("seeder: %+v", *st.Site)
}

// TestSignatureInProgress: the seeder offers a signed manifest only when manifest.sig verifies over it.
// A new manifest whose manifest.sig is already the next run's (a packaging run in progress: it writes
// the signature just before the manifest) keeps the sequence offered so far, logged once, and is read
// again at every poll; once the signature matches, the new sequence is offered. An unsigned package
// has no site swarm.
func TestSignatureInProgress(t *testing.T) {
	dir, o, _ := packedTestsite(t)
	_, priv, _ := ed25519.GenerateKey(nil)
	signPackage(t, dir, priv, 1)
	logs := &logLines{t: t}
	s := startSeeder(t, seeder.Config{Dir: dir, Log: log.New(logs, "seeder: ", 0)})
	if st := s.Stats(); st.Site == nil || st.Site.Sequence != 1 {
		t.Fatalf("site %+v, want sequence 1", st.Site)
	}

	// manifest 2 with the signature of run 3, which has begun
	b2 := signedManifest(t, dir, priv, 2)
	sig := filepath.Join(dir, filepath.FromSlash(manifest.SigPath))
	writeRenamed(t, sig, manifest.Sign(priv, signedManifest(t, dir, priv, 3)))
	writeRenamed(t, filepath.Join(dir, filepath.FromSlash(manifest.Path)), b2)
	wait.For(t, "the mismatch logged", 10*time.Second, func() bool { return logs.count("does not sign") == 1 })
	for range 3 { // more polls: still sequence 1, logged once
		s.Reload()
	}
	if st := s.Stats(); st.Site.Sequence != 1 || logs.count("does not sign") != 1 ||
		logs.count("still offering sequence 1") != 1 {
		t.Errorf("site %+v during the run; %d mismatch lines", st.Site, logs.count("does not sign"))
	}
	writeRenamed(t, sig, manifest.Sign(priv, b2)) // the manifest is unchanged: a poll reads it again
	wait.For(t, "sequence 2 offered", 10*time.Second, func() bool { return s.Stats().Site.Sequence == 2 })

	unsigned := t.TempDir()
	os.WriteFile(filepath.Join(unsigned, "index.html"), []byte("<!doctype html><title>u</title>"), 0o644)
	pack(t, o, unsigned)
	if st := startSeeder(t, seeder.Config{Dir: unsigned}).Stats(); st.Site != nil {
		t.Errorf("an unsigned package has site stats %+v", st.Site)
	}
}

// logLines sends log lines to t.Log and keeps them.
type logLines struct {
	t     *testing.T
	mu    sync.Mutex
	lines []string
}

func (l *logLines) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimRight(string(p), "\n"))
	l.mu.Lock()
	l.lines = append(l.lines, string(p))
	l.mu.Unlock()
	return len(p), nil
}

// count is the number of lines that contain s.
func (l *logLines) count(s string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, line := range l.lines {
		if strings.Contains(line, s) {
			n++
		}
	}
	return n
}

// padded adds n file entries of bench/signgen's site to a manifest (in its torrents, whose files they
// are not: the seeder does not look), making its envelope that of a site of that size.
func padded(t *testing.T, n int) func(*manifest.Manifest) {
	t.Helper()
	big, err := signgen.Make(n)
	if err != nil {
		t.Fatal(err)
	}
	extra, err := manifest.Parse(big.Manifest)
	if err != nil {
		t.Fatal(err)
	}
	return func(m *manifest.Manifest) {
		for p, e := range extra.Files {
			e.Torrent %= len(m.Torrents)
			m.Files["bench/"+p] = e
		}
		m.Seal()
	}
}

// TestExchangeCost (PLANKTOS_BENCH=1 only): the cost of ut_planktos per connection for a large site,
// the testsite's package padded with bench/signgen's PLANKTOS_BENCH_FILES (default 10,000) file
// entries: the offer (messages and bytes), and fetching the whole envelope from the seeder over one
// WebRTC connection (requests all pipelined; time, messages and bytes each way). For BENCHMARKS.md.
func TestExchangeCost(t *testing.T) {
	if os.Getenv("PLANKTOS_BENCH") == "" {
		t.Skip("benchmark: set PLANKTOS_BENCH=1")
	}
	n := 10000
	if v, err := strconv.Atoi(os.Getenv("PLANKTOS_BENCH_FILES")); err == nil {
		n = v
	}
	dir, o, m := packedTestsite(t)
	_, priv, _ := ed25519.GenerateKey(nil)
	b := signPackage(t, dir, priv, 1, padded(t, n))
	pub := priv.Public().(ed25519.PublicKey)
	s := startSeeder(t, seeder.Config{Dir: dir})
	p := newPlanktosPeer(t)
	var ih metainfo.Hash
	ih.FromHexString(manifest.SiteSwarm(pub))
	pc := p.conn(t, p.join(t, ih, nil, []string{o.announce()}), 1)
	offerMsgs, offerBytes := p.cost(pc)
	offer, _ := p.offered(pc, 1)
	sent0 := s.Stats().Site.Sent
	start := time.Now()
	checkEnvelope(t, p.fetch(t, pc, offer), b, pub)
	elapsed := time.Since(start)
	msgs, wire := p.cost(pc)
	req, _ := manifest.EncodeMessage(manifest.Message{Type: manifest.MsgRequest, Sequence: 1, Piece: 1000})
	pieces := manifest.Pieces(offer.Size)
	out := fmt.Sprintf("ut_planktos, %d files: offer %d message, %d bytes; envelope %s in %d pieces fetched in %v "+
		"(%.1f MB/s): %d messages and %d bytes in (seeder sent %d), %d requests of ≤ %d bytes out",
		len(m.Files)+n, offerMsgs, offerBytes, units.Bytes(offer.Size), pieces, elapsed.Round(time.Millisecond),
		float64(offer.Size)/1e6/elapsed.Seconds(), msgs-offerMsgs, wire-offerBytes, s.Stats().Site.Sent-sent0,
		pieces, len(req)+6)
	t.Log(out)
	fmt.Println(out)
}
