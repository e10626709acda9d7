package packager

import (
	"bytes"
	"context"
	"crypto/sha1"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/anacrolix/torrent/bencode"
	"github.com/anacrolix/torrent/metainfo"
	"github.com/planktos/planktos/config"
	"github.com/planktos/planktos/manifest"
	"github.com/spf13/afero"
)

// blob is one unique file of the store, as a torrent carries it.
type blob struct {
	sha256 string
	size   int64
}

// autoPieceLength picks a power of two giving at most about 1500 pieces.
func autoPieceLength(total int64) int64 {
	pl := int64(config.MinPieceLength)
	for pl < config.MaxPieceLength && total/pl > 1500 {
		pl *= 2
	}
	return pl
}

// torrentSpec is what a torrent announces, beside its files.
type torrentSpec struct {
	pieceLength int64
	trackers    [][]string
	webseeds    []string
	pieces      []byte // the piece hashes, when known already (nil: hash the files)
}

// buildTorrent makes a BitTorrent v1 torrent of blobs, hashing pieces from the store with n workers.
func buildTorrent(ctx context.Context, fsys afero.Fs, storeDir string, blobs []blob, spec torrentSpec, n int,
	done *atomic.Int64) (*metainfo.MetaInfo, error) {
	info := metainfo.Info{Name: manifest.TorrentName, PieceLength: spec.pieceLength}
	for _, b := range blobs {
		info.Files = append(info.Files, metainfo.FileInfo{Length: b.size, Path: []string{b.sha256}})
	}
	pieces := spec.pieces
	if pieces == nil {
		var err error
		if pieces, err = hashPieces(ctx, fsys, storeDir, blobs, spec.pieceLength, n, done); err != nil {
			return nil, err
		}
	} else {
		done.Add(sumBlobs(blobs))
	}
	info.Pieces = pieces
	ib, err := bencode.Marshal(info)
	if err != nil {
		return nil, fmt.Errorf("encode torrent: %w", err)
	}
	mi := &metainfo.MetaInfo{InfoBytes: ib, CreatedBy: "planktos", UrlList: spec.webseeds}
	if len(spec.trackers) > 0 {
		mi.Announce = spec.trackers[0][0]
		mi.AnnounceList = spec.trackers
	}
	return mi, nil
}

// hashPieces computes the SHA-1 of every piece of the concatenated blobs; each worker hashes a
// contiguous run of pieces.
func hashPieces(ctx context.Context, fsys afero.Fs, dir string, blobs []blob, pl int64, n int,
	done *atomic.Int64) ([]byte, error) {
	var total int64
	starts := make([]int64, len(blobs)) // offset of each blob in the torrent
	for i, b := range blobs {
		starts[i] = total
		total += b.size
	}
	count := int((total + pl - 1) / pl)
	out := make([]byte, count*sha1.Size)
	per := (count + n - 1) / max(n, 1)
	var wg sync.WaitGroup
	errs := make([]error, n)
	for w := range n {
		first, last := w*per, min((w+1)*per, count)
		if first >= last {
			break
		}
		wg.Go(func() {
			r := &spanReader{fsys: fsys, dir: dir, blobs: blobs, starts: starts, off: int64(first) * pl}
			defer r.close()
			errs[w] = hashRun(ctx, r, out, first, last, pl, total, done)
		})
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

func hashRun(ctx context.Context, r io.Reader, out []byte, first, last int, pl, total int64, done *atomic.Int64) error {
	buf := make([]byte, pl)
	for i := first; i < last; i++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		size := min(pl, total-int64(i)*pl)
		if _, err := io.ReadFull(r, buf[:size]); err != nil {
			return fmt.Errorf("hash piece %d: %w", i, err)
		}
		sum := sha1.Sum(buf[:size])
		copy(out[i*sha1.Size:], sum[:])
		done.Add(size)
	}
	return nil
}

// spanReader reads the concatenation of store blobs from offset off on, opening one file at a time.
type spanReader struct {
	fsys   afero.Fs
	dir    string
	blobs  []blob
	starts []int64
	off    int64
	cur    afero.File
	left   int64 // bytes the current blob still owes
}

func (r *spanReader) Read(p []byte) (int, error) {
	for r.cur == nil || r.left == 0 {
		if err := r.open(); err != nil {
			return 0, err
		}
	}
	n, err := r.cur.Read(p[:min(int64(len(p)), r.left)])
	r.left -= int64(n)
	r.off += int64(n)
	if errors.Is(err, io.EOF) && r.left > 0 {
		return n, fmt.Errorf("store file %s is shorter than the manifest says; delete it and run planktos again",
			r.cur.Name())
	}
	if errors.Is(err, io.EOF) {
		err = nil
	}
	return n, err
}

// open moves to the blob holding offset r.off.
func (r *spanReader) open() error {
	r.close()
	i := sort.Search(len(r.starts), func(i int) bool { return r.starts[i]+r.blobs[i].size > r.off })
	if i == len(r.blobs) {
		return io.EOF
	}
	f, err := r.fsys.Open(filepath.Join(r.dir, r.blobs[i].sha256))
	if err != nil {
		return fmt.Errorf("read store: %w", err)
	}
	within := r.off - r.starts[i]
	if _, err := f.Seek(within, io.SeekStart); err != nil {
		f.Close()
		return fmt.Errorf("read store: %w", err)
	}
	r.cur, r.left = f, r.blobs[i].size-within
	return nil
}

func (r *spanReader) close() {
	if r.cur != nil {
		r.cur.Close()
		r.cur = nil
	}
}

// rootKey names the root torrent in the torrents build returns.
const rootKey = "root"

// addRoot adds planktos/root.torrent to torrents: the package's torrent when there is one; when there
// are several, a torrent named manifest.RootTorrentName whose files are their .torrent files, so that any
// BitTorrent client can fetch them all through the webseed (<webseed>torrents/<infohash>.torrent).
func addRoot(torrents map[string][]byte, m *manifest.Manifest, spec torrentSpec) error {
	switch len(m.Torrents) {
	case 0:
		return nil
	case 1:
		torrents[rootKey] = torrents[m.Torrents[0].InfoHash]
		return nil
	}
	info := metainfo.Info{Name: manifest.RootTorrentName, PieceLength: config.MinPieceLength}
	var all []byte
	for _, t := range m.Torrents {
		b := torrents[t.InfoHash]
		info.Files = append(info.Files, metainfo.FileInfo{Length: int64(len(b)), Path: []string{t.InfoHash + ".torrent"}})
		all = append(all, b...)
	}
	for off := 0; off < len(all); off += int(info.PieceLength) {
		sum := sha1.Sum(all[off:min(off+int(info.PieceLength), len(all))])
		info.Pieces = append(info.Pieces, sum[:]...)
	}
	ib, err := bencode.Marshal(info)
	if err != nil {
		return fmt.Errorf("encode root torrent: %w", err)
	}
	mi := &metainfo.MetaInfo{InfoBytes: ib, CreatedBy: "planktos", UrlList: spec.webseeds}
	if len(spec.trackers) > 0 {
		mi.Announce = spec.trackers[0][0]
		mi.AnnounceList = spec.trackers
	}
	var buf bytes.Buffer
	if err := mi.Write(&buf); err != nil {
		return fmt.Errorf("encode root torrent: %w", err)
	}
	torrents[rootKey] = buf.Bytes()
	return nil
}
