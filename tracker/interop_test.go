package tracker

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestInteropBittorrentTrackerClients runs two clients of the npm bittorrent-tracker 11 package
// (its Client and WebSocketTracker, in Node) against this tracker: both announce, one's offer reaches
// the other, the answer comes back, completed/stopped/scrape counts are right. See
// testdata/interop.mjs for the one replaced part (the WebRTC peer; Node has no WebRTC).
func TestInteropBittorrentTrackerClients(t *testing.T) {
	node, nm := nodeAndModules(t)
	tr, url := startTracker(t, Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "testdata/interop.mjs", url)
	cmd.Env = append(os.Environ(), "NODE_MODULES="+nm)
	cmd.Stderr = os.Stderr
	outb, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, outb)
	}
	var out struct {
		Warnings []string
		IDs      map[string]string
		Peers    map[string][]struct {
			ID       string
			Received []string
		}
		Updates map[string][]struct{ Complete, Incomplete, Interval int }
		Scrapes []struct {
			By, InfoHash         string
			Complete, Incomplete int
		}
	}
	if err := json.Unmarshal(outb, &out); err != nil {
		t.Fatalf("%v: %s", err, outb)
	}
	t.Logf("node clients saw: %s", outb)
	if len(out.Warnings) > 0 {
		t.Errorf("client warnings: %v", out.Warnings)
	}
	// b announced alone, then a joined; a's completed announce made it a seeder; then a stopped.
	if u := out.Updates["b"]; len(u) != 1 || u[0].Incomplete != 1 || u[0].Interval != 120 {
		t.Errorf("b's updates %+v", u)
	}
	if u := out.Updates["a"]; len(u) != 3 || u[0].Incomplete != 2 || u[1].Complete != 1 || u[1].Incomplete != 1 ||
		u[2].Complete != 0 || u[2].Incomplete != 1 {
		t.Errorf("a's updates %+v", u)
	}
	// b got a's offer (from peer a), answered; a got the answer (from peer b) for that offer.
	pb, pa := out.Peers["b"], out.Peers["a"]
	if len(pb) != 1 || pb[0].ID != out.IDs["a"] || len(pb[0].Received) != 1 || !strings.HasPrefix(pb[0].Received[0], "offer:offer") {
		t.Fatalf("b's peers %+v", pb)
	}
	offerUfrag := strings.TrimPrefix(pb[0].Received[0], "offer:")
	if len(pa) != 1 || pa[0].ID != out.IDs["b"] || len(pa[0].Received) != 1 || pa[0].Received[0] != "answer:answer-"+offerUfrag {
		t.Fatalf("a's peers %+v (offer %s)", pa, offerUfrag)
	}
	checkInteropScrapes(t, out.Scrapes)
	if st := tr.Stats(); st.OffersRelayed != 1 || st.AnswersForwarded != 1 || st.Failures != 0 {
		t.Errorf("tracker stats %+v", st)
	}
}

func checkInteropScrapes(t *testing.T, scrapes []struct {
	By, InfoHash         string
	Complete, Incomplete int
}) {
	t.Helper()
	want := []string{
		"ff00e9225c0a27f7b1ad16b86bbd1c11d6b8d2a1 1 1", "00112233445566778899aabbccddeeff00112233 0 0", // list
		"ff00e9225c0a27f7b1ad16b86bbd1c11d6b8d2a1 1 1", // single
		"ff00e9225c0a27f7b1ad16b86bbd1c11d6b8d2a1 0 1", // after a stopped
	}
	var got []string
	for _, s := range scrapes {
		got = append(got, s.InfoHash+" "+strconv.Itoa(s.Complete)+" "+strconv.Itoa(s.Incomplete))
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("scrapes\n got %v\nwant %v", got, want)
	}
}

// nodeAndModules finds node and runtime/node_modules with bittorrent-tracker; it skips when either is
// missing, unless CI is set.
func nodeAndModules(t *testing.T) (node, nodeModules string) {
	t.Helper()
	nm, _ := filepath.Abs("../runtime/node_modules")
	node, err := exec.LookPath("node")
	if err == nil {
		_, err = os.Stat(filepath.Join(nm, "bittorrent-tracker", "package.json"))
	}
	if err != nil {
		if os.Getenv("CI") == "" {
			t.Skipf("needs node and runtime/node_modules (cd runtime && npm ci --ignore-scripts): %v", err)
		}
		t.Fatalf("CI: %v", err)
	}
	return node, nm
}
