package e2e

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/planktos/planktos/internal/netns"
	"github.com/planktos/planktos/internal/rusage"
	"github.com/planktos/planktos/seeder"
)

// heapInUse is the Go heap in use after a collection.
func heapInUse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

// Go seeder → browser (issue 5; PLANKTOS_BENCH=1 only). The site of TestPeerThroughput (20 × 64 KiB and
// one 50 MiB file) is seeded by the Go seeder alone; first the seeder's verify pass over the store is
// timed. Then N = PLANKTOS_BENCH_N (default 3) browsers connect (each opens the home page and meets the
// seeder on every torrent): the Go heap and goroutines added per connected browser. Finally the first
// browser, refused every content byte by the origin, reads the 50 MiB file through its service worker:
// throughput, and the CPU time of this process (seeder + tracker + idle origin) per MB sent.
func TestSeederThroughput(t *testing.T) {
	if os.Getenv("PLANKTOS_BENCH") == "" {
		t.Skip("benchmark: set PLANKTOS_BENCH=1")
	}
	netns.Need(t)
	needChromium(t)
	n := 3
	fmt.Sscan(os.Getenv("PLANKTOS_BENCH_N"), &n)
	const small, big = 64 << 10, 50 << 20
	dir := peerSite(t, 20, small, big)
	pack(t, dir, "/", "prefetch = \"none\"\n"+os.Getenv("PLANKTOS_BENCH_CONFIG"))
	m := readManifest(t, dir)
	o := servePlanktos(t, dir)

	start := time.Now()
	vs, err := seeder.New(seeder.Config{Dir: dir, Verify: true, Trackers: []string{"ws://127.0.0.1:9/announce"}})
	if err != nil {
		t.Fatal(err)
	}
	if bad, err := vs.Checked(t.Context()); err != nil || bad != 0 {
		t.Fatalf("verify: %d bad pieces, %v", bad, err)
	}
	verify := time.Since(start)
	vs.Close()

	heap0, gr0 := heapInUse(), runtime.NumGoroutine()
	s := seedPlanktos(t, dir)
	heap1, gr1 := heapInUse(), runtime.NumGoroutine()
	var bs []*browser
	for i := 1; i <= n; i++ {
		b := newBrowser(t, "", uaTag(fmt.Sprint("P", i)))
		b.open("/")
		var ok bool
		b.mustEval(`window.planktos.ready`, &ok)
		b.waitFor("the agent to meet the seeder on every torrent", 30*time.Second, func() bool {
			st := b.stats()
			return st.Agent != nil && st.Agent.Peers >= len(m.Torrents)
		})
		bs = append(bs, b)
	}
	heapN, grN := heapInUse(), runtime.NumGoroutine()
	peers := s.Stats().Peers
	idle0 := rusage.CPU(syscall.RUSAGE_SELF)
	time.Sleep(10 * time.Second)
	idle := rusage.CPU(syscall.RUSAGE_SELF) - idle0

	b := bs[0]
	o.setRefuse(func(who, p string) bool { return who == "P1" && !isPage(p) && !isBootstrap(p) })
	bt := b.tab()
	bt.open("/")
	cpu0, up0 := rusage.CPU(syscall.RUSAGE_SELF), s.Stats().Uploaded
	r := bt.read("/big.bin")
	cpu, up := rusage.CPU(syscall.RUSAGE_SELF)-cpu0, s.Stats().Uploaded-up0
	if r.Status != 200 || r.Source != "peers" || r.Bytes != big {
		t.Fatalf("50 MiB from the seeder: %+v", r)
	}
	mb := func(b int64) float64 { return float64(b) / 1e6 }
	out := fmt.Sprintf("store verify (anacrolix hashing, %d torrents, %.1f MB): %v = %.0f MB/s\n",
		len(m.Torrents), mb(big+20*small), verify.Round(time.Millisecond), mb(big+20*small)/verify.Seconds()) +
		fmt.Sprintf("seeder idle (%d torrents, one outstanding offer each): heap +%.2f MB, +%d goroutines\n",
			len(m.Torrents), mb(int64(heap1)-int64(heap0)), gr1-gr0) +
		fmt.Sprintf("%d browsers connected (%d peer connections): heap +%.2f MB and +%d goroutines per browser; "+
			"idle CPU of the seeder's process %.1f ms/s (all browsers)\n",
			n, peers, mb(int64(heapN)-int64(heap1))/float64(n), (grN-gr1)/n, float64(idle.Microseconds())/10000) +
		fmt.Sprintf("50 MiB Go seeder → browser through the service worker: %.1f MB/s (%.0f ms, first byte %.0f ms); "+
			"seeder sent %.1f MB; CPU of the seeder's process %v = %.1f ms per MB sent\n",
			float64(r.Bytes)/r.Total/1000, r.Total, r.First, mb(up), cpu.Round(time.Millisecond),
			float64(cpu.Milliseconds())/mb(up))
	if cfg := os.Getenv("PLANKTOS_BENCH_CONFIG"); cfg != "" {
		out = "config: " + strings.ReplaceAll(strings.TrimSpace(cfg), "\n", "; ") + "\n" + out
	}
	t.Log("\n" + out)
	fmt.Print(out)
}
