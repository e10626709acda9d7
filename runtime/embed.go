// Package runtime holds the browser side of planktos — the install script, the service worker and the
// page agent — built from src/ into dist/ and embedded so that `go install` needs no JavaScript toolchain.
package runtime

import (
	"embed"
	"fmt"
	"io/fs"
)

//go:embed dist
var dist embed.FS

// Files returns the runtime files a package needs, keyed by their path relative to the site root.
// With enabled false it returns the kill switch instead: an install script and a service worker that
// unregister planktos and delete its storage, so an owner can back out safely.
func Files(enabled bool) (map[string][]byte, error) {
	names := map[string]string{
		"planktos.sw.js":      "dist/planktos.sw.js",
		"planktos/install.js": "dist/install.js",
		"planktos/peer.js":    "dist/peer.js",
	}
	if !enabled {
		names = map[string]string{
			"planktos.sw.js":      "dist/kill.sw.js",
			"planktos/install.js": "dist/kill.install.js",
		}
	}
	out := make(map[string][]byte, len(names))
	for dst, src := range names {
		b, err := fs.ReadFile(dist, src)
		if err != nil {
			return nil, fmt.Errorf("runtime: embedded %s missing (rebuild runtime/dist): %w", src, err)
		}
		out[dst] = b
	}
	return out, nil
}
