package packager_test

import (
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

// TestPackReusesPieces changes the last file of the torrent: the pieces before it are taken from the previous
// torrent, and the result must still equal anacrolix's own piece hashes.
func TestPackReusesPieces(t *testing.T) {
	fsys := afero.NewMemMapFs()
	writeSite(t, fsys, site)
	opts := options("https://example.org/")
	opts.Config.PieceLength = 16 << 10
	first := pack(t, fsys, opts)
	for i, content := range []string{"<html><head></head><body>2, longer</body></html>", "<p>2</p>"} {
		writeSite(t, fsys, map[string]string{"posts/two/index.html": content})
		res := pack(t, fsys, opts)
		if res.Manifest.Torrents[0].InfoHash == first.Manifest.Torrents[0].InfoHash {
			t.Fatalf("change %d: infohash did not change", i)
		}
		checkTorrent(t, fsys, res.Manifest)
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
