package packager

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path/filepath"

	"github.com/anacrolix/torrent/metainfo"
	"github.com/planktos/planktos/inject"
	"github.com/planktos/planktos/manifest"
	"github.com/spf13/afero"
)

// hashCache remembers what a run learned about each published file, keyed by path, size and modification
// time, so that the next run does not read a file Hugo did not rewrite. It lives outside the publish
// folder (it is not for visitors); losing it only costs time.
type hashCache struct {
	fsys    afero.Fs
	file    string // "" disables the cache
	entries map[string]cacheEntry
}

type cacheEntry struct {
	Size   int64  `json:"s"`
	MTime  int64  `json:"m"` // UnixNano
	SHA256 string `json:"h"`
	Type   string `json:"t"`
	Found  int    `json:"f,omitempty"`
	Frag   bool   `json:"g,omitempty"`
	Live   bool   `json:"l,omitempty"`
	// Registers are the page's inline register() arguments (item.registers).
	Registers []string `json:"r,omitempty"`
}

// loadCache reads the cache for root from dir; an empty dir disables caching.
func loadCache(fsys afero.Fs, dir, root string) *hashCache {
	c := &hashCache{fsys: fsys, entries: map[string]cacheEntry{}}
	if dir == "" {
		return c
	}
	abs, _ := filepath.Abs(root)
	sum := sha256.Sum256([]byte(abs))
	c.file = filepath.Join(dir, hex.EncodeToString(sum[:8])+".json")
	if b, err := afero.ReadFile(fsys, c.file); err == nil {
		json.Unmarshal(b, &c.entries) // a damaged cache is an empty one
	}
	return c
}

// lookup returns the item for src if the cache knows this version of it.
func (c *hashCache) lookup(src source) (item, bool) {
	e, ok := c.entries[src.rel]
	if !ok || e.Size != src.size || e.MTime != src.mtime.UnixNano() {
		return item{}, false
	}
	return item{source: src, sha256: e.SHA256, typ: e.Type, html: isHTML(src.rel),
		page: inject.Result{Found: e.Found, Fragment: e.Frag, LiveReload: e.Live}, registers: e.Registers}, true
}

// save replaces the cache with what this run learned.
func (c *hashCache) save(items []item) error {
	if c.file == "" {
		return nil
	}
	entries := make(map[string]cacheEntry, len(items))
	for _, it := range items {
		found := it.page.Found
		if it.page.Injected {
			found = 1 // the published page now has the tag
		}
		entries[it.rel] = cacheEntry{Size: it.size, MTime: it.mtime.UnixNano(), SHA256: it.sha256, Type: it.typ,
			Found: found, Frag: it.page.Fragment, Live: it.page.LiveReload, Registers: it.registers}
	}
	b, err := json.Marshal(entries)
	if err != nil {
		return err
	}
	if err := c.fsys.MkdirAll(filepath.Dir(c.file), 0o755); err != nil {
		return err
	}
	return writeAtomic(c.fsys, c.file, b, 0)
}

// knownPieces returns the piece hashes of every torrent of the previous package, keyed by shardKey, so
// that a torrent whose files did not change is not hashed again; and of large files hashed while they
// were stored (their own torrent's pieces).
func knownPieces(fsys afero.Fs, root string, prev *manifest.Manifest, items []item) map[string][]byte {
	known := map[string][]byte{}
	for _, it := range items {
		if it.pieces != nil {
			known[shardKey(shard{blobs: []blob{{it.sha256, it.size}}, pieceLength: it.pieceLength})] = it.pieces
		}
	}
	if prev == nil {
		return known
	}
	for _, t := range prev.Torrents {
		b, err := afero.ReadFile(fsys, native(root, manifest.TorrentPath(t.InfoHash)))
		if err != nil {
			continue
		}
		mi, err := metainfo.Load(bytes.NewReader(b))
		if err != nil {
			continue
		}
		info, err := mi.UnmarshalInfo()
		if err != nil || info.Name != manifest.TorrentName || info.PieceLength <= 0 ||
			int64(len(info.Pieces)) != (info.TotalLength()+info.PieceLength-1)/info.PieceLength*sha1.Size {
			continue
		}
		sh := shard{pieceLength: info.PieceLength}
		for _, f := range info.Files {
			if len(f.Path) != 1 {
				sh.blobs = nil
				break
			}
			sh.blobs = append(sh.blobs, blob{f.Path[0], f.Length})
		}
		if sh.blobs != nil {
			known[shardKey(sh)] = info.Pieces
		}
	}
	return known
}

// shardKey identifies a torrent's content: piece length, then each file's hash and size, in order.
func shardKey(sh shard) string {
	h := sha256.New()
	fmt.Fprintf(h, "%d", sh.pieceLength)
	for _, b := range sh.blobs {
		fmt.Fprintf(h, " %s:%d", b.sha256, b.size)
	}
	return string(h.Sum(nil))
}
