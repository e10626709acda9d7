package e2e

import (
	"context"
	"encoding/json"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/serviceworker"
	"github.com/chromedp/chromedp"
	"github.com/planktos/planktos/internal/testsite"
)

// builtLighthouse builds e2e/testdata/lighthouse (a docs site whose theme registers its own service
// worker, see its hugo.toml) with the pinned Hugo for base at t's origin, and returns its publish folder.
func builtLighthouse(t *testing.T, base string) string {
	t.Helper()
	needChromium(t)
	if env.err != nil {
		t.Fatalf("e2e environment: %v", env.err)
	}
	dst := filepath.Join(t.TempDir(), "site")
	src := filepath.Join(env.root, "e2e", "testdata", "lighthouse")
	cmd := testsite.Hugo("--source", src, "--destination", dst, "--noBuildLock", "--quiet", "--baseURL", originOf(t)+base)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("hugo: %v\n%s", err, out)
	}
	return dst
}

// siteState is what the lighthouse pages report about the scope's service workers.
type siteState struct {
	pageCheck
	Registrations []string `json:"registrations"` // each registration's scope and active script
	Controller    string   `json:"controller"`
	ThemeReg      string   `json:"themeReg"` // the active script of what the theme's register() resolved to
	Hits          string   `json:"hits"`     // the theme's search box, filled from index.json at run time
}

const siteStateJS = `(async () => {
  const c = await ` + checkPageJS + `;
  await new Promise(r => document.readyState === 'complete' ? r() : addEventListener('load', r));
  const until = Date.now() + 5000;
  const hits = document.getElementById('hits');
  while ((!window.lighthouseSW || (hits && hits.textContent === '')) && Date.now() < until) await new Promise(r => setTimeout(r, 20));
  const regs = await navigator.serviceWorker.getRegistrations();
  const w = r => r && (r.active || r.waiting || r.installing);
  return Object.assign(c, {
    registrations: regs.map(r => r.scope + ' ' + (w(r) ? w(r).scriptURL : '-')),
    controller: navigator.serviceWorker.controller ? navigator.serviceWorker.controller.scriptURL : '',
    themeReg: window.lighthouseSW && w(window.lighthouseSW) ? w(window.lighthouseSW).scriptURL : '',
    hits: hits ? hits.textContent : '',
  });
})()`

// A site whose theme registers its own service worker (the lighthouse testdata theme: precache of every
// page, cache-first fetch handler, an activate that deletes every other cache, a push handler). planktos
// packs it with a warning naming the worker; in Chromium the scope keeps one registration, planktos's,
// across 20 page loads, every page is controlled from the first visit, the theme's register() resolves to
// planktos's registration, the theme's fetch handler still answers its own route, its push handler runs
// on a push delivered by the browser, its precache never ran; then every page renders with the origin down.
func TestSiteWorker(t *testing.T) {
	const base = "/docs/"
	dir := builtLighthouse(t, base)
	cfg := filepath.Join(t.TempDir(), "planktos.toml")
	if err := os.WriteFile(cfg, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(env.planktos, "pack", "--json", "--config", cfg, "--base-url", originOf(t)+base, dir).Output()
	if err != nil {
		t.Fatalf("planktos pack: %v\n%s", err, out)
	}
	var packed struct {
		Packages []struct {
			SiteWorkers []struct{ Script, URL string } `json:"siteWorkers"`
		} `json:"packages"`
		Warnings []string `json:"warnings"`
	}
	if err := json.Unmarshal(out, &packed); err != nil || len(packed.Packages) != 1 {
		t.Fatalf("pack --json: %v\n%s", err, out)
	}
	if w := packed.Packages[0].SiteWorkers; len(w) != 1 || w[0].Script != "sw.js" || w[0].URL != "/docs/sw.js" {
		t.Errorf("pack --json siteWorkers = %+v, want the theme's sw.js", w)
	}
	if !strings.Contains(strings.Join(packed.Warnings, "\n"), "its own service worker /docs/sw.js (in js/main.min.") {
		t.Errorf("no warning names the theme's worker: %q", packed.Warnings)
	}
	m := readManifest(t, dir)
	srv := serveSite(t, dir, base)
	b := newBrowser(t, "")
	pushes := watchRegistrations(t, b)

	pages := m.pages(t, dir)
	var loads int
	check := func(p string, first bool) {
		b.open(base + p)
		loads++
		var s siteState
		b.mustEval(siteStateJS, &s)
		want := originOf(t) + base + "planktos.sw.js"
		if len(s.Registrations) != 1 || !strings.HasSuffix(s.Registrations[0], " "+want) {
			t.Errorf("load %d (%s): registrations %q, want only planktos's", loads, p, s.Registrations)
		}
		if !first && s.Controller != want {
			t.Errorf("load %d (%s): controlled by %q, want %s", loads, p, s.Controller, want)
		}
		if s.ThemeReg != want {
			t.Errorf("load %d (%s): the theme's register() resolved to %q, want planktos's registration", loads, p, s.ThemeReg)
		}
		if s.Title == "" || len(s.BrokenImgs) > 0 || s.Images == 0 || !s.Styled {
			t.Errorf("load %d (%s) did not render: %+v", loads, p, s.pageCheck)
		}
		if strings.HasSuffix(p, "/en/index.html") || strings.HasSuffix(p, "/fr/index.html") {
			if !strings.HasSuffix(s.Hits, "pages indexed") {
				t.Errorf("%s: the search index did not load: %q", p, s.Hits)
			}
		}
	}
	b.open(base + "en/")
	var ok bool
	b.mustEval(`window.planktos.ready`, &ok)
	if !ok {
		t.Fatal("planktos.ready resolved false on the first visit")
	}
	check("en/", false) // a reload: controlled by now
	for len(pageLoads(pages)) > 0 && loads < 20 {
		for _, p := range pageLoads(pages) {
			if loads == 20 {
				break
			}
			check(p, false)
		}
	}

	var hello string
	b.mustEval(`fetch('`+base+`theme/hello').then(r => r.text())`, &hello)
	if hello != "hello from the lighthouse worker" {
		t.Errorf("the theme's own route answered %q", hello)
	}
	var precached bool
	b.mustEval(`caches.has('lighthouse-v1')`, &precached)
	if precached {
		t.Error("the theme's install handler ran: its precache exists")
	}
	b.mustEval(`navigator.serviceWorker.addEventListener('message', e => {
	  if (e.data && e.data.lighthouse === 'push') (window.__pushes = window.__pushes || []).push(e.data.text);
	}), true`, &ok)
	pushes.deliver(t, b, originOf(t)+base, "tide tables updated")
	b.waitFor("the theme worker's push handler to message the page", 10*time.Second, func() bool {
		var got []string
		b.mustEval(`window.__pushes || []`, &got)
		return len(got) == 1 && got[0] == "tide tables updated"
	})
	if c := pageErrors(b.consoleErrors()); len(c) > 0 {
		t.Errorf("console: %q", c)
	}

	b.waitFor("the whole site in the store", 60*time.Second, func() bool { return b.stats().Stored >= m.storable() })
	srv.stop()
	for _, p := range pages {
		b.open(base + p)
		var c pageCheck
		b.mustEval(checkPageJS, &c)
		if c.Title == "" || !c.Controlled || len(c.BrokenImgs) > 0 {
			t.Errorf("offline %s: %+v", p, c)
		}
	}
	if c := pageErrors(b.consoleErrors()); len(c) > 0 {
		t.Errorf("console offline: %q", c)
	}
	t.Logf("%d loads with one registration; %d pages offline", loads, len(pages))
}

// pageLoads is the pages a visitor would open (the HTML pages but the 404 page and the root redirect).
func pageLoads(pages []string) []string {
	var out []string
	for _, p := range pages {
		if p != "404.html" && p != "index.html" && !strings.HasSuffix(p, ".xml") {
			out = append(out, p)
		}
	}
	return out
}

// swRegistrations follows the browser's service worker registrations over CDP, to deliver push messages
// to them as the browser's push service would.
type swRegistrations struct {
	mu  sync.Mutex
	ids map[string]serviceworker.RegistrationID // scope URL → id
}

func watchRegistrations(t *testing.T, b *browser) *swRegistrations {
	t.Helper()
	r := &swRegistrations{ids: map[string]serviceworker.RegistrationID{}}
	listen := chromedp.Listen(b.ctx, func(ev any) {
		if e, ok := ev.(*serviceworker.EventWorkerRegistrationUpdated); ok {
			r.mu.Lock()
			for _, reg := range e.Registrations {
				if !reg.IsDeleted {
					r.ids[reg.ScopeURL] = reg.RegistrationID
				}
			}
			r.mu.Unlock()
		}
	})
	if listen != nil {
		t.Fatal(listen)
	}
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	if _, err := chromedp.Call(ctx, serviceworker.Enable, cdp.Empty{}); err != nil {
		t.Fatalf("ServiceWorker.enable: %v", err)
	}
	return r
}

// deliver sends a push message with data to the registration of scope, as the browser's push service
// would (DevTools' "Push" button).
func (r *swRegistrations) deliver(t *testing.T, b *browser, scope, data string) {
	t.Helper()
	var id serviceworker.RegistrationID
	b.waitFor("the registration of "+scope+" over CDP", 10*time.Second, func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		id = r.ids[scope]
		return id != ""
	})
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	u, _ := url.Parse(scope)
	params := serviceworker.DeliverPushMessageParams{Origin: u.Scheme + "://" + u.Host, RegistrationID: id, Data: data}
	if _, err := chromedp.Call(ctx, serviceworker.DeliverPushMessage, params); err != nil {
		t.Fatalf("ServiceWorker.deliverPushMessage: %v", err)
	}
}
