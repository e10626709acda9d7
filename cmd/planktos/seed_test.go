package main_test

import (
	"bufio"
	"context"
	"io"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/anacrolix/torrent/metainfo"

	"github.com/planktos/planktos/internal/leech"
	"github.com/planktos/planktos/internal/netns"
	"github.com/planktos/planktos/manifest"
	"github.com/planktos/planktos/tracker"
)

// started runs planktos in dir and reads its stderr until a line matches re; it returns the lines read
// so far, and a function that reads the rest (once the process ends) and returns the whole.
func started(t *testing.T, dir string, re string, args ...string) (*exec.Cmd, []string, func() string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	stderr, _ := cmd.StderrPipe()
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	lines := bufio.NewScanner(stderr)
	var seen []string
	for lines.Scan() {
		seen = append(seen, lines.Text())
		if regexp.MustCompile(re).MatchString(lines.Text()) {
			return cmd, seen, func() string {
				for lines.Scan() {
					seen = append(seen, lines.Text())
				}
				return strings.Join(seen, "\n")
			}
		}
	}
	t.Fatalf("planktos %s ended before printing %q:\n%s", strings.Join(args, " "), re, strings.Join(seen, "\n"))
	return nil, nil, nil
}

// leechAll downloads every torrent of the package in dir over WebRTC through announce and checks the
// bytes against the store.
func leechAll(t *testing.T, dir, announce string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "planktos", "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := manifest.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	var mis []*metainfo.MetaInfo
	for _, r := range m.Torrents {
		mi, err := metainfo.LoadFromFile(filepath.Join(dir, filepath.FromSlash(r.URL)))
		if err != nil {
			t.Fatal(err)
		}
		mis = append(mis, mi)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	got, err := leech.Download(ctx, leech.Options{From: leech.WebRTC, DataDir: t.TempDir(), Trackers: []string{announce}}, mis...)
	if err != nil {
		t.Fatal(err)
	}
	for sha, b := range got {
		want, err := os.ReadFile(filepath.Join(dir, "planktos", "files", sha))
		if err != nil || string(want) != string(b) {
			t.Errorf("%s from the seeder differs from the store (%v)", sha, err)
		}
	}
	if len(got) == 0 {
		t.Error("nothing downloaded")
	}
}

// TestServeSeed: `planktos serve --seed` seeds the package over WebRTC through its own tracker; a
// WebRTC-only leecher gets every file from it; Ctrl+C stops both and reports the bytes sent.
func TestServeSeed(t *testing.T) {
	netns.Need(t)
	dir := hugoSite(t, nil)
	if code, _, errs := run(t, dir, "hugo"); code != 0 {
		t.Fatal(errs)
	}
	cmd, seen, rest := started(t, dir, `seeding revision \w+: \d+ torrents`, "serve", "--seed",
		"--addr", "127.0.0.1:0", "--quiet", "public")
	announce := regexp.MustCompile(`ws://\S+/announce`).FindString(strings.Join(seen, "\n"))
	if announce == "" || !strings.Contains(seen[len(seen)-1], announce) {
		t.Fatalf("the seeder does not announce to the server's tracker:\n%s", strings.Join(seen, "\n"))
	}
	leechAll(t, filepath.Join(dir, "public"), announce)
	cmd.Process.Signal(os.Interrupt)
	out := rest() // to the end of stderr, before Wait closes it
	err := cmd.Wait()
	if err != nil || !regexp.MustCompile(`Seeder sent [1-9][\d.]* \w?B to peers`).MatchString(out) {
		t.Errorf("planktos serve --seed ended with %v:\n%s", err, out)
	}
}

// TestSeedCommand: `planktos seed --tracker URL` seeds a package through a tracker of its own.
func TestSeedCommand(t *testing.T) {
	netns.Need(t)
	dir := hugoSite(t, nil)
	if code, _, errs := run(t, dir, "hugo"); code != 0 {
		t.Fatal(errs)
	}
	tr := tracker.New(tracker.Config{})
	srv := httptest.NewServer(tr)
	defer srv.Close()
	defer tr.Close()
	announce := "ws" + strings.TrimPrefix(srv.URL, "http") + "/announce"
	cmd, _, rest := started(t, dir, `seeding revision`, "seed", "--tracker", announce, "--max-peers", "5",
		"--upload-rate", "10MiB", "public")
	leechAll(t, filepath.Join(dir, "public"), announce)
	cmd.Process.Signal(os.Interrupt)
	out := rest() // to the end of stderr, before Wait closes it
	err := cmd.Wait()
	if err != nil || !regexp.MustCompile(`Stopped; sent [1-9][\d.]* \w?B to peers`).MatchString(out) {
		t.Errorf("planktos seed ended with %v:\n%s", err, out)
	}
}

// TestSeedErrors: a folder without a package, or a package naming no WebSocket tracker, is a usage
// error (exit 2) that says what to do.
func TestSeedErrors(t *testing.T) {
	dir := hugoSite(t, nil)
	code, _, errs := run(t, dir, "seed", "public")
	if code != 2 || !strings.Contains(errs, "planktos hugo") {
		t.Errorf("seed before packaging: exit %d, %q", code, errs)
	}
	cmd := exec.Command(bin, "hugo")
	cmd.Dir = dir // no PLANKTOS_TRACKERS: the package names no tracker
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	cmd = exec.Command(bin, "seed", "public")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 || !strings.Contains(string(out), "tracker") {
		t.Errorf("seed without a tracker: %v, %s", err, out)
	}
}
