package verify

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"runtime"
	"slices"
	"sort"
	"strings"

	"github.com/anacrolix/torrent/metainfo"
	"github.com/planktos/planktos/internal/units"
	"github.com/planktos/planktos/manifest"
	"golang.org/x/sync/errgroup"
)

// checkManifest reads and parses the manifest; the checks after it use r.m.
func (r *run) checkManifest(ctx context.Context) Check {
	b, err := readAll(ctx, r.src, manifestPath, 64<<20)
	if err != nil {
		if r.web == nil && errors.Is(err, fs.ErrNotExist) {
			return fail(CheckManifest, "package the folder with `planktos hugo` (or `planktos pack`)",
				"%s is missing: this folder is not a planktos package", r.src.where(manifestPath))
		}
		return fail(CheckManifest, fixDeploy, "cannot read the manifest: %v", err)
	}
	m, err := manifest.Parse(b)
	if err != nil {
		return fail(CheckManifest, fixRepack+" (with this version of planktos)", "%s: %v", r.src.where(manifestPath), err)
	}
	r.m, r.raw, r.rep.Revision = m, b, m.Revision
	if r.web != nil && m.Base != r.web.base.Path {
		return fail(CheckManifest, "package the site for the URL it is served at (baseURL in hugo.toml, or "+
			"`planktos pack --base-url`), or verify the URL it was packaged for",
			"the package was made for the path %s, but this site is served at %s", m.Base, r.web.base.Path)
	}
	return pass(CheckManifest, "%s: %s, %s, revision %.12s", manifestPath, plural(len(m.Files), "file", "files"),
		plural(len(m.Torrents), "torrent", "torrents"), m.Revision)
}

// blob is one store file: a SHA-256, its size, and the manifest paths that resolve to it.
type blob struct {
	sha   string
	size  int64
	paths []string
}

func (b blob) rel() string { return storePrefix + b.sha }

// String names a store file for messages: its short hash and a path that uses it.
func (b blob) String() string {
	return fmt.Sprintf("%s%.12s… (%s)", storePrefix, b.sha, b.paths[0])
}

// blobs returns the manifest's store files sorted by hash, and reports entries that disagree on a size.
func (r *run) blobs(p *problems) []blob {
	by := map[string]*blob{}
	names := make([]string, 0, len(r.m.Files))
	for name := range r.m.Files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		e := r.m.Files[name]
		b := by[e.SHA256]
		if b == nil {
			b = &blob{sha: e.SHA256, size: e.Size}
			by[e.SHA256] = b
		} else if b.size != e.Size {
			p.add("%s and %s have the same SHA-256 but sizes %d and %d", b.paths[0], name, b.size, e.Size)
		}
		b.paths = append(b.paths, name)
	}
	out := make([]blob, 0, len(by))
	for _, b := range by {
		out = append(out, *b)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].sha < out[j].sha })
	return out
}

// hashBlob reads a store file and returns what is wrong with it, or "".
func (r *run) hashBlob(ctx context.Context, b blob) string {
	f, err := r.src.open(ctx, b.rel())
	if errors.Is(err, fs.ErrNotExist) {
		return b.String() + " is missing"
	}
	if err != nil {
		return fmt.Sprintf("%s: %v", b, err)
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, io.LimitReader(f, b.size+1))
	switch {
	case err != nil:
		return fmt.Sprintf("%s: %v", b, err)
	case n != b.size:
		return fmt.Sprintf("%s is %d bytes, the manifest says %d", b, n, b.size)
	case hex.EncodeToString(h.Sum(nil)) != b.sha:
		return fmt.Sprintf("%s does not hash to its name (corrupted)", b)
	}
	return ""
}

// checkStore checks every store file of a folder, or on a URL HEADs them and hashes a sample.
func (r *run) checkStore(ctx context.Context) Check {
	if r.m == nil {
		return noManifest(CheckStore)
	}
	var p problems
	blobs := r.blobs(&p)
	var sampled []blob
	var sampledBytes int64
	probes := blobs
	if r.web == nil {
		sampled = blobs
	} else {
		probes = blobs[:min(len(blobs), r.opts.MaxProbes)]
		budget := r.opts.SampleBytes
		for _, b := range blobs {
			if b.size <= budget {
				budget -= b.size
				sampled = append(sampled, b)
				sampledBytes += b.size
			}
		}
	}
	hash := map[string]bool{}
	for _, b := range sampled {
		hash[b.sha] = true
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(r.workers())
	for _, b := range blobs {
		probe := r.web != nil && len(probes) > 0 && b.sha <= probes[len(probes)-1].sha
		if !probe && !hash[b.sha] {
			continue
		}
		g.Go(func() error {
			var msg string
			if probe {
				msg = r.probeBlob(gctx, b)
			}
			if msg == "" && hash[b.sha] {
				msg = r.hashBlob(gctx, b)
			}
			if msg != "" {
				p.add("%s", msg)
			}
			return nil
		})
	}
	g.Wait()
	what := fmt.Sprintf("%s read, sizes and SHA-256 match the manifest", plural(len(blobs), "store file", "store files"))
	scope := plural(len(blobs), "store file", "store files") + " read"
	if r.web != nil {
		scope = fmt.Sprintf("HEAD-checked %d of %d store files; downloaded and hashed %s of them (%s%s)", len(probes),
			len(blobs), all(len(sampled), len(blobs)), units.Bytes(sampledBytes), within(len(sampled), len(blobs)))
		what = scope + ": sizes and SHA-256 match the manifest"
	}
	if !p.empty() {
		return fail(CheckStore, fixRepack, "%s (%s)", p.String(), scope)
	}
	return pass(CheckStore, "%s", what)
}

// probeBlob HEADs a store file and returns what is wrong with it, or "".
func (r *run) probeBlob(ctx context.Context, b blob) string {
	resp, err := r.web.do(ctx, http.MethodHead, b.rel(), nil, true)
	if err != nil {
		return fmt.Sprintf("%s: %v", b, err)
	}
	resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return b.String() + " is missing (404)"
	case resp.StatusCode != http.StatusOK:
		return fmt.Sprintf("%s: HEAD answered %s", b, resp.Status)
	case resp.ContentLength >= 0 && resp.ContentLength != b.size:
		return fmt.Sprintf("%s is %d bytes, the manifest says %d", b, resp.ContentLength, b.size)
	}
	return ""
}

func (r *run) workers() int {
	if r.web != nil {
		return 8 // requests in flight
	}
	return runtime.GOMAXPROCS(0)
}

// checkTorrents checks every torrent of the manifest against its entry and the store.
func (r *run) checkTorrents(ctx context.Context) Check {
	if r.m == nil {
		return noManifest(CheckTorrents)
	}
	var p, w problems
	want := make([]map[string]int64, len(r.m.Torrents)) // store files each torrent must carry
	for i := range want {
		want[i] = map[string]int64{}
	}
	for name, e := range r.m.Files {
		switch {
		case e.Torrent >= 0:
			want[e.Torrent][e.SHA256] = e.Size
		case e.Size > 0:
			p.add("%s is in no torrent", name)
		}
	}
	// On a URL, piece hashes are checked for the torrents that fit the sample, in manifest order.
	pieces := make([]bool, len(r.m.Torrents))
	budget, checked, checkedBytes := r.opts.SampleBytes, 0, int64(0)
	for i, ref := range r.m.Torrents {
		if pieces[i] = r.web == nil || ref.Length <= budget; pieces[i] {
			budget -= ref.Length
			checked++
			checkedBytes += ref.Length
		}
	}
	read := make([][]byte, len(r.m.Torrents))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(r.workers())
	for i, ref := range r.m.Torrents {
		g.Go(func() error {
			read[i] = r.torrent(gctx, ref, want[i], pieces[i], &p, &w)
			return nil
		})
	}
	g.Wait()
	for i, ref := range r.m.Torrents {
		if read[i] != nil {
			r.torrents[ref.InfoHash] = read[i]
		}
	}
	what := fmt.Sprintf("%s parsed, infohashes and files match the manifest, piece hashes match the store",
		plural(len(r.m.Torrents), "torrent", "torrents"))
	if r.web != nil {
		what = fmt.Sprintf("%s parsed, infohashes and files match the manifest; piece hashes checked for %s of them "+
			"(%s downloaded%s)", plural(len(r.m.Torrents), "torrent", "torrents"), all(checked, len(r.m.Torrents)),
			units.Bytes(checkedBytes), within(checked, len(r.m.Torrents)))
	}
	switch {
	case !p.empty():
		return fail(CheckTorrents, fixRepack, "%s (%s checked)", p.String(),
			plural(len(r.m.Torrents), "torrent", "torrents"))
	case !w.empty():
		return warn(CheckTorrents, "if the site moved, package it again for its new URL; otherwise nothing to do",
			"%s; %s", what, w.String())
	}
	return pass(CheckTorrents, "%s", what)
}

// torrent checks one torrent and returns its bytes (nil if unreadable). files maps the SHA-256 of every
// store file the torrent must carry to its size.
func (r *run) torrent(ctx context.Context, ref manifest.TorrentRef, files map[string]int64, pieces bool,
	out, w *problems) []byte {
	var p problems // this torrent's: its piece hashes are checked only if nothing else is wrong
	defer func() {
		for _, msg := range p.list {
			out.add("%s", msg)
		}
	}()
	if want := manifest.TorrentPath(ref.InfoHash); ref.URL != want {
		p.add("torrent %.12s… is at %s, not %s", ref.InfoHash, ref.URL, want)
	}
	b, err := readAll(ctx, r.src, ref.URL, 64<<20)
	if err != nil {
		p.add("%v", err)
		return nil
	}
	mi, err := metainfo.Load(bytes.NewReader(b))
	var info metainfo.Info
	if err == nil {
		info, err = mi.UnmarshalInfo()
	}
	if err != nil {
		p.add("%s does not parse: %v", ref.URL, err)
		return b
	}
	if got := mi.HashInfoBytes().HexString(); got != ref.InfoHash {
		p.add("%s has infohash %s, the manifest says %s", ref.URL, got, ref.InfoHash)
	}
	if info.Name != manifest.TorrentName || info.PieceLength != ref.PieceLength || info.TotalLength() != ref.Length {
		p.add("%s: name %q, piece length %d, %d bytes; the manifest says %q, %d, %d", ref.URL, info.Name,
			info.PieceLength, info.TotalLength(), manifest.TorrentName, ref.PieceLength, ref.Length)
	}
	seen := map[string]bool{}
	for _, f := range info.Files {
		sha := strings.Join(f.Path, "/")
		size, ok := files[sha]
		switch {
		case !ok:
			p.add("%s carries %s, which no manifest entry of this torrent names", ref.URL, sha)
		case size != f.Length:
			p.add("%s says %s is %d bytes, the manifest %d", ref.URL, sha, f.Length, size)
		}
		seen[sha] = true
	}
	for sha := range files {
		if !seen[sha] {
			p.add("%s lacks %s%s, which the manifest puts in it", ref.URL, storePrefix, sha)
		}
	}
	for _, u := range mi.UrlList {
		if !strings.HasSuffix(u, "/") {
			p.add("%s: webseed %s does not end in / (BitTorrent clients refuse it)", ref.URL, u)
		}
	}
	if r.web != nil && !slices.Contains(mi.UrlList, r.web.url(manifest.Dir+"/")) {
		w.add("the torrents' webseeds %v do not include this site's %s", []string(mi.UrlList),
			r.web.url(manifest.Dir+"/"))
	}
	if pieces && p.empty() {
		got := info
		got.Pieces = nil
		var openErr error // anacrolix's message for it prints the whole FileInfo
		err := got.GeneratePieces(func(fi metainfo.FileInfo) (io.ReadCloser, error) {
			f, err := r.src.open(ctx, storePrefix+strings.Join(fi.Path, "/"))
			if err != nil {
				openErr = err
			}
			return f, err
		})
		if openErr != nil {
			err = openErr
		}
		if err != nil {
			p.add("%s: cannot read its files from the store: %v", ref.URL, err)
		} else if !bytes.Equal(got.Pieces, info.Pieces) {
			p.add("%s: piece hashes do not match the store files", ref.URL)
		}
	}
	return b
}

// checkRoot checks planktos/root.torrent: the package's one torrent, or a torrent of all the .torrent files.
func (r *run) checkRoot(ctx context.Context) Check {
	if r.m == nil {
		return noManifest(CheckRootTorrent)
	}
	b, err := readAll(ctx, r.src, rootTorrent, 64<<20)
	if len(r.m.Torrents) == 0 {
		return pass(CheckRootTorrent, "the package has no torrent (its files are empty)")
	}
	if err != nil {
		return fail(CheckRootTorrent, fixRepack, "%v", err)
	}
	mi, err := metainfo.Load(bytes.NewReader(b))
	var info metainfo.Info
	if err == nil {
		info, err = mi.UnmarshalInfo()
	}
	if err != nil {
		return fail(CheckRootTorrent, fixRepack, "%s does not parse: %v", rootTorrent, err)
	}
	if len(r.m.Torrents) == 1 {
		if got := mi.HashInfoBytes().HexString(); got != r.m.Torrents[0].InfoHash {
			return fail(CheckRootTorrent, fixRepack, "%s has infohash %s, the package's one torrent %s", rootTorrent,
				got, r.m.Torrents[0].InfoHash)
		}
		return pass(CheckRootTorrent, "%s is the package's torrent", rootTorrent)
	}
	var p problems
	if info.Name != manifest.RootTorrentName || len(info.Files) != len(r.m.Torrents) {
		p.add("%s is named %q and lists %d files; want %q and the %d torrents", rootTorrent, info.Name,
			len(info.Files), manifest.RootTorrentName, len(r.m.Torrents))
	}
	for i, f := range info.Files {
		if i >= len(r.m.Torrents) {
			break
		}
		ref := r.m.Torrents[i]
		tb, ok := r.torrents[ref.InfoHash]
		if name := strings.Join(f.Path, "/"); name != ref.InfoHash+".torrent" || (ok && f.Length != int64(len(tb))) {
			p.add("file %d is %s (%d bytes), want %s.torrent (%d bytes)", i, name, f.Length, ref.InfoHash, len(tb))
		}
	}
	if p.empty() && len(r.torrents) == len(r.m.Torrents) {
		got := info
		got.Pieces = nil
		err := got.GeneratePieces(func(fi metainfo.FileInfo) (io.ReadCloser, error) {
			ih := strings.TrimSuffix(strings.Join(fi.Path, "/"), ".torrent")
			return io.NopCloser(bytes.NewReader(r.torrents[ih])), nil
		})
		if err != nil || !bytes.Equal(got.Pieces, info.Pieces) {
			p.add("its piece hashes do not match the .torrent files")
		}
	}
	if !p.empty() {
		return fail(CheckRootTorrent, fixRepack, "%s: %s", rootTorrent, p.String())
	}
	return pass(CheckRootTorrent, "%s lists the %d torrents", rootTorrent, len(r.m.Torrents))
}
