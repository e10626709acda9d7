package packager

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/planktos/planktos/inject"
	"github.com/spf13/afero"
)

// item is a published file after hashing: what the manifest says about it.
type item struct {
	source
	sha256 string
	typ    string
	page   inject.Result
	html   bool
	// registers are the register() arguments of the page's inline scripts (see SiteWorker).
	registers []string
	// pieces are the SHA-1 piece hashes of the file as its own torrent carries it (pieceLength long
	// pieces), computed in the same read as sha256 for large files; nil otherwise.
	pieces      []byte
	pieceLength int64
}

// storer hashes published files and fills the content-addressed store, planktos/files/<sha256>.
type storer struct {
	fsys   afero.Fs
	dir    string // the store folder
	base   string // URL path prefix, for the install tag
	inject inject.Mode
	cache  *hashCache
	// scripts are the site's scripts that register a service worker; while there are any, every page gets
	// the early install tag. loadedBy records, for each, the first page seen naming it.
	scripts  map[string][]string
	loadedBy sync.Map
	// pieceLength is the configured piece length (0 for automatic), for the pieces of large files.
	pieceLength int64
	done        atomic.Int64 // bytes processed, for progress
	added       atomic.Int64 // store files written
	cloned      atomic.Int64 // bytes of those files cloned (copy-on-write) rather than copied
}

// run processes sources with n workers and returns their items in the same order.
func (s *storer) run(ctx context.Context, sources []source, n int) ([]item, error) {
	items := make([]item, len(sources))
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	next := atomic.Int64{}
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= len(sources) {
					return
				}
				it, err := s.one(sources[i])
				if err != nil {
					cancel(err)
					return
				}
				items[i] = it
			}
		})
	}
	wg.Wait()
	return items, context.Cause(ctx)
}

// one hashes a file and stores it. HTML pages get the install tag first, in the published copy too, so
// that the bytes at a page's URL and in the store are the same.
func (s *storer) one(src source) (item, error) {
	if it, ok := s.cache.lookup(src); ok && s.has(it.sha256, it.size) {
		s.done.Add(src.size)
		return it, nil
	}
	it := item{source: src, html: isHTML(src.rel)}
	if src.size > smallCap && !(it.html && src.size <= htmlCap) {
		return s.stream(it)
	}
	b, err := readExactly(s.fsys, src)
	if err != nil {
		return it, err
	}
	if it.html { // scanned in every mode: the result also tells which pages lack the tag
		it.registers = inlineRegistrations(b)
		s.noteScripts(src.rel, b)
		insert := inject.Page
		if len(s.scripts) > 0 || len(it.registers) > 0 {
			insert = inject.Early
		}
		var injected []byte
		injected, it.page = insert(b, s.base, s.inject)
		if it.page.Injected {
			if err := writeAtomic(s.fsys, src.real, injected, src.mode); err != nil {
				return it, fmt.Errorf("add the install tag to %s: %w", src.real, explain(err))
			}
			b = injected
			it.size = int64(len(b))
			if fi, err := s.fsys.Stat(src.real); err == nil {
				it.mtime = fi.ModTime() // what the next run will see, for the cache
			}
		}
	}
	sum := sha256.Sum256(b)
	it.sha256 = hex.EncodeToString(sum[:])
	it.typ = contentType(src.rel, b)
	s.done.Add(src.size)
	return it, s.put(it.sha256, b)
}

// noteScripts records page as loading those of the registering scripts whose name it contains.
// Of several, the first in path order is kept, so that the warning does not depend on scheduling.
func (s *storer) noteScripts(page string, b []byte) {
	for rel := range s.scripts {
		if !bytes.Contains(b, []byte(path.Base(rel))) {
			continue
		}
		for {
			old, seen := s.loadedBy.LoadOrStore(rel, page)
			if !seen || old.(string) <= page || s.loadedBy.CompareAndSwap(rel, old, page) {
				break
			}
		}
	}
}

// has reports whether the store holds a file of that hash and size.
func (s *storer) has(sha string, size int64) bool {
	fi, err := s.fsys.Stat(filepath.Join(s.dir, sha))
	return err == nil && fi.Size() == size
}

// put writes b to the store unless a file of that hash and size is there already. Being named by its
// content, a new store file is written in place: until it is complete no manifest references it, and an
// interrupted write leaves a file of the wrong size, which the next run replaces (or prunes).
func (s *storer) put(sha string, b []byte) error {
	dst := filepath.Join(s.dir, sha)
	f, err := s.fsys.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, fs.ErrExist) {
		if fi, err := s.fsys.Stat(dst); err == nil && fi.Size() == int64(len(b)) {
			return nil
		}
		// debris of an interrupted run, or another worker still writing the same content (not counted
		// twice: the one that created the file counts it)
		err = writeAtomic(s.fsys, dst, b, 0)
	} else if err == nil {
		_, err = f.Write(b)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			s.fsys.Remove(dst)
		} else {
			s.added.Add(1)
		}
	}
	if err != nil {
		return fmt.Errorf("store %s: %w", dst, explain(err))
	}
	return nil
}

// stream hashes a large file while copying it into a temporary store file, in one read. Where the
// filesystem can clone (copy-on-write), the temporary file is a clone of the published one and the read
// only hashes.
func (s *storer) stream(it item) (item, error) {
	in, err := s.fsys.Open(it.real)
	if err != nil {
		return it, fmt.Errorf("read %s: %w", it.real, explain(err))
	}
	defer in.Close()
	tmp, f, err := createTemp(s.fsys, s.dir)
	if err != nil {
		return it, fmt.Errorf("store %s: %w", it.real, explain(err))
	}
	defer s.fsys.Remove(tmp) // after a successful rename there is nothing left to remove
	h := sha256.New()
	head := &headWriter{n: 512}
	w := io.MultiWriter(h, head, progressWriter{&s.done})
	cloned := cloneFile(f, in)
	if !cloned {
		w = io.MultiWriter(f, w)
	}
	var ph *pieceHasher
	if it.size >= largeFile {
		ph = newPieceHasher(filePieceLength(it.size, s.pieceLength), it.size)
		w = io.MultiWriter(w, ph)
	}
	n, err := io.CopyBuffer(w, struct{ io.Reader }{in}, make([]byte, 256<<10))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return it, fmt.Errorf("store %s: %w", it.real, explain(err))
	}
	if err := unchanged(s.fsys, it.source, n); err != nil {
		return it, err
	}
	it.sha256 = hex.EncodeToString(h.Sum(nil))
	it.typ = contentType(it.rel, head.b)
	if ph != nil {
		it.pieces, it.pieceLength = ph.sum(), ph.pl
	}
	dst := filepath.Join(s.dir, it.sha256)
	if fi, err := s.fsys.Stat(dst); err == nil && fi.Size() == n {
		return it, nil
	}
	if err := s.fsys.Rename(tmp, dst); err != nil {
		return it, fmt.Errorf("store %s: %w", it.real, explain(err))
	}
	s.added.Add(1)
	if cloned {
		s.cloned.Add(n)
	}
	return it, nil
}

// readExactly reads a whole file and checks it did not change since the walk saw it.
func readExactly(fsys afero.Fs, src source) ([]byte, error) {
	f, err := fsys.Open(src.real)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", src.real, explain(err))
	}
	defer f.Close()
	b := make([]byte, src.size+1) // one byte more, to notice growth
	n, err := io.ReadFull(f, b)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("read %s: %w", src.real, explain(err))
	}
	return b[:n], unchanged(fsys, src, int64(n))
}

// ErrChanged reports a file that changed while planktos read it.
var ErrChanged = errors.New("file changed while planktos was reading it; wait until `hugo` has finished and run planktos again")

func unchanged(fsys afero.Fs, src source, read int64) error {
	fi, err := fsys.Stat(src.real)
	if err != nil || read != src.size || fi.Size() != src.size || !fi.ModTime().Equal(src.mtime) {
		return fmt.Errorf("%s: %w", src.real, ErrChanged)
	}
	return nil
}

// writeAtomic replaces name with b: readers see the old file or the new one, never a mix.
// It does nothing when name already holds exactly b.
func writeAtomic(fsys afero.Fs, name string, b []byte, mode fs.FileMode) error {
	if old, err := afero.ReadFile(fsys, name); err == nil && bytes.Equal(old, b) {
		return nil
	}
	tmp, f, err := createTemp(fsys, filepath.Dir(name))
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && mode != 0 {
		err = fsys.Chmod(tmp, mode)
	}
	if err == nil {
		err = fsys.Rename(tmp, name)
	}
	if err != nil {
		fsys.Remove(tmp)
	}
	return err
}

func createTemp(fsys afero.Fs, dir string) (string, afero.File, error) {
	var r [8]byte
	rand.Read(r[:])
	name := filepath.Join(dir, tmpMark+hex.EncodeToString(r[:]))
	f, err := fsys.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	return name, f, err
}

// headWriter keeps the first n bytes written to it, for content sniffing.
type headWriter struct {
	b []byte
	n int
}

func (h *headWriter) Write(p []byte) (int, error) {
	if k := min(h.n-len(h.b), len(p)); k > 0 {
		h.b = append(h.b, p[:k]...)
	}
	return len(p), nil
}

type progressWriter struct{ n *atomic.Int64 }

func (w progressWriter) Write(p []byte) (int, error) { w.n.Add(int64(len(p))); return len(p), nil }

func isTemp(name string) bool { return strings.HasPrefix(path.Base(name), tmpMark) }

// pieceHasher computes BitTorrent piece hashes of what is written to it.
type pieceHasher struct {
	pl     int64
	buf    []byte
	pieces []byte
}

func newPieceHasher(pl, size int64) *pieceHasher {
	return &pieceHasher{pl: pl, buf: make([]byte, 0, pl), pieces: make([]byte, 0, (size+pl-1)/pl*sha1.Size)}
}

func (p *pieceHasher) Write(b []byte) (int, error) {
	n := len(b)
	for len(b) > 0 {
		k := min(len(b), int(p.pl)-len(p.buf))
		p.buf = append(p.buf, b[:k]...)
		b = b[k:]
		if len(p.buf) == int(p.pl) {
			p.flush()
		}
	}
	return n, nil
}

func (p *pieceHasher) flush() {
	sum := sha1.Sum(p.buf)
	p.pieces = append(p.pieces, sum[:]...)
	p.buf = p.buf[:0]
}

// sum returns the piece hashes, the short last piece included.
func (p *pieceHasher) sum() []byte {
	if len(p.buf) > 0 {
		p.flush()
	}
	return p.pieces
}
