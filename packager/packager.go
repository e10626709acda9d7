// Package packager turns a static site's published folder into a planktos package: it walks the folder,
// hashes every file into a content-addressed store, builds BitTorrent torrents whose webseed is the site
// itself, writes the browser runtime, and switches to the new package by writing the manifest last.
//
// A run that fails or is interrupted leaves the previous package complete: store files and torrents are
// named by their hash and only added before the switch, the manifest is replaced atomically, and
// what the new package no longer references is pruned only after it.
package packager

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"sync/atomic"
	"time"

	"github.com/planktos/planktos/config"
	"github.com/planktos/planktos/inject"
	"github.com/planktos/planktos/internal/units"
	"github.com/planktos/planktos/manifest"
	"github.com/planktos/planktos/runtime"
	"github.com/planktos/planktos/signing"
	"github.com/spf13/afero"
)

// Generator names this program in manifests and torrents; the CLI sets the version.
var Generator = "planktos dev"

// Options says what to package.
type Options struct {
	Root    string        // the publish folder, a path in the Fs
	BaseURL string        // absolute URL the folder is served at, e.g. https://example.org/project/
	Config  config.Config // the zero value is not valid; start from config.Default()
	Events  Events        // nil reports nothing
	Workers int           // parallel workers; 0 means GOMAXPROCS
	// CacheDir is a folder in the Fs for the hash cache, which spares later runs from reading files that
	// did not change (same path, size and modification time). Empty disables the cache.
	CacheDir string
}

// Result describes a finished run.
type Result struct {
	Manifest *manifest.Manifest
	Files    int   // published files packaged
	Bytes    int64 // their total size
	Pages    int   // HTML pages
	Injected int   // pages that got the install tag in this run
	Untagged int   // pages that still do not load install.js (inject = never, or too large)
	Added    int   // store files written by this run
	Cloned   int64 // bytes of those files cloned copy-on-write (FICLONE) instead of copied
	Pruned   int   // store files and torrents removed because nothing references them anymore
	// SiteWorkers are the service workers the site registers itself, each also reported as a warning.
	SiteWorkers []SiteWorker
	Elapsed     time.Duration
}

// Pack packages opts.Root. It is safe to run again on its own output: planktos's files are never packaged,
// and a run over unchanged input changes no file.
func Pack(ctx context.Context, fsys afero.Fs, opts Options) (*Result, error) {
	start := time.Now()
	ev := events(opts.Events)
	base, err := checkBaseURL(opts.BaseURL)
	if err != nil {
		return nil, err
	}
	if pl := opts.Config.PieceLength; pl != 0 && (pl < config.MinPieceLength || pl > config.MaxPieceLength || pl&(pl-1) != 0) {
		return nil, fmt.Errorf("piece length %d is not a power of two between 16KiB and 16MiB; use 0 for auto", pl)
	}
	n := opts.Workers
	if n <= 0 {
		n = goruntime.GOMAXPROCS(0)
	}
	storeDir := native(opts.Root, manifest.FilesPrefix)
	key, err := loadKey(fsys, opts)
	if err != nil {
		return nil, err
	}

	ev.Step("Walking publish directory")
	sources, err := walkRoot(fsys, opts)
	if err != nil {
		return nil, err
	}
	var total int64
	for _, s := range sources {
		total += s.size
	}
	ev.Detail("Found %d files, %s", len(sources), units.Bytes(total))
	if err := refusePublished(fsys, opts.Root, sources, key); err != nil {
		return nil, err
	}
	scripts, err := scriptRegistrations(fsys, sources)
	if err != nil {
		return nil, err
	}
	if err := prepare(fsys, opts.Root); err != nil {
		return nil, err
	}

	prev := readPrevious(fsys, opts.Root)
	cache := loadCache(fsys, opts.CacheDir, opts.Root)

	ev.Step("Hashing and storing files")
	st := &storer{fsys: fsys, dir: storeDir, base: base, inject: inject.Mode(opts.Config.Inject), cache: cache,
		pieceLength: opts.Config.PieceLength, scripts: scripts}
	stop := ev.track(&st.done, total)
	items, err := st.run(ctx, sources, n)
	stop()
	if err != nil {
		return nil, err
	}
	res := &Result{Files: len(items), Added: int(st.added.Load()), Cloned: st.cloned.Load()}
	summarizePages(items, res, ev)
	ev.Detail("Stored %d new files in planktos/files/ (%d already there)", res.Added, countBlobs(items)-res.Added)
	if res.Cloned > 0 {
		ev.Detail("%s of them cloned copy-on-write, not copied", units.Bytes(res.Cloned))
	}

	res.SiteWorkers = siteWorkers(fsys, items, scripts, &st.loadedBy, base, opts.Config.SiteWorker != "drop")
	for _, w := range res.SiteWorkers {
		ev.Warn(workerWarning(w))
	}

	ev.Step("Building torrents")
	m, torrents, err := build(ctx, fsys, items, opts, base, prev.m, n, ev)
	if err != nil {
		return nil, err
	}
	m.Runtime.SiteWorkers = importedWorkers(res.SiteWorkers)
	signed, err := seal(m, key, prev, opts)
	if err != nil {
		return nil, err
	}
	if w := iceWarning(m); w != "" {
		ev.Warn(w)
	}

	ev.Step("Writing package")
	if err := commit(fsys, opts.Root, m, torrents, opts.Config.Enabled, sitePrelude(res.SiteWorkers, base, m.Key),
		key, prev.sig); err != nil {
		return nil, err
	}
	for _, line := range signed {
		ev.Detail("%s", line)
	}
	res.Pruned, err = prune(fsys, opts.Root, m)
	if err != nil {
		ev.Warn(fmt.Sprintf("the package is complete, but cleaning up old files failed: %v", err))
	}
	if err := cache.save(items); err != nil {
		ev.Warn(fmt.Sprintf("the package is complete, but saving the hash cache failed: %v", err))
	}
	res.Manifest, res.Bytes, res.Elapsed = m, sumSizes(items), time.Since(start)
	return res, nil
}

// checkBaseURL returns the URL path of an absolute http(s) base URL.
func checkBaseURL(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return "", fmt.Errorf("base URL %q is not an absolute http(s) URL; give the address the site is served "+
			"at, like https://example.org/ (torrents need it for their webseed)", raw)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("base URL %q must not have a query or fragment", raw)
	}
	p := u.EscapedPath()
	if !strings.HasSuffix(p, "/") {
		p += "/"
	}
	return p, nil
}

func walkRoot(fsys afero.Fs, opts Options) ([]source, error) {
	fi, err := fsys.Stat(opts.Root)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s does not exist: %w", opts.Root, ErrNoSite)
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", opts.Root, explain(err))
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("%s is not a directory", opts.Root)
	}
	sources, err := walk(fsys, opts.Root, opts.Config.Include, opts.Config.Exclude)
	if err != nil {
		return nil, err
	}
	if len(sources) == 0 {
		return nil, fmt.Errorf("%s has no files to package: %w", opts.Root, ErrNoSite)
	}
	return sources, nil
}

// ErrNoSite reports a publish folder with nothing in it.
var ErrNoSite = errors.New("nothing to package; build the site first (run `hugo`)")

// prepare makes the output folders of the package at root and removes temporary files an interrupted run
// left behind.
func prepare(fsys afero.Fs, root string) error {
	for _, rel := range []string{manifest.Dir, manifest.FilesPrefix, manifest.TorrentsPrefix} {
		d := native(root, rel)
		if err := fsys.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("create %s: %w", d, explain(err))
		}
		for _, name := range readNames(fsys, d) {
			if isTemp(name) {
				fsys.Remove(filepath.Join(d, name))
			}
		}
	}
	return nil
}

// readNames lists a folder's entries without a stat each (the store can hold many thousands).
func readNames(fsys afero.Fs, dir string) []string {
	f, err := fsys.Open(dir)
	if err != nil {
		return nil
	}
	defer f.Close()
	names, _ := f.Readdirnames(-1)
	return names
}

func summarizePages(items []item, res *Result, ev *reporter) {
	var live []string
	for _, it := range items {
		if !it.html {
			continue
		}
		res.Pages++
		if it.page.Injected {
			res.Injected++
		} else if it.page.Found == 0 {
			res.Untagged++
		}
		if it.page.LiveReload {
			live = append(live, it.rel)
		}
	}
	ev.Detail("%d pages: %d already load install.js, %d got the install tag", res.Pages,
		res.Pages-res.Injected-res.Untagged, res.Injected)
	if res.Untagged > 0 {
		ev.Warn(fmt.Sprintf("%s not load planktos/install.js; add {{ partial \"planktos.html\" . }} "+
			"to your theme's <head> or set inject = \"auto\"", plural(res.Untagged, "page does", "pages do")))
	}
	if len(live) > 0 {
		ev.Warn(fmt.Sprintf("%s livereload.js (e.g. %s): this looks like `hugo server` output; "+
			"build with `hugo` before packaging", plural(len(live), "page references", "pages reference"), live[0]))
	}
}

// build makes the torrents and the manifest for the stored items.
func build(ctx context.Context, fsys afero.Fs, items []item, opts Options, base string, prev *manifest.Manifest, n int,
	ev *reporter) (*manifest.Manifest, map[string][]byte, error) {
	c := opts.Config
	m := &manifest.Manifest{Version: manifest.Version, Generator: Generator, Base: base, Files: map[string]manifest.Entry{},
		Trackers: nonNil(c.WebTrackers()), Webseeds: append([]string{strings.TrimSuffix(opts.BaseURL, "/") +
			"/" + OutDir + "/"}, c.Webseeds...),
		Runtime: manifest.Runtime{Version: runtime.Version(), Prefetch: c.Prefetch, PrefetchLimit: c.PrefetchLimit, P2P: c.P2P,
			ICEServers: iceServers(c.ICEServers), Badge: c.Badge, Report: c.Report}}
	shards, where := planShards(items, c.PieceLength)
	known := knownPieces(fsys, opts.Root, prev, items)
	spec := torrentSpec{trackers: c.Trackers, webseeds: m.Webseeds}
	var total, reused int64
	for _, sh := range shards {
		total += sh.size()
	}
	var done atomic.Int64
	stop := ev.track(&done, total)
	torrents := map[string][]byte{}
	m.Torrents = make([]manifest.TorrentRef, 0, len(shards))
	for _, sh := range shards {
		spec.pieceLength = sh.pieceLength
		spec.pieces = known[shardKey(sh)]
		if spec.pieces != nil {
			reused += sh.size()
		}
		mi, err := buildTorrent(ctx, fsys, native(opts.Root, manifest.FilesPrefix), sh.blobs, spec, n, &done)
		if err != nil {
			stop()
			return nil, nil, err
		}
		var buf bytes.Buffer
		if err := mi.Write(&buf); err != nil {
			stop()
			return nil, nil, fmt.Errorf("encode torrent: %w", err)
		}
		ih := mi.HashInfoBytes().HexString()
		torrents[ih] = buf.Bytes()
		m.Torrents = append(m.Torrents, manifest.TorrentRef{InfoHash: ih, URL: manifest.TorrentPath(ih),
			PieceLength: sh.pieceLength, Length: sh.size()})
	}
	stop()
	if err := addRoot(torrents, m, spec); err != nil {
		return nil, nil, err
	}
	for _, it := range items {
		idx := -1
		if it.size > 0 {
			idx = where[it.sha256]
		}
		m.Files[it.rel] = manifest.Entry{SHA256: it.sha256, Size: it.size, Type: it.typ, Torrent: idx}
	}
	if len(shards) > 0 {
		ev.Detail("%s of %s: %s hashed, %s unchanged", plural(len(shards), "torrent", "torrents"),
			units.Bytes(total), units.Bytes(total-reused), units.Bytes(reused))
	}
	return m, torrents, nil // Pack seals m once the rest is set (see seal)
}

// commit writes the torrents, the runtime (planktos.sw.js starting with prelude) and, last, the manifest
// that switches to the new package (signed by key, if set; see writeManifest).
func commit(fsys afero.Fs, root string, m *manifest.Manifest, torrents map[string][]byte, enabled bool, prelude []byte,
	key *signing.Key, prevSig []byte) error {
	for _, t := range m.Torrents {
		if err := writeAtomic(fsys, native(root, manifest.TorrentPath(t.InfoHash)), torrents[t.InfoHash], 0o644); err != nil {
			return fmt.Errorf("write torrent: %w", explain(err))
		}
	}
	if rt, ok := torrents[rootKey]; ok {
		if err := writeAtomic(fsys, native(root, manifest.RootTorrentPath), rt, 0o644); err != nil {
			return fmt.Errorf("write torrent: %w", explain(err))
		}
	}
	files, err := runtime.Files(enabled)
	if err != nil {
		return err
	}
	for name, b := range files {
		if name == SWName && enabled && prelude != nil {
			b = append(append([]byte{}, prelude...), b...)
		}
		if err := writeAtomic(fsys, filepath.Join(root, filepath.FromSlash(name)), b, 0o644); err != nil {
			return fmt.Errorf("write runtime: %w", explain(err))
		}
	}
	if !enabled { // the kill switch: no page agent (nor its badge) to load
		fsys.Remove(native(root, manifest.PeerPath))
		fsys.Remove(native(root, manifest.BadgePath))
	}
	return writeManifest(fsys, root, m, key, prevSig)
}

// prune removes the store files and torrents of the package at root that m does not reference.
func prune(fsys afero.Fs, root string, m *manifest.Manifest) (int, error) {
	keep := map[string]bool{}
	for _, e := range m.Files {
		keep[manifest.FilePath(e.SHA256)] = true
	}
	for _, t := range m.Torrents {
		keep[manifest.TorrentPath(t.InfoHash)] = true
	}
	removed := 0
	var errs []error
	for _, dir := range []string{manifest.FilesPrefix, manifest.TorrentsPrefix} {
		names, err := afero.ReadDir(fsys, native(root, dir))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, fi := range names {
			if keep[dir+fi.Name()] || isTemp(fi.Name()) {
				continue
			}
			if err := fsys.Remove(native(root, dir+fi.Name())); err != nil {
				errs = append(errs, err)
				continue
			}
			removed++
		}
	}
	return removed, errors.Join(errs...)
}

// native is where the layout path rel (manifest.Path, manifest.FilePath(…), …) is in the package at root.
func native(root, rel string) string { return filepath.Join(root, filepath.FromSlash(rel)) }

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

func countBlobs(items []item) int {
	seen := map[string]bool{}
	for _, it := range items {
		seen[it.sha256] = true
	}
	return len(seen)
}

func sumSizes(items []item) (n int64) {
	for _, it := range items {
		n += it.size
	}
	return n
}

func sumBlobs(blobs []blob) (n int64) {
	for _, b := range blobs {
		n += b.size
	}
	return n
}

// iceServers converts the configuration's ICE servers to the manifest's (never nil: the manifest lists none as []).
func iceServers(c []config.ICEServer) []manifest.ICEServer {
	out := make([]manifest.ICEServer, len(c))
	for i, s := range c {
		out[i] = manifest.ICEServer(s)
	}
	return out
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// iceWarning explains what a package with trackers but no STUN/TURN server loses: a visitor behind a
// NAT (nearly every visitor) reaches another only through a server-reflexive address, which only a
// STUN (or TURN) server tells its browser. Empty when there is nothing to say.
func iceWarning(m *manifest.Manifest) string {
	if len(m.Trackers) == 0 || len(m.Runtime.ICEServers) > 0 || m.Runtime.P2P == "off" {
		return ""
	}
	host := "YOUR-TRACKER-HOST"
	if u, err := url.Parse(m.Trackers[0]); err == nil && u.Hostname() != "" {
		host = u.Hostname()
		if strings.Contains(host, ":") {
			host = "[" + host + "]"
		}
	}
	return fmt.Sprintf("the package has trackers but no ice_servers: visitors behind a NAT (nearly all of "+
		"them) cannot reach each other, and only the origin's seeder (planktos seed) can serve them over "+
		"WebRTC; add ice_servers = [{ urls = [\"stun:%s:3478\"] }] to planktos.toml and run "+
		"`planktos tracker --stun :3478` on that host (UDP port 3478 open)", host)
}
