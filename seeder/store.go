package seeder

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	"github.com/anacrolix/torrent/metainfo"
	"github.com/anacrolix/torrent/segments"
	"github.com/anacrolix/torrent/storage"
	"github.com/planktos/planktos/manifest"
)

// errReadOnly is what a write to the store returns: the seeder never changes the package.
var errReadOnly = errors.New("the planktos store is read-only for the seeder")

// store is anacrolix storage over a package's content-addressed store (<site>/planktos/files). A
// planktos torrent is named "files" and its files are named by their SHA-256, so the file at torrent
// path files/<sha256> is the store file <site>/planktos/files/<sha256>.
//
// It only reads: writes fail, and nothing is created, renamed or truncated (anacrolix's own file storage
// may rename files to .part or write a completion database next to them — not in a folder a web server
// publishes). A read opens the store file, reads at an offset and closes it: no file handle and no piece
// data is held between reads, so memory does not grow with the size of the site.
//
// Completion. The packager wrote every store file from bytes it hashed, so by default (trust) a piece
// is complete when its files exist with the size the torrent says; anacrolix then hashes nothing. With
// verify, every piece starts unknown and anacrolix hashes it once when the torrent is added (its initial
// piece check); a piece that fails is never uploaded. Browsers verify every piece they receive anyway,
// so trust risks no corruption, only a wasted transfer if a store file was damaged after packaging.
type store struct {
	dir    string // <site>/planktos/files
	verify bool
}

var _ storage.ClientImpl = (*store)(nil)

// OpenTorrent binds the store to one planktos torrent; it refuses torrents that are not planktos's.
func (s *store) OpenTorrent(_ context.Context, info *metainfo.Info, ih metainfo.Hash) (storage.TorrentImpl, error) {
	if info.Name != manifest.TorrentName {
		return storage.TorrentImpl{}, fmt.Errorf("torrent %s is named %q, not %q: not a planktos package torrent",
			ih.HexString(), info.Name, manifest.TorrentName)
	}
	files := info.UpvertedFiles()
	t := &torrentStore{info: info, index: info.FileSegmentsIndex(), paths: make([]string, len(files)),
		sizeOK: make([]bool, len(files))}
	for i, f := range files {
		if len(f.Path) != 1 || !isSHA256(f.Path[0]) {
			return storage.TorrentImpl{}, fmt.Errorf("torrent %s: file %q is not a store file name (a SHA-256)",
				ih.HexString(), f.Path)
		}
		t.paths[i] = filepath.Join(s.dir, f.Path[0])
		fi, err := os.Stat(t.paths[i])
		t.sizeOK[i] = err == nil && fi.Size() == f.Length
	}
	t.state = make([]pieceState, info.NumPieces())
	if !s.verify {
		for i := range t.state {
			t.state[i] = good
		}
	}
	return storage.TorrentImpl{Piece: t.piece, Close: func() error { return nil }}, nil
}

// pieceState is what verify mode knows of a piece.
type pieceState uint8

const (
	unknown pieceState = iota
	good
	bad
)

// torrentStore is the store as one torrent sees it.
type torrentStore struct {
	info   *metainfo.Info
	index  segments.Index
	paths  []string // store file of each torrent file
	sizeOK []bool   // the file existed with the right size when the torrent was opened

	mu    sync.Mutex
	state []pieceState // one byte a piece; trust mode starts them all good
}

func (t *torrentStore) piece(p metainfo.Piece) storage.PieceImpl {
	return &storePiece{t: t, p: p}
}

// readAt reads the torrent's bytes at off from the store files they live in.
func (t *torrentStore) readAt(b []byte, off int64) (int, error) {
	n := 0
	for i, e := range t.index.LocateIter(segments.Extent{Start: off, Length: int64(len(b))}) {
		f, err := os.Open(t.paths[i])
		if err != nil {
			return n, fmt.Errorf("read store: %w", err)
		}
		m, err := f.ReadAt(b[n:n+int(e.Length)], e.Start)
		f.Close()
		n += m
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF // the file is shorter than the torrent says
			}
			return n, fmt.Errorf("read store file %s: %w", t.paths[i], err)
		}
	}
	if n < len(b) {
		return n, io.EOF
	}
	return n, nil
}

// storePiece is one piece of a torrentStore.
type storePiece struct {
	t *torrentStore
	p metainfo.Piece
}

var _ storage.PieceImpl = (*storePiece)(nil)

func (sp *storePiece) ReadAt(b []byte, off int64) (int, error) {
	if off >= sp.p.Length() {
		return 0, io.EOF
	}
	b = b[:min(int64(len(b)), sp.p.Length()-off)]
	return sp.t.readAt(b, sp.p.Offset()+off)
}

func (sp *storePiece) WriteAt([]byte, int64) (int, error) { return 0, errReadOnly }

// filesOK reports whether every file holding a byte of the piece had the right size.
func (sp *storePiece) filesOK() bool {
	for i := range sp.t.index.LocateIter(segments.Extent{Start: sp.p.Offset(), Length: sp.p.Length()}) {
		if !sp.t.sizeOK[i] {
			return false
		}
	}
	return true
}

func (sp *storePiece) Completion() storage.Completion {
	if !sp.filesOK() {
		return storage.Completion{Ok: true, Complete: false}
	}
	sp.t.mu.Lock()
	st := sp.t.state[sp.p.Index()]
	sp.t.mu.Unlock()
	return storage.Completion{Ok: st != unknown, Complete: st == good}
}

// MarkComplete records a piece that passed anacrolix's hash check.
func (sp *storePiece) MarkComplete() error { return sp.mark(good) }

// MarkNotComplete records a piece that failed it: it will not be uploaded.
func (sp *storePiece) MarkNotComplete() error { return sp.mark(bad) }

func (sp *storePiece) mark(st pieceState) error {
	sp.t.mu.Lock()
	sp.t.state[sp.p.Index()] = st
	sp.t.mu.Unlock()
	return nil
}

func isSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
