package main_test

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/planktos/planktos/internal/wait"
)

// `planktos tracker` under 10,000 connections (the load generator of bench/tracker, in its own process):
// each joins 3 swarms, then a second of closed-loop announces with 5 offers of 3 KB each and answers.
// The tracker serves every connection (no failure, no disconnect), its memory stays bounded (RSS per
// connection, idle and under the flood, logged and checked against a generous bound), it is still
// answering afterwards, and it lets go of every connection once the clients leave.
func TestTrackerTenThousandConnections(t *testing.T) {
	if testing.Short() {
		t.Skip("10,000 connections: not with -short")
	}
	var lim syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); lim.Cur < 10100 {
		t.Skipf("open-file limit %d is below 10,100 (ulimit -n)", lim.Cur)
	}
	cmd, addr, lines := startTracker(t)
	var mu sync.Mutex
	var log strings.Builder
	go func() {
		for lines.Scan() {
			mu.Lock()
			log.WriteString(lines.Text() + "\n")
			mu.Unlock()
		}
	}()
	logged := func() string { mu.Lock(); defer mu.Unlock(); return log.String() }

	out := filepath.Join(t.TempDir(), "result.json")
	gen := exec.Command("go", "run", "./bench/tracker/load", "-url", "ws://"+addr+"/announce", "-conns", "10000",
		"-duration", "1s", "-warmup", "0s", "-settle", "2s", "-pid", strconv.Itoa(cmd.Process.Pid), "-json", out)
	gen.Dir = filepath.Join("..", "..")
	if b, err := gen.CombinedOutput(); err != nil {
		t.Fatalf("load generator: %v\n%s", err, b)
	} else {
		t.Logf("\n%s", b)
	}
	var r struct {
		Connected   int     `json:"connected"`
		Failures    int     `json:"failures"`
		Timeouts    int     `json:"timeouts"`
		Disconnects int     `json:"disconnects"`
		Announces   int     `json:"announces"`
		KBPerConn   float64 `json:"kb_per_conn"`
		KBLoaded    float64 `json:"kb_per_conn_loaded"`
	}
	b, _ := os.ReadFile(out)
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("result %q: %v", b, err)
	}
	if r.Connected != 10000 || r.Failures != 0 || r.Disconnects != 0 || r.Announces == 0 {
		t.Errorf("under 10,000 connections: %+v", r)
	}
	// measured here: 6.9 KB per idle connection, 12 KB under the flood (BENCHMARKS.md); the bound is
	// four times that, to catch a leak or a per-connection buffer, not the machine's noise
	if r.KBPerConn > 10 || r.KBLoaded > 28 {
		t.Errorf("memory per connection: %.1f KB idle, %.1f KB under load; want at most 10 and 28", r.KBPerConn, r.KBLoaded)
	}
	var st struct {
		Connections int `json:"connections"`
	}
	wait.For(t, "the tracker to let go of every connection once the clients left", 15*time.Second, func() bool {
		resp, err := http.Get("http://" + addr + "/stats")
		if err != nil {
			t.Fatalf("the tracker stopped answering after the load: %v\n%s", err, logged())
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		json.Unmarshal(body, &st)
		return st.Connections == 0
	})
	if l := logged(); strings.Contains(l, "panic") {
		t.Errorf("tracker log:\n%s", l)
	}
}
