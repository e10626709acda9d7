package packager

import (
	"fmt"
	"maps"
	"slices"
	"testing"
)

func items(files map[string]int64) []item {
	var out []item
	for _, p := range sortedKeys(files) {
		out = append(out, item{source: source{rel: p, size: files[p]}, sha256: fmt.Sprintf("%064x", len(out)+1)})
	}
	return out
}

func sortedKeys(m map[string]int64) []string {
	return slices.Sorted(maps.Keys(m))
}

func TestPlanShards(t *testing.T) {
	files := map[string]int64{"video/a.webm": 40 << 20, "video/b.webm": 1 << 20, "empty": 0}
	for i := range 2000 {
		files[fmt.Sprintf("posts/%04d/index.html", i)] = 5000 + int64(i)
	}
	its := items(files)
	shards, where := planShards(its, 0)
	for _, it := range its {
		i, ok := where[it.sha256]
		if it.size == 0 {
			if ok {
				t.Errorf("empty file %s is in torrent %d", it.rel, i)
			}
			continue
		}
		sh := shards[i]
		if it.size >= largeFile && (len(sh.blobs) != 1 || sh.pieceLength != autoPieceLength(it.size)) {
			t.Errorf("%s (%d bytes) shares torrent %d with %d files, pieces %d", it.rel, it.size, i, len(sh.blobs), sh.pieceLength)
		}
		if it.size < largeFile && sh.pieceLength != shardPieceLength {
			t.Errorf("%s: shard piece length %d", it.rel, sh.pieceLength)
		}
	}
	small := len(shards) - 2
	if small < 2000/minShardFiles/3 || small > 3*2000/minShardFiles {
		t.Errorf("%d shards for 2000 small files, expected about %d", small, 2000/minShardFiles)
	}

	// A changed file (new hash, new size) changes its own shard only; an added file, its neighbours' at most.
	key := func(shards []shard) map[string]bool {
		m := map[string]bool{}
		for _, s := range shards {
			m[shardKey(s)] = true
		}
		return m
	}
	before := key(shards)
	its[700].sha256, its[700].size = fmt.Sprintf("%064x", 99999), 123
	after, _ := planShards(its, 0)
	changed := 0
	for k := range key(after) {
		if !before[k] {
			changed++
		}
	}
	if changed != 1 || len(after) != len(shards) {
		t.Errorf("one changed file changed %d shards (%d → %d shards)", changed, len(shards), len(after))
	}
}

func TestShardBounds(t *testing.T) {
	files := map[string]int64{}
	for i := range 600 {
		files[fmt.Sprintf("v/%03d.webm", i)] = 2<<20 + int64(i%300)<<10
	}
	for i := range 100000 {
		files[fmt.Sprintf("p/%06d.html", i)] = 100
	}
	shards, _ := planShards(items(files), 0)
	own := 0
	for _, s := range shards {
		if len(s.blobs) == 1 && s.blobs[0].size >= largeFile {
			own++
		}
	}
	if own > maxLargeTorrents || own < maxLargeTorrents-2 {
		t.Errorf("%d files got their own torrent, bound %d", own, maxLargeTorrents)
	}
	if n := len(shards) - own; n > 2*maxShards {
		t.Errorf("%d shards for 100000 small files, bound about %d", n, maxShards)
	}
}

func TestPieceHasher(t *testing.T) {
	data := make([]byte, 100000)
	for i := range data {
		data[i] = byte(i * 7)
	}
	whole := newPieceHasher(16384, int64(len(data)))
	whole.Write(data)
	parts := newPieceHasher(16384, int64(len(data)))
	for off := 0; off < len(data); off += 1000 {
		parts.Write(data[off:min(off+1000, len(data))])
	}
	a, b := whole.sum(), parts.sum()
	if len(a) != 7*20 || string(a) != string(b) {
		t.Errorf("pieces: %d bytes, equal %v", len(a), string(a) == string(b))
	}
}
