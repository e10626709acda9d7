package packager_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spf13/afero"
)

// countingFs counts opens of published files (not planktos's own output).
type countingFs struct {
	afero.Fs
	opens atomic.Int64
}

func (c *countingFs) Open(name string) (afero.File, error) {
	if fi, err := c.Fs.Stat(name); err == nil && fi.Mode().IsRegular() && strings.HasPrefix(name, root) &&
		!strings.Contains(name, "/planktos") {
		c.opens.Add(1)
	}
	return c.Fs.Open(name)
}

func TestPackHashCache(t *testing.T) {
	mem := afero.NewMemMapFs()
	writeSite(t, mem, site)
	opts := options("https://example.org/")
	opts.CacheDir = "/cache"
	first := pack(t, mem, opts)

	fsys := &countingFs{Fs: mem}
	second := pack(t, fsys, opts)
	if n := fsys.opens.Load(); n != 0 {
		t.Errorf("second run read %d unchanged published files", n)
	}
	if second.Manifest.Revision != first.Manifest.Revision {
		t.Error("cached run changed the revision")
	}

	// A rewritten file (new mtime) is read again, even with the same size.
	full := filepath.Join(root, "css/site.css")
	afero.WriteFile(mem, full, []byte("body{color:tan}"), 0o644)
	mem.Chtimes(full, time.Now(), time.Now().Add(time.Minute))
	fsys.opens.Store(0)
	third := pack(t, fsys, opts)
	if n := fsys.opens.Load(); n != 1 {
		t.Errorf("third run opened %d files, want only the rewritten one", n)
	}
	if third.Manifest.Files["css/site.css"].SHA256 == first.Manifest.Files["css/site.css"].SHA256 {
		t.Error("rewritten file kept its old hash")
	}
	checkStore(t, mem)
	checkTorrent(t, mem, third.Manifest)

	// A cache entry whose store file vanished is not trusted.
	mem.Remove(filepath.Join(root, "planktos/files", third.Manifest.Files["a.png"].SHA256))
	fsys.opens.Store(0)
	pack(t, fsys, opts)
	if n := fsys.opens.Load(); n != 1 {
		t.Errorf("opened %d files, want the one whose store file was missing", n)
	}
	checkIntact(t, mem, mustRead(t, mem, filepath.Join(root, "planktos/manifest.json")))
}

// TestPackKeepsUnchangedTorrents changes one page: the torrent carrying it gets a new infohash, every
// other torrent keeps its own (visitors go on seeding them), and all pieces still equal anacrolix's.
func TestPackKeepsUnchangedTorrents(t *testing.T) {
	mem := afero.NewMemMapFs()
	writeSite(t, mem, site)
	for i := range 40 { // enough small files for several shards
		writeSite(t, mem, map[string]string{fmt.Sprintf("notes/%02d/index.html", i): fmt.Sprintf("<p>note %d</p>", i)})
	}
	opts := options("https://example.org/")
	first := pack(t, mem, opts)
	if len(first.Manifest.Torrents) < 3 {
		t.Fatalf("%d torrents, want the large file's and at least two shards", len(first.Manifest.Torrents))
	}
	for i, content := range []string{"<html><head></head><body>2, longer</body></html>", "<p>2</p>"} {
		writeSite(t, mem, map[string]string{"posts/two/index.html": content})
		m := pack(t, mem, opts).Manifest
		changed := m.Files["posts/two/index.html"].Torrent
		if len(m.Torrents) != len(first.Manifest.Torrents) {
			t.Fatalf("change %d: %d torrents, was %d", i, len(m.Torrents), len(first.Manifest.Torrents))
		}
		for j, ref := range m.Torrents {
			same := ref.InfoHash == first.Manifest.Torrents[j].InfoHash
			if same == (j == changed) {
				t.Errorf("change %d: torrent %d (the page's: %d) kept its infohash: %v", i, j, changed, same)
			}
		}
		checkTorrent(t, mem, m)
	}
}

func mustRead(t *testing.T, fsys afero.Fs, name string) []byte {
	t.Helper()
	b, err := afero.ReadFile(fsys, name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
