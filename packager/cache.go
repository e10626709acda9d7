package packager

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"path/filepath"

	"github.com/anacrolix/torrent/metainfo"
	"github.com/planktos/planktos/hugoext"
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
		page: hugoext.InjectResult{Found: e.Found, Fragment: e.Frag, LiveReload: e.Live}}, true
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
			Found: found, Frag: it.page.Fragment, Live: it.page.LiveReload}
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

// reusablePieces returns the piece hashes of the previous torrent that the new one shares: those lying
// wholly within the leading files both have in common (same content, same order, same piece length).
func reusablePieces(fsys afero.Fs, out string, prev *Manifest, blobs []blob, pl int64) []byte {
	if prev == nil || len(prev.Torrents) == 0 || prev.Torrents[0].PieceLength != pl {
		return nil
	}
	mi, err := metainfo.LoadFromFile(filepath.Join(out, "torrents", prev.Torrents[0].InfoHash+".torrent"))
	if err != nil {
		return nil
	}
	info, err := mi.UnmarshalInfo()
	if err != nil || info.PieceLength != pl {
		return nil
	}
	var same int64
	for i, f := range info.Files {
		if i >= len(blobs) || len(f.Path) != 1 || f.Path[0] != blobs[i].sha256 || f.Length != blobs[i].size {
			break
		}
		same += f.Length
	}
	n := int(same / pl) // pieces that end within the common prefix
	if same == sumBlobs(blobs) && same == info.TotalLength() {
		n = info.NumPieces() // identical: every piece, the short last one too
	}
	return info.Pieces[:min(n*20, len(info.Pieces))]
}
