package main_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/anacrolix/torrent/metainfo"
	"github.com/planktos/planktos/manifest"
)

// `planktos hugo` killed with SIGKILL at 20 random points, between edits of the site (what a crash, an
// OOM kill or a power cut does): after every kill the publish folder holds a whole package — its
// manifest parses, every torrent it lists is there with that infohash, every store file it names is
// there with that content — and it is the previous revision or the new one. A last, uninterrupted run
// gives the newest revision and leaves no temporary file behind. The seed of the kill points is logged;
// PLANKTOS_KILL_SEED=SEED replays them (as fractions of the uninterrupted run, timed again).
func TestKilledPackagingLeavesAWholePackage(t *testing.T) {
	dir := hugoSite(t, nil)
	public := filepath.Join(dir, "public")
	edit := func(round int) {
		for i := range 400 {
			page := filepath.Join(public, "p", fmt.Sprint(i), "index.html")
			os.MkdirAll(filepath.Dir(page), 0o755)
			body := strings.Repeat(fmt.Sprintf("page %d, round %d. ", i, round*(i%3)), 200)
			os.WriteFile(page, []byte("<!doctype html><html><head><title>p</title></head><body>"+body+"</body></html>"), 0o644)
		}
		big := make([]byte, 3<<20)
		rand.NewChaCha8([32]byte{byte(round)}).Read(big)
		os.WriteFile(filepath.Join(public, "media", "clip.bin"), big, 0o644)
		os.Remove(filepath.Join(public, fmt.Sprintf("round-%d.txt", round-1)))
		os.WriteFile(filepath.Join(public, fmt.Sprintf("round-%d.txt", round)), []byte(fmt.Sprint(round)), 0o644)
	}
	os.MkdirAll(filepath.Join(public, "media"), 0o755)
	edit(0)
	start := time.Now()
	if code, out, errs := run(t, dir, "hugo", "-q"); code != 0 {
		t.Fatalf("first run: exit %d: %s %s", code, out, errs)
	}
	full := time.Since(start)
	prev := wholePackage(t, public)

	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("PLANKTOS_KILL_SEED"); s != "" { // replay a run's kill points
		if _, err := fmt.Sscan(s, &seed); err != nil {
			t.Fatalf("PLANKTOS_KILL_SEED=%q: %v", s, err)
		}
	}
	rng := rand.New(rand.NewPCG(seed, 0))
	kept := 0
	t.Logf("an uninterrupted run takes %v; kill points from seed %d (replay: PLANKTOS_KILL_SEED=%d)",
		full.Round(time.Millisecond), seed, seed)
	for round := 1; round <= 20; round++ {
		edit(round)
		at := time.Duration(rng.Float64() * float64(full)) // a fraction of the run: a replay kills at the same stages
		cmd := exec.Command(bin, "hugo", "-q")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "PLANKTOS_TRACKERS=ws://127.0.0.1:9/announce")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(at)
		cmd.Process.Signal(syscall.SIGKILL)
		err := cmd.Wait()
		rev := wholePackage(t, public)
		if t.Failed() {
			t.Fatalf("round %d, killed after %v (%v): the package is not whole; replay with PLANKTOS_KILL_SEED=%d",
				round, at, err, seed)
		}
		if rev == prev {
			kept++ // killed before the switch: the previous package, whole
		}
		prev = rev
	}
	t.Logf("%d kills left the previous package, %d the new one (the run had switched)", kept, 20-kept)
	if code, out, errs := run(t, dir, "hugo", "-q"); code != 0 {
		t.Fatalf("last run: exit %d: %s %s", code, out, errs)
	}
	final := wholePackage(t, public)
	// the last content round is 20: the manifest must list it and not round 19's file
	m := readManifestAt(t, public)
	if _, ok := m.Files["round-20.txt"]; !ok || final == "" {
		t.Error("the last run's package does not list round-20.txt")
	}
	if _, ok := m.Files["round-19.txt"]; ok {
		t.Error("the last run's package still lists round-19.txt")
	}
	filepath.WalkDir(public, func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(d.Name(), ".planktos-tmp-") {
			t.Errorf("temporary file left behind: %s", p)
		}
		return nil
	})
}

func readManifestAt(t *testing.T, public string) manifest.Manifest {
	t.Helper()
	var m manifest.Manifest
	b, err := os.ReadFile(filepath.Join(public, "planktos", "manifest.json"))
	if err == nil {
		err = json.Unmarshal(b, &m)
	}
	if err != nil {
		t.Fatalf("manifest: %v", err)
	}
	return m
}

// wholePackage checks the package in public is complete and consistent, and returns its revision.
func wholePackage(t *testing.T, public string) string {
	t.Helper()
	m := readManifestAt(t, public)
	for _, f := range []string{"planktos.sw.js", "planktos/install.js", "planktos/peer.js", "planktos/root.torrent"} {
		if _, err := os.Stat(filepath.Join(public, f)); err != nil {
			t.Errorf("revision %.12s: %s missing", m.Revision, f)
		}
	}
	for _, tr := range m.Torrents {
		mi, err := metainfo.LoadFromFile(filepath.Join(public, filepath.FromSlash(tr.URL)))
		if err != nil {
			t.Errorf("revision %.12s: torrent %s: %v", m.Revision, tr.URL, err)
			continue
		}
		if ih := mi.HashInfoBytes().HexString(); ih != tr.InfoHash {
			t.Errorf("revision %.12s: %s has infohash %s, manifest says %s", m.Revision, tr.URL, ih, tr.InfoHash)
		}
	}
	checked := map[string]bool{}
	for key, f := range m.Files {
		if checked[f.SHA256] {
			continue
		}
		checked[f.SHA256] = true
		b, err := os.ReadFile(filepath.Join(public, "planktos", "files", f.SHA256))
		if err != nil || int64(len(b)) != f.Size {
			t.Errorf("revision %.12s: store copy of %s: %v (%d bytes, want %d)", m.Revision, key, err, len(b), f.Size)
			continue
		}
		if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != f.SHA256 {
			t.Errorf("revision %.12s: store copy of %s does not hash to its name", m.Revision, key)
		}
	}
	if len(checked) == 0 {
		t.Errorf("revision %.12s lists no file", m.Revision)
	}
	return m.Revision
}
