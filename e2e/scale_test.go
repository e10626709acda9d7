package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/serviceworker"
	"github.com/chromedp/chromedp"
	"github.com/planktos/planktos/bench/sitegen"
)

// coldStartJS reports, for the current page, how its document came through a service worker that had
// to start for it: ms from the worker's start to the response's first byte (what the worker's start-up
// — reading and checking the manifest — adds before the page can begin), and the page's JS heap.
const coldStartJS = `(async () => {
  await new Promise(r => document.readyState === 'complete' ? r() : addEventListener('load', r));
  const nav = performance.getEntriesByType('navigation')[0];
  return { workerStart: nav.workerStart, start: nav.workerStart > 0 ? nav.responseStart - nav.workerStart : -1,
    ttfb: nav.responseStart - nav.startTime, heap: performance.memory ? performance.memory.usedJSHeapSize : 0 };
})()`

type coldStart struct {
	WorkerStart float64 `json:"workerStart"`
	Start       float64 `json:"start"`
	TTFB        float64 `json:"ttfb"`
	Heap        float64 `json:"heap"`
}

// The service worker's start-up cost at scale (issue 6; PLANKTOS_BENCH=1 only): a site of 100 pages and
// one of 10,000 (bench/sitegen without media), each packaged and visited by a fresh browser; then, ten
// times, every service worker is stopped (DevTools) and a page the store holds is opened: the worker
// starts, reads the manifest from its cache, checks it and answers from the store. Reported: the median
// time from the worker's start to the page's first byte, and the page agent's state (torrents joined,
// JS heap of the page that runs it) with each manifest.
func TestServiceWorkerStartup(t *testing.T) {
	if os.Getenv("PLANKTOS_BENCH") == "" {
		t.Skip("benchmark: set PLANKTOS_BENCH=1")
	}
	needChromium(t)
	var out string
	for _, pages := range []int{100, 10000} {
		t.Run(fmt.Sprint(pages), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "public")
			st, err := sitegen.Generate(dir, sitegen.Options{Seed: 1, Pages: pages, Images: pages / 10, Assets: 40})
			if err != nil {
				t.Fatal(err)
			}
			pack(t, dir, "/", `prefetch = "visited"`)
			m := readManifest(t, dir)
			mb, _ := os.Stat(filepath.Join(dir, "planktos", "manifest.json"))
			servePlanktos(t, dir)
			b := newBrowser(t, "", uaTag("S"))
			b.open("/")
			var ok bool
			b.mustEval(`window.planktos.ready`, &ok)
			b.open("/") // through the service worker: the home page is now stored
			b.waitFor("the home page in the store", 10e9, func() bool { return b.stats().Stored > 0 })
			if _, err := chromedp.Call(b.ctx, serviceworker.Enable, cdp.Empty{}); err != nil {
				t.Fatalf("DevTools ServiceWorker domain: %v", err)
			}
			var starts, ttfbs []float64
			var last coldStart
			for range 10 {
				if _, err := chromedp.Call(b.ctx, serviceworker.StopAllWorkers, cdp.Empty{}); err != nil {
					t.Fatalf("stop the service workers: %v", err)
				}
				b.open("/")
				b.mustEval(coldStartJS, &last)
				if last.WorkerStart <= 0 {
					t.Fatalf("the service worker did not start for the navigation: %+v", last)
				}
				starts = append(starts, last.Start)
				ttfbs = append(ttfbs, last.TTFB)
			}
			var s stats
			b.waitFor("the page agent in a swarm", 20e9, func() bool { s = b.stats(); return s.Agent != nil && s.Agent.Torrents > 0 })
			line := fmt.Sprintf("%5d pages, %5d files, %3d torrents, manifest %7d B: worker start → first byte median %.1f ms "+
				"(navigation TTFB %.1f ms); agent joined %d torrents, page JS heap %.1f MB\n",
				st.Pages, len(m.Files), len(m.Torrents), mb.Size(), median(starts), median(ttfbs), s.Agent.Torrents, last.Heap/1e6)
			t.Log(line)
			out += line
		})
	}
	fmt.Print(out)
}
