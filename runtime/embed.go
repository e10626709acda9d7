// Package runtime holds the browser side of planktos — the install script, the service worker, the
// page agent and the offload badge — built from src/ into dist/ and embedded so that `go install` needs
// no JavaScript toolchain.
package runtime

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"sync"
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
		"planktos/badge.js":   "dist/badge.js",
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

// Version identifies the embedded runtime build: a hash of every file in dist/. Packages record it in their
// manifest, so that a new runtime changes a package's revision.
var Version = sync.OnceValue(func() string {
	h := sha256.New()
	fs.WalkDir(dist, "dist", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := fs.ReadFile(dist, p)
			fmt.Fprintf(h, "%s %d\n", p, len(b))
			h.Write(b)
		}
		return nil
	})
	return hex.EncodeToString(h.Sum(nil))[:16]
})
