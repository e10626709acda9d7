package e2e

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/planktos/planktos/serve"
	"github.com/planktos/planktos/tracker"
)

// uaTag marks a browser's User-Agent so the origin can tell the browsers apart.
func uaTag(name string) chromedp.ExecAllocatorOption {
	return chromedp.UserAgent("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36 planktos-e2e/" + name)
}

// uaHit is one request the planktos origin answered, with the browser that asked.
type uaHit struct {
	Browser string
	Path    string
	Status  int
	Bytes   int64
}

// p2pOrigin is `planktos serve` in a test: serve.Handler with the Go tracker at /announce and
// LocalTracker on, behind a wrapper that logs every request per browser (User-Agent tag) and can refuse
// a browser's requests or rewrite the manifest it gets.
type p2pOrigin struct {
	h       *serve.Handler
	tracker *tracker.Server
	srv     *http.Server
	mu      sync.Mutex
	hits    []uaHit
	// refuse, when it returns true for a browser and path, answers 403 with no file byte.
	refuse func(browser, path string) bool
	// prefetch, when set for a browser, replaces the manifest's runtime.prefetch for it.
	prefetch map[string]string
	// p2p, when set for a browser, replaces the manifest's runtime.p2p for it.
	p2p map[string]string
}

func servePlanktos(t *testing.T, dir string) *p2pOrigin {
	t.Helper()
	tr := tracker.New(tracker.Config{})
	o := &p2pOrigin{tracker: tr, prefetch: map[string]string{}, p2p: map[string]string{}}
	o.h = &serve.Handler{Dir: dir, Base: "/", Tracker: tr, LocalTracker: true}
	o.srv = serveOrigin(t, o)
	t.Cleanup(func() { o.srv.Close(); tr.Close() })
	return o
}

func browserOf(r *http.Request) string {
	ua := r.Header.Get("User-Agent")
	if i := strings.LastIndex(ua, "planktos-e2e/"); i >= 0 {
		return ua[i+len("planktos-e2e/"):]
	}
	return "?"
}

func (o *p2pOrigin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/announce" {
		o.h.ServeHTTP(w, r) // unwrapped: a WebSocket upgrade needs the http.Hijacker
		return
	}
	who := browserOf(r)
	cw := &countingWriter{ResponseWriter: w}
	defer func() {
		o.mu.Lock()
		o.hits = append(o.hits, uaHit{Browser: who, Path: r.URL.Path, Status: cw.status, Bytes: cw.n})
		o.mu.Unlock()
	}()
	o.mu.Lock()
	refuse, pf, p2p := o.refuse, o.prefetch[who], o.p2p[who]
	o.mu.Unlock()
	if refuse != nil && refuse(who, r.URL.Path) {
		cw.Header().Set("Cache-Control", "no-store")
		cw.WriteHeader(http.StatusForbidden) // no body: not one byte
		return
	}
	if (pf != "" || p2p != "") && r.URL.Path == "/planktos/manifest.json" {
		r.Header.Del("If-None-Match")
		rec := httptest.NewRecorder()
		o.h.ServeHTTP(rec, r)
		var m map[string]any
		if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &m) != nil {
			http.Error(cw, "manifest", 500)
			return
		}
		rt, _ := m["runtime"].(map[string]any)
		if rt == nil {
			rt = map[string]any{}
		}
		if pf != "" {
			rt["prefetch"] = pf
		}
		if p2p != "" {
			rt["p2p"] = p2p
		}
		m["runtime"] = rt
		b, _ := json.Marshal(m)
		cw.Header().Set("Content-Type", "application/json")
		cw.Header().Set("Cache-Control", "no-cache")
		cw.WriteHeader(200)
		cw.Write(b)
		return
	}
	o.h.ServeHTTP(cw, r)
}

// log returns the requests answered so far and forgets them.
func (o *p2pOrigin) log() []uaHit {
	o.mu.Lock()
	defer o.mu.Unlock()
	h := o.hits
	o.hits = nil
	return h
}

func (o *p2pOrigin) setRefuse(f func(browser, path string) bool) {
	o.mu.Lock()
	o.refuse = f
	o.mu.Unlock()
}

// isBootstrap: planktos's own runtime files and the tracker, which every page needs to start its agent.
func isBootstrap(p string) bool {
	return p == "/planktos.sw.js" || p == "/planktos/install.js" || p == "/planktos/peer.js" ||
		p == "/planktos/manifest.json" || p == "/planktos/root.torrent" ||
		strings.HasPrefix(p, "/planktos/torrents/") || p == "/announce"
}

// isPage: an HTML page of the site (pretty URL or .html), never a planktos file.
func isPage(p string) bool {
	return !strings.HasPrefix(p, "/planktos/") && (strings.HasSuffix(p, "/") || strings.HasSuffix(p, ".html"))
}

// tab opens a second tab in b's browser (same profile, same service worker and agent).
func (b *browser) tab() *browser {
	b.t.Helper()
	nb := &browser{t: b.t, profile: b.profile, pending: map[network.RequestID]string{}}
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithListener(nb.listen))
	err := chromedp.Do(ctx)
	if err == nil {
		_, err = chromedp.Call(ctx, network.Enable, network.EnableParams{})
	}
	if err != nil {
		cancel()
		b.t.Fatalf("new tab: %v", err)
	}
	nb.ctx = ctx
	b.t.Cleanup(cancel)
	return nb
}
