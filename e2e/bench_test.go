package e2e

import (
	"fmt"
	"net/http"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// navTiming is what one navigation measured.
type navTiming struct {
	Load   float64 `json:"load"`   // ms from navigation start to the end of the load event
	FCP    float64 `json:"fcp"`    // first contentful paint, ms
	JSPre  float64 `json:"jsPre"`  // bytes of external scripts finished before first paint
	JSAll  float64 `json:"jsAll"`  // bytes of all external scripts by the load event
	Source string  `json:"source"` // how the document came: "sw" or "network"
}

const navTimingJS = `(async () => {
  await new Promise(r => document.readyState === 'complete' ? r() : addEventListener('load', r));
  await new Promise(r => setTimeout(r, 50));
  const nav = performance.getEntriesByType('navigation')[0];
  const fcpE = performance.getEntriesByName('first-contentful-paint')[0];
  const fcp = fcpE ? fcpE.startTime : nav.loadEventEnd;
  const scripts = performance.getEntriesByType('resource').filter(e => e.initiatorType === 'script');
  const size = e => e.decodedBodySize || e.encodedBodySize || 0;
  return { load: nav.loadEventEnd, fcp,
    jsPre: scripts.filter(e => e.responseEnd <= fcp).reduce((n, e) => n + size(e), 0),
    jsAll: scripts.filter(e => e.responseEnd <= nav.loadEventEnd).reduce((n, e) => n + size(e), 0),
    source: nav.workerStart > 0 ? 'sw' : 'network' };
})()`

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// measure navigates to each of pages, rounds times, and returns the timings.
func measure(b *browser, pages []string, rounds int) []navTiming {
	var out []navTiming
	for i := 0; i < rounds; i++ {
		for _, p := range pages {
			b.open(p)
			var n navTiming
			b.mustEval(navTimingJS, &n)
			out = append(out, n)
		}
	}
	return out
}

func col(ts []navTiming, f func(navTiming) float64) float64 {
	var xs []float64
	for _, t := range ts {
		xs = append(xs, f(t))
	}
	return median(xs)
}

// TestBenchmarks measures what BENCHMARKS.md reports (PLANKTOS_BENCH=1 go test ./e2e -run TestBenchmarks -v).
// Two browsers on one origin, measured in turns so both see the same machine load: "plain" gets the
// unpackaged site (no install tag, ordinary caching headers), "planktos" the packaged one. It prints
// a Markdown table; with PLANKTOS_BENCH_OUT=path it also writes it there.
func TestBenchmarks(t *testing.T) {
	if os.Getenv("PLANKTOS_BENCH") == "" {
		t.Skip("set PLANKTOS_BENCH=1 to measure")
	}
	pages := []string{"/about/", "/gallery/diatom/", "/posts/", "/docs/manifest/"}
	const rounds = 5 // × 4 pages = 20 navigations per median

	plainSite := &siteServer{dir: builtSite(t, "/"), base: "/", cacheable: true}
	dir := packedSite(t, "/", "")
	m := readManifest(t, dir)
	srv := serveSite(t, dir, "/")
	srv.override = func(w http.ResponseWriter, r *http.Request) bool {
		if r.Header.Get("X-Bench-Plain") == "" {
			return false
		}
		plainSite.ServeHTTP(w, r)
		return true
	}
	pb := newBrowser(t, "")
	if _, err := chromedp.Call(pb.ctx, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{
		Headers: network.Headers{"X-Bench-Plain": "1"},
	}); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, "")
	coldPlain := measure(pb, []string{"/"}, 1)
	coldSW := measure(b, []string{"/"}, 1)
	b.installed("/", m.storable())
	measure(pb, pages, 1) // warm both up
	measure(b, pages, 1)
	var warmPlain, warmSW []navTiming
	for i := 0; i < rounds; i++ {
		for _, p := range pages {
			warmPlain = append(warmPlain, measure(pb, []string{p}, 1)...)
			warmSW = append(warmSW, measure(b, []string{p}, 1)...)
		}
	}
	srv.stop()
	offline := measure(b, pages, rounds)
	for _, n := range append(warmSW, offline...) {
		if n.Source != "sw" {
			t.Fatalf("a navigation did not go through the service worker: %+v", n)
		}
	}
	for _, n := range warmPlain {
		if n.Source != "network" || n.JSAll != 0 {
			t.Fatalf("a plain navigation saw planktos: %+v", n)
		}
	}

	ms := func(v float64) string { return fmt.Sprintf("%.1f ms", v) }
	load := func(n navTiming) float64 { return n.Load }
	fcp := func(n navTiming) float64 { return n.FCP }
	var sb strings.Builder
	fmt.Fprintf(&sb, "| measure (median of %d navigations unless noted) | plain HTTP | planktos | ratio |\n|---|---|---|---|\n", len(pages)*rounds)
	fmt.Fprintf(&sb, "| JS bytes before first paint, first visit (1 navigation) | %.0f B | %.0f B | |\n", coldPlain[0].JSPre, coldSW[0].JSPre)
	fmt.Fprintf(&sb, "| JS bytes before first paint, warm | %.0f B | %.0f B | |\n", col(warmPlain, func(n navTiming) float64 { return n.JSPre }), col(warmSW, func(n navTiming) float64 { return n.JSPre }))
	fmt.Fprintf(&sb, "| JS bytes by the load event, first visit | %.0f B | %.0f B | |\n", coldPlain[0].JSAll, coldSW[0].JSAll)
	fmt.Fprintf(&sb, "| warm navigation, load event | %s | %s | %.2f× |\n", ms(col(warmPlain, load)), ms(col(warmSW, load)), col(warmSW, load)/col(warmPlain, load))
	fmt.Fprintf(&sb, "| warm navigation, first contentful paint | %s | %s | %.2f× |\n", ms(col(warmPlain, fcp)), ms(col(warmSW, fcp)), col(warmSW, fcp)/col(warmPlain, fcp))
	fmt.Fprintf(&sb, "| offline navigation (origin down), load event | — | %s | %.2f× of plain warm |\n", ms(col(offline, load)), col(offline, load)/col(warmPlain, load))
	t.Logf("\n%s", sb.String())
	if out := os.Getenv("PLANKTOS_BENCH_OUT"); out != "" {
		writeFile(t, out, []byte(sb.String()))
	}
}
