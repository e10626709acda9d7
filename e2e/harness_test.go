// Package e2e drives Debian Chromium (chromedp) against the real testsite, built with the pinned Hugo
// and packaged with the real planktos CLI, served by a Go test server that logs every request.
//
// Run: go test ./e2e (Chromium at /usr/bin/chromium; tests skip without it unless CI is set).
// Tests that open WebRTC run inside the private network namespace of scripts/netns.sh (see DESIGN.md).
// Browsers are as shipped (newBrowser): mDNS host candidates for the default route's interface only.
// Flat tests serve at http://127.0.0.1:PORT (origin()) and their browsers share the namespace (they
// resolve each other's mDNS names: TestMDNSOneNamespace). Field tests (field*_test.go, newField) put
// each browser in a home behind its own NAT (internal/fieldnet) and serve the site over HTTPS at
// https://198.19.0.1:PORT with a test CA, a wss:// tracker and planktos's STUN server.
// PLANKTOS_E2E_BIN names a prebuilt planktos binary to use instead of building ./cmd/planktos.
package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/planktos/planktos/internal/testsite"
	pkgmanifest "github.com/planktos/planktos/manifest"
)

// env is what TestMain prepared once for all tests.
var env struct {
	port     int    // the port every test server listens on (tests run one at a time)
	planktos string // the planktos binary built from this repository
	root     string // repository root
	work     string // scratch directory
	err      error  // why the environment could not be prepared
}

func TestMain(m *testing.M) {
	code := func() int {
		work, err := os.MkdirTemp("", "planktos-e2e-")
		if err != nil {
			env.err = err
			return m.Run()
		}
		defer os.RemoveAll(work)
		env.work = work
		env.err = prepare()
		return m.Run()
	}()
	os.Exit(code)
}

func prepare() error {
	root, err := testsite.RepoRoot()
	if err != nil {
		return err
	}
	env.root = root
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	env.port = l.Addr().(*net.TCPAddr).Port
	l.Close()
	if bin := os.Getenv("PLANKTOS_E2E_BIN"); bin != "" {
		// a planktos binary built elsewhere (e.g. from a clean checkout while the work tree is mid-edit)
		env.planktos = bin
		return nil
	}
	env.planktos = filepath.Join(env.work, "planktos")
	cmd := exec.Command("go", "build", "-o", env.planktos, "./cmd/planktos")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("building planktos: %v\n%s", err, out)
	}
	return nil
}

// origin is the scheme://host:port the flat tests' sites are served at (on loopback, plain HTTP: a
// secure context for service workers). A field test serves its site elsewhere: see originOf.
func origin() string { return fmt.Sprintf("http://127.0.0.1:%d", env.port) }

// origins holds the origins tests chose with setOrigin (*testing.T → scheme://host:port).
var origins sync.Map

// setOrigin makes o the origin of t's sites (building, packaging, serving, browser.open) until t ends.
func setOrigin(t *testing.T, o string) {
	origins.Store(t, o)
	t.Cleanup(func() { origins.Delete(t) })
}

// originOf is the origin t's sites are served at: the one t set with setOrigin (a field test's
// https://198.19.0.1:PORT), else origin().
func originOf(t testing.TB) string {
	if o, ok := origins.Load(t); ok {
		return o.(string)
	}
	return origin()
}

// sites caches built testsites by base URL: Hugo runs once per origin and base for the whole binary.
var sites = map[string]string{}

// builtSite returns a fresh copy of the testsite built for base ("/" or "/project/") at t's origin,
// not packaged.
func builtSite(t *testing.T, base string) string {
	t.Helper()
	needChromium(t) // every test here drives a browser: skip (or, in CI, fail) before building anything
	if env.err != nil {
		t.Fatalf("e2e environment: %v", env.err)
	}
	baseURL := originOf(t) + base
	src, ok := sites[baseURL]
	if !ok {
		src = filepath.Join(env.work, fmt.Sprintf("built%d", len(sites)))
		if err := testsite.Build(src, "--baseURL", baseURL); err != nil {
			t.Fatal(err)
		}
		sites[baseURL] = src
	}
	dst := filepath.Join(t.TempDir(), "site")
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	return dst
}

// pack runs `planktos pack` on dir served at base, with config as planktos.toml (may be empty).
func pack(t *testing.T, dir, base, config string) {
	t.Helper()
	cfg := filepath.Join(t.TempDir(), "planktos.toml")
	if err := os.WriteFile(cfg, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(env.planktos, "pack", "-q", "--config", cfg, "--base-url", originOf(t)+base, dir)
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("planktos pack: %v\n%s", err, out)
	}
}

// packedSite builds and packages the testsite for base with the given planktos.toml.
func packedSite(t *testing.T, base, config string) string {
	dir := builtSite(t, base)
	pack(t, dir, base, config)
	return dir
}

// manifest is the package's planktos/manifest.json as the manifest package decodes it, with the
// helpers the tests share.
type manifest struct{ *pkgmanifest.Manifest }

// readManifest reads and validates the manifest of the package in dir.
func readManifest(t *testing.T, dir string) manifest {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(pkgmanifest.Path)))
	if err != nil {
		t.Fatal(err)
	}
	m, err := pkgmanifest.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	return manifest{m}
}

// storable is the number of distinct non-empty contents: what a full prefetch keeps.
func (m manifest) storable() int {
	seen := map[string]bool{}
	for _, f := range m.Files {
		if f.Size > 0 {
			seen[f.SHA256] = true
		}
	}
	return len(seen)
}

// pages lists the URL paths (below base) of every HTML page of dir, pretty URLs for index.html.
// Hugo's alias pages (a meta refresh to the real page) are left out: they navigate away at once.
func (m manifest) pages(t *testing.T, dir string) []string {
	var out []string
	for k := range m.Files {
		if !strings.HasSuffix(k, ".html") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(k)))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(strings.ToLower(string(b)), `http-equiv="refresh"`) || strings.Contains(strings.ToLower(string(b)), `http-equiv=refresh`) {
			continue
		}
		if k == "index.html" || strings.HasSuffix(k, "/index.html") { // not genindex.html
			k = strings.TrimSuffix(k, "index.html")
		}
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
