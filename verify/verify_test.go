package verify_test

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/anacrolix/torrent/bencode"
	"github.com/anacrolix/torrent/metainfo"
	"github.com/planktos/planktos/config"
	"github.com/planktos/planktos/manifest"
	"github.com/planktos/planktos/packager"
	"github.com/planktos/planktos/serve"
	"github.com/planktos/planktos/stun"
	"github.com/planktos/planktos/tracker"
	"github.com/planktos/planktos/verify"
	"github.com/spf13/afero"
)

// small is a site that packages into one torrent.
var small = map[string]string{
	"index.html":              "<!doctype html><html><head><title>home</title></head><body><a href=posts/a/>a</a></body></html>",
	"posts/a/index.html":      `<html><head><script src="/planktos/install.js" defer></script></head><body>a</body></html>`,
	"posts/b/index.html":      "<!doctype html><html lang=en><head><meta charset=utf-8><title>b</title></head><body>b</body></html>",
	"css/site.css":            "body{color:red}",
	"files/read me #1?%ü.txt": "special names",
	"empty.txt":               "",
}

// big adds a file large enough for a torrent of its own, so that root.torrent lists two.
var big = map[string]string{"media/big.bin": strings.Repeat("0123456789abcdef", 1<<17)}

// site is a packaged site served by `planktos serve`'s handler on a loopback port, reached by a client that
// routes every host name there, so that the site can be addressed as http://localhost/ or as a
// non-local http://example.test/ without leaving loopback.
type site struct {
	dir    string
	url    string // the base URL the package was made for and is served at
	client *http.Client
}

// options shapes a site: its files, host, inject mode, the origins its tracker accepts, a change after
// packaging, and a wrapper around the server's handler.
type options struct {
	files   []map[string]string
	host    string // default "localhost"
	inject  string
	origins []string // the tracker's AllowedOrigins (default: any)
	mutate  func(t *testing.T, dir string, m *manifest.Manifest)
	wrap    func(http.Handler) http.Handler
	ice     []config.ICEServer // the package's ice_servers (default: a STUN server of the test's)
	noICE   bool               // no ice_servers at all
	key     string             // signing_key: a key file (default: unsigned)
}

func newSite(t *testing.T, o options, noTracker bool) *site {
	t.Helper()
	if o.host == "" {
		o.host = "localhost"
	}
	if o.files == nil {
		o.files = []map[string]string{small}
	}
	dir := t.TempDir()
	for _, files := range o.files {
		for p, c := range files {
			full := filepath.Join(dir, filepath.FromSlash(p))
			os.MkdirAll(filepath.Dir(full), 0o755)
			if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	base := "http://" + o.host + "/"
	cfg := config.Default()
	cfg.Trackers = [][]string{{"ws://" + o.host + "/announce"}}
	if o.inject != "" {
		cfg.Inject = o.inject
	}
	if o.ice == nil && !o.noICE {
		st, err := stun.Listen("127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		o.ice = []config.ICEServer{{URLs: []string{"stun:" + st.Addr().String()}}}
	}
	cfg.ICEServers = o.ice
	cfg.SigningKey = o.key
	res, err := packager.Pack(context.Background(), afero.NewOsFs(), packager.Options{Root: dir, BaseURL: base, Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	if o.mutate != nil {
		o.mutate(t, dir, res.Manifest)
	}
	h := &serve.Handler{Dir: dir, Base: "/"}
	if !noTracker {
		tr := tracker.New(tracker.Config{AllowedOrigins: o.origins})
		t.Cleanup(func() { tr.Close() })
		h.Tracker = tr
	}
	var handler http.Handler = h
	if o.wrap != nil {
		handler = o.wrap(h)
	}
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)
	addr := srv.Listener.Addr().String()
	var d net.Dialer
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) { return d.DialContext(ctx, "tcp", addr) },
	}}
	t.Cleanup(client.CloseIdleConnections)
	return &site{dir: dir, url: base, client: client}
}

func (s *site) verify(t *testing.T, target string) *verify.Report {
	t.Helper()
	rep, err := verify.Run(context.Background(), target, verify.Options{Client: s.client, TrackerTimeout: 3 * time.Second,
		ICETimeout: time.Second})
	if err != nil {
		t.Fatalf("verify %s: %v", target, err)
	}
	return rep
}

// expect asserts that exactly the checks in fails failed, each with a fix, and that every other check passed
// or was skipped (never warned: the package and `planktos serve` do everything right).
func expect(t *testing.T, rep *verify.Report, fails ...string) {
	t.Helper()
	want := map[string]bool{}
	for _, f := range fails {
		want[f] = true
	}
	if len(rep.Checks) != 12 {
		t.Errorf("%d checks, want 12", len(rep.Checks))
	}
	for _, c := range rep.Checks {
		switch {
		case want[c.Name] && (c.Status != verify.Fail || c.OK || c.Fix == ""):
			t.Errorf("%s: %s (ok %v) %q, want a failure with a fix (fix %q)", c.Name, c.Status, c.OK, c.Message, c.Fix)
		case !want[c.Name] && c.Status != verify.Pass && c.Status != verify.Skip:
			t.Errorf("%s: %s %q (fix %q), want it to pass", c.Name, c.Status, c.Message, c.Fix)
		}
	}
	if rep.OK() != (len(fails) == 0) {
		t.Errorf("OK() = %v with failures %v", rep.OK(), fails)
	}
}

func check(rep *verify.Report, name string) verify.Check {
	for _, c := range rep.Checks {
		if c.Name == name {
			return c
		}
	}
	return verify.Check{}
}

// TestServedPackagePasses verifies a package served by `planktos serve`, by URL and as a folder.
func TestServedPackagePasses(t *testing.T) {
	for name, files := range map[string][]map[string]string{"one torrent": {small}, "two torrents": {small, big}} {
		t.Run(name, func(t *testing.T) {
			// The tracker accepts only the site's pages: verify must handshake as one.
			s := newSite(t, options{files: files, origins: []string{"http://localhost"}}, false)
			rep := s.verify(t, s.url)
			expect(t, rep)
			for _, c := range rep.Checks {
				if c.Status == verify.Skip {
					t.Errorf("%s skipped on a URL: %s", c.Name, c.Message)
				}
			}
			if !strings.Contains(check(rep, verify.CheckStore).Message, "downloaded and hashed") {
				t.Errorf("the store message does not say what was sampled: %s", check(rep, verify.CheckStore).Message)
			}
			rep = s.verify(t, s.dir)
			expect(t, rep)
			for _, c := range rep.Checks {
				if skipped := c.Status == verify.Skip; skipped != (c.Name == verify.CheckRange || c.Name == verify.CheckCache) {
					t.Errorf("%s on a folder: %s %s", c.Name, c.Status, c.Message)
				}
			}
		})
	}
}

// TestSmallSampleSaysSo: a URL check within a tiny sample still HEADs every store file and says how much
// it hashed.
func TestSmallSampleSaysSo(t *testing.T) {
	s := newSite(t, options{files: []map[string]string{small, big}}, false)
	rep, err := verify.Run(context.Background(), s.url, verify.Options{Client: s.client, SampleBytes: 100})
	if err != nil {
		t.Fatal(err)
	}
	expect(t, rep)
	msg := check(rep, verify.CheckStore).Message
	if !strings.Contains(msg, "HEAD-checked 7 of 7 store files; downloaded and hashed 3 of them (28 B") {
		t.Errorf("store: %s", msg)
	}
	if msg := check(rep, verify.CheckTorrents).Message; !strings.Contains(msg, "piece hashes checked for 0 of them") {
		t.Errorf("torrents: %s", msg)
	}
}

func storeFile(dir string, m *manifest.Manifest, path string) string {
	return filepath.Join(dir, "planktos/files", m.Files[path].SHA256)
}

// headerOn overrides a response header on the paths with a prefix.
func headerOn(prefix, key, value string) func(http.Handler) http.Handler {
	return func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasPrefix(r.URL.Path, prefix) {
				w = &overrideWriter{ResponseWriter: w, key: key, value: value}
			}
			h.ServeHTTP(w, r)
		})
	}
}

type overrideWriter struct {
	http.ResponseWriter
	key, value string
}

func (o *overrideWriter) WriteHeader(code int) {
	o.Header().Set(o.key, o.value)
	o.ResponseWriter.WriteHeader(code)
}

func (o *overrideWriter) Write(b []byte) (int, error) {
	o.Header().Set(o.key, o.value) // no-op once the header is written
	return o.ResponseWriter.Write(b)
}

// reTorrent rewrites the package's one torrent with a changed info dictionary (marked private): its infohash
// no longer matches the manifest, and nothing else changes.
func reTorrent(t *testing.T, dir string, m *manifest.Manifest) {
	t.Helper()
	name := filepath.Join(dir, m.Torrents[0].URL)
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	mi, err := metainfo.Load(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	info, err := mi.UnmarshalInfo()
	if err != nil {
		t.Fatal(err)
	}
	private := true
	info.Private = &private
	if mi.InfoBytes, err = bencode.Marshal(info); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := mi.Write(&buf); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestBrokenPromises breaks one promise per case and expects exactly the checks it breaks to fail, each
// naming its fix.
func TestBrokenPromises(t *testing.T) {
	cases := []struct {
		name      string
		o         options
		noTracker bool
		fails     []string
		want      string // in the failed checks' messages
	}{
		{name: "store file corrupted", o: options{mutate: func(t *testing.T, dir string, m *manifest.Manifest) {
			os.WriteFile(storeFile(dir, m, "css/site.css"), []byte("body{color:RED}"), 0o644)
		}}, fails: []string{verify.CheckStore, verify.CheckTorrents}, want: "does not hash to its name"},
		{name: "store file missing", o: options{mutate: func(t *testing.T, dir string, m *manifest.Manifest) {
			os.Remove(storeFile(dir, m, "css/site.css"))
		}}, fails: []string{verify.CheckStore, verify.CheckTorrents}, want: "site.css) is missing (404) (HEAD-checked"},
		{name: "torrent infohash mismatch", o: options{mutate: reTorrent},
			fails: []string{verify.CheckTorrents}, want: "the manifest says"},
		{name: "page without install.js", o: options{inject: "never"}, fails: []string{verify.CheckPages},
			want: "index.html does not load planktos/install.js"},
		{name: "service worker as text/plain", o: options{wrap: headerOn("/planktos.sw.js", "Content-Type", "text/plain")},
			fails: []string{verify.CheckServiceWorker}, want: `"text/plain"`},
		{name: "service worker behind a redirect", o: options{wrap: func(h http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/planktos.sw.js" {
					http.Redirect(w, r, "/planktos/planktos.sw.js", http.StatusFound)
					return
				}
				h.ServeHTTP(w, r)
			})
		}}, fails: []string{verify.CheckServiceWorker}, want: "redirect"},
		{name: "Range ignored", o: options{wrap: func(h http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				r.Header.Del("Range")
				h.ServeHTTP(w, r)
			})
		}}, fails: []string{verify.CheckRange}, want: "ignores Range"},
		{name: "plain http on a non-local host", o: options{host: "example.test"},
			fails: []string{verify.CheckHTTPS}, want: "served at http://example.test/: plain HTTP"},
		{name: "manifest served immutable", o: options{wrap: headerOn("/planktos/manifest.json", "Cache-Control",
			"public, max-age=31536000, immutable")}, fails: []string{verify.CheckCache}, want: "planktos/manifest.json"},
		{name: "store files served no-store", o: options{wrap: headerOn("/planktos/files/", "Cache-Control", "no-store")},
			fails: []string{verify.CheckCache}, want: "planktos/files/*"},
		{name: "tracker refuses the handshake", noTracker: true, fails: []string{verify.CheckTrackers},
			want: "404 Not Found instead of a WebSocket handshake"},
		{name: "tracker refuses the site's origin", o: options{origins: []string{"https://elsewhere.example"}},
			fails: []string{verify.CheckTrackers}, want: "403 Forbidden"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newSite(t, tc.o, tc.noTracker)
			rep := s.verify(t, s.url)
			expect(t, rep, tc.fails...)
			if c := check(rep, tc.fails[0]); !strings.Contains(c.Message, tc.want) {
				t.Errorf("%s: %q lacks %q", c.Name, c.Message, tc.want)
			}
		})
	}
}

// TestBrokenFolder breaks a packaged folder; the folder check reads every byte.
func TestBrokenFolder(t *testing.T) {
	cases := []struct {
		name  string
		o     options
		fails []string
		want  string
	}{
		{"store file corrupted", options{mutate: func(t *testing.T, dir string, m *manifest.Manifest) {
			os.WriteFile(storeFile(dir, m, "media/big.bin"), []byte(strings.Repeat("x", 1<<21)), 0o644)
		}}, []string{verify.CheckStore, verify.CheckTorrents}, "does not hash to its name"},
		{"store file truncated", options{mutate: func(t *testing.T, dir string, m *manifest.Manifest) {
			os.Truncate(storeFile(dir, m, "media/big.bin"), 100)
		}}, []string{verify.CheckStore, verify.CheckTorrents}, "is 100 bytes, the manifest says 2097152"},
		{"torrent infohash mismatch", options{files: []map[string]string{small}, mutate: reTorrent},
			[]string{verify.CheckTorrents}, "the manifest says"},
		{"page changed after packaging", options{mutate: func(t *testing.T, dir string, m *manifest.Manifest) {
			os.WriteFile(filepath.Join(dir, "posts/b/index.html"), []byte("<html><body>new</body></html>"), 0o644)
		}}, []string{verify.CheckPages}, "posts/b/index.html changed since it was packaged"},
		{"page without install.js", options{inject: "never"}, []string{verify.CheckPages}, "does not load"},
		{"service worker missing", options{mutate: func(t *testing.T, dir string, m *manifest.Manifest) {
			os.Remove(filepath.Join(dir, "planktos.sw.js"))
		}}, []string{verify.CheckServiceWorker}, "planktos.sw.js is missing"},
		{"root torrent missing", options{mutate: func(t *testing.T, dir string, m *manifest.Manifest) {
			os.Remove(filepath.Join(dir, "planktos/root.torrent"))
		}}, []string{verify.CheckRootTorrent}, "root.torrent"},
		{"packaged for plain http", options{host: "example.test"}, []string{verify.CheckHTTPS}, "packaged for http://example.test/: plain HTTP"},
		{"not packaged", options{mutate: func(t *testing.T, dir string, m *manifest.Manifest) {
			os.RemoveAll(filepath.Join(dir, "planktos"))
		}}, []string{verify.CheckManifest}, "not a planktos package"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.o.files == nil {
				tc.o.files = []map[string]string{small, big}
			}
			s := newSite(t, tc.o, false)
			rep := s.verify(t, s.dir)
			if tc.fails[0] == verify.CheckManifest { // nothing else can be checked, but planktos.sw.js is there
				if c := check(rep, verify.CheckManifest); c.OK || !strings.Contains(c.Message, tc.want) || rep.Count(verify.Skip) != 10 ||
					!check(rep, verify.CheckServiceWorker).OK {
					t.Errorf("%+v, %d skipped", c, rep.Count(verify.Skip))
				}
				return
			}
			expect(t, rep, tc.fails...)
			if c := check(rep, tc.fails[0]); !strings.Contains(c.Message, tc.want) {
				t.Errorf("%s: %q lacks %q", c.Name, c.Message, tc.want)
			}
		})
	}
}

func TestBadTarget(t *testing.T) {
	for _, target := range []string{"ftp://example.org/", filepath.Join(t.TempDir(), "missing"), "http://"} {
		if _, err := verify.Run(context.Background(), target, verify.Options{}); err == nil {
			t.Errorf("%s: no error", target)
		}
	}
}

// themeWorker is a site whose theme registers its own service worker, which planktos.sw.js imports.
var themeWorker = map[string]string{
	"js/theme.js": "navigator.serviceWorker.register('/sw.js')",
	"sw.js":       "self.addEventListener('push', () => {})",
	"theme/index.html": `<!doctype html><html><head><title>t</title><script src="/js/theme.js" defer></script>` +
		`</head><body>t</body></html>`,
}

// verify names the site's own worker planktos.sw.js runs, over HTTP and in a folder, and fails when the
// deployed planktos.sw.js does not import it (a stale or hand-made one).
func TestSiteWorker(t *testing.T) {
	s := newSite(t, options{files: []map[string]string{small, themeWorker}}, false)
	for _, target := range []string{s.url, s.dir} {
		rep := s.verify(t, target)
		expect(t, rep)
		if c := check(rep, verify.CheckServiceWorker); !strings.Contains(c.Message, "runs the site's own service worker sw.js") {
			t.Errorf("%s: %q does not name the site's worker", target, c.Message)
		}
	}
	stale := newSite(t, options{files: []map[string]string{small, themeWorker}, mutate: func(t *testing.T, dir string, m *manifest.Manifest) {
		b, _ := os.ReadFile(filepath.Join(dir, "planktos.sw.js"))
		_, rest, _ := strings.Cut(string(b), "\n")
		os.WriteFile(filepath.Join(dir, "planktos.sw.js"), []byte(rest), 0o644)
	}}, false)
	for _, target := range []string{stale.url, stale.dir} {
		rep := stale.verify(t, target)
		expect(t, rep, verify.CheckServiceWorker)
		if c := check(rep, verify.CheckServiceWorker); !strings.Contains(c.Message, "does not import it") {
			t.Errorf("%s: %q", target, c.Message)
		}
	}
}
