package seeder_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anacrolix/torrent/metainfo"

	"github.com/planktos/planktos/config"
	"github.com/planktos/planktos/internal/leech"
	"github.com/planktos/planktos/internal/netns"
	"github.com/planktos/planktos/internal/testsite"
	"github.com/planktos/planktos/internal/units"
	"github.com/planktos/planktos/internal/wait"
	"github.com/planktos/planktos/manifest"
	"github.com/planktos/planktos/packager"
	"github.com/planktos/planktos/seeder"
	"github.com/planktos/planktos/serve"
	"github.com/planktos/planktos/tracker"
	"github.com/spf13/afero"
)

// origin is `planktos serve` in a test: the package over HTTP (the webseed) with the Go tracker at
// /announce, on loopback, counting the requests for store files.
type origin struct {
	srv    *httptest.Server
	tr     *tracker.Server
	stored atomic.Int64 // requests for planktos/files/
}

func newOrigin(t *testing.T, dir string) *origin {
	o := &origin{tr: tracker.New(tracker.Config{})}
	h := &serve.Handler{Dir: dir, Base: "/", Tracker: o.tr}
	o.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/planktos/files/") {
			o.stored.Add(1)
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(func() { o.srv.Close(); o.tr.Close() })
	return o
}

func (o *origin) announce() string { return "ws" + strings.TrimPrefix(o.srv.URL, "http") + "/announce" }

// packedTestsite builds the real testsite into a new folder, serves it and packages it with the
// origin's tracker. It skips outside the WebRTC test namespace, and in -short mode (Hugo runs).
func packedTestsite(t *testing.T) (string, *origin, *manifest.Manifest) {
	t.Helper()
	netns.Need(t)
	if testing.Short() {
		t.Skip("builds the testsite with Hugo")
	}
	dir := t.TempDir()
	o := newOrigin(t, dir)
	if err := testsite.Build(dir, "--baseURL", o.srv.URL+"/"); err != nil {
		t.Fatal(err)
	}
	return dir, o, pack(t, o, dir)
}

func pack(t *testing.T, o *origin, dir string) *manifest.Manifest {
	t.Helper()
	cfg := config.Default()
	cfg.Trackers = [][]string{{o.announce()}}
	res, err := packager.Pack(context.Background(), afero.NewOsFs(),
		packager.Options{Root: dir, BaseURL: o.srv.URL + "/", Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	return res.Manifest
}

// startSeeder runs a seeder on dir until the test ends.
func startSeeder(t *testing.T, cfg seeder.Config) *seeder.Seeder {
	t.Helper()
	if cfg.Log == nil {
		cfg.Log = log.New(testWriter{t}, "seeder: ", 0)
	}
	cfg.Poll = 100 * time.Millisecond
	s, err := seeder.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func torrents(t *testing.T, dir string, m *manifest.Manifest) []*metainfo.MetaInfo {
	t.Helper()
	var out []*metainfo.MetaInfo
	for _, ref := range m.Torrents {
		mi, err := metainfo.LoadFromFile(filepath.Join(dir, filepath.FromSlash(ref.URL)))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, mi)
	}
	return out
}

// leechWebRTC downloads every torrent of m from peers over WebRTC only, checks the bytes against the
// store and that not one store file went over HTTP, and returns how long it took.
func leechWebRTC(t *testing.T, o *origin, dir string, m *manifest.Manifest, s *seeder.Seeder) time.Duration {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	before, start := o.stored.Load(), time.Now()
	got, err := leech.Download(ctx, leech.Options{From: leech.WebRTC, DataDir: t.TempDir()}, torrents(t, dir, m)...)
	if err != nil {
		t.Fatalf("%v; seeder %+v", err, s.Stats())
	}
	elapsed := time.Since(start)
	sameAsStore(t, dir, m, got)
	if n := o.stored.Load() - before; n > 0 {
		t.Errorf("the WebRTC leecher made %d requests for store files over HTTP", n)
	}
	return elapsed
}

// sameAsStore checks that got holds exactly the store files of m's torrents, byte for byte.
func sameAsStore(t *testing.T, dir string, m *manifest.Manifest, got map[string][]byte) {
	t.Helper()
	want := map[string]bool{}
	for _, e := range m.Files {
		if e.Torrent >= 0 {
			want[e.SHA256] = true
		}
	}
	for sha := range want {
		b, err := os.ReadFile(filepath.Join(dir, manifest.Dir, "files", sha))
		if err != nil || !bytes.Equal(got[sha], b) {
			t.Errorf("downloaded %s (%d bytes) differs from the store (%d bytes, %v)", sha, len(got[sha]), len(b), err)
		}
	}
	if len(got) != len(want) {
		t.Errorf("downloaded %d files, the package has %d", len(got), len(want))
	}
}

// TestLeechFromSeeder: the real testsite is packaged (several torrents: the video has its own) and
// seeded; an anacrolix leecher that may use WebRTC peers only (no webseed) downloads every torrent of
// the package through the Go tracker, and another that may use the webseed only does the same. Both
// get exactly the store's bytes; the first without one store byte over HTTP, all of it from the seeder.
func TestLeechFromSeeder(t *testing.T) {
	dir, o, m := packedTestsite(t)
	if len(m.Torrents) < 2 {
		t.Fatalf("the testsite has %d torrents, want several", len(m.Torrents))
	}
	start := time.Now()
	s := startSeeder(t, seeder.Config{Dir: dir})
	t.Logf("seeder started in %v", time.Since(start).Round(time.Millisecond))
	var total int64
	for _, ref := range m.Torrents {
		total += ref.Length
	}

	elapsed := leechWebRTC(t, o, dir, m, s)
	st := s.Stats()
	if st.Uploaded < total || len(st.Torrents) != len(m.Torrents) || st.Revision != m.Revision {
		t.Errorf("seeder stats %+v, want %d torrents of revision %.12s and ≥ %d bytes up", st, len(m.Torrents),
			m.Revision, total)
	}
	for _, ts := range st.Torrents {
		if ts.Uploaded == 0 || ts.Complete != ts.Pieces {
			t.Errorf("torrent %s: %+v", ts.InfoHash, ts)
		}
	}
	t.Logf("WebRTC: %d torrents, %s in %v; seeder %d bytes up", len(m.Torrents), units.Bytes(total),
		elapsed.Round(time.Millisecond), st.Uploaded)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	start = time.Now()
	got, err := leech.Download(ctx, leech.Options{From: leech.Webseed, DataDir: t.TempDir()}, torrents(t, dir, m)...)
	if err != nil {
		t.Fatal(err)
	}
	sameAsStore(t, dir, m, got)
	t.Logf("webseed: %s in %v", units.Bytes(total), time.Since(start).Round(time.Millisecond))
}

// testWriter sends log lines to t.Log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// TestFollowRevision: while the seeder runs, the site changes (a page edited, a file added) and is
// packaged again; the seeder follows the new revision within its poll interval (the torrents whose
// files changed are added, the replaced ones dropped, the others kept with their peers), and a WebRTC
// leecher gets the new revision's torrents from it.
func TestFollowRevision(t *testing.T) {
	dir, o, m1 := packedTestsite(t)
	s := startSeeder(t, seeder.Config{Dir: dir})

	page := filepath.Join(dir, "about", "index.html")
	b, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(page, bytes.Replace(b, []byte("</body>"), []byte("<p>revision two</p></body>"), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "new.txt"), []byte("a file of revision two\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	m2 := pack(t, o, dir)
	if m2.Revision == m1.Revision {
		t.Fatal("repackaging gave the same revision")
	}
	old, kept := map[string]bool{}, 0
	for _, r := range m1.Torrents {
		old[r.InfoHash] = true
	}
	for _, r := range m2.Torrents {
		if old[r.InfoHash] {
			kept++
		}
	}
	if kept == len(m2.Torrents) {
		t.Fatal("repackaging changed no torrent")
	}
	start := time.Now()
	wait.For(t, "the seeder to follow revision "+m2.Revision[:12], 5*time.Second,
		func() bool { return s.Stats().Revision == m2.Revision })
	t.Logf("followed in %v: %d torrents, %d kept", time.Since(start).Round(time.Millisecond), len(m2.Torrents), kept)
	st := s.Stats()
	if len(st.Torrents) != len(m2.Torrents) {
		t.Fatalf("the seeder seeds %d torrents, revision two has %d", len(st.Torrents), len(m2.Torrents))
	}
	for _, ts := range st.Torrents {
		found := false
		for _, r := range m2.Torrents {
			found = found || r.InfoHash == ts.InfoHash
		}
		if !found {
			t.Errorf("the seeder still seeds %s, which revision two dropped", ts.InfoHash)
		}
	}

	leechWebRTC(t, o, dir, m2, s) // new.txt included: sameAsStore checks every file of revision two
}

// TestVerify: with Verify, anacrolix hashes every piece of the store when the seeder starts; a
// damaged store file (one byte changed) makes exactly its piece unavailable, the rest is seeded.
// By default (trust) nothing is hashed and every piece is available.
func TestVerify(t *testing.T) {
	dir, _, m := packedTestsite(t) // in the namespace: the client gathers ICE candidates for its offers
	video := filepath.Join(dir, manifest.Dir, "files", m.Files["media/clip.webm"].SHA256)
	f, err := os.OpenFile(video, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	b := []byte{0}
	f.ReadAt(b, 1000)
	b[0] ^= 0xff
	if _, err := f.WriteAt(b, 1000); err != nil {
		t.Fatal(err)
	}
	f.Close()

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	start := time.Now()
	s := startSeeder(t, seeder.Config{Dir: dir, Verify: true})
	bad, err := s.Checked(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	for _, r := range m.Torrents {
		total += r.Length
	}
	t.Logf("verify: %s hashed in %v", units.Bytes(total), time.Since(start).Round(time.Millisecond))
	if bad != 1 {
		t.Errorf("%d pieces failed the check, want 1 (the damaged one): %+v", bad, s.Stats())
	}

	trust := startSeeder(t, seeder.Config{Dir: dir})
	if bad, err := trust.Checked(ctx); err != nil || bad != 0 {
		t.Errorf("trust: %d pieces unavailable, %v", bad, err)
	}
}

// TestSeederMemory (PLANKTOS_BENCH=1 only): the seeder's Go heap and goroutines for a package of
// PLANKTOS_BENCH_TORRENTS (default 100) torrents of 1 MiB each (files of 1 MiB or more get a torrent of
// their own), with no browser connected: what seeding costs per torrent, measured once the tracker
// has every torrent's announce (each carries its offers). It fails above 400 KB and 40 goroutines
// per torrent: measured 111–169 KB and 14.0–14.4 (BENCHMARKS.md), so a leak or a per-torrent
// buffer, not noise.
func TestSeederMemory(t *testing.T) {
	if os.Getenv("PLANKTOS_BENCH") == "" {
		t.Skip("benchmark: set PLANKTOS_BENCH=1")
	}
	netns.Need(t)
	n := 100
	fmt.Sscan(os.Getenv("PLANKTOS_BENCH_TORRENTS"), &n)
	dir := t.TempDir()
	o := newOrigin(t, dir)
	os.WriteFile(filepath.Join(dir, "index.html"), []byte("<!doctype html><title>m</title>"), 0o644)
	buf := make([]byte, 1<<20)
	for i := range n {
		binary.LittleEndian.PutUint64(buf, uint64(i))
		os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%04d.bin", i)), buf, 0o644)
	}
	m := pack(t, o, dir)
	heap := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapInuse
	}
	h0, g0 := heap(), runtime.NumGoroutine()
	s := startSeeder(t, seeder.Config{Dir: dir})
	wait.For(t, "every torrent announced", time.Minute, func() bool { return o.tr.Stats().Peers >= len(m.Torrents) })
	h1, g1 := heap(), runtime.NumGoroutine()
	perTorrentKB := float64(int64(h1)-int64(h0)) / 1e3 / float64(len(m.Torrents))
	goroutines := float64(g1-g0) / float64(len(m.Torrents))
	out := fmt.Sprintf("%d torrents (%d MiB): heap +%.1f MB (%.1f KB per torrent), +%d goroutines (%.1f per torrent); %+v",
		len(m.Torrents), n, float64(int64(h1)-int64(h0))/1e6, perTorrentKB, g1-g0, goroutines, s.Stats().Peers)
	t.Log(out)
	fmt.Println(out)
	if perTorrentKB > 400 || goroutines > 40 {
		t.Errorf("seeding costs %.1f KB and %.1f goroutines per torrent; want at most 400 KB and 40", perTorrentKB, goroutines)
	}
	if goroutines < 1 {
		t.Errorf("%.1f goroutines per torrent: the seeder is not seeding them", goroutines)
	}
}

// TestUploadRate: with Config.UploadRate, a WebRTC leecher cannot get the package faster than that rate
// (a lower bound on the time, which a slow machine cannot break), and still gets all of it.
func TestUploadRate(t *testing.T) {
	dir, o, m := packedTestsite(t)
	const rate = 512 << 10
	s := startSeeder(t, seeder.Config{Dir: dir, UploadRate: rate})
	var total int64
	for _, ref := range m.Torrents {
		total += ref.Length
	}
	elapsed := leechWebRTC(t, o, dir, m, s)
	floor := time.Duration(float64(total) / rate * 0.8 * float64(time.Second)) // a little burst allowed
	t.Logf("%s at %s/s: %v (at least %v)", units.Bytes(total), units.Bytes(rate), elapsed.Round(time.Millisecond), floor.Round(time.Millisecond))
	if elapsed < floor {
		t.Errorf("the leecher got %s in %v, faster than the %s/s limit allows (%v)", units.Bytes(total), elapsed,
			units.Bytes(rate), floor)
	}
}
