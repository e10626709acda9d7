package tracker

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

var engineFlag = flag.String("engine", "both", "the I/O engine(s) the tracker tests run in: epoll, goroutine or both")

// TestMain runs the whole suite once per I/O engine: the epoll engine (Linux) and the goroutine
// engine (every other system, and Linux with PLANKTOS_TRACKER_ENGINE=goroutine). Select one with
// `go test ./tracker -engine=goroutine`. Fuzzing runs once, in the default engine.
func TestMain(m *testing.M) {
	flag.Parse()
	engines := map[string][]string{"both": {"epoll", "goroutine"}, "epoll": {"epoll"}, "goroutine": {"goroutine"}}[*engineFlag]
	if engines == nil {
		fmt.Fprintf(os.Stderr, "-engine %q: want epoll, goroutine or both\n", *engineFlag)
		os.Exit(2)
	}
	if runtime.GOOS != "linux" {
		engines = []string{"goroutine"}
	}
	if f := flag.Lookup("test.fuzz"); f != nil && f.Value.String() != "" || flag.Lookup("test.fuzzworker").Value.String() == "true" {
		engines = engines[:1]
	}
	code := 0
	for _, e := range engines {
		useEpoll = e == "epoll"
		if testing.Verbose() || len(engines) > 1 {
			fmt.Printf("=== tracker tests in the %s engine\n", e)
		}
		if c := m.Run(); c != 0 {
			fmt.Printf("--- FAIL: the %s engine\n", e)
			code = c
		}
	}
	os.Exit(code)
}

// TestEngine checks that the suite runs in the engine TestMain selected.
func TestEngine(t *testing.T) {
	tr, url := startTracker(t, Config{})
	dial(t, url).join(testID(1), testID(2), nil)
	c := connOf(tr, testID(1), testID(2))
	if epoll := c.direct(); epoll != useEpoll {
		t.Fatalf("epoll engine %v, want %v", epoll, useEpoll)
	}
}

// testClock is a Server's clock that moves only when the test says.
type testClock struct{ ns atomic.Int64 }

func (c *testClock) now() int64              { return c.ns.Load() }
func (c *testClock) advance(d time.Duration) { c.ns.Add(int64(d)) }

// startTrackerClock is startTracker with a clock of the test's own (rate limit, idle timeouts).
func startTrackerClock(t *testing.T, cfg Config) (*Server, string, *testClock) {
	t.Helper()
	clk := &testClock{}
	clk.ns.Store(time.Now().UnixNano())
	tr := newServer(cfg, clk.now)
	return tr, serveTracker(t, tr), clk
}

// connOf returns the server side of the socket that holds peer pid in swarm ih.
func connOf(tr *Server, ih, pid ID) *conn {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if sw := tr.swarms[ih]; sw != nil && sw.peers[pid] != nil {
		return sw.peers[pid].c
	}
	return nil
}
