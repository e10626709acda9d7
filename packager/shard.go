package packager

import (
	"hash/fnv"
	"math/bits"
	"slices"

	"github.com/planktos/planktos/config"
)

// Sharding splits a package into torrents so that a visitor fetches one file without dragging the rest
// of the site along, and so that repackaging keeps the infohash of every torrent whose files did not
// change (visitors keep seeding it across revisions):
//
//   - a large file gets a torrent of its own: it shares no piece with another file, so a peer that
//     holds it can serve all of it (no pad files: WebTorrent and aria2 do not understand them);
//   - small files are grouped in path order (a page's bundle, a theme's assets stay together) into
//     shards whose boundaries depend only on the paths, never on sizes or contents: a changed page
//     changes its own shard's infohash and no other;
//   - both stay bounded: at most maxLargeTorrents files get their own torrent (the largest; the rest
//     join the shards, where their small pieces keep read amplification low), and the expected shard
//     size in files doubles with the site so there are about maxShards shards at most.
const (
	largeFile        = 1 << 20 // files of at least this size get their own torrent
	maxLargeTorrents = 512
	maxShards        = 256
	minShardFiles    = 64       // expected files per shard on small sites
	shardPieceLength = 16 << 10 // small pieces: fetching one small file costs at most about one more piece
)

// shard is one torrent to build: its files in order and its piece length.
type shard struct {
	blobs       []blob
	pieceLength int64
}

func (s shard) size() int64 { return sumBlobs(s.blobs) }

// planShards assigns the distinct non-empty contents of items (in path order) to torrents. pl is the
// configured piece length, 0 for automatic. It returns the shards and, for every content hash, the
// index of the shard that carries it.
func planShards(items []item, pl int64) ([]shard, map[string]int) {
	var blobs []blob
	paths := map[string]string{} // content → first path, which places it
	for _, it := range items {
		if it.size == 0 || paths[it.sha256] != "" {
			continue
		}
		paths[it.sha256] = it.rel
		blobs = append(blobs, blob{it.sha256, it.size})
	}
	large := largeThreshold(blobs)
	var shards []shard
	where := map[string]int{}
	var small []blob
	for _, b := range blobs {
		if b.size >= large {
			where[b.sha256] = len(shards)
			shards = append(shards, shard{blobs: []blob{b}, pieceLength: filePieceLength(b.size, pl)})
		} else {
			small = append(small, b)
		}
	}
	every := shardEvery(len(small))
	cur := -1
	for i, b := range small {
		if cur < 0 || (i > 0 && boundary(paths[b.sha256], every)) {
			cur = len(shards)
			shards = append(shards, shard{pieceLength: pl})
		}
		shards[cur].blobs = append(shards[cur].blobs, b)
		where[b.sha256] = cur
	}
	for i := range shards {
		if shards[i].pieceLength == 0 {
			shards[i].pieceLength = shardPieces(shards[i].size())
		}
	}
	return shards, where
}

// largeThreshold is the size from which a file gets its own torrent: largeFile, raised when more than
// maxLargeTorrents files reach it.
func largeThreshold(blobs []blob) int64 {
	var sizes []int64
	for _, b := range blobs {
		if b.size >= largeFile {
			sizes = append(sizes, b.size)
		}
	}
	if len(sizes) <= maxLargeTorrents {
		return largeFile
	}
	slices.Sort(sizes)
	slices.Reverse(sizes)
	t := sizes[maxLargeTorrents-1]
	if sizes[maxLargeTorrents] == t {
		t++ // ties would take the count past the bound
	}
	return t
}

// filePieceLength is the piece length of a large file's own torrent: the configured one, or about
// 1500 pieces.
func filePieceLength(size, pl int64) int64 {
	if pl != 0 {
		return pl
	}
	return autoPieceLength(size)
}

// shardPieces is the automatic piece length of a shard of small files: 16 KiB, larger only for a shard
// so big it would need more than 4096 pieces.
func shardPieces(size int64) int64 {
	pl := int64(shardPieceLength)
	for pl < config.MaxPieceLength && size/pl > 4096 {
		pl *= 2
	}
	return pl
}

// shardEvery is the expected number of files per shard, a power of two: boundaries at 2k are a subset
// of those at k, so a site that grows past a power of two merges shards pairwise instead of reshuffling.
func shardEvery(n int) uint32 {
	every := uint32(minShardFiles)
	if per := n / maxShards; per > minShardFiles {
		every = 1 << bits.Len32(uint32(per-1))
	}
	return every
}

// boundary reports whether the shard holding path starts with it.
func boundary(path string, every uint32) bool {
	h := fnv.New32a()
	h.Write([]byte(path))
	return h.Sum32()&(every-1) == 0
}
