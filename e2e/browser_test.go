package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	cdpruntime "github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/planktos/planktos/internal/wait"
)

const chromiumPath = "/usr/bin/chromium"

// needChromium skips the test when Chromium is missing, except in CI (CI set), where that fails.
func needChromium(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI is set but %s is missing (apt-get install -y chromium): %v", chromiumPath, err)
		}
		t.Skipf("%s not installed (apt-get install -y chromium); e2e test skipped", chromiumPath)
	}
}

// browser is one Chromium with its own fresh profile, and what its page reported.
type browser struct {
	t       *testing.T
	ctx     context.Context
	mu      sync.Mutex
	console []string // console errors/warnings, exceptions and error log entries
	resp    []network.Response
	pending map[network.RequestID]string // requests without an answer yet, for diagnostics
	profile string
	stop    func()
}

// newBrowser starts Chromium as a visitor's browser is, only headless and quiet: no flag changes what
// the page or WebRTC may do. So, as for visitors, ICE offers no loopback address and hides the host
// address behind an mDNS .local name, for the default route's interface only (scripts/netns.sh gives
// the flat namespace a default route via d0; a field home's is its router); peers that cannot resolve
// that name need a STUN server's server-reflexive candidate. Options add to or override the flags:
// uaTag, inHome (start it in a field network's home), hostCandidates (only where a test needs real
// host addresses). profile "" means a fresh --user-data-dir.
func newBrowser(t *testing.T, profile string, extra ...chromedp.ExecAllocatorOption) *browser {
	t.Helper()
	needChromium(t)
	if profile == "" {
		profile = t.TempDir()
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
		chromedp.UserDataDir(profile),
	}
	opts = append(opts, extra...)
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	b := &browser{t: t, profile: profile, pending: map[network.RequestID]string{}}
	ctx, cancel := chromedp.NewContext(actx, chromedp.WithListener(b.listen))
	b.ctx = ctx
	err := chromedp.Do(ctx)
	if err == nil {
		_, err = chromedp.Call(ctx, network.Enable, network.EnableParams{})
	}
	if err == nil {
		_, err = chromedp.Call(ctx, log.Enable, cdp.Empty{})
	}
	if err == nil {
		_, err = chromedp.Call(ctx, cdpruntime.Enable, cdp.Empty{})
	}
	if err != nil {
		cancel()
		acancel()
		t.Fatalf("starting chromium: %v", err)
	}
	b.stop = func() { cancel(); acancel() }
	t.Cleanup(b.stop)
	return b
}

// hostCandidates gives the browser what no visitor's has: media permission granted without a prompt
// (so ICE exposes every real host address instead of an mDNS name) and loopback candidates. For a test
// that needs real host addresses only; say why where it is used. Its one use, TestBrowserCandidates,
// shows what these flags expose compared with the browser as shipped: it cannot do that without them.
func hostCandidates() chromedp.ExecAllocatorOption {
	return func(a *chromedp.ExecAllocator) {
		// no visitor has these; TestBrowserCandidates needs them because what they expose is what it shows
		chromedp.Flag("use-fake-ui-for-media-stream", true)(a)      // media permission without a prompt: raw host addresses
		chromedp.Flag("allow-loopback-in-peer-connection", true)(a) // loopback candidates
	}
}

// close quits Chromium gracefully (what a visitor's quitting does: storage is written out) and waits for
// it, leaving its profile for another newBrowser. If it has not exited after 20 s, its process is
// killed (by PID: chromedp started it with exec.CommandContext).
func (b *browser) close() {
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Cancel(ctx); err != nil {
		b.t.Logf("closing chromium: %v", err)
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) { // (after a quit, b.ctx is canceled anyway)
		b.t.Logf("chromium did not quit within 20 s: killed")
	}
	b.stop()
}

func (b *browser) listen(ev any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch e := ev.(type) {
	case *cdpruntime.EventConsoleAPICalled:
		if e.Type == cdpruntime.ConsoleAPICalledTypeError || e.Type == cdpruntime.ConsoleAPICalledTypeWarning {
			var parts []string
			for _, a := range e.Args {
				parts = append(parts, strings.Trim(string(a.Value), `"`)+a.Description)
			}
			b.console = append(b.console, fmt.Sprintf("console.%s: %s", e.Type, strings.Join(parts, " ")))
		}
	case *cdpruntime.EventExceptionThrown:
		d := e.ExceptionDetails
		msg := d.Text
		if d.Exception != nil {
			msg += " " + d.Exception.Description
		}
		b.console = append(b.console, "exception: "+msg)
	case *log.EventEntryAdded:
		if e.Entry.Level == log.EntryLevelError || e.Entry.Level == log.EntryLevelWarning {
			b.console = append(b.console, fmt.Sprintf("log.%s: %s %s", e.Entry.Level, e.Entry.Text, e.Entry.URL))
		}
	case *network.EventRequestWillBeSent:
		b.pending[e.RequestID] = e.Type.String() + " " + e.Request.URL
	case *network.EventLoadingFinished:
		delete(b.pending, e.RequestID)
	case *network.EventLoadingFailed:
		if e.Type == network.ResourceTypeDocument { // why a navigation failed: canceled, blocked, its error
			b.console = append(b.console, fmt.Sprintf("document failed: %s %s canceled=%v blocked=%s cors=%v",
				b.pending[e.RequestID], e.ErrorText, e.Canceled, e.BlockedReason, e.CorsErrorStatus))
		}
		delete(b.pending, e.RequestID)
	case *network.EventResponseReceived:
		if e.Response != nil {
			b.resp = append(b.resp, *e.Response)
		}
	}
}

// openRequests lists the requests the page made that have not finished (type and URL).
func (b *browser) openRequests() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, u := range b.pending {
		out = append(out, u)
	}
	sort.Strings(out)
	return out
}

// consoleErrors returns what the page logged as errors or warnings so far, and forgets it.
func (b *browser) consoleErrors() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	c := b.console
	b.console = nil
	return c
}

// responses returns the responses seen so far (with FromServiceWorker), and forgets them.
func (b *browser) responses() []network.Response {
	b.mu.Lock()
	defer b.mu.Unlock()
	r := b.resp
	b.resp = nil
	return r
}

// run runs chromedp actions with a deadline.
func (b *browser) run(d time.Duration, actions ...chromedp.Action[chromedp.Void]) error {
	ctx, cancel := context.WithTimeout(b.ctx, d)
	defer cancel()
	return chromedp.Do(ctx, actions...)
}

// open navigates to url (absolute, or a path on the test origin) and waits for the load event.
func (b *browser) open(url string) {
	b.t.Helper()
	if strings.HasPrefix(url, "/") {
		url = originOf(b.t) + url
	}
	if err := b.run(30*time.Second, chromedp.Navigate(url)); err != nil {
		var where any
		b.eval(`navigator.serviceWorker.getRegistration().then(r => ({page: location.href, controller: navigator.serviceWorker.controller && navigator.serviceWorker.controller.state,
		  active: r && r.active && r.active.state, waiting: !!(r && r.waiting), installing: !!(r && r.installing),
		  nav: performance.getEntriesByType('navigation').map(e => e.type + ' ' + e.name + ' ' + e.responseStatus), state: document.readyState, age: performance.now()}))`, &where)
		b.t.Fatalf("open %s: %v; requests still open: %q; console: %q; service worker: %v", url, err, b.openRequests(), b.consoleErrors(), where)
	}
}

// eval evaluates a JavaScript expression in the page, awaiting a promise, and decodes the result
// (JSON) into out.
func (b *browser) eval(expr string, out any) error {
	ctx, cancel := context.WithTimeout(b.ctx, 60*time.Second)
	defer cancel()
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[[]byte](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		return err
	}
	return json.Unmarshal(raw, out)
}

// mustEval is eval that fails the test on error.
func (b *browser) mustEval(expr string, out any) {
	b.t.Helper()
	if err := b.eval(expr, out); err != nil {
		b.t.Fatalf("eval %.80s…: %v", expr, err)
	}
}

// stats is what window.planktos.stats() answers.
type stats struct {
	Controlled bool   `json:"controlled"`
	Revision   string `json:"revision"`
	Stored     int    `json:"stored"`
	Served     map[string]struct {
		Bytes    int64 `json:"bytes"`
		Requests int   `json:"requests"`
	} `json:"served"`
	// Waits: requests that waited for peers because HTTP failed (how many, ms in all, how many peers served)
	Waits struct {
		Requests int   `json:"requests"`
		MS       int64 `json:"ms"`
		Served   int   `json:"served"`
	} `json:"waits"`
	Agent *struct {
		Leader bool   `json:"leader"`
		P2P    string `json:"p2p"` // on, download-only, off or unsupported

		Torrents    int  `json:"torrents"`
		Peers       int  `json:"peers"`
		Named       int  `json:"named"`       // other peers the trackers named
		Unreachable bool `json:"unreachable"` // peers named, none connected
		// ms from the agent's page's navigation start to its first peer connection, first peer byte
		FirstPeer     *int64           `json:"firstPeer"`
		FirstPeerByte *int64           `json:"firstPeerByte"`
		Downloaded    map[string]int64 `json:"downloaded"`
		Uploaded      int64            `json:"uploaded"`
	} `json:"agent"`
}

func (b *browser) stats() stats {
	b.t.Helper()
	var s stats
	b.mustEval(`window.planktos ? window.planktos.stats() : {}`, &s)
	return s
}

// poll is how often the e2e tests check a condition: each check is a round trip to a browser.
const poll = wait.Poll(100 * time.Millisecond)

// waitFor polls cond until it is true, failing the test when d passes first.
func (b *browser) waitFor(what string, d time.Duration, cond func() bool) {
	b.t.Helper()
	poll.For(b.t, what, d, cond)
}

// installed opens the site's home page and waits until the service worker controls it and the page
// agent has prefetched the whole site (want distinct files in the store).
func (b *browser) installed(base string, want int) stats {
	b.t.Helper()
	b.open(base)
	var ok bool
	b.mustEval(`window.planktos.ready`, &ok)
	if !ok {
		b.t.Fatal("planktos.ready resolved false on the first visit")
	}
	var s stats
	b.waitFor(fmt.Sprintf("%d files in the store, and the agent reporting", want), 60*time.Second, func() bool {
		s = b.stats()
		return s.Stored >= want && s.Agent != nil
	})
	return s
}
