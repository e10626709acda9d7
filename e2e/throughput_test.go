package e2e

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/profiler"
	"github.com/chromedp/chromedp"
)

// peerSite writes a site for the peer benchmarks: a home page, n small files of small bytes and one
// big file of big bytes, all of deterministic random content.
func peerSite(t *testing.T, n, small, big int) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "small"), 0o755); err != nil {
		t.Fatal(err)
	}
	rng := rand.NewChaCha8([32]byte{'p', 'l', 'a', 'n', 'k', 't', 'o', 's'})
	write := func(name string, size int) {
		b := make([]byte, size)
		rng.Read(b)
		writeFile(t, filepath.Join(dir, name), b)
	}
	writeFile(t, filepath.Join(dir, "index.html"), []byte("<!doctype html><html><head><title>peers</title></head><body>peers</body></html>\n"))
	for i := 0; i < n; i++ {
		write(fmt.Sprintf("small/%02d.bin", i), small)
	}
	write("big.bin", big)
	return dir
}

// readJS fetches a URL through the service worker and reads its body to the end, timing the first
// byte and the whole, in the page (performance.now, milliseconds).
const readJS = `(async (url) => {
  const t0 = performance.now();
  const res = await fetch(url);
  const r = res.body.getReader();
  let n = 0, first = 0;
  for (;;) {
    const { done, value } = await r.read();
    if (done) break;
    if (!first) first = performance.now() - t0;
    n += value.length;
  }
  return { status: res.status, source: res.headers.get('x-planktos-source') || '', bytes: n, first, total: performance.now() - t0 };
})`

type readResult struct {
	Status int     `json:"status"`
	Source string  `json:"source"`
	Bytes  int64   `json:"bytes"`
	First  float64 `json:"first"`
	Total  float64 `json:"total"`
}

func (b *browser) read(url string) readResult {
	b.t.Helper()
	var r readResult
	b.mustEval(fmt.Sprintf("%s(%q)", readJS, url), &r)
	return r
}

// Peer latency and throughput (issue 4; PLANKTOS_BENCH=1 only). Browser A keeps the whole site
// (20 × 64 KiB + one 50 MiB file, 16 KiB–auto pieces); browser B, already connected to A, is refused
// every file byte by the origin and reads through its service worker: the time to the first byte of
// each small file it does not have (target ≤ 150 ms), then the 50 MiB file (target ≥ 20 MB/s). The
// same 50 MiB read by A from its own store, and over HTTP from the origin, run alongside as references.
func TestPeerThroughput(t *testing.T) {
	if os.Getenv("PLANKTOS_BENCH") == "" {
		t.Skip("benchmark: set PLANKTOS_BENCH=1")
	}
	needChromium(t)
	const n, small, big = 20, 64 << 10, 50 << 20
	dir := peerSite(t, n, small, big)
	// a second big file, read by B's agent itself (no service worker): the swarm's own throughput
	rng := rand.NewChaCha8([32]byte{'b', 'i', 'g', '2'})
	big2 := make([]byte, big)
	rng.Read(big2)
	writeFile(t, filepath.Join(dir, "big2.bin"), big2)
	pack(t, dir, "/", "prefetch_limit = \"1GiB\"\n"+os.Getenv("PLANKTOS_BENCH_CONFIG"))
	m := readManifest(t, dir)
	o := servePlanktos(t, dir)

	a := newBrowser(t, "", uaTag("A"))
	a.installed("/", m.storable())
	o.mu.Lock()
	o.prefetch["B"] = "none"
	o.mu.Unlock()
	b := newBrowser(t, "", uaTag("B"))
	b.open("/")
	var ok bool
	b.mustEval(`window.planktos.ready`, &ok)
	b.waitFor("B's agent to meet A", 30*time.Second, func() bool { return agentPeers(b) > 0 })
	o.setRefuse(func(who, p string) bool { return who == "B" && !isPage(p) && !isBootstrap(p) })
	bt := b.tab() // the first tab keeps B's agent
	bt.open("/")

	var firsts []float64
	for i := 0; i < n; i++ {
		r := bt.read(fmt.Sprintf("/small/%02d.bin", i))
		if r.Status != 200 || r.Bytes != small || (r.Source != "peers" && r.Source != "store") {
			t.Fatalf("small file %d: %+v", i, r)
		}
		if r.Source == "peers" { // with large pieces, a piece fetched for one file brings its neighbours
			firsts = append(firsts, r.First)
		}
	}
	if len(firsts) == 0 {
		t.Fatal("no small file came from peers")
	}
	sort.Float64s(firsts)
	rb := bt.read("/big.bin")
	if rb.Status != 200 || rb.Source != "peers" || rb.Bytes != big {
		t.Fatalf("big file from peers: %+v", rb)
	}
	profiling := os.Getenv("PLANKTOS_BENCH_PROFILE") != ""
	if profiling { // both ends: A sends, B receives
		startProfile(t, a)
		startProfile(t, b)
	}
	var agentRead struct {
		MS float64 `json:"ms"`
		N  int64   `json:"n"`
	}
	b.mustEval(fmt.Sprintf(`(async (sha, size) => {
  const f = await window.planktosAgent.swarm.want(sha, 0, size - 1);
  if (!f) return { ms: -1, n: 0 };
  const t0 = performance.now();
  let n = 0;
  for await (const c of f.file[Symbol.asyncIterator]()) n += c.length;
  return { ms: performance.now() - t0, n };
})(%q, %d)`, m.Files["big2.bin"].SHA256, big), &agentRead)
	if agentRead.N != big {
		t.Fatalf("B's agent reading big2.bin from A: %+v", agentRead)
	}
	if profiling {
		t.Log("\nA's page (agent, sending) main thread during B's agent's read:\n" + stopProfile(t, a))
		t.Log("\nB's page (agent, receiving) main thread during its read:\n" + stopProfile(t, b))
	}
	ra := a.read("/big.bin")
	rh := a.read("/planktos/files/" + m.Files["big.bin"].SHA256) // not intercepted: plain HTTP
	mbs := func(r readResult) float64 { return float64(r.Bytes) / r.Total / 1000 }
	out := fmt.Sprintf("time to first byte from a connected peer, %d of %d × %d KiB: median %.0f ms, min %.0f, max %.0f\n"+
		"50 MiB through the service worker: from peers %.1f MB/s (%.0f ms, first byte %.0f ms); "+
		"from the local store %.1f MB/s (%s); over HTTP from the origin %.1f MB/s\n"+
		"50 MiB read by B's page agent itself from A (WebTorrent, no service worker): %.1f MB/s\n",
		len(firsts), n, small>>10, firsts[len(firsts)/2], firsts[0], firsts[len(firsts)-1],
		mbs(rb), rb.Total, rb.First, mbs(ra), ra.Source, mbs(rh), float64(agentRead.N)/agentRead.MS/1000)
	if cfg := os.Getenv("PLANKTOS_BENCH_CONFIG"); cfg != "" {
		out = "config: " + strings.ReplaceAll(strings.TrimSpace(cfg), "\n", "; ") + "\n" + out
	}
	t.Log("\n" + out)
	fmt.Print(out)
	if firsts[len(firsts)/2] > 150 || mbs(rb) < 20 {
		t.Logf("below target: first byte ≤ 150 ms, throughput ≥ 20 MB/s")
	}
}

// startProfile starts V8's sampling profiler (200 µs) in the browser's first tab.
func startProfile(t *testing.T, b *browser) {
	t.Helper()
	if _, err := chromedp.Call(b.ctx, profiler.Enable, cdp.Empty{}); err != nil {
		t.Fatalf("profiler: %v", err)
	}
	if _, err := chromedp.Call(b.ctx, profiler.SetSamplingInterval, profiler.SetSamplingIntervalParams{Interval: 200}); err != nil {
		t.Fatalf("profiler: %v", err)
	}
	if _, err := chromedp.Call(b.ctx, profiler.Start, cdp.Empty{}); err != nil {
		t.Fatalf("profiler: %v", err)
	}
}

// stopProfile stops the profiler started by startProfile and summarizes the profile.
func stopProfile(t *testing.T, b *browser) string {
	t.Helper()
	res, err := chromedp.Call(b.ctx, profiler.Stop, cdp.Empty{})
	if err != nil {
		t.Fatalf("profiler: %v", err)
	}
	return profileSummary(res.Profile)
}

// profileSummary sums a CPU profile's samples by function (self time): the share of idle, of the
// collector, of V8's own work, and the heaviest script functions with their location.
func profileSummary(p *profiler.Profile) string {
	byNode := map[int64]*profiler.ProfileNode{}
	for _, n := range p.Nodes {
		byNode[int64(n.ID)] = n
	}
	counts := map[string]int{}
	for _, id := range p.Samples {
		n := byNode[id]
		if n == nil {
			continue
		}
		f := n.CallFrame
		name := f.FunctionName
		if name == "" {
			name = "(anonymous)"
		}
		if f.URL != "" {
			name += fmt.Sprintf(" %s:%d:%d", path.Base(f.URL), f.LineNumber+1, f.ColumnNumber+1)
		}
		counts[name]++
	}
	type kv struct {
		k string
		v int
	}
	var all []kv
	for k, v := range counts {
		all = append(all, kv{k, v})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].v > all[j].v })
	var sb strings.Builder
	for i, e := range all {
		if i == 15 {
			break
		}
		fmt.Fprintf(&sb, "%5.1f%%  %s\n", 100*float64(e.v)/float64(len(p.Samples)), e.k)
	}
	return sb.String()
}
