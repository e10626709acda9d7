package e2e

import (
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// WebKitGTK (Debian's libwebkit2gtk-4.1, 2.50) driven over classic WebDriver by e2e/webkit/driver.mjs
// (npm selenium-webdriver, installed by scripts/deps.sh with `npm ci` in e2e/webkit; Debian's
// /usr/bin/WebKitWebDriver; nothing is downloaded), which speaks the line protocol of
// e2e/firefox/driver.mjs, so that a WebKit is a *firefox on the Go side. The browser is
// e2e/webkit/shell.py, WebKitGTK in a window on an Xvfb of the driver's own (WebKitGTK has no headless
// mode) with a persistent profile (see shell.py). Debian builds WebKitGTK without WebRTC: the runtime
// reports p2p "unsupported" and the site works over HTTP and offline.

const webkitDriverPath = "/usr/bin/WebKitWebDriver"

var _ browserEngine = webkit{}

// webkit is a WebKitGTK; its methods are *firefox's (one tab: the driver has no "tab" op).
type webkit struct{ *firefox }

// webkitDir is e2e/webkit, where driver.mjs, shell.py and the driver's node_modules are.
func webkitDir() string {
	return filepath.Join(filepath.Dir(firefoxDir()), "webkit")
}

// needWebKit skips the test when WebKitWebDriver, Xvfb, the shell's Python bindings of WebKitGTK, node
// or the driver's npm packages are missing, except in CI (CI set), where that fails.
func needWebKit(t *testing.T) {
	t.Helper()
	var missing []string
	if _, err := os.Stat(webkitDriverPath); err != nil {
		missing = append(missing, webkitDriverPath+" (apt-get install -y webkit2gtk-driver)")
	}
	if _, err := exec.LookPath("Xvfb"); err != nil {
		missing = append(missing, "Xvfb (apt-get install -y xvfb)")
	}
	gi := exec.Command("/usr/bin/python3", "-c", "import gi; gi.require_version('Gtk', '3.0'); gi.require_version('WebKit2', '4.1')")
	if out, err := gi.CombinedOutput(); err != nil {
		missing = append(missing, "WebKitGTK for Python (apt-get install -y python3-gi gir1.2-webkit2-4.1): "+strings.TrimSpace(string(out)))
	}
	if _, err := exec.LookPath("node"); err != nil {
		missing = append(missing, "node")
	}
	if _, err := os.Stat(filepath.Join(webkitDir(), "node_modules", "selenium-webdriver")); err != nil {
		missing = append(missing, "e2e/webkit/node_modules (cd e2e/webkit && npm ci --ignore-scripts)")
	}
	needTools(t, "WebKit", missing)
}

// newWebKit starts WebKitGTK on profile ("" means a fresh one; the same directory again is a returning
// visitor), its User-Agent WebKitGTK 2.50's own tagged planktos-e2e/NAME for every request (pages,
// service worker, workers), and waits until it can be driven.
func newWebKit(t *testing.T, profile, name string) webkit {
	t.Helper()
	needWebKit(t)
	if profile == "" {
		profile = t.TempDir()
	}
	dir := webkitDir()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal(err)
	}
	ua := "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/60.5 Safari/605.1.15 planktos-e2e/" + name
	cmd := exec.Command(node, filepath.Join(dir, "driver.mjs"), "--profile", profile, "--webdriver", webkitDriverPath, "--user-agent", ua)
	cmd.Env = append(os.Environ(), "SE_OFFLINE=true") // selenium-manager, should anything call it, downloads nothing
	return webkit{startDriver(t, "WebKit", dir, profile, cmd)}
}

// wkConsole fails the test on what the pages logged as errors or warnings.
func wkConsole(t *testing.T, f *firefox, when string) {
	t.Helper()
	if c := pageErrors(f.consoleErrors()); len(c) > 0 {
		t.Errorf("%s: console: %q", when, c)
	}
}

// WebKitGTK as shipped by Debian: the runtime's core promises (coreTest), with the page agent reporting
// p2p "unsupported" (no RTCPeerConnection in this build).
func TestWebKitCore(t *testing.T) {
	needWebKit(t)
	coreTest(t, coreEngine{
		launch:  func(t *testing.T, profile string) *firefox { return newWebKit(t, profile, "core").firefox },
		console: wkConsole,
		p2p:     "unsupported",
	})
}

// What wkConsole judges reaches the test: a page's console.error, its uncaught exception and its
// service worker's console.warn each arrive as a console line (WebKit writes them to the shell's
// console file, the driver forwards them). Without this, a lost console would pass every WebKit test.
func TestWebKitConsole(t *testing.T) {
	needWebKit(t)
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, `<!doctype html><title>console</title><script>
console.error('page-error-1');
setTimeout(() => { throw new Error('uncaught-2'); }, 0);
</script>`)
	})
	mux.HandleFunc("/sw.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		io.WriteString(w, `self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', e => e.waitUntil(self.clients.claim()));
self.addEventListener('message', () => console.warn('worker-warn-3'));`)
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: mux}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })

	w := newWebKit(t, "", "console")
	w.open("http://" + l.Addr().String() + "/")
	var ok bool
	w.mustEval(`navigator.serviceWorker.register('/sw.js').then(() => navigator.serviceWorker.ready).then(r => { r.active.postMessage('log'); return true; })`, &ok)
	want := []string{"console.error: page-error-1", "javascript.error: Error: uncaught-2", "console.warning: worker-warn-3"}
	var seen []string
	w.waitFor("the three console lines", 20*time.Second, func() bool {
		seen = append(seen, w.consoleErrors()...)
		for _, s := range want {
			found := false
			for _, c := range seen {
				found = found || strings.HasPrefix(c, s)
			}
			if !found {
				return false
			}
		}
		return true
	})
	t.Logf("console: %q", seen)
	w.close()
}
