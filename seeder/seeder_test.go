package seeder_test

import (
	"bytes"
	"context"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anacrolix/torrent/metainfo"

	"github.com/planktos/planktos/config"
	"github.com/planktos/planktos/internal/leech"
	"github.com/planktos/planktos/internal/netns"
	"github.com/planktos/planktos/internal/testsite"
	"github.com/planktos/planktos/packager"
	"github.com/planktos/planktos/seeder"
	"github.com/planktos/planktos/serve"
	"github.com/planktos/planktos/tracker"
	"github.com/spf13/afero"
)

// origin is `planktos serve` in a test: the package over HTTP (the webseed) with the Go tracker at
// /announce, on loopback, logging every request.
type origin struct {
	srv *httptest.Server
	h   *serve.Handler
	tr  *tracker.Server
	log syncBuffer
}

func newOrigin(t *testing.T, dir string) *origin {
	o := &origin{tr: tracker.New(tracker.Config{})}
	o.h = &serve.Handler{Dir: dir, Base: "/", Tracker: o.tr, Log: log.New(&o.log, "", 0)}
	o.srv = httptest.NewServer(o.h)
	t.Cleanup(func() { o.srv.Close(); o.tr.Close() })
	return o
}

func (o *origin) announce() string { return "ws" + strings.TrimPrefix(o.srv.URL, "http") + "/announce" }

// packTestsite builds the real testsite into dir for o and packages it with o's tracker.
func packTestsite(t *testing.T, o *origin, dir string, extra ...string) *packager.Manifest {
	t.Helper()
	if err := testsite.Build(dir, append([]string{"--baseURL", o.srv.URL + "/"}, extra...)...); err != nil {
		t.Fatal(err)
	}
	return pack(t, o, dir)
}

func pack(t *testing.T, o *origin, dir string) *packager.Manifest {
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
	cfg.Log = log.New(testWriter{t}, "seeder: ", 0)
	cfg.Poll = 100 * time.Millisecond
	s, err := seeder.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return s
}

func torrents(t *testing.T, dir string, m *packager.Manifest) []*metainfo.MetaInfo {
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

// sameAsStore checks that got holds exactly the store files of m's torrents, byte for byte.
func sameAsStore(t *testing.T, dir string, m *packager.Manifest, got map[string][]byte) {
	t.Helper()
	want := map[string]bool{}
	for _, e := range m.Files {
		if e.Torrent >= 0 {
			want[e.SHA256] = true
		}
	}
	for sha := range want {
		b, err := os.ReadFile(filepath.Join(dir, packager.OutDir, "files", sha))
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
	netns.Need(t)
	if testing.Short() {
		t.Skip("builds the testsite with Hugo")
	}
	dir := t.TempDir()
	o := newOrigin(t, dir)
	m := packTestsite(t, o, dir)
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

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	o.log.Reset()
	start = time.Now()
	got, err := leech.Download(ctx, leech.Options{From: leech.WebRTC, DataDir: t.TempDir()}, torrents(t, dir, m)...)
	if err != nil {
		t.Fatalf("%v; seeder %+v", err, s.Stats())
	}
	elapsed := time.Since(start)
	sameAsStore(t, dir, m, got)
	if l := o.log.String(); strings.Contains(l, "/planktos/files/") {
		t.Errorf("the WebRTC leecher fetched store files over HTTP:\n%s", l)
	}
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
	t.Logf("WebRTC: %d torrents, %s in %v; seeder %d bytes up", len(m.Torrents), packager.Bytes(total),
		elapsed.Round(time.Millisecond), st.Uploaded)

	start = time.Now()
	got, err = leech.Download(ctx, leech.Options{From: leech.Webseed, DataDir: t.TempDir()}, torrents(t, dir, m)...)
	if err != nil {
		t.Fatal(err)
	}
	sameAsStore(t, dir, m, got)
	t.Logf("webseed: %s in %v", packager.Bytes(total), time.Since(start).Round(time.Millisecond))
}

// testWriter sends log lines to t.Log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// syncBuffer is a bytes.Buffer safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }
func (s *syncBuffer) Reset()         { s.mu.Lock(); defer s.mu.Unlock(); s.b.Reset() }
