// Package seeder lets a site's origin seed its planktos package to browsers over WebRTC, so that even
// the first visitor of a swarm gets the site's files peer to peer instead of through the HTTP webseed.
//
// A Seeder runs one anacrolix/torrent client that speaks only WebTorrent: no DHT, no TCP or uTP
// listener, no PEX, no webseeds, no downloading. For every torrent of the package's manifest it
// announces to the WebSocket trackers (the manifest's, plus any given in Config) and answers the WebRTC
// offers browsers send through them. Pieces are read from the package's content-addressed store
// (<site>/planktos/files/<sha256>) and never written (see store).
//
// The seeder follows the package: it checks planktos/manifest.json every second, and when a new
// revision appears (planktos was run again) it adds the torrents that are new and drops those the
// manifest no longer lists, without a restart. Torrents present in both keep their peers.
//
// Resources: connections per torrent are capped (Config.MaxPeers), upload can be rate limited
// (Config.UploadRate), and no file content is held in memory beyond the chunks being sent; what memory
// grows with is the number of torrents (a few KB each, plus the one WebRTC offer anacrolix keeps
// outstanding per torrent and tracker) and the number of connected browsers.
//
// A signed package's seeder also serves its signed manifest to peers (ut_planktos, on every
// connection and in the site swarm: see site.go and exchange.go), so that a new revision, or the
// kill switch, reaches returning visitors while the site's web server is down.
package seeder

import (
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/anacrolix/torrent"
	"github.com/anacrolix/torrent/metainfo"
	"github.com/pion/webrtc/v4"
	"golang.org/x/time/rate"

	"github.com/planktos/planktos/internal/units"
	"github.com/planktos/planktos/manifest"
)

// ErrNoTracker means the seeder has no WebSocket tracker to announce to: browsers could not find it.
var ErrNoTracker = errors.New("no ws:// or wss:// tracker to announce to " +
	"(set trackers in planktos.toml and package again, or run planktos serve --seed)")

// Config says what to seed and how.
type Config struct {
	// Dir is the packaged site's root: the folder holding planktos/manifest.json.
	Dir string
	// Trackers are WebSocket announce URLs used besides the manifest's, e.g. `planktos serve`'s own
	// ws://HOST:PORT/announce.
	Trackers []string
	// IgnoreManifestTrackers announces to Trackers only (a local preview must not join the site's
	// real swarms).
	IgnoreManifestTrackers bool
	// ICEServers are the STUN/TURN servers for WebRTC. Empty means the manifest's (the package's
	// ice_servers setting, the ones browsers use).
	ICEServers []manifest.ICEServer
	// MaxPeers caps the peer connections of each torrent (a browser opens one per torrent it wants
	// from the seeder). 0 means 50.
	MaxPeers int
	// UploadRate caps the upload of all torrents together, in bytes per second. 0 means no limit.
	UploadRate int64
	// Verify makes anacrolix hash every piece of the store once when a torrent is added, and never
	// upload a piece that fails; by default pieces whose store files have the right size are trusted
	// (see store for why, and BENCHMARKS.md for the cost).
	Verify bool
	// Poll is how often the manifest is checked for a new revision. 0 means every second.
	Poll time.Duration
	// Log receives a line for every revision followed and every problem; nil logs nothing.
	Log *log.Logger
	// Debug forwards anacrolix's own warnings and errors to Log.
	Debug bool
}

// Seeder seeds one package. New starts it, Stats reads it, Close stops it.
type Seeder struct {
	cfg   Config
	cl    *torrent.Client
	store *store
	x     *exchange // ut_planktos on every connection

	mu       sync.Mutex
	stamp    stamp // of the manifest last read
	revision string
	torrents map[metainfo.Hash]*torrent.Torrent
	site     *torrent.Torrent // the site swarm of a signed package, nil otherwise
	gone     int64            // bytes uploaded by torrents dropped since
	lastErr  string           // the last reload problem logged, so that it is logged once
	// lastSigErr is the last signature problem logged (offerSigned), so that it is logged once
	lastSigErr string

	stop      chan struct{} // closed by Close: the manifest watch ends
	watching  sync.WaitGroup
	closeOnce sync.Once
	closeErr  error
}

// stamp identifies a version of the manifest file cheaply.
type stamp struct {
	mod  time.Time
	size int64
}

// New starts seeding the package in cfg.Dir, and watching its manifest for new revisions, until Close.
// It fails if the package cannot be read or no WebSocket tracker is there to announce to.
func New(cfg Config) (*Seeder, error) {
	if cfg.MaxPeers <= 0 {
		cfg.MaxPeers = 50
	}
	if cfg.Poll <= 0 {
		cfg.Poll = time.Second
	}
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("seeder: %w", err)
	}
	cfg.Dir = dir
	m, b, st, err := readManifest(dir)
	if err != nil {
		return nil, err
	}
	ice := cfg.ICEServers
	if len(ice) == 0 {
		ice = m.Runtime.ICEServers
	}
	st0 := &store{dir: filepath.Join(dir, filepath.FromSlash(manifest.FilesPrefix)), verify: cfg.Verify}
	x := newExchange()
	cl, err := torrent.NewClient(clientConfig(cfg, ice, st0, x))
	if err != nil {
		return nil, fmt.Errorf("seeder: start the torrent client: %w", err)
	}
	s := &Seeder{cfg: cfg, cl: cl, torrents: map[metainfo.Hash]*torrent.Torrent{}, store: st0, x: x,
		stop: make(chan struct{})}
	if err := s.follow(m, b, st); err != nil {
		cl.Close()
		return nil, err
	}
	s.watching.Go(s.watch)
	return s, nil
}

// clientConfig is an anacrolix client that only seeds over WebRTC, and speaks ut_planktos through x.
func clientConfig(cfg Config, ice []manifest.ICEServer, st *store, x *exchange) *torrent.ClientConfig {
	c := torrent.NewDefaultClientConfig()
	c.Seed = true
	c.NoDHT, c.DisablePEX, c.DisableWebseeds = true, true, true
	c.DisableTCP, c.DisableUTP, c.NoDefaultPortForwarding = true, true, true
	c.DialForPeerConns = false // browsers call us, through the trackers
	c.ListenPort = 0
	c.EstablishedConnsPerTorrent = cfg.MaxPeers
	c.DefaultStorage = st // nothing is written: no data folder, no completion database
	if cfg.UploadRate > 0 {
		c.UploadRateLimiter = rate.NewLimiter(rate.Limit(cfg.UploadRate), 0) // burst: anacrolix picks
	}
	for _, s := range ice {
		c.ICEServerList = append(c.ICEServerList,
			webrtc.ICEServer{URLs: s.URLs, Username: s.Username, Credential: s.Credential})
	}
	var w io.Writer = io.Discard
	if cfg.Debug && cfg.Log != nil {
		w = cfg.Log.Writer()
	}
	c.Slogger = slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelWarn}))
	x.install(&c.Callbacks)
	return c
}

// watch checks the manifest every Config.Poll until Close.
func (s *Seeder) watch() {
	tick := time.NewTicker(s.cfg.Poll)
	defer tick.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-tick.C:
			s.Reload()
		}
	}
}

// Reload reads the manifest if its file changed, and follows a new revision. A manifest that cannot
// be read (for instance while planktos writes it), or a signed one whose signature does not verify, is
// logged once and retried at the next call; the torrents seeded and the manifest offered so far stay.
func (s *Seeder) Reload() {
	fi, err := os.Stat(manifestPath(s.cfg.Dir))
	s.mu.Lock()
	same := err == nil && s.stamp == stamp{fi.ModTime(), fi.Size()}
	s.mu.Unlock()
	if same {
		return
	}
	m, b, st, err := readManifest(s.cfg.Dir)
	if err == nil {
		err = s.follow(m, b, st)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil && err.Error() != s.lastErr {
		s.logf("%v; still seeding revision %.12s", err, s.revision)
	}
	s.lastErr = ""
	if err != nil {
		s.lastErr = err.Error()
	}
}

func manifestPath(dir string) string { return filepath.Join(dir, filepath.FromSlash(manifest.Path)) }

// readManifest reads the package's manifest: parsed, its exact bytes, and the file's stamp.
func readManifest(dir string) (*manifest.Manifest, []byte, stamp, error) {
	f, err := os.Open(manifestPath(dir))
	if err != nil {
		return nil, nil, stamp{}, fmt.Errorf("seeder: %w (package the site first: planktos hugo)", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, nil, stamp{}, fmt.Errorf("seeder: %w", err)
	}
	b, err := io.ReadAll(io.LimitReader(f, 256<<20))
	if err != nil {
		return nil, nil, stamp{}, fmt.Errorf("seeder: read %s: %w", f.Name(), err)
	}
	m, err := manifest.Parse(b)
	if err != nil {
		return nil, nil, stamp{}, fmt.Errorf("seeder: %s: %w", f.Name(), err)
	}
	return m, b, stamp{fi.ModTime(), fi.Size()}, nil
}

// trackers are the announce URLs for m: WebSocket ones only (browsers speak nothing else).
func (s *Seeder) trackers(m *manifest.Manifest) []string {
	var out []string
	if !s.cfg.IgnoreManifestTrackers {
		out = append(out, m.Trackers...)
	}
	out = append(out, s.cfg.Trackers...)
	out = slices.DeleteFunc(out, func(u string) bool {
		return !strings.HasPrefix(u, "ws://") && !strings.HasPrefix(u, "wss://")
	})
	slices.Sort(out)
	return slices.Compact(out)
}

// follow makes the seeded torrents those of m (whose bytes are b): it adds the new ones first, then
// drops the ones m no longer lists; then it offers m to peers if it is signed (offerSigned). A signature
// that does not verify is logged once and fails nothing, but the stamp is not kept, so that the next
// Reload reads the files again.
func (s *Seeder) follow(m *manifest.Manifest, b []byte, st stamp) error {
	trackers := s.trackers(m)
	if len(trackers) == 0 {
		return fmt.Errorf("seeder: revision %.12s: %w", m.Revision, ErrNoTracker)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.followTorrents(m, trackers); err != nil {
		return err
	}
	s.stamp = st
	err := s.offerSigned(m, b, trackers)
	if err != nil {
		s.stamp = stamp{}
		if err.Error() != s.lastSigErr {
			s.logf("%v", err)
		}
	}
	s.lastSigErr = ""
	if err != nil {
		s.lastSigErr = err.Error()
	}
	return nil
}

// followTorrents is follow's part for the package's torrents; s.mu is held.
func (s *Seeder) followTorrents(m *manifest.Manifest, trackers []string) error {
	if m.Revision == s.revision {
		return nil
	}
	want := map[metainfo.Hash]bool{}
	var added []*torrent.Torrent
	fail := func(err error) error {
		for _, t := range added { // all or nothing: keep seeding the previous revision
			t.Drop()
		}
		return err
	}
	for _, ref := range m.Torrents {
		var ih metainfo.Hash
		if err := ih.FromHexString(ref.InfoHash); err != nil {
			return fail(fmt.Errorf("seeder: manifest torrent %q: %w", ref.InfoHash, err))
		}
		want[ih] = true
		if _, ok := s.torrents[ih]; ok {
			continue
		}
		t, err := s.add(ih, ref, trackers)
		if err != nil {
			return fail(err)
		}
		added = append(added, t)
	}
	dropped := 0
	for ih, t := range s.torrents {
		if !want[ih] {
			ts := t.Stats()
			s.gone += ts.BytesWrittenData.Int64()
			t.Drop()
			delete(s.torrents, ih)
			dropped++
		}
	}
	for _, t := range added {
		s.torrents[t.InfoHash()] = t
	}
	if s.revision == "" {
		s.logf("seeding revision %.12s: %d torrents, %s, announced to %s", m.Revision, len(m.Torrents),
			units.Bytes(totalLength(m)), strings.Join(trackers, " "))
	} else {
		s.logf("followed revision %.12s → %.12s: %d torrents added, %d dropped, %d kept", s.revision,
			m.Revision, len(added), dropped, len(s.torrents)-len(added))
	}
	s.revision = m.Revision
	return nil
}

// add starts seeding one torrent of the package, read from its .torrent file.
func (s *Seeder) add(ih metainfo.Hash, ref manifest.TorrentRef, trackers []string) (*torrent.Torrent, error) {
	file := filepath.Join(s.cfg.Dir, filepath.FromSlash(ref.URL))
	if !strings.HasPrefix(file, filepath.Join(s.cfg.Dir, manifest.Dir)+string(filepath.Separator)) {
		return nil, fmt.Errorf("seeder: torrent URL %q leaves the package", ref.URL)
	}
	mi, err := metainfo.LoadFromFile(file)
	if err != nil {
		return nil, fmt.Errorf("seeder: torrent %s: %w", ref.InfoHash, err)
	}
	if mi.HashInfoBytes() != ih {
		return nil, fmt.Errorf("seeder: %s has infohash %s, the manifest says %s", file,
			mi.HashInfoBytes().HexString(), ih.HexString())
	}
	t, _ := s.cl.AddTorrentOpt(torrent.AddTorrentOpts{
		InfoHash:             ih,
		InfoBytes:            mi.InfoBytes,
		Storage:              s.store,
		DisallowDataDownload: true, // the store is the package: nothing to fetch, nowhere to write
	})
	if err := t.MergeSpec(&torrent.TorrentSpec{Trackers: [][]string{trackers}}); err != nil {
		t.Drop()
		return nil, fmt.Errorf("seeder: torrent %s: %w", ref.InfoHash, err)
	}
	t.SetMaxEstablishedConns(s.cfg.MaxPeers)
	return t, nil
}

func totalLength(m *manifest.Manifest) int64 {
	var n int64
	for _, t := range m.Torrents {
		n += t.Length
	}
	return n
}

func (s *Seeder) logf(format string, args ...any) {
	if s.cfg.Log != nil {
		s.cfg.Log.Printf(format, args...)
	}
}

// Close stops seeding: the manifest watch ends, every peer connection and tracker socket is closed.
// Stats still work after it.
func (s *Seeder) Close() error {
	s.closeOnce.Do(func() {
		close(s.stop)
		s.watching.Wait()
		s.closeErr = errors.Join(s.cl.Close()...)
	})
	return s.closeErr
}
