package packager_test

import (
	"bytes"
	"context"
	"log"
	"net/http"
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
	"github.com/planktos/planktos/internal/testsite"
	"github.com/planktos/planktos/manifest"
	"github.com/planktos/planktos/packager"
	"github.com/planktos/planktos/serve"
	"github.com/spf13/afero"
)

// TestWebseedDownload packages the real testsite, serves it, and has anacrolix download root.torrent and
// then every torrent it lists through the webseed alone (no peers, trackers, DHT). The bytes must equal
// the store.
func TestWebseedDownload(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the testsite with Hugo")
	}
	for _, base := range []string{"/", "/project/"} {
		t.Run(strings.Trim(base, "/")+"root", func(t *testing.T) {
			dir := t.TempDir()
			var logBuf syncBuffer
			h := &serve.Handler{Dir: dir, Base: base, Log: log.New(&logBuf, "", 0)}
			srv := httptest.NewServer(h)
			defer srv.Close()
			baseURL := srv.URL + base
			if err := testsite.Build(dir, "--baseURL", baseURL); err != nil {
				t.Fatal(err)
			}
			res, err := packager.Pack(context.Background(), afero.NewOsFs(),
				packager.Options{Root: dir, BaseURL: baseURL, Config: config.Default()})
			if err != nil {
				t.Fatal(err)
			}
			// root.torrent first: it lists the package's torrents (their .torrent files, through the webseed)
			root, err := metainfo.LoadFromFile(filepath.Join(dir, "planktos/root.torrent"))
			if err != nil {
				t.Fatal(err)
			}
			logBuf.Reset()
			listed := download(t, root)
			if len(res.Manifest.Torrents) < 2 || len(listed) != len(res.Manifest.Torrents) {
				t.Fatalf("root.torrent lists %d torrents, the manifest %d (want several: the video has its own)",
					len(listed), len(res.Manifest.Torrents))
			}
			got := map[string][]byte{}
			for _, ref := range res.Manifest.Torrents {
				mi, err := metainfo.Load(bytes.NewReader(listed[ref.InfoHash+".torrent"]))
				if err != nil {
					t.Fatalf("torrent %s from root.torrent: %v", ref.InfoHash, err)
				}
				for sha, b := range download(t, mi) {
					got[sha] = b
				}
			}
			for sha, b := range got {
				want, err := os.ReadFile(filepath.Join(dir, "planktos/files", sha))
				if err != nil || !bytes.Equal(b, want) {
					t.Errorf("downloaded %s differs from the store (%v)", sha, err)
				}
			}
			if len(got) != len(uniqueHashes(res.Manifest)) {
				t.Errorf("downloaded %d files, the torrent has %d", len(got), len(uniqueHashes(res.Manifest)))
			}
			// Only torrents and store files were requested, and all were sent: the webseed alone delivered.
			for _, l := range strings.Split(strings.TrimSpace(logBuf.String()), "\n") {
				f := strings.Fields(l)
				if len(f) < 3 || f[0] != "GET" || !(strings.HasPrefix(f[1], base+"planktos/files/") ||
					strings.HasPrefix(f[1], base+"planktos/torrents/")) ||
					(f[2] != "200" && f[2] != "206") {
					t.Errorf("unexpected request: %s", l)
				}
			}
		})
	}
}

// download fetches a torrent with an anacrolix client that may only use its webseeds.
func download(t *testing.T, mi *metainfo.MetaInfo) map[string][]byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	got, err := leech.Download(ctx, leech.Options{From: leech.Webseed, DataDir: t.TempDir()}, mi)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func uniqueHashes(m *manifest.Manifest) map[string]bool {
	out := map[string]bool{}
	for _, e := range m.Files {
		if e.Torrent >= 0 {
			out[e.SHA256] = true
		}
	}
	return out
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

var _ http.Handler = (*serve.Handler)(nil)
