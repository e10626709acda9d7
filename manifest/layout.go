package manifest

// The package layout: where a packaging run puts each file, relative to the package root (the site's
// publish folder, served at Manifest.Base), in POSIX form. testdata/layout.json lists the same paths for
// runtime/test/manifest-golden.test.js, which checks runtime/src/common/names.js against them.
const (
	// Dir holds everything planktos writes but the service worker. A site's own file there is never packaged.
	Dir = "planktos"
	// SWPath is the service worker, at the root so that its scope covers the whole site.
	SWPath = "planktos.sw.js"
	// Path is the manifest, written last: it switches readers to the new package.
	Path = Dir + "/manifest.json"
	// SigPath is the manifest's signature when the package is signed: the base64 (standard, padded)
	// Ed25519 signature over the exact bytes of Path, and a newline. Written just before Path.
	SigPath = Dir + "/manifest.sig"
	// BadgePath is the visitor's offload badge the page agent loads when Runtime.Badge is set.
	BadgePath = Dir + "/badge.js"
	// InstallPath is the install script every page loads.
	InstallPath = Dir + "/install.js"
	// PeerPath is the page agent the install script loads (absent from a kill-switch package).
	PeerPath = Dir + "/peer.js"
	// RootTorrentPath is the one torrent of a single-torrent package, or one that lists every torrent.
	RootTorrentPath = Dir + "/root.torrent"
	// FilesPrefix starts the path of every store file: FilesPrefix + <sha256>, content-addressed.
	FilesPrefix = Dir + "/files/"
	// TorrentsPrefix starts the path of every torrent: TorrentsPrefix + <infohash> + ".torrent".
	TorrentsPrefix = Dir + "/torrents/"
	// TorrentName is the name of every planktos torrent. With url-list <site>/planktos/, BEP 19 makes a
	// webseed request for file <sha256> go to <site>/planktos/files/<sha256>: the store itself.
	TorrentName = "files"
	// RootTorrentName is the name of RootTorrentPath when the package has several torrents: its files are
	// their .torrent files, so that through the same webseed they are <site>/planktos/torrents/<infohash>.torrent.
	RootTorrentName = "torrents"
)

// FilePath is the store file holding the content whose SHA-256 is sha (hex).
func FilePath(sha string) string { return FilesPrefix + sha }

// TorrentPath is the torrent whose infohash is infohash (hex); it is TorrentRef.URL.
func TorrentPath(infohash string) string { return TorrentsPrefix + infohash + ".torrent" }
