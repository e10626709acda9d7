package main_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/planktos/planktos/internal/netns"
	"github.com/planktos/planktos/internal/wait"
)

// TestStatsCommand runs `planktos serve`, moves known bytes (a page over HTTP, a visitor's report)
// and reads them back with `planktos stats`, as text and as JSON.
func TestStatsCommand(t *testing.T) {
	dir := hugoSite(t, nil)
	if code, _, errs := run(t, dir, "hugo"); code != 0 {
		t.Fatal(errs)
	}
	lines := startCmd(t, dir, regexp.MustCompile(`^Dashboard at`), "serve", "--addr", "127.0.0.1:0", "--stun", "off",
		"--quiet", "public")
	addr := find(t, lines, `Dashboard at http://(\S+)/planktos/status \(from other hosts`)
	resp, err := http.Get("http://" + addr + "/blog/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	report := `{"v":1,"site":"http://` + addr + `/blog/","peers":3000,"store":10,"http":400,"uploaded":20}`
	resp, err = http.Post("http://"+addr+"/planktos/report", "text/plain", strings.NewReader(report))
	if err != nil || resp.StatusCode != http.StatusNoContent {
		t.Fatalf("report: %v %v", resp, err)
	}
	resp.Body.Close()

	code, out, errs := run(t, dir, "stats", "--json", "http://"+addr+"/any/path")
	var s struct {
		Planktos string
		Origin   struct{ Bytes, Requests int64 }
		Reports  struct{ Accepted, Peers int64 }
		P2P      struct {
			Share      float64
			Source     string
			HTTPSource string `json:"http_source"`
		}
	}
	if err := json.Unmarshal([]byte(out), &s); code != 0 || err != nil {
		t.Fatalf("--json: exit %d %v: %s %s", code, err, out, errs)
	}
	share := 3000 / float64(3000+len(page))
	if s.Origin.Bytes != int64(len(page)) || s.Origin.Requests != 1 || s.Reports.Accepted != 1 ||
		s.Reports.Peers != 3000 || s.P2P.Source != "reports" || s.P2P.HTTPSource != "origin" || s.P2P.Share != share {
		t.Fatalf("status %+v, page %d bytes", s, len(page))
	}
	code, out, errs = run(t, dir, "stats", "http://"+addr)
	for _, want := range []string{
		"planktos stats: http://" + addr + " (serve, up", "\n[Origin]\nServed " + fmt.Sprint(len(page)) + " B over HTTP (2xx bodies) in 1 request\n",
		"\n[Tracker]\n0 swarms", "\n[Visitors' reports]\n1 report: 3.0 kB from peers, 10 B from their store",
		"Dropped: 0 malformed", fmt.Sprintf("\nP2P share of bytes: %.1f %% (3.0 kB from peers per visitors' reports, ", share*100),
	} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("exit %d, output lacks %q:\n%s%s", code, want, out, errs)
		}
	}
}

// TestStatsTracker reads a lone tracker's dashboard through its ws:// announce URL.
func TestStatsTracker(t *testing.T) {
	_, addr, _ := startTracker(t)
	code, out, errs := run(t, t.TempDir(), "stats", "ws://"+addr+"/announce")
	if code != 0 || !strings.Contains(out, "(tracker, up") || !strings.Contains(out, "[Tracker]") ||
		strings.Contains(out, "[Visitors' reports]") || !strings.Contains(out, "P2P share of bytes: 0.0 %") {
		t.Fatalf("exit %d:\n%s%s", code, out, errs)
	}
}

// TestStatsErrors: an unreachable server, a 404 and an answer that is not planktos's each get an
// error that says which, exit 1.
func TestStatsErrors(t *testing.T) {
	notFound := httptest.NewServer(http.NotFoundHandler())
	defer notFound.Close()
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Write([]byte(`{"hello":"world"}`))
	}))
	defer other.Close()
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"stats", closed.URL}, 1, "cannot reach " + closed.URL + "/planktos/status.json"},
		{[]string{"stats", notFound.URL}, 1, "answered 404: not a planktos server, or its dashboard answers only its own machine: pass --token"},
		{[]string{"stats", "--token", "x", notFound.URL}, 1, "or the token is not its --status-token"},
		{[]string{"stats", other.URL}, 1, "is not a planktos dashboard"},
		{[]string{"stats", "ftp://example.org"}, 2, "want an http, https, ws or wss URL"},
	}
	for _, c := range cases {
		code, _, errs := run(t, t.TempDir(), c.args...)
		if code != c.code || !strings.Contains(errs, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d, %q", c.args, code, errs, c.code, c.want)
		}
	}
}

// TestDashboardEventsEndAtStop: `planktos tracker --reports` counts a report, and an open event
// stream of its dashboard does not hold up its stop (the server's shutdown waits for open requests).
func TestDashboardEventsEndAtStop(t *testing.T) {
	cmd, head, rest := started(t, t.TempDir(), `^Visitors' reports at`, "tracker", "--addr", "127.0.0.1:0", "--reports")
	addr := find(t, head, `Dashboard at http://(\S+)/planktos/status`)
	resp, err := http.Post("http://"+addr+"/planktos/report", "text/plain",
		strings.NewReader(`{"v":1,"site":"https://example.org/","peers":1,"store":0,"http":0,"uploaded":0}`))
	if err != nil || resp.StatusCode != http.StatusNoContent {
		t.Fatalf("report: %v %v", resp, err)
	}
	events, err := http.Get("http://" + addr + "/planktos/status/events")
	if err != nil {
		t.Fatal(err)
	}
	defer events.Body.Close()
	if line, err := bufio.NewReader(events.Body).ReadString('\n'); err != nil || line != "retry: 2000\n" {
		t.Fatalf("event stream starts %q, %v", line, err)
	}
	start := time.Now()
	cmd.Process.Signal(os.Interrupt)
	out := rest() // to the end of stderr, before Wait closes it
	if err := cmd.Wait(); err != nil || time.Since(start) > 3*time.Second ||
		!strings.Contains(out, "1 visitors' reports counted") {
		t.Fatalf("exit %v after %v: %q", err, time.Since(start), out)
	}
}

// TestStatsSeeder: what `planktos serve --seed` uploads to a WebRTC leecher shows in its dashboard as
// the seeder's bytes and, with no visitors' reports, as the P2P bytes.
func TestStatsSeeder(t *testing.T) {
	netns.Need(t)
	dir := hugoSite(t, nil)
	if code, _, errs := run(t, dir, "hugo"); code != 0 {
		t.Fatal(errs)
	}
	_, seen, _ := started(t, dir, `seeding revision \w+: \d+ torrents`, "serve", "--seed", "--addr", "127.0.0.1:0",
		"--quiet", "public")
	addr := find(t, seen, `Dashboard at http://(\S+)/planktos/status`)
	store := int64(0)
	files, _ := os.ReadDir(filepath.Join(dir, "public", "planktos", "files"))
	for _, f := range files {
		fi, _ := f.Info()
		store += fi.Size()
	}
	leechAll(t, filepath.Join(dir, "public"), "ws://"+addr+"/announce")
	var s struct {
		Seeder struct{ Uploaded int64 }
		P2P    struct {
			Bytes  int64
			Source string
		}
	}
	wait.For(t, "the dashboard to count the seeder's uploads", 10*time.Second, func() bool {
		code, out, _ := run(t, dir, "stats", "--json", addr)
		return code == 0 && json.Unmarshal([]byte(out), &s) == nil && s.Seeder.Uploaded >= store
	})
	if s.P2P.Source != "seeder" || s.P2P.Bytes != s.Seeder.Uploaded {
		t.Fatalf("status %+v, store %d bytes", s, store)
	}
	if code, out, _ := run(t, dir, "stats", addr); code != 0 || !strings.Contains(out, "\n[Seeder]\nUploaded ") ||
		!strings.Contains(out, "from peers per the origin's seeder") {
		t.Fatalf("exit %d:\n%s", code, out)
	}
}

// TestStatsToken: a dashboard reached from an address other than loopback (the namespace's
// interface) answers only with the --status-token, given to `planktos stats` by --token or
// PLANKTOS_STATUS_TOKEN; --help does not show the token.
func TestStatsToken(t *testing.T) {
	netns.Need(t)
	env := []string{"PLANKTOS_STATUS_TOKEN=s3cret"}
	t.Setenv("PLANKTOS_STATUS_TOKEN", "s3cret") // for the tracker; the stats runs below set their own
	dir := t.TempDir()
	_, head, _ := started(t, dir, `^Dashboard at`, "tracker", "--addr", netns.Addr()+":0")
	if !strings.Contains(head[len(head)-1], "add ?token=<your --status-token>") {
		t.Fatalf("start line %q", head[len(head)-1])
	}
	addr := find(t, head, `Tracker at ws://(\S+)/announce`)
	none := []string{"PLANKTOS_STATUS_TOKEN="}
	if code, _, errs := runEnv(t, dir, none, "stats", addr); code != 1 || !strings.Contains(errs, "answered 404") {
		t.Fatalf("without the token: exit %d, %s", code, errs)
	}
	if code, _, errs := runEnv(t, dir, none, "stats", "--token", "wrong", addr); code != 1 || !strings.Contains(errs, "token is not") {
		t.Fatalf("a wrong token: exit %d, %s", code, errs)
	}
	if code, out, errs := runEnv(t, dir, none, "stats", "--token", "s3cret", addr); code != 0 || !strings.Contains(out, "[Tracker]") {
		t.Fatalf("--token: exit %d, %s%s", code, out, errs)
	}
	if code, out, errs := runEnv(t, dir, env, "stats", addr); code != 0 || !strings.Contains(out, "[Tracker]") {
		t.Fatalf("PLANKTOS_STATUS_TOKEN: exit %d, %s%s", code, out, errs)
	}
	for _, c := range []string{"tracker", "serve", "stats"} {
		if _, out, _ := runEnv(t, dir, env, c, "--help"); strings.Contains(out, "s3cret") {
			t.Errorf("planktos %s --help shows the token:\n%s", c, out)
		}
	}
}
