package main_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/planktos/planktos/internal/testsite"
)

// TestHugoConfigReader: with a hugo on PATH (here a wrapper running the pinned one) planktos hugo asks
// it for the configuration and says so; without one it reads the files itself and says that.
func TestHugoConfigReader(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: runs the pinned Hugo")
	}
	root, err := testsite.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	withHugo := t.TempDir()
	script := "#!/bin/sh\ncd '" + root + "' && CGO_ENABLED=0 GOWORK=off exec go tool -modfile=tools/hugo.mod hugo \"$@\"\n"
	if err := os.WriteFile(filepath.Join(withHugo, "hugo"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	goDir := filepath.Dir(goBinary(t))
	for _, tc := range []struct{ path, want string }{
		{withHugo + ":" + goDir, "hugo config"},
		{goDir, "built-in"},
	} {
		dir := hugoSite(t, nil)
		code, out, errs := runEnv(t, dir, []string{"PATH=" + tc.path}, "hugo", "--json")
		if code != 0 {
			t.Fatalf("PATH=%s: exit %d: %s", tc.path, code, errs)
		}
		var res struct {
			Packages []struct {
				BaseURL    string `json:"baseURL"`
				HugoConfig string `json:"hugoConfig"`
			} `json:"packages"`
		}
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		if len(res.Packages) != 1 || res.Packages[0].HugoConfig != tc.want ||
			res.Packages[0].BaseURL != "https://example.org/blog/" {
			t.Errorf("PATH=%s: %+v, want hugoConfig %q", tc.path, res.Packages, tc.want)
		}
		if code, out, _ := runEnv(t, dir, []string{"PATH=" + tc.path}, "hugo"); code != 0 ||
			!strings.Contains(out, "configuration read by "+tc.want) {
			t.Errorf("PATH=%s: exit %d, output does not name %q:\n%s", tc.path, code, tc.want, out)
		}
	}
}

// goBinary is the go command running the tests (hugo's wrapper needs it, and nothing else, on PATH).
func goBinary(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go on PATH")
	}
	return p
}
