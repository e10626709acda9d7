package e2e

import (
	"bufio"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/planktos/planktos/internal/fieldnet"
)

// Firefox ESR (Debian's /usr/bin/firefox-esr, the stock browser) driven over WebDriver BiDi by
// e2e/firefox/driver.mjs (npm puppeteer-core, installed by scripts/deps.sh with `npm ci` in
// e2e/firefox; nothing is downloaded). The driver's protocol is described at its top.

const firefoxPath = "/usr/bin/firefox-esr"

// browserEngine is what a test needs of a browser; Chromium (*browser) and Firefox (*firefox) both are.
type browserEngine interface {
	open(url string)
	eval(expr string, out any) error
	mustEval(expr string, out any)
	stats() stats
	waitFor(what string, d time.Duration, cond func() bool)
	consoleErrors() []string
	close()
}

var (
	_ browserEngine = (*browser)(nil)
	_ browserEngine = (*firefox)(nil)
)

// firefoxDir is e2e/firefox, where driver.mjs and its node_modules are.
func firefoxDir() string {
	if env.root != "" {
		return filepath.Join(env.root, "e2e", "firefox")
	}
	d, _ := filepath.Abs("firefox") // go test runs in the package's directory
	return d
}

// needFirefox skips the test when Firefox ESR, node or the driver's npm packages are missing, except in
// CI (CI set), where that fails.
func needFirefox(t *testing.T) {
	t.Helper()
	var missing []string
	if _, err := os.Stat(firefoxPath); err != nil {
		missing = append(missing, firefoxPath+" (apt-get install -y firefox-esr)")
	}
	if _, err := exec.LookPath("node"); err != nil {
		missing = append(missing, "node")
	}
	if _, err := os.Stat(filepath.Join(firefoxDir(), "node_modules", "puppeteer-core")); err != nil {
		missing = append(missing, "e2e/firefox/node_modules (cd e2e/firefox && npm ci --ignore-scripts)")
	}
	needTools(t, "Firefox", missing)
}

// needTools skips the test when missing (what the tests of engine lack, each with how to install it)
// is not empty, except in CI (CI set), where that fails.
func needTools(t *testing.T, engine string, missing []string) {
	t.Helper()
	if len(missing) == 0 {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("CI is set but the %s e2e tests lack %s", engine, strings.Join(missing, ", "))
	}
	t.Skipf("%s e2e test skipped: missing %s", engine, strings.Join(missing, ", "))
}

// firefoxConfig is what newFirefox's options set.
type firefoxConfig struct {
	command   func(name string, args ...string) *exec.Cmd
	userAgent string
	cas       []string
	prefs     []string // NAME=JSON
	insecure  bool
}

type firefoxOption func(*firefoxConfig)

// firefoxCommand makes the driver's process with cmd instead of exec.Command, e.g. to start it inside a
// network namespace: func(name string, args ...string) *exec.Cmd { return exec.Command("ip",
// append([]string{"netns", "exec", "home1", name}, args...)...) }. Firefox is the driver's child and
// inherits its namespaces.
func firefoxCommand(cmd func(name string, args ...string) *exec.Cmd) firefoxOption {
	return func(c *firefoxConfig) { c.command = cmd }
}

// firefoxUA tags the browser's User-Agent with planktos-e2e/NAME, as uaTag does Chromium's: Firefox
// ESR's own User-Agent plus the tag, for every request (pages, service worker, workers).
func firefoxUA(name string) firefoxOption {
	return func(c *firefoxConfig) {
		c.userAgent = "Mozilla/5.0 (X11; Linux x86_64; rv:153.0) Gecko/20100101 Firefox/153.0 planktos-e2e/" + name
	}
}

// firefoxTrustCA makes the profile trust the CA certificate in the PEM file for TLS servers (added to the
// profile's NSS database before launch), as a visitor's Firefox trusts a public CA.
func firefoxTrustCA(pemFile string) firefoxOption {
	return func(c *firefoxConfig) { c.cas = append(c.cas, pemFile) }
}

// firefoxAcceptInsecureCerts opens the WebDriver session with acceptInsecureCerts: pages load despite
// certificate errors. For measuring only (see TestFirefoxTLS): use firefoxTrustCA for an HTTPS origin.
func firefoxAcceptInsecureCerts() firefoxOption {
	return func(c *firefoxConfig) { c.insecure = true }
}

// firefoxPref sets a Firefox preference in the profile's user.js. The Firefox tests run the browser as
// shipped: a test that needs a pref must say why.
func firefoxPref(name string, value any) firefoxOption {
	return func(c *firefoxConfig) {
		b, err := json.Marshal(value)
		if err != nil {
			panic(err)
		}
		c.prefs = append(c.prefs, name+"="+string(b))
	}
}

// firefox is one tab of a Firefox ESR with its profile, driven by e2e/firefox/driver.mjs, and what its
// pages reported. Its methods are named and typed like *browser's.
type firefox struct {
	t       *testing.T
	profile string
	version string
	tabID   int // 0 for the first tab
	*ffProc
}

// ffProc is the driver's process, shared by a Firefox's tabs.
type ffProc struct {
	name   string // the browser's, for messages: Firefox, WebKit
	cmd    *exec.Cmd
	in     io.WriteCloser
	exited chan struct{} // closed when the driver's process has exited

	mu      sync.Mutex
	nextID  int
	waiting map[int]chan ffMessage
	console []string
	stderr  ffTail // the driver's and Firefox's own output, for diagnostics
	closed  bool
}

// ffMessage is one line from the driver: an answer (id) or an event.
type ffMessage struct {
	ID      int             `json:"id"`
	OK      bool            `json:"ok"`
	Error   string          `json:"error"`
	Value   json.RawMessage `json:"value"`
	Event   string          `json:"event"`
	Version string          `json:"version"`
	Tab     int             `json:"tab"`
	Level   string          `json:"level"`
	Type    string          `json:"type"`
	Text    string          `json:"text"`
	URL     string          `json:"url"`
	// Warning is what the driver noticed about a command that still did its job.
	Warning string `json:"warning"`
}

// newFirefox starts Firefox ESR on profile ("" means a fresh one; pass the same directory again for a
// returning visitor) and waits until it can be driven.
func newFirefox(t *testing.T, profile string, opts ...firefoxOption) *firefox {
	t.Helper()
	needFirefox(t)
	var cfg firefoxConfig
	for _, o := range opts {
		o(&cfg)
	}
	if len(cfg.cas) > 0 {
		if _, err := exec.LookPath("certutil"); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatal("CI is set but certutil is missing (apt-get install -y libnss3-tools)")
			}
			t.Skip("certutil missing (apt-get install -y libnss3-tools): Firefox test with a test CA skipped")
		}
	}
	if cfg.command == nil {
		cfg.command = exec.Command
	}
	if profile == "" {
		profile = t.TempDir()
	}
	dir := firefoxDir()
	args := []string{filepath.Join(dir, "driver.mjs"), "--profile", profile, "--firefox", firefoxPath}
	if cfg.userAgent != "" {
		args = append(args, "--user-agent", cfg.userAgent)
	}
	for _, ca := range cfg.cas {
		args = append(args, "--ca", ca)
	}
	for _, p := range cfg.prefs {
		args = append(args, "--pref", p)
	}
	if cfg.insecure {
		args = append(args, "--accept-insecure-certs")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal(err)
	}
	cmd := cfg.command(node, args...)
	if cmd.Env == nil {
		cmd.Env = os.Environ()
	}
	cmd.Env = append(cmd.Env, "PUPPETEER_SKIP_DOWNLOAD=1")
	return startDriver(t, "Firefox", dir, profile, cmd)
}

// startDriver starts cmd, a driver speaking e2e/firefox/driver.mjs's line protocol (run in dir unless
// cmd says otherwise) for the browser called name, and waits until the browser can be driven.
func startDriver(t *testing.T, name, dir, profile string, cmd *exec.Cmd) *firefox {
	t.Helper()
	if cmd.Dir == "" {
		cmd.Dir = dir
	}
	// its own process group, so that a driver that will not quit is killed together with the browser
	// (which the driver also starts with a parent-death signal)
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	f := &firefox{t: t, profile: profile, ffProc: &ffProc{name: name, cmd: cmd, exited: make(chan struct{}), waiting: map[int]chan ffMessage{}}}
	cmd.Stderr = &f.stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if f.in, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting the %s driver: %v", name, err)
	}
	ready := make(chan ffMessage, 1)
	go f.read(out, ready)
	t.Cleanup(f.shutdown)
	select {
	case m := <-ready:
		if m.Event != "ready" {
			t.Fatalf("starting %s: %s\n%s", name, m.Error, f.stderr.String())
		}
		f.version = m.Version
	case <-f.exited:
		t.Fatalf("the %s driver exited before %s was ready: %v\n%s", name, name, cmd.ProcessState, f.stderr.String())
	case <-time.After(90 * time.Second):
		t.Fatalf("%s not ready after 90 s\n%s", name, f.stderr.String())
	}
	return f
}

// read dispatches the driver's lines: answers to their callers, events to the console log.
func (f *firefox) read(out io.Reader, ready chan<- ffMessage) {
	defer func() {
		f.cmd.Wait()
		close(f.exited)
	}()
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 64*1024), 64<<20)
	for sc.Scan() {
		var m ffMessage
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			f.stderr.Write([]byte("driver stdout: " + sc.Text() + "\n"))
			continue
		}
		switch {
		case m.Event == "ready" || m.Event == "fatal":
			select {
			case ready <- m:
			default:
				f.stderr.Write([]byte(fmt.Sprintf("driver: %s %s\n", m.Event, m.Error)))
			}
		case m.Event == "console":
			level := m.Level
			if level == "warn" {
				level = "warning"
			}
			s := fmt.Sprintf("%s.%s: %s", m.Type, level, m.Text)
			if m.Type == "javascript" && m.URL != "" {
				s += " " + m.URL
			}
			f.mu.Lock()
			f.console = append(f.console, s)
			f.mu.Unlock()
		case m.ID != 0:
			f.mu.Lock()
			ch := f.waiting[m.ID]
			delete(f.waiting, m.ID)
			f.mu.Unlock()
			if ch != nil {
				ch <- m
			}
		}
	}
}

// call sends one command and waits at most d for its answer.
func (f *firefox) call(cmd map[string]any, d time.Duration) (ffMessage, error) {
	f.mu.Lock()
	f.nextID++
	id := f.nextID
	ch := make(chan ffMessage, 1)
	f.waiting[id] = ch
	f.mu.Unlock()
	cmd["id"] = id
	if f.tabID != 0 {
		cmd["tab"] = f.tabID
	}
	b, err := json.Marshal(cmd)
	if err != nil {
		return ffMessage{}, err
	}
	if _, err := f.in.Write(append(b, '\n')); err != nil {
		return ffMessage{}, fmt.Errorf("writing to the %s driver: %v", f.name, err)
	}
	select {
	case m := <-ch:
		if m.Error != "" {
			return m, fmt.Errorf("%s", m.Error)
		}
		return m, nil
	case <-f.exited:
		return ffMessage{}, fmt.Errorf("the %s driver exited (%v)", f.name, f.cmd.ProcessState)
	case <-time.After(d):
		f.mu.Lock()
		delete(f.waiting, id)
		f.mu.Unlock()
		return ffMessage{}, fmt.Errorf("no answer from %s within %v", f.name, d)
	}
}

// open navigates to url (absolute, or a path on the test's origin, originOf) and waits for the load
// event.
func (f *firefox) open(url string) {
	f.t.Helper()
	if strings.HasPrefix(url, "/") {
		url = originOf(f.t) + url
	}
	m, err := f.call(map[string]any{"op": "open", "url": url, "timeout": 30000}, 45*time.Second)
	if err != nil {
		f.t.Fatalf("open %s: %v", url, err)
	}
	if m.Warning != "" {
		f.t.Logf("open %s: %s", url, m.Warning)
	}
}

// eval evaluates a JavaScript expression in the page, awaiting a promise, and decodes the result
// (JSON) into out.
func (f *firefox) eval(expr string, out any) error {
	m, err := f.call(map[string]any{"op": "eval", "expr": expr}, 60*time.Second)
	if err != nil {
		return err
	}
	return json.Unmarshal(m.Value, out)
}

// mustEval is eval that fails the test on error.
func (f *firefox) mustEval(expr string, out any) {
	f.t.Helper()
	if err := f.eval(expr, out); err != nil {
		f.t.Fatalf("eval %.80s…: %v", expr, err)
	}
}

func (f *firefox) stats() stats {
	f.t.Helper()
	var s stats
	f.mustEval(`window.planktos ? window.planktos.stats() : {}`, &s)
	return s
}

// waitFor polls cond every 100 ms until it is true or d passes.
func (f *firefox) waitFor(what string, d time.Duration, cond func() bool) {
	f.t.Helper()
	poll.For(f.t, what, d, cond)
}

// consoleErrors returns what the pages logged as errors or warnings so far (console API calls as
// "console.LEVEL: …", script errors, among them uncaught exceptions, as "javascript.LEVEL: … URL"), and
// forgets it.
func (f *firefox) consoleErrors() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.console
	f.console = nil
	return c
}

// tab opens another tab in the same Firefox and returns it: the first keeps its page (and so its page
// agent) while the new one navigates. Console lines of all tabs are collected together; close on any
// tab quits the browser.
func (f *firefox) tab() *firefox {
	f.t.Helper()
	m, err := f.call(map[string]any{"op": "tab"}, 30*time.Second)
	if err != nil {
		f.t.Fatalf("new tab: %v", err)
	}
	nf := *f
	nf.tabID = m.Tab
	return &nf
}

// installed opens the site's home page and waits until the service worker controls it and the page
// agent has prefetched the whole site (want distinct files in the store).
func (f *firefox) installed(base string, want int) stats {
	f.t.Helper()
	f.open(base)
	var ok bool
	f.mustEval(`window.planktos.ready`, &ok)
	if !ok {
		f.t.Fatal("planktos.ready resolved false on the first visit")
	}
	var s stats
	f.waitFor(fmt.Sprintf("%d files in the store", want), 60*time.Second, func() bool {
		s = f.stats()
		return s.Stored >= want
	})
	return s
}

// close quits Firefox gracefully (what a visitor's quitting does: storage is written out) and waits for
// it, leaving its profile for another newFirefox.
func (f *firefox) close() {
	f.t.Helper()
	f.mu.Lock()
	closed := f.closed
	f.closed = true
	f.mu.Unlock()
	if closed {
		return
	}
	if _, err := f.call(map[string]any{"op": "close"}, 75*time.Second); err != nil {
		select {
		case <-f.exited: // it answered by exiting
		default:
			f.t.Errorf("closing %s: %v\n%s", f.name, err, f.stderr.String())
		}
	}
	select {
	case <-f.exited:
	case <-time.After(30 * time.Second):
		f.t.Errorf("the %s driver did not exit after closing the browser; killed", f.name)
		f.kill()
	}
}

// shutdown is the test's cleanup: a browser still open is closed (briefly gracefully, then killed).
func (f *firefox) shutdown() {
	f.mu.Lock()
	closed := f.closed
	f.closed = true
	f.mu.Unlock()
	if f.t.Failed() {
		f.t.Logf("%s driver output (tail):\n%s", f.name, f.stderr.String())
	}
	if !closed {
		f.in.Close() // end of input: the driver quits Firefox
		select {
		case <-f.exited:
			return
		case <-time.After(20 * time.Second):
		}
	}
	select {
	case <-f.exited:
	default:
		f.kill()
	}
}

func (f *firefox) kill() {
	if f.cmd.Process != nil {
		syscall.Kill(-f.cmd.Process.Pid, syscall.SIGKILL) // the driver's process group: node and Firefox
		f.cmd.Process.Kill()
	}
	select {
	case <-f.exited:
	case <-time.After(10 * time.Second):
	}
}

// ffTail keeps the last 64 KiB written to it.
type ffTail struct {
	mu  sync.Mutex
	buf []byte
}

func (w *ffTail) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	if n := len(w.buf) - 64<<10; n > 0 {
		w.buf = append([]byte(nil), w.buf[n:]...)
	}
	return len(p), nil
}

func (w *ffTail) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return string(w.buf)
}

// ffVideoJS plays the page's video (muted) until its time advances, pauses, seeks to 10 s and waits
// until it can play there; then asks the page's fetch for a byte range of it, which the service worker
// answers (206, and its x-planktos-source header says from where). Every wait is bounded, in the page.
const ffVideoJS = `(async () => {
  const v = document.querySelector('video');
  if (!v) throw new Error('no video on ' + location.pathname);
  const fail = what => new Error(what + ': readyState ' + v.readyState + ', networkState ' + v.networkState +
    (v.error ? ', error ' + v.error.code + ' ' + v.error.message : ''));
  const until = ev => new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(fail('no ' + ev + ' within 30 s')), 30000);
    v.addEventListener(ev, () => { clearTimeout(timer); resolve(); }, { once: true });
    v.addEventListener('error', () => { clearTimeout(timer); reject(fail('video error')); }, { once: true });
  });
  v.muted = true;
  if (v.readyState < 1) { const p = until('loadedmetadata'); v.preload = 'auto'; v.load(); await p; }
  const t0 = v.currentTime;
  await v.play();
  const end = Date.now() + 30000;
  while (v.currentTime < t0 + 0.5) {
    if (Date.now() > end) throw fail('playing, time did not advance from ' + t0);
    await new Promise(r => setTimeout(r, 100));
  }
  const played = v.currentTime - t0;
  v.pause();
  const seeked = until('seeked');
  v.currentTime = 10;
  await seeked;
  if (v.readyState < 2) await until('canplay');
  const r = await fetch(v.currentSrc, { headers: { Range: 'bytes=1000-1999' } });
  const body = await r.arrayBuffer();
  return { duration: v.duration, played, at: v.currentTime, rangeStatus: r.status, rangeBytes: body.byteLength,
    source: r.headers.get('x-planktos-source') };
})()`

type ffVideo struct {
	Duration    float64 `json:"duration"`
	Played      float64 `json:"played"`
	At          float64 `json:"at"`
	RangeStatus int     `json:"rangeStatus"`
	RangeBytes  int     `json:"rangeBytes"`
	Source      string  `json:"source"`
}

// ffCheckVideo plays and seeks the video on page, and requires the service worker's 206 for a range.
func ffCheckVideo(t *testing.T, f *firefox, page string) {
	t.Helper()
	f.open(page)
	var v ffVideo
	f.mustEval(ffVideoJS, &v)
	t.Logf("video on %s: %+v", page, v)
	if v.At < 9.5 || v.Played <= 0 {
		t.Errorf("video on %s: %+v (want played, then at 10 s after seeking)", page, v)
	}
	if v.RangeStatus != 206 || v.RangeBytes != 1000 || v.Source == "" {
		t.Errorf("range request for the video on %s: %+v (want 206 with 1000 bytes from the service worker)", page, v)
	}
}

// ffKnownErrors sorts console lines into the known Firefox one and the rest. Known: Firefox (153 ESR)
// logs "Failed to load ‘URL’. A ServiceWorker intercepted the request and encountered an unexpected
// error." (often with an empty URL, ‘’) whenever a response its service worker gave is cancelled
// before the page read it to the end, whatever the body (TestFirefoxStreamCancelError shows it with a
// minimal worker): a navigation away while planktos/peer.js (loaded after the page's load event), an
// image or a slice of the video is in flight — about half of 20 navigations that left a page at once,
// none when each page's agent had started first. The video element's own cancels (it leaves the range
// it reads for the WebM index at the file's end, and to seek) caused it on 1 open of /media/ in 3
// while planktos answered `bytes=0-` with the whole rest of the file; since media ranges are answered
// in 256 KiB slices it is rare there (TestFirefoxVideoConsole). It is reported (t.Log), not failed.
func ffKnownErrors(c []string) (known, other []string) {
	for _, s := range c {
		if strings.Contains(s, "A ServiceWorker intercepted the request and encountered an unexpected error") {
			known = append(known, s)
		} else {
			other = append(other, s)
		}
	}
	return known, other
}

func ffConsole(t *testing.T, f *firefox, when string) {
	t.Helper()
	known, other := ffKnownErrors(pageErrors(f.consoleErrors()))
	for _, k := range known {
		t.Logf("%s: known Firefox console error (a cancelled service-worker stream, see ffKnownErrors): %s", when, k)
	}
	if len(other) > 0 {
		t.Errorf("%s: console: %q", when, other)
	}
}

// Firefox ESR as shipped: the runtime's core promises (coreTest).
func TestFirefoxCore(t *testing.T) {
	needFirefox(t)
	coreTest(t, coreEngine{
		launch:  func(t *testing.T, profile string) *firefox { return newFirefox(t, profile, firefoxUA("core")) },
		console: ffConsole,
	})
}

// ffSWProbeJS registers /sw.js (which answers /probe itself and claims its clients) and reports what
// happened: whether the page is a secure context, the registration's error, and what /probe returned
// once the page is controlled.
const ffSWProbeJS = `(async () => {
  const out = { secure: isSecureContext, registered: false, error: '', controlled: false, probe: '' };
  try {
    await navigator.serviceWorker.register('/sw.js');
    await navigator.serviceWorker.ready;
    out.registered = true;
    if (!navigator.serviceWorker.controller) await new Promise(r => {
      navigator.serviceWorker.addEventListener('controllerchange', r, { once: true });
      setTimeout(r, 10000);
    });
    out.controlled = !!navigator.serviceWorker.controller;
    out.probe = await (await fetch('/probe')).text();
  } catch (e) { out.error = String(e); }
  return out;
})()`

type ffSWProbe struct {
	Secure     bool   `json:"secure"`
	Registered bool   `json:"registered"`
	Error      string `json:"error"`
	Controlled bool   `json:"controlled"`
	Probe      string `json:"probe"`
}

// An HTTPS origin whose certificate a test CA signed (the field tests' setting), on 127.0.0.1. With
// the CA in the profile's NSS database (firefoxTrustCA) the page is an ordinary secure page and a service
// worker registers and controls it: what a visitor's Firefox does with a site's public certificate, and
// the way for the field tests. Recorded alongside: without the CA the navigation fails
// (SEC_ERROR_UNKNOWN_ISSUER); with WebDriver's acceptInsecureCerts the page loads and (Firefox 153 ESR,
// measured) its service worker registers and controls it too, so that shortcut would also work, but it is
// a session-wide override no visitor has.
func TestFirefoxTLS(t *testing.T) {
	needFirefox(t)
	ca := testCA(t) // the field tests' CA; its leaf is also for 127.0.0.1
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, `<!doctype html><title>tls</title><p>tls`)
	})
	mux.HandleFunc("/sw.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		io.WriteString(w, `self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', e => e.waitUntil(self.clients.claim()));
self.addEventListener('fetch', e => {
  if (new URL(e.request.url).pathname === '/probe') e.respondWith(new Response('from the service worker'));
});`)
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: mux, TLSConfig: &tls.Config{Certificates: []tls.Certificate{ca.leaf}},
		ErrorLog: log.New(io.Discard, "", 0)} // Firefox's refused handshakes are expected below
	go srv.ServeTLS(l, "", "")
	t.Cleanup(func() { srv.Close() })
	url := "https://" + l.Addr().String() + "/"

	t.Run("trusted-ca", func(t *testing.T) {
		f := newFirefox(t, "", firefoxTrustCA(ca.caFile))
		f.open(url)
		var p ffSWProbe
		f.mustEval(ffSWProbeJS, &p)
		t.Logf("%+v", p)
		if !p.Secure || !p.Registered || !p.Controlled || p.Probe != "from the service worker" {
			t.Errorf("with the test CA trusted: %+v (want a secure page controlled by its service worker)", p)
		}
		if c := f.consoleErrors(); len(c) > 0 {
			t.Errorf("console: %q", c)
		}
		f.close()
	})
	t.Run("untrusted", func(t *testing.T) {
		f := newFirefox(t, "")
		_, err := f.call(map[string]any{"op": "open", "url": url, "timeout": 30000}, 45*time.Second)
		t.Logf("open without the CA: %v", err)
		if err == nil {
			var loc string
			f.mustEval(`location.href + ' ' + document.title`, &loc)
			t.Errorf("a page with an untrusted certificate opened: %s", loc)
		}
		f.close()
	})
	t.Run("accept-insecure-certs", func(t *testing.T) {
		f := newFirefox(t, "", firefoxAcceptInsecureCerts())
		f.open(url)
		var p ffSWProbe
		f.mustEval(ffSWProbeJS, &p)
		t.Logf("with acceptInsecureCerts: %+v; console %q", p, f.consoleErrors())
		if !p.Secure || !p.Registered || !p.Controlled {
			t.Logf("note: with acceptInsecureCerts this Firefox gives the page no service worker")
		}
		f.close()
	})
}

// ffGatherJS gathers ICE candidates for a data channel with the given iceServers (bounded in the page)
// and returns them as SDP candidate lines.
const ffGatherJS = `(async (iceServers) => {
  const pc = new RTCPeerConnection({ iceServers });
  const seen = [];
  pc.onicecandidate = e => { if (e.candidate && e.candidate.candidate) seen.push(e.candidate.candidate); };
  pc.createDataChannel('probe');
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise(r => {
    if (pc.iceGatheringState === 'complete') return r();
    pc.addEventListener('icegatheringstatechange', () => pc.iceGatheringState === 'complete' && r());
    setTimeout(r, 10000); // without a default route gathering never starts: state stays 'new'
  });
  const state = pc.iceGatheringState;
  pc.close();
  return { state, candidates: seen };
})`

type ffGathered struct {
	State      string   `json:"state"`
	Candidates []string `json:"candidates"`
}

// ffNamespace returns a firefoxCommand that starts the driver (and so Firefox) in a network namespace
// of its own, made by unshare: loopback, and d0 at 198.18.0.1/24 (one end of a veth pair, as
// scripts/netns.sh does where there is no dummy driver), with a default route through d0 if
// defaultRoute. Nothing there reaches beyond the namespace.
func ffNamespace(defaultRoute bool) firefoxOption {
	setup := `set -e
ip link set lo up
ip link add d0 type dummy 2>/dev/null || { ip link add d0 type veth peer name d1; ip link set d1 up; }
ip addr add 198.18.0.1/24 dev d0
ip link set d0 up
`
	if defaultRoute {
		setup += "ip route add default dev d0\n"
	}
	setup += `exec "$@"`
	return firefoxCommand(func(name string, args ...string) *exec.Cmd {
		return exec.Command("unshare", append([]string{"--net", "--", "sh", "-c", setup, "_", name}, args...)...)
	})
}

// WebRTC in Firefox as shipped (no media permission, no pref): which host candidates does
// `new RTCPeerConnection({iceServers: []})` gather, in a namespace with and without a default route?
// Each browser runs in a network namespace of its own (ffNamespace). As DESIGN.md says of browsers
// without media permission: with a default route Firefox offers a host candidate for that interface,
// its address hidden behind an mDNS .local name (UDP, and TCP active); without one it offers none, the
// gathering state stays "new", and the page's console gets "WebRTC: ICE failed, add a STUN server and
// see about:webrtc for more details".
func TestFirefoxCandidates(t *testing.T) {
	needFirefox(t)
	if out, err := exec.Command("unshare", "--net", "--", "true").CombinedOutput(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI is set but unshare --net fails: %v %s", err, out)
		}
		t.Skipf("network namespaces unavailable (unshare --net: %v %s)", err, out)
	}
	for _, c := range []struct {
		name         string
		defaultRoute bool
	}{{"no-default-route", false}, {"default-route", true}} {
		t.Run(c.name, func(t *testing.T) {
			f := newFirefox(t, "", ffNamespace(c.defaultRoute))
			f.open("data:text/html,<title>rtc</title>")
			var g ffGathered
			f.mustEval(ffGatherJS+`([])`, &g)
			var host, mdns []string
			for _, cand := range g.Candidates {
				if strings.Contains(cand, " typ host") {
					host = append(host, cand)
					if strings.Contains(cand, ".local ") {
						mdns = append(mdns, cand)
					}
				}
			}
			t.Logf("%s: gathering %s, %d candidate(s): %q; console %q", c.name, g.State, len(g.Candidates), g.Candidates, f.consoleErrors())
			if !c.defaultRoute && len(g.Candidates) > 0 {
				t.Errorf("without a default route Firefox gathered %q (measured before: none)", g.Candidates)
			}
			if c.defaultRoute {
				if len(host) == 0 {
					t.Errorf("with a default route: no host candidate (want one for d0, as mDNS .local)")
				}
				if len(mdns) != len(host) {
					t.Errorf("with a default route: host candidates not all mDNS names: %q", host)
				}
			}
			f.close()
		})
	}
}

// Firefox and Chromium as shipped, visitors in two homes behind cone NATs (the field network of
// TestFieldTwoHomes: HTTPS origin with the test CA, wss:// tracker, planktos's STUN server in
// ice_servers), each way round. Firefox runs in its home through firefoxCommand(home.Command) and trusts
// the CA through its profile's NSS database. A keeps the whole site; B opens the home page, its agent
// meets A's, and then, refused every asset by the origin, B's pages render from A (in a second tab: the
// first keeps B's agent).
func TestFirefoxFieldPeer(t *testing.T) {
	needFirefox(t)
	t.Run("firefox-seeds-chromium", func(t *testing.T) { ffFieldPeer(t, true) })
	t.Run("chromium-seeds-firefox", func(t *testing.T) { ffFieldPeer(t, false) })
}

func ffFieldPeer(t *testing.T, firefoxSeeds bool) {
	fn := newField(t)
	st, stunURL := fn.startSTUN()
	_, m, o := fieldSite(t, `[{ urls = ["`+stunURL+`"] }]`)
	inHomeFF := func(name string) *firefox {
		h := fn.net.Home(strings.ToLower(name), fieldnet.Cone)
		return newFirefox(t, "", firefoxUA(name), firefoxCommand(h.Command), firefoxTrustCA(testCA(t).caFile))
	}

	var a browserEngine
	var ffA, ffB *firefox
	if firefoxSeeds {
		ffA = inHomeFF("A")
		a = ffA
	} else {
		a, _ = fn.visitor("A", fieldnet.Cone)
	}
	open := func(e browserEngine) stats {
		e.open("/")
		var ok bool
		e.mustEval(`window.planktos.ready`, &ok)
		return e.stats()
	}
	open(a)
	var sa stats
	a.waitFor("A's first visit to prefetch the site", 60*time.Second, func() bool {
		sa = a.stats()
		return sa.Stored >= m.storable()
	})
	if !sa.Controlled || sa.Agent == nil || sa.Agent.Torrents == 0 {
		t.Fatalf("A's first visit over HTTPS: %+v (want controlled, its agent in the swarm)", sa)
	}
	o.mu.Lock()
	o.prefetch["B"] = "visited" // B loads only what its pages need (see TestTwoBrowsers)
	o.mu.Unlock()
	var b browserEngine
	if firefoxSeeds {
		b, _ = fn.visitor("B", fieldnet.Cone)
	} else {
		ffB = inHomeFF("B")
		b = ffB
	}
	start := time.Now()
	open(b)
	b.waitFor("B's agent to meet A's across two NATs", 60*time.Second, func() bool {
		s := b.stats()
		return s.Agent != nil && s.Agent.Peers > 0
	})
	t.Logf("B met A %v after navigating; STUN %+v; tracker %+v", time.Since(start).Round(time.Millisecond), st.Stats(), o.tracker.Stats())

	o.log()
	o.setRefuse(func(who, p string) bool { return who == "B" && !isPage(p) && !isBootstrap(p) })
	peers0 := b.stats().Agent.Downloaded["peers"]
	var bt browserEngine // the first tab keeps B's agent
	if ffB != nil {
		bt = ffB.tab()
	} else {
		bt = b.(*browser).tab()
	}
	sb, sa := rendersFromA(t, o, a, b, bt, peers0)
	t.Logf("B: %d bytes from peers; A uploaded %d", sb.Agent.Downloaded["peers"], sa.Agent.Uploaded)
	for _, f := range []*firefox{ffA, ffB} {
		if f != nil {
			ffConsole(t, f, "Firefox")
		}
	}
}

// What ffKnownErrors relies on, shown with a minimal service worker: it answers a script and an image,
// which the page adds after its load event, with a ReadableStream that takes 5 s and handles cancel().
// Leaving the page while they stream makes Firefox log "A ServiceWorker intercepted the request and
// encountered an unexpected error" although the service worker did nothing wrong. If this test fails
// because the error no longer comes, ffKnownErrors should stop excusing it.
func TestFirefoxStreamCancelError(t *testing.T) {
	needFirefox(t)
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, `<!doctype html><title>stream</title><body><script>
addEventListener('load', () => {
  const s = document.createElement('script'); s.src = '/slow.js' + location.search; document.head.append(s);
  const i = new Image(); i.src = '/slow.png' + location.search; document.body.append(i);
});</script>`)
	})
	mux.HandleFunc("/sw.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		io.WriteString(w, `self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', e => e.waitUntil(self.clients.claim()));
self.addEventListener('fetch', e => {
  const p = new URL(e.request.url).pathname;
  if (p !== '/slow.js' && p !== '/slow.png') return;
  let timer;
  const body = new ReadableStream({
    start(c) {
      let n = 0;
      timer = setInterval(() => {
        c.enqueue(new TextEncoder().encode('//' + 'x'.repeat(1000) + '\n'));
        if (++n === 100) { clearInterval(timer); c.close(); }
      }, 50);
    },
    cancel() { clearInterval(timer); },
  });
  e.respondWith(new Response(body, { headers: { 'content-type': p.endsWith('.js') ? 'text/javascript' : 'image/png' } }));
});`)
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: mux}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	url := "http://" + l.Addr().String() + "/"

	f := newFirefox(t, "")
	f.open(url)
	var ok bool
	f.mustEval(`navigator.serviceWorker.register('/sw.js').then(() => navigator.serviceWorker.ready).then(() => true)`, &ok)
	f.open(url)
	var controlled bool
	f.mustEval(`!!navigator.serviceWorker.controller`, &controlled)
	if !controlled {
		t.Fatal("the page is not controlled by the minimal service worker")
	}
	f.consoleErrors()
	var seen []string
	n := 0
	f.waitFor("Firefox's error for a cancelled service-worker stream", 60*time.Second, func() bool {
		n++
		f.open(fmt.Sprintf("%s?%d", url, n)) // leaves the previous page while its streams run
		known, other := ffKnownErrors(f.consoleErrors())
		if len(other) > 0 {
			t.Errorf("console: %q", other)
		}
		seen = append(seen, known...)
		return len(seen) > 0
	})
	t.Logf("after %d navigations: %q", n, seen)
}
