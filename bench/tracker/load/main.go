// Command load is a load generator for WebSocket (WebTorrent) trackers: it opens N connections, each
// of which joins a few swarms, then announces in a closed loop with offers of browser size and
// answers every offer relayed to it. It reports messages handled per second and the server's
// resident memory per connection (from /proc/PID/status of the server).
//
//	go run ./bench/tracker/load -url ws://127.0.0.1:8000/announce -conns 1000 -duration 20s -pid PID
//	go run ./bench/tracker/load -report results.jsonl   # markdown table with ratios
//
// "Handled" counts what the server demonstrably did: announce replies received plus answers
// delivered to offerers (each answer is a message the server read and forwarded). Offers relayed are
// reported separately. IDs are ASCII, so replies are read with byte searches, not a JSON decoder, to
// keep the generator cheap.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

type options struct {
	url                                   string
	conns, perConn, peersPerSwarm, offers int
	sdp, answerSDP, dialers               int
	duration, warmup, settle              time.Duration
	pid                                   int
	label, jsonOut                        string
}

// result is one run, as written to the -json file.
type result struct {
	Label          string  `json:"label"`
	Conns          int     `json:"conns"`
	Connected      int     `json:"connected"`
	Swarms         int     `json:"swarms"`
	DialSeconds    float64 `json:"dial_seconds"`
	Seconds        float64 `json:"seconds"`
	Announces      int64   `json:"announces"`
	Answers        int64   `json:"answers"`
	OffersRelayed  int64   `json:"offers_relayed"`
	Failures       int64   `json:"failures"`
	Timeouts       int64   `json:"timeouts"`
	StalledPeers   int     `json:"stalled_peers"` // connections that waited 10 s for a reply at least once
	Disconnects    int64   `json:"disconnects"`
	MsgsPerSec     float64 `json:"msgs_per_sec"`
	ServerCPU      float64 `json:"server_cpu"` // CPU-seconds per second during the measurement
	LoadCPU        float64 `json:"load_cpu"`   // the same for this generator
	RSSBeforeKB    int64   `json:"rss_before_kb"`
	RSSConnectedKB int64   `json:"rss_connected_kb"`
	RSSLoadedKB    int64   `json:"rss_loaded_kb"` // highest sample during the load
	KBPerConn      float64 `json:"kb_per_conn"`   // (connected − before) / connections
	KBPerConnLoad  float64 `json:"kb_per_conn_loaded"`
}

func main() {
	var o options
	var report string
	flag.StringVar(&o.url, "url", "ws://127.0.0.1:8000/announce", "tracker announce URL")
	flag.IntVar(&o.conns, "conns", 1000, "connections")
	flag.IntVar(&o.perConn, "swarms-per-conn", 3, "swarms each connection joins")
	flag.IntVar(&o.peersPerSwarm, "peers-per-swarm", 60, "average peers per swarm (sets the number of swarms)")
	flag.IntVar(&o.offers, "offers", 5, "offers per announce (browsers send up to 5)")
	flag.IntVar(&o.sdp, "sdp", 3000, "bytes of SDP per offer")
	flag.IntVar(&o.answerSDP, "answer-sdp", 1500, "bytes of SDP per answer")
	flag.IntVar(&o.dialers, "dialers", 64, "connections dialled at once")
	flag.DurationVar(&o.duration, "duration", 20*time.Second, "measured load time")
	flag.DurationVar(&o.warmup, "warmup", 3*time.Second, "load time before measuring")
	flag.DurationVar(&o.settle, "settle", 3*time.Second, "pause after connecting, before reading RSS")
	flag.IntVar(&o.pid, "pid", 0, "server process id, for RSS and CPU (0: not measured)")
	flag.StringVar(&o.label, "label", "tracker", "name of the server in the results")
	flag.StringVar(&o.jsonOut, "json", "", "append the result as a JSON line to this file")
	flag.StringVar(&report, "report", "", "print a markdown table comparing the runs in this JSON-lines file, then exit")
	flag.Parse()
	if report != "" {
		if err := printReport(report); err != nil {
			fmt.Fprintln(os.Stderr, "load:", err)
			os.Exit(1)
		}
		return
	}
	r, err := run(o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
	printResult(r)
	if o.jsonOut != "" {
		if err := appendJSON(o.jsonOut, r); err != nil {
			fmt.Fprintln(os.Stderr, "load:", err)
			os.Exit(1)
		}
	}
}

// run connects, measures memory, loads, and measures throughput.
func run(o options) (result, error) {
	r := result{Label: o.label, Conns: o.conns}
	r.Swarms = max(1, o.conns*o.perConn/o.peersPerSwarm)
	r.RSSBeforeKB = rssKB(o.pid)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var c counters
	start := time.Now()
	peers := dialAll(ctx, o, r.Swarms, &c)
	r.DialSeconds = time.Since(start).Seconds()
	r.Connected = len(peers)
	if len(peers) == 0 {
		return r, fmt.Errorf("no connection to %s", o.url)
	}
	time.Sleep(o.settle)
	r.RSSConnectedKB = rssKB(o.pid)
	r.RSSLoadedKB = r.RSSConnectedKB

	var wg sync.WaitGroup
	for _, p := range peers {
		wg.Add(1)
		go func() { defer wg.Done(); p.loop(ctx) }()
	}
	time.Sleep(o.warmup)
	before, cpu0, self0, t0 := c.snapshot(), cpuSeconds(o.pid), cpuSeconds(os.Getpid()), time.Now()
	c.measuring.Store(true)
	for end := t0.Add(o.duration); time.Now().Before(end); {
		time.Sleep(500 * time.Millisecond)
		r.RSSLoadedKB = max(r.RSSLoadedKB, rssKB(o.pid))
	}
	after, cpu1, self1 := c.snapshot(), cpuSeconds(o.pid), cpuSeconds(os.Getpid())
	r.Seconds = time.Since(t0).Seconds()
	cancel()
	for _, p := range peers {
		p.ws.close()
	}
	wg.Wait()
	for _, p := range peers {
		if p.timeouts > 0 {
			r.StalledPeers++
		}
	}
	r.Announces, r.Answers = after.announces-before.announces, after.answers-before.answers
	r.OffersRelayed, r.Failures = after.offers-before.offers, after.failures
	r.Timeouts, r.Disconnects = after.timeouts, after.disconnects
	r.MsgsPerSec = float64(r.Announces+r.Answers) / r.Seconds
	r.ServerCPU = (cpu1 - cpu0) / r.Seconds
	r.LoadCPU = (self1 - self0) / r.Seconds
	if r.Connected > 0 && o.pid != 0 {
		r.KBPerConn = float64(r.RSSConnectedKB-r.RSSBeforeKB) / float64(r.Connected)
		r.KBPerConnLoad = float64(r.RSSLoadedKB-r.RSSBeforeKB) / float64(r.Connected)
	}
	return r, nil
}

func printResult(r result) {
	fmt.Printf("%s: %d/%d connections (%.1fs to dial), %d swarms\n", r.Label, r.Connected, r.Conns, r.DialSeconds, r.Swarms)
	fmt.Printf("  handled %.0f msgs/s (%d announces + %d answers in %.1fs), %d offers relayed, CPU: server %.2f, generator %.2f\n",
		r.MsgsPerSec, r.Announces, r.Answers, r.Seconds, r.OffersRelayed, r.ServerCPU, r.LoadCPU)
	fmt.Printf("  failures %d, reply timeouts %d (on %d connections), disconnects %d\n", r.Failures, r.Timeouts, r.StalledPeers, r.Disconnects)
	fmt.Printf("  server RSS %d KB before, %d KB connected (%.1f KB/conn), %d KB peak under load (%.1f KB/conn)\n",
		r.RSSBeforeKB, r.RSSConnectedKB, r.KBPerConn, r.RSSLoadedKB, r.KBPerConnLoad)
}

func appendJSON(path string, r result) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	b, _ := json.Marshal(r)
	_, err = f.Write(append(b, '\n'))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// rssKB reads VmRSS of pid in KB (0 when pid is 0 or unreadable).
func rssKB(pid int) int64 {
	if pid == 0 {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			var kb int64
			fmt.Sscan(rest, &kb)
			return kb
		}
	}
	return 0
}

// cpuSeconds reads user+system CPU time of pid (clock ticks are 1/100 s on Linux).
func cpuSeconds(pid int) float64 {
	if pid == 0 {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil || len(b) == 0 {
		return 0
	}
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+2:]) // fields from 3 (state) on
	var utime, stime float64
	fmt.Sscan(fields[11], &utime)
	fmt.Sscan(fields[12], &stime)
	return (utime + stime) / 100
}

// counters are shared by every connection.
type counters struct {
	measuring                                                   atomic.Bool
	announces, answers, offers, failures, timeouts, disconnects atomic.Int64
}

type snapshot struct{ announces, answers, offers, failures, timeouts, disconnects int64 }

func (c *counters) snapshot() snapshot {
	return snapshot{c.announces.Load(), c.answers.Load(), c.offers.Load(), c.failures.Load(),
		c.timeouts.Load(), c.disconnects.Load()}
}
