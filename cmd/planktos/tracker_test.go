package main_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// startTracker runs `planktos tracker` on a free loopback port until the test ends, and returns the
// process, its host:port (read from its first line) and the rest of its stderr.
func startTracker(t *testing.T) (*exec.Cmd, string, *bufio.Scanner) {
	t.Helper()
	cmd := exec.Command(bin, "tracker", "--addr", "127.0.0.1:0")
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	lines := bufio.NewScanner(stderr)
	lines.Scan()
	m := regexp.MustCompile(`ws://(\S+)/announce`).FindStringSubmatch(lines.Text())
	if m == nil {
		t.Fatalf("no address in %q", lines.Text())
	}
	return cmd, m[1], lines
}

// TestTrackerCommand runs `planktos tracker`, announces over a WebSocket, reads /stats, then stops
// it with SIGINT: the client gets a going-away close and the command exits 0.
func TestTrackerCommand(t *testing.T) {
	cmd, addr, lines := startTracker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws://"+addr+"/announce", nil)
	if err != nil {
		t.Fatal(err)
	}
	id := strings.Repeat("\u00e9", 20)
	msg, _ := json.Marshal(map[string]any{"action": "announce", "info_hash": id, "peer_id": id, "left": 0})
	ws.Write(ctx, websocket.MessageText, msg)
	if _, reply, err := ws.Read(ctx); err != nil || !strings.Contains(string(reply), `"complete":1`) {
		t.Fatalf("reply %s, %v", reply, err)
	}
	resp, err := http.Get("http://" + addr + "/stats")
	if err != nil {
		t.Fatal(err)
	}
	var st map[string]any
	json.NewDecoder(resp.Body).Decode(&st)
	resp.Body.Close()
	if st["seeders"] != 1.0 || st["connections"] != 1.0 {
		t.Fatalf("stats %v", st)
	}
	cmd.Process.Signal(os.Interrupt)
	if _, _, err := ws.Read(ctx); websocket.CloseStatus(err) != websocket.StatusGoingAway {
		t.Fatalf("client saw %v, want going away", err)
	}
	var rest strings.Builder
	for lines.Scan() {
		rest.WriteString(lines.Text())
	}
	if err := cmd.Wait(); err != nil || !strings.Contains(rest.String(), "Stopped") {
		t.Fatalf("exit %v, stderr %q", err, rest.String())
	}
}

func TestTrackerBadAddress(t *testing.T) {
	code, _, errOut := run(t, t.TempDir(), "tracker", "--addr", "256.0.0.1:1")
	if code != 2 || !strings.Contains(errOut, "--addr") {
		t.Fatalf("exit %d: %s", code, errOut)
	}
}
