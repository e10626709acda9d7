// Package verify checks a planktos package — a packaged publish folder, or the site it was deployed to —
// against what visitors' browsers rely on, and names, for every broken promise, what the owner should fix.
//
// Run performs the same list of checks on every target (the Check* names), in five steps: the package
// (manifest ↔ signature ↔ store ↔ torrents), the pages (each loads planktos/install.js), the hosting
// (service worker, HTTPS, Range requests, cache headers), the trackers (a WebSocket handshake with each)
// and the ICE servers (a STUN Binding or TURN Allocate request to each, from a folder as from a URL). Every Check
// passes, fails, warns (it works, but not as well as it could) or is skipped (it does not apply: a folder
// has no HTTP headers). A Check that fails or warns carries a Fix: one sentence the owner can act on.
//
// Run returns an error only when it cannot start — the target is neither a folder nor an http(s) URL —
// or when ctx ends. Whatever it finds wrong is a failed Check, so that one broken promise never hides
// the others; checks that need the manifest are skipped when it cannot be read.
//
// Run only reads. On a folder it reads every byte the manifest names and recomputes every SHA-256 and
// piece hash. On a URL it never downloads the whole store: it HEADs store files (up to
// Options.MaxProbes), downloads and hashes a sample within Options.SampleBytes, fetches up to
// Options.MaxPages pages, and its messages say what was sampled.
package verify

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/planktos/planktos/internal/units"
	"github.com/planktos/planktos/manifest"
)

// The checks, in the order Run performs them.
const (
	CheckManifest      = "manifest"       // planktos/manifest.json reads, parses, and its base is where the site is served
	CheckSignature     = "signature"      // a signed package's manifest.sig verifies, and planktos.sw.js pins its key
	CheckStore         = "store"          // every manifest file's store copy exists with its size and SHA-256
	CheckTorrents      = "torrents"       // every torrent parses, has its infohash, carries its entries' store files, hashes to the store
	CheckRootTorrent   = "root torrent"   // planktos/root.torrent is the one torrent, or lists them all
	CheckPages         = "pages"          // every HTML page loads planktos/install.js, which exists
	CheckServiceWorker = "service worker" // planktos.sw.js is served at the base, as JavaScript, without a redirect
	CheckHTTPS         = "https"          // the site is served over HTTPS, or from localhost
	CheckRange         = "range requests" // the store answers Range requests with 206 and the right Content-Range
	CheckCache         = "cache headers"  // store and torrents cached long; manifest, service worker, pages revalidated
	CheckTrackers      = "trackers"       // each ws/wss tracker of the manifest accepts a WebSocket handshake
	CheckICE           = "ice servers"    // each STUN/TURN server of runtime.iceServers answers; trackers without one fail
)

// Steps group the checks for display.
const (
	StepPackage  = "Package"
	StepPages    = "Pages"
	StepHosting  = "Hosting"
	StepTrackers = "Trackers"
	StepICE      = "ICE servers"
)

// Status is a Check's outcome.
type Status string

const (
	Pass Status = "pass"
	Warn Status = "warn" // works, but not as well as it could; does not fail the run
	Fail Status = "fail"
	Skip Status = "skip" // does not apply to this target
)

// Check is the outcome of one check.
type Check struct {
	Name    string `json:"name"`
	Step    string `json:"step"`
	OK      bool   `json:"ok"` // false only when Status is Fail
	Status  Status `json:"status"`
	Message string `json:"message"`
	Fix     string `json:"fix"` // what to do, when Status is Fail or Warn; else empty
}

// Report is the outcome of a Run.
type Report struct {
	Target   string  `json:"target"`             // the folder or URL checked
	Revision string  `json:"revision,omitempty"` // the package's revision, when its manifest was read
	Checks   []Check `json:"checks"`
}

// OK reports whether no check failed.
func (r *Report) OK() bool { return len(r.Failed()) == 0 }

// Failed returns the failed checks.
func (r *Report) Failed() []Check {
	var out []Check
	for _, c := range r.Checks {
		if c.Status == Fail {
			out = append(out, c)
		}
	}
	return out
}

// Count returns how many checks have status s.
func (r *Report) Count(s Status) int {
	n := 0
	for _, c := range r.Checks {
		if c.Status == s {
			n++
		}
	}
	return n
}

// Events receives the checks as they complete; the CLI prints them. Run calls it from one goroutine.
type Events interface {
	Step(title string)
	Checked(c Check)
}

// Options tune a Run. The zero value is ready to use.
type Options struct {
	// Client makes every HTTP request and WebSocket handshake (nil: a client with a two-minute timeout).
	// Tests route it to a local server.
	Client *http.Client
	// TrackerTimeout bounds each tracker handshake (default 5 s).
	TrackerTimeout time.Duration
	// SampleBytes bounds what a URL check downloads, once to hash store files and once to check the pieces
	// of whole torrents (default 32 MiB each).
	SampleBytes int64
	// MaxProbes bounds the store files a URL check HEADs (default 2000).
	MaxProbes int
	// MaxPages bounds the pages a URL check fetches (default 100).
	MaxPages int
	// ICETimeout bounds each STUN/TURN transaction, retransmissions over UDP included (default 2 s).
	ICETimeout time.Duration
	// ICERoots are the certificate authorities stuns: and turns: servers are checked against (nil: the
	// system's).
	ICERoots *x509.CertPool
	// Events, if set, receives the checks as they complete.
	Events Events
}

func (o *Options) defaults() {
	if o.Client == nil {
		o.Client = &http.Client{Timeout: 2 * time.Minute}
	}
	if o.TrackerTimeout <= 0 {
		o.TrackerTimeout = 5 * time.Second
	}
	if o.SampleBytes <= 0 {
		o.SampleBytes = 32 << 20
	}
	if o.MaxProbes <= 0 {
		o.MaxProbes = 2000
	}
	if o.MaxPages <= 0 {
		o.MaxPages = 100
	}
	if o.ICETimeout <= 0 {
		o.ICETimeout = 2 * time.Second
	}
}

// ErrTarget is wrapped by the error Run returns for a target it cannot check.
var ErrTarget = errors.New("not a packaged folder or an http(s) URL")

// Paths below the site base.
const (
	manifestPath = manifest.Path
	rootTorrent  = manifest.RootTorrentPath
	swPath       = manifest.SWPath
	installPath  = manifest.InstallPath
	storePrefix  = manifest.FilesPrefix
)

// Fixes shared by several checks.
const (
	fixRepack = "run `planktos hugo` (or `planktos pack`) again, then deploy the whole publish folder"
	fixDeploy = "deploy the whole publish folder, planktos/ and planktos.sw.js included, as `planktos hugo` left it"
)

// Run checks the package at target: a folder (the publish root, holding planktos.sw.js) or the http(s)
// URL the site is served at.
func Run(ctx context.Context, target string, opts Options) (*Report, error) {
	opts.defaults()
	r := &run{opts: opts, rep: &Report{Target: target}, torrents: map[string][]byte{}}
	switch {
	case strings.HasPrefix(target, "http://") || strings.HasPrefix(target, "https://"):
		u, err := url.Parse(target)
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("%s: %w", target, ErrTarget)
		}
		if !strings.HasSuffix(u.Path, "/") {
			u.Path += "/"
		}
		u.RawPath, u.RawQuery, u.Fragment = "", "", ""
		r.web = newHTTPSource(u, opts.Client)
		r.src = r.web
		r.rep.Target = u.String()
	case strings.Contains(target, "://"):
		return nil, fmt.Errorf("%s: %w", target, ErrTarget)
	default:
		fi, err := os.Stat(target)
		if err != nil || !fi.IsDir() {
			return nil, fmt.Errorf("%s: %w (give the publish folder, e.g. public, or the site's URL)", target, ErrTarget)
		}
		r.src = dirSource(target)
	}
	steps := []struct {
		title  string
		checks []func(context.Context) Check
	}{
		{StepPackage, []func(context.Context) Check{r.checkManifest, r.checkSignature, r.checkStore, r.checkTorrents, r.checkRoot}},
		{StepPages, []func(context.Context) Check{r.checkPages}},
		{StepHosting, []func(context.Context) Check{r.checkServiceWorker, r.checkHTTPS, r.checkRange, r.checkCache}},
		{StepTrackers, []func(context.Context) Check{r.checkTrackers}},
		{StepICE, []func(context.Context) Check{r.checkICE}},
	}
	for _, s := range steps {
		if opts.Events != nil {
			opts.Events.Step(s.title)
		}
		for _, f := range s.checks {
			c := f(ctx)
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			c.Step, c.OK = s.title, c.Status != Fail
			r.rep.Checks = append(r.rep.Checks, c)
			if opts.Events != nil {
				opts.Events.Checked(c)
			}
		}
	}
	return r.rep, nil
}

// run is the state of one Run: what the package check read, for the checks after it.
type run struct {
	opts     Options
	src      source
	web      *httpSource // nil for a folder
	rep      *Report
	m        *manifest.Manifest
	raw      []byte            // the manifest's exact bytes
	torrents map[string][]byte // .torrent bytes by infohash, as read by checkTorrents
}

func pass(name, format string, args ...any) Check {
	return Check{Name: name, Status: Pass, Message: fmt.Sprintf(format, args...)}
}

func fail(name, fix, format string, args ...any) Check {
	return Check{Name: name, Status: Fail, Message: fmt.Sprintf(format, args...), Fix: fix}
}

func warn(name, fix, format string, args ...any) Check {
	return Check{Name: name, Status: Warn, Message: fmt.Sprintf(format, args...), Fix: fix}
}

func skip(name, format string, args ...any) Check {
	return Check{Name: name, Status: Skip, Message: fmt.Sprintf(format, args...)}
}

// noManifest is the check skipped because the manifest could not be read.
func noManifest(name string) Check { return skip(name, "needs a readable manifest") }

// source reads a package's files by their path below the site base ("planktos/manifest.json").
type source interface {
	open(ctx context.Context, rel string) (io.ReadCloser, error)
	where(rel string) string // rel as the owner finds it: a file path or a URL
}

// readAll reads rel whole, refusing more than limit bytes.
func readAll(ctx context.Context, s source, rel string, limit int64) ([]byte, error) {
	f, err := s.open(ctx, rel)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", s.where(rel), err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s is larger than %s", s.where(rel), units.Bytes(limit))
	}
	return b, nil
}

// dirSource reads a packaged folder.
type dirSource string

func (d dirSource) path(rel string) (string, error) {
	local, err := filepath.Localize(strings.TrimSuffix(rel, "/"))
	if err != nil {
		return "", fmt.Errorf("%q is not a path inside the package", rel)
	}
	return filepath.Join(string(d), local), nil
}

func (d dirSource) open(_ context.Context, rel string) (io.ReadCloser, error) {
	p, err := d.path(rel)
	if err != nil {
		return nil, err
	}
	return os.Open(p)
}

func (d dirSource) where(rel string) string {
	if p, err := d.path(rel); err == nil {
		return p
	}
	return rel
}

// httpSource reads a deployed site.
type httpSource struct {
	base   *url.URL
	client *http.Client // follows redirects
	direct *http.Client // returns redirects
}

func newHTTPSource(base *url.URL, c *http.Client) *httpSource {
	direct := *c
	direct.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &httpSource{base: base, client: c, direct: &direct}
}

// url returns the URL of rel, escaped ("files/a b.txt" → ".../files/a%20b.txt").
func (h *httpSource) url(rel string) string {
	u := *h.base
	u.Path += rel
	return u.String()
}

func (h *httpSource) where(rel string) string { return h.url(rel) }

// baseOrNil returns the site's base URL; nil for a nil source (a folder).
func (h *httpSource) baseOrNil() *url.URL {
	if h == nil {
		return nil
	}
	return h.base
}

// do sends one request for rel; follow says whether redirects are followed.
func (h *httpSource) do(ctx context.Context, method, rel string, hdr http.Header, follow bool) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, h.url(rel), nil)
	if err != nil {
		return nil, err
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	c := h.direct
	if follow {
		c = h.client
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, req.URL, err)
	}
	return resp, nil
}

// open GETs rel and fails unless the answer is 200.
func (h *httpSource) open(ctx context.Context, rel string) (io.ReadCloser, error) {
	resp, err := h.do(ctx, http.MethodGet, rel, nil, true)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, &statusError{url: resp.Request.URL.String(), status: resp.Status, code: resp.StatusCode}
	}
	return resp.Body, nil
}

// statusError is a GET answered with another status than 200. A 404 or 410 is fs.ErrNotExist.
type statusError struct {
	url, status string
	code        int
}

func (e *statusError) Error() string { return fmt.Sprintf("GET %s: %s", e.url, e.status) }

func (e *statusError) Is(target error) bool {
	return target == fs.ErrNotExist && (e.code == http.StatusNotFound || e.code == http.StatusGone)
}

// problems collects what is wrong, from several goroutines, for one message.
type problems struct {
	mu   sync.Mutex
	list []string
}

// add records a problem, once.
func (p *problems) add(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	p.mu.Lock()
	defer p.mu.Unlock()
	if !slices.Contains(p.list, msg) {
		p.list = append(p.list, msg)
	}
}

func (p *problems) empty() bool { return len(p.list) == 0 }

// String lists the first three problems, sorted, and how many more there are.
func (p *problems) String() string {
	sort.Strings(p.list)
	const shown = 3
	if len(p.list) <= shown {
		return strings.Join(p.list, "; ")
	}
	return fmt.Sprintf("%s; and %d more", strings.Join(p.list[:shown], "; "), len(p.list)-shown)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// all says "all" when n is total, else n.
func all(n, total int) string {
	if n == total {
		return "all"
	}
	return fmt.Sprint(n)
}

// within notes that a sample of n out of total was limited by Options.SampleBytes.
func within(n, total int) string {
	if n == total {
		return ""
	}
	return ", the sample size"
}
