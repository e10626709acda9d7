package main_test

import (
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/planktos/planktos/serve"
	"github.com/planktos/planktos/stun"
	"github.com/planktos/planktos/tracker"
)

// verifyResult is what `planktos verify --json` prints.
type verifyResult struct {
	Target string `json:"target"`
	OK     bool   `json:"ok"`
	Checks []struct {
		Name    string  `json:"name"`
		OK      bool    `json:"ok"`
		Status  string  `json:"status"`
		Message string  `json:"message"`
		Fix     *string `json:"fix"`
	} `json:"checks"`
}

// TestVerify packages a Hugo site for the address `planktos serve`'s handler serves it at, with a planktos
// STUN server in its ice_servers, verifies the folder and the URL (all fine), then breaks the store and
// expects exit 1 with the failed checks and their fixes, in human output and in JSON.
func TestVerify(t *testing.T) {
	st, err := stun.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	dir := hugoSite(t, map[string]string{"planktos.toml": "ice_servers = [{ urls = [\"stun:" + st.Addr().String() + "\"] }]\n"})
	tr := tracker.New(tracker.Config{})
	defer tr.Close()
	srv := httptest.NewServer(&serve.Handler{Dir: filepath.Join(dir, "public"), Base: "/blog/", Tracker: tr})
	defer srv.Close()
	site := srv.URL + "/blog/"
	announce := "ws" + strings.TrimPrefix(srv.URL, "http") + "/announce"
	if code, out, errs := run(t, dir, "hugo", "--baseURL", site, "--trackers", announce); code != 0 {
		t.Fatalf("hugo: exit %d\n%s%s", code, out, errs)
	}

	code, out, errs := run(t, dir, "verify", "public")
	for _, want := range []string{"Verifying public", "[Package]", "✓ store:", "✓ pages:", "[Hosting]", "- range requests:",
		"✓ trackers:", "[ICE servers]", "✓ ice servers: 1 ICE server answered: stun:127.0.0.1:",
		"Verified public: all 12 checks fine"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("verify public: exit %d, output lacks %q:\n%s%s", code, want, out, errs)
		}
	}

	code, out, errs = run(t, dir, "verify", "--json", site)
	var res verifyResult
	if err := json.Unmarshal([]byte(out), &res); err != nil || code != 0 || !res.OK || len(res.Checks) != 12 {
		t.Fatalf("verify --json %s: exit %d, %v, %+v\n%s%s", site, code, err, res, out, errs)
	}
	for _, c := range res.Checks {
		if !c.OK || c.Status != "pass" || c.Message == "" || c.Fix == nil {
			t.Errorf("check %+v", c)
		}
	}

	var m struct {
		Files map[string]struct{ SHA256 string }
	}
	b, _ := os.ReadFile(filepath.Join(dir, "public/planktos/manifest.json"))
	json.Unmarshal(b, &m)
	if err := os.Remove(filepath.Join(dir, "public/planktos/files", m.Files["css/x.css"].SHA256)); err != nil {
		t.Fatal(err)
	}
	code, out, errs = run(t, dir, "verify", site)
	for _, want := range []string{"✗ store:", "is missing", "  fix: run `planktos hugo`", "✓ pages:", "2 of 12 checks failed"} {
		if code != 1 || !strings.Contains(out, want) {
			t.Errorf("broken store: exit %d, output lacks %q:\n%s", code, want, out)
		}
	}
	if !strings.Contains(errs, "error: 2 of 12 checks failed: store, torrents") {
		t.Errorf("stderr %q", errs)
	}
	if code, out, errs = run(t, dir, "verify", "--quiet", site); code != 1 || out != "" || !strings.Contains(errs, "✗ store:") {
		t.Errorf("--quiet: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	code, out, _ = run(t, dir, "verify", "--json", site)
	res = verifyResult{}
	if err := json.Unmarshal([]byte(out), &res); err != nil || code != 1 || res.OK {
		t.Fatalf("broken store, --json: exit %d, %v, %s", code, err, out)
	}
	for _, c := range res.Checks {
		if broken := c.Name == "store" || c.Name == "torrents"; broken == c.OK || (broken && (c.Fix == nil || *c.Fix == "")) {
			t.Errorf("broken store, check %+v", c)
		}
	}
}

func TestVerifyBadTarget(t *testing.T) {
	for _, args := range [][]string{{"verify", "ftp://example.org/"}, {"verify", "missing"}, {"verify"},
		{"verify", "--sample", "lots", "public"}} {
		if code, _, errs := run(t, t.TempDir(), args...); code != 2 || !strings.Contains(errs, "error") {
			t.Errorf("%v: exit %d, stderr %q; want 2 and an error", args, code, errs)
		}
	}
}

func TestVerifyHelp(t *testing.T) {
	code, out, _ := run(t, t.TempDir(), "verify", "--help")
	if ex := strings.Index(out, "Examples:"); code != 0 || ex < 0 || !strings.Contains(out[ex:], "planktos verify https://") {
		t.Errorf("verify --help: exit %d, no example:\n%s", code, out)
	}
}

// TestVerifyNoSTUN: a package with trackers and no ice_servers fails the ICE check, even as a folder,
// with the fix that names the STUN server to add.
func TestVerifyNoSTUN(t *testing.T) {
	dir := hugoSite(t, nil)
	if code, out, errs := run(t, dir, "hugo"); code != 0 {
		t.Fatalf("hugo: exit %d\n%s%s", code, out, errs)
	}
	code, out, errs := run(t, dir, "verify", "public")
	for _, want := range []string{"✗ ice servers: no STUN server:", `fix: add a STUN server to planktos.toml, e.g. ice_servers = [{ urls = ["stun:127.0.0.1:3478"] }]`} {
		if code != 1 || !strings.Contains(out, want) {
			t.Errorf("exit %d, output lacks %q:\n%s%s", code, want, out, errs)
		}
	}
}
