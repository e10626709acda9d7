package packager_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/anacrolix/torrent/metainfo"
	"github.com/planktos/planktos/config"
	"github.com/planktos/planktos/manifest"
	"github.com/planktos/planktos/packager"
	"github.com/planktos/planktos/runtime"
	"github.com/spf13/afero"
)

const root = "/site/public"

// site is a small published site with the file names that break naive URL handling.
var site = map[string]string{
	"index.html":               "<!doctype html><html><head><title>home</title></head><body><img src=a.png></body></html>",
	"posts/one/index.html":     `<html><head><script src="/planktos/install.js" defer></script></head><body>1</body></html>`,
	"posts/two/index.html":     "<!doctype html><html lang=en><head><meta charset=utf-8><title>2</title></head><body>2</body></html>",
	"a.png":                    "\x89PNG\r\n\x1a\nnot really",
	"css/site.css":             "body{color:red}",
	"copy-of-site.css":         "body{color:red}", // same content: one store file
	"files/read me #1?%ü.txt":  "special names",
	"empty.txt":                "",
	"media/big.bin":            strings.Repeat("0123456789abcdef", 1<<17), // 2 MiB: streamed
	".well-known/security.txt": "Contact: mailto:x@example.org",
}

func writeSite(t *testing.T, fsys afero.Fs, files map[string]string) {
	t.Helper()
	for p, c := range files {
		full := filepath.Join(root, filepath.FromSlash(p))
		if err := fsys.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := afero.WriteFile(fsys, full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func options(baseURL string) packager.Options {
	c := config.Default()
	c.Trackers = [][]string{{"wss://tracker.example.org/announce"}, {"udp://legacy.example.org:80"}}
	return packager.Options{Root: root, BaseURL: baseURL, Config: c}
}

func pack(t *testing.T, fsys afero.Fs, opts packager.Options) *packager.Result {
	t.Helper()
	res, err := packager.Pack(context.Background(), fsys, opts)
	if err != nil {
		t.Fatalf("Pack: %v", err)
	}
	return res
}

func sha(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

func TestPackLayoutAndManifest(t *testing.T) {
	fsys := afero.NewMemMapFs()
	writeSite(t, fsys, site)
	res := pack(t, fsys, options("https://example.org/project/"))
	m := res.Manifest

	for _, p := range []string{"planktos.sw.js", "planktos/install.js", "planktos/peer.js", "planktos/manifest.json",
		"planktos/root.torrent", m.Torrents[0].URL} {
		if ok, _ := afero.Exists(fsys, filepath.Join(root, p)); !ok {
			t.Errorf("%s missing", p)
		}
	}
	if m.Runtime.Version != runtime.Version() || len(m.Runtime.Version) != 16 {
		t.Errorf("manifest runtime version %q, want the embedded runtime's", m.Runtime.Version)
	}
	if m.Base != "/project/" || m.Version != 1 || len(m.Revision) != 64 {
		t.Errorf("base %q version %d revision %q", m.Base, m.Version, m.Revision)
	}
	if len(m.Trackers) != 1 || m.Trackers[0] != "wss://tracker.example.org/announce" {
		t.Errorf("manifest trackers %v: want only the WebSocket one", m.Trackers)
	}
	if len(m.Files) != len(site) {
		t.Errorf("manifest has %d files, site has %d", len(m.Files), len(site))
	}
	for p, e := range m.Files {
		if strings.HasPrefix(p, "planktos") {
			t.Errorf("planktos's own output %s was packaged", p)
		}
		published, err := afero.ReadFile(fsys, filepath.Join(root, p))
		if err != nil {
			t.Fatal(err)
		}
		stored, err := afero.ReadFile(fsys, filepath.Join(root, "planktos/files", e.SHA256))
		if err != nil {
			t.Fatalf("%s: store file: %v", p, err)
		}
		if sha(published) != e.SHA256 || sha(stored) != e.SHA256 || int64(len(published)) != e.Size {
			t.Errorf("%s: manifest %s/%d, published %s, stored %s", p, e.SHA256, e.Size, sha(published), sha(stored))
		}
		if (e.Size == 0) != (e.Torrent == -1) {
			t.Errorf("%s: size %d in torrent %d", p, e.Size, e.Torrent)
		}
	}
	types := map[string]string{"index.html": "text/html; charset=utf-8", "a.png": "image/png",
		"css/site.css": "text/css; charset=utf-8", "media/big.bin": "text/plain; charset=utf-8"}
	for p, want := range types {
		if got := m.Files[p].Type; got != want {
			t.Errorf("%s: type %q, want %q", p, got, want)
		}
	}
	if m.Files["css/site.css"].SHA256 != m.Files["copy-of-site.css"].SHA256 {
		t.Error("identical files have different hashes")
	}
	if res.Injected != 2 || res.Pages != 3 {
		t.Errorf("pages %d injected %d, want 3 and 2", res.Pages, res.Injected)
	}
	home, _ := afero.ReadFile(fsys, filepath.Join(root, "index.html"))
	if !bytes.Contains(home, []byte(`<script src="/project/planktos/install.js" defer></script></head>`)) {
		t.Errorf("home page not injected with the subpath: %s", home)
	}
	checkStore(t, fsys)
	checkTorrent(t, fsys, m)
}

// checkStore asserts every store file hashes to its name.
func checkStore(t *testing.T, fsys afero.Fs) { t.Helper(); checkStoreAt(t, fsys, root) }

// checkStoreAt checks that every store file of the site at dir hashes to its name.
func checkStoreAt(t *testing.T, fsys afero.Fs, dir string) {
	t.Helper()
	names, err := afero.ReadDir(fsys, filepath.Join(dir, "planktos/files"))
	if err != nil {
		t.Fatal(err)
	}
	for _, fi := range names {
		b, _ := afero.ReadFile(fsys, filepath.Join(dir, "planktos/files", fi.Name()))
		if sha(b) != fi.Name() {
			t.Errorf("store file %s hashes to %s", fi.Name(), sha(b))
		}
	}
}

// checkTorrent parses every torrent with anacrolix, recomputes its pieces with anacrolix's own code,
// checks that each file is in the torrent its manifest entry names, and that root.torrent is the one
// torrent or lists them all.
func checkTorrent(t *testing.T, fsys afero.Fs, m *manifest.Manifest) {
	t.Helper()
	where := map[string]int{} // content → torrent index
	for i, ref := range m.Torrents {
		mi, info := loadTorrent(t, fsys, ref.URL)
		if got := mi.HashInfoBytes().HexString(); got != ref.InfoHash || ref.URL != "planktos/torrents/"+got+".torrent" {
			t.Errorf("%s: infohash %s, manifest says %s", ref.URL, got, ref.InfoHash)
		}
		if info.Name != "files" || len(mi.UrlList) == 0 || mi.UrlList[0] != m.Webseeds[0] ||
			!strings.HasSuffix(mi.UrlList[0], "/planktos/") {
			t.Errorf("name %q url-list %v", info.Name, mi.UrlList)
		}
		if len(mi.AnnounceList) != 2 || mi.AnnounceList[1][0] != "udp://legacy.example.org:80" {
			t.Errorf("announce-list %v: want both tiers", mi.AnnounceList)
		}
		want := info
		want.Pieces = nil
		err := want.GeneratePieces(func(fi metainfo.FileInfo) (io.ReadCloser, error) {
			return fsys.Open(filepath.Join(root, "planktos/files", fi.Path[0]))
		})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(want.Pieces, info.Pieces) {
			t.Errorf("%s: pieces differ from anacrolix's GeneratePieces", ref.URL)
		}
		if info.TotalLength() != ref.Length || info.PieceLength != ref.PieceLength {
			t.Errorf("torrent length %d pieces %d, manifest %d %d", info.TotalLength(), info.PieceLength, ref.Length, ref.PieceLength)
		}
		for _, f := range info.Files {
			if _, dup := where[f.Path[0]]; dup {
				t.Errorf("%s is in two torrents", f.Path[0])
			}
			where[f.Path[0]] = i
		}
	}
	for p, e := range m.Files {
		if i, ok := where[e.SHA256]; e.Size > 0 && (!ok || i != e.Torrent) {
			t.Errorf("%s: manifest says torrent %d, it is in %d (%v)", p, e.Torrent, i, ok)
		}
	}
	mi, info := loadTorrent(t, fsys, "planktos/root.torrent")
	if len(m.Torrents) == 1 {
		if got := mi.HashInfoBytes().HexString(); got != m.Torrents[0].InfoHash {
			t.Errorf("root.torrent is %s, the package's one torrent %s", got, m.Torrents[0].InfoHash)
		}
		return
	}
	if info.Name != "torrents" || len(info.Files) != len(m.Torrents) || mi.UrlList[0] != m.Webseeds[0] {
		t.Fatalf("root.torrent: name %q, %d files for %d torrents", info.Name, len(info.Files), len(m.Torrents))
	}
	for i, f := range info.Files {
		if f.Path[0] != m.Torrents[i].InfoHash+".torrent" || f.Length != int64(len(mustRead(t, fsys, filepath.Join(root, m.Torrents[i].URL)))) {
			t.Errorf("root.torrent file %d: %v, want %s", i, f, m.Torrents[i].URL)
		}
	}
	want := info
	want.Pieces = nil
	if err := want.GeneratePieces(func(fi metainfo.FileInfo) (io.ReadCloser, error) {
		return fsys.Open(filepath.Join(root, "planktos/torrents", fi.Path[0]))
	}); err != nil || !bytes.Equal(want.Pieces, info.Pieces) {
		t.Errorf("root.torrent: pieces differ from anacrolix's (%v)", err)
	}
}

func loadTorrent(t *testing.T, fsys afero.Fs, name string) (*metainfo.MetaInfo, metainfo.Info) {
	t.Helper()
	f, err := fsys.Open(filepath.Join(root, name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	mi, err := metainfo.Load(f)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	info, err := mi.UnmarshalInfo()
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return mi, info
}

// snapshot maps every file under root to its content and mtime.
func snapshot(t *testing.T, fsys afero.Fs) map[string]string {
	t.Helper()
	out := map[string]string{}
	afero.Walk(fsys, root, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			b, _ := afero.ReadFile(fsys, p)
			out[p] = sha(b) + " " + fi.ModTime().Format(time.RFC3339Nano)
		}
		return nil
	})
	return out
}

func TestPackIdempotent(t *testing.T) {
	fsys := afero.NewMemMapFs()
	writeSite(t, fsys, site)
	first := pack(t, fsys, options("https://example.org/"))
	before := snapshot(t, fsys)
	second := pack(t, fsys, options("https://example.org/"))
	if first.Manifest.Revision != second.Manifest.Revision ||
		first.Manifest.Torrents[0].InfoHash != second.Manifest.Torrents[0].InfoHash {
		t.Error("second run changed the revision or infohash")
	}
	if second.Added != 0 || second.Injected != 0 || second.Pruned != 0 {
		t.Errorf("second run added %d, injected %d, pruned %d", second.Added, second.Injected, second.Pruned)
	}
	after := snapshot(t, fsys)
	for p, v := range before {
		if after[p] != v {
			t.Errorf("%s changed", p)
		}
	}
	if len(after) != len(before) {
		t.Errorf("%d files before, %d after", len(before), len(after))
	}
}

func TestPackUpdatePrunes(t *testing.T) {
	fsys := afero.NewMemMapFs()
	writeSite(t, fsys, site)
	first := pack(t, fsys, options("https://example.org/"))
	old := first.Manifest.Files["css/site.css"].SHA256
	writeSite(t, fsys, map[string]string{"css/site.css": "body{color:blue}"})
	second := pack(t, fsys, options("https://example.org/"))
	if second.Manifest.Revision == first.Manifest.Revision {
		t.Error("revision did not change")
	}
	if second.Added != 1 {
		t.Errorf("added %d store files, want 1", second.Added)
	}
	// copy-of-site.css still references the old content, so it stays.
	if ok, _ := afero.Exists(fsys, filepath.Join(root, "planktos/files", old)); !ok {
		t.Error("store file still referenced was pruned")
	}
	fsys.Remove(filepath.Join(root, "copy-of-site.css"))
	third := pack(t, fsys, options("https://example.org/"))
	if ok, _ := afero.Exists(fsys, filepath.Join(root, "planktos/files", old)); ok {
		t.Error("unreferenced store file was not pruned")
	}
	if third.Pruned != 2 { // the old css and the second run's torrent
		t.Errorf("pruned %d files, want 2", third.Pruned)
	}
	torrents, _ := afero.ReadDir(fsys, filepath.Join(root, "planktos/torrents"))
	if len(torrents) != len(third.Manifest.Torrents) {
		t.Errorf("%d torrents left, want %d", len(torrents), len(third.Manifest.Torrents))
	}
	checkStore(t, fsys)
}

func TestPackKillSwitch(t *testing.T) {
	fsys := afero.NewMemMapFs()
	writeSite(t, fsys, site)
	pack(t, fsys, options("https://example.org/"))
	opts := options("https://example.org/")
	opts.Config.Enabled = false
	pack(t, fsys, opts)
	for _, f := range []string{"planktos/peer.js", "planktos/badge.js"} {
		if ok, _ := afero.Exists(fsys, filepath.Join(root, f)); ok {
			t.Errorf("kill switch left %s", f)
		}
	}
	sw, _ := afero.ReadFile(fsys, filepath.Join(root, "planktos.sw.js"))
	kill, _ := os.ReadFile("../runtime/dist/kill.sw.js")
	if !bytes.Equal(sw, kill) {
		t.Error("kill switch did not install the kill service worker")
	}
}

func TestPackSelection(t *testing.T) {
	fsys := afero.NewMemMapFs()
	writeSite(t, fsys, site)
	opts := options("https://example.org/")
	opts.Config.Exclude = []string{"*.bin", "files/**"}
	m := pack(t, fsys, opts).Manifest
	var keys []string
	for k := range m.Files {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if strings.HasSuffix(k, ".bin") || strings.HasPrefix(k, "files/") {
			t.Errorf("%s should be excluded", k)
		}
	}
	if len(keys) != len(site)-2 {
		t.Errorf("packaged %v", keys)
	}
}
