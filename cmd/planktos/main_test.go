package main_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

var bin string // the planktos binary under test

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "planktos-cli")
	if err != nil {
		panic(err)
	}
	bin = filepath.Join(dir, "planktos")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		panic(string(out))
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// run executes planktos in dir and returns its exit code, stdout and stderr.
func run(t *testing.T, dir string, args ...string) (int, string, string) {
	t.Helper()
	return runEnv(t, dir, nil, args...)
}

// runEnv is run with env added to the environment.
func runEnv(t *testing.T, dir string, env []string, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), "PLANKTOS_TRACKERS=ws://127.0.0.1:9/announce"), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), out.String(), errb.String()
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0, out.String(), errb.String()
}

// hugoSite writes a Hugo site whose public/ folder looks built.
func hugoSite(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	all := map[string]string{
		"hugo.toml":                    "baseURL = 'https://example.org/blog/'\ntitle = 't'\n",
		"public/index.html":            "<!doctype html><html><head><title>t</title></head><body>hi</body></html>",
		"public/posts/a b#c?d%e/ü.txt": "special",
		"public/css/x.css":             "body{}",
	}
	for k, v := range files {
		all[k] = v
	}
	for p, c := range all {
		full := filepath.Join(dir, p)
		os.MkdirAll(filepath.Dir(full), 0o755)
		if c == "<dir>" {
			continue
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestHugoPackagesAndReports(t *testing.T) {
	dir := hugoSite(t, nil)
	code, out, errs := run(t, dir, "hugo", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s %s", code, out, errs)
	}
	var res struct {
		Packages []struct {
			BaseURL  string `json:"baseURL"`
			Files    int    `json:"files"`
			Revision string `json:"revision"`
			Torrents []struct {
				InfoHash string `json:"infohash"`
			} `json:"torrents"`
		} `json:"packages"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("--json printed %q: %v", out, err)
	}
	if len(res.Packages) != 1 || res.Packages[0].BaseURL != "https://example.org/blog/" || res.Packages[0].Files != 3 ||
		len(res.Packages[0].Torrents) != 1 {
		t.Errorf("unexpected result %+v", res)
	}
	m, err := os.ReadFile(filepath.Join(dir, "public/planktos/manifest.json"))
	if err != nil || !strings.Contains(string(m), `"posts/a b#c?d%e/ü.txt"`) || !strings.Contains(string(m), `"base": "/blog/"`) {
		t.Errorf("manifest lacks the special file name or base: %s", m)
	}
	code, out, _ = run(t, dir, "hugo")
	for _, want := range []string{"Running planktos", "[Walking publish directory]", "[Hashing and storing files]",
		"[Building torrents]", "Packaged 3 files"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("human output lacks %q (exit %d):\n%s", want, code, out)
		}
	}
	if code, out, _ = run(t, dir, "hugo", "--quiet"); code != 0 || out != "" {
		t.Errorf("--quiet printed %q", out)
	}
}

func TestBadInput(t *testing.T) {
	cases := []struct {
		name  string
		files map[string]string // applied after a first, successful run
		args  []string
		code  int
		want  string
	}{
		{"no Hugo config", map[string]string{"hugo.toml": ""}, []string{"hugo", "-s", "nosite"}, 2, "no Hugo configuration"},
		{"publish dir missing", nil, []string{"hugo", "-d", "elsewhere"}, 1, "run `hugo` first"},
		{"publish dir empty", map[string]string{"empty/x": "<dir>"}, []string{"hugo", "-d", "empty"}, 1, "run `hugo` first"},
		{"malformed planktos.toml", map[string]string{"planktos.toml": "trackers = [\n"}, []string{"hugo"}, 2, "not valid TOML"},
		{"unknown planktos.toml key", map[string]string{"planktos.toml": "tracker = ['wss://t.example.org']\n"},
			[]string{"hugo"}, 2, `did you mean "trackers"`},
		{"bad enum value", map[string]string{"planktos.toml": "p2p = 'sometimes'\n"}, []string{"hugo"}, 2, "not one of on, download-only, off"},
		{"malformed hugo.toml", map[string]string{"hugo.toml": "baseURL = \n"}, []string{"hugo"}, 2, "hugo.toml"},
		{"baseURL without scheme", map[string]string{"hugo.toml": "baseURL = 'example.org'\n"}, []string{"hugo"}, 2,
			`"https://example.org/"`},
		{"baseURL unset", map[string]string{"hugo.toml": "title = 'x'\n"}, []string{"hugo"}, 2, "baseURL is not set"},
		{"bad flag value", nil, []string{"hugo", "--inject", "sometimes"}, 2, "inject"},
		{"unknown flag", nil, []string{"hugo", "--bogus"}, 2, "unknown flag"},
		{"pack without base URL", nil, []string{"pack", "public"}, 2, "--base-url is required"},
		{"pack of a missing folder", nil, []string{"pack", "--base-url", "https://x.org/", "nothing"}, 1, "run `hugo`"},
		{"bad tracker URL", nil, []string{"hugo", "--trackers", "tracker.example.org"}, 2, "is not a URL"},
		{"pack without a folder", nil, []string{"pack", "--base-url", "https://x.org/"}, 2, "Run 'planktos pack --help'"},
		{"serve with two folders", nil, []string{"serve", "a", "b"}, 2, "accepts at most 1 arg"},
		{"unknown command", nil, []string{"pakc", "public"}, 2, `unknown command "pakc"`},
		{"hugo with an argument", nil, []string{"hugo", "public"}, 2, "unknown command"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := hugoSite(t, nil)
			if code, out, errs := run(t, dir, "hugo"); code != 0 {
				t.Fatalf("first run: exit %d\n%s%s", code, out, errs)
			}
			manifest, _ := os.ReadFile(filepath.Join(dir, "public/planktos/manifest.json"))
			hugoSiteOverlay(t, dir, tc.files)
			code, _, errs := run(t, dir, tc.args...)
			if code != tc.code || !strings.Contains(errs, tc.want) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", code, errs, tc.code, tc.want)
			}
			if after, _ := os.ReadFile(filepath.Join(dir, "public/planktos/manifest.json")); !bytes.Equal(after, manifest) {
				t.Error("the previous package's manifest changed")
			}
		})
	}
}

func TestSymlinkEscapingTheSite(t *testing.T) {
	dir := hugoSite(t, nil)
	if code, _, errs := run(t, dir, "hugo"); code != 0 {
		t.Fatal(errs)
	}
	secret := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(secret, []byte("secret"), 0o600)
	if err := os.Symlink(secret, filepath.Join(dir, "public/leak.txt")); err != nil {
		t.Fatal(err)
	}
	code, _, errs := run(t, dir, "hugo")
	if code != 1 || !strings.Contains(errs, "symlink points outside the publish directory") {
		t.Errorf("exit %d: %s", code, errs)
	}
	// A symlink inside the site is followed.
	os.Remove(filepath.Join(dir, "public/leak.txt"))
	os.Symlink("css/x.css", filepath.Join(dir, "public/alias.css"))
	if code, _, errs = run(t, dir, "hugo"); code != 0 {
		t.Errorf("inner symlink: exit %d: %s", code, errs)
	}
}

func TestJSONError(t *testing.T) {
	code, out, _ := run(t, t.TempDir(), "pack", "--json", "--base-url", "https://x.org/", "missing")
	var v struct{ Error string }
	if code != 1 || json.Unmarshal([]byte(out), &v) != nil || !strings.Contains(v.Error, "missing") {
		t.Errorf("exit %d, stdout %q", code, out)
	}
}

func TestHelpShowsExamples(t *testing.T) {
	for _, c := range []string{"hugo", "pack", "serve", "tracker", "version"} {
		code, out, _ := run(t, t.TempDir(), c, "--help")
		if ex := strings.Index(out, "Examples:"); code != 0 || ex < 0 || !strings.Contains(out[ex:], "planktos "+c) {
			t.Errorf("%s --help: exit %d, no example:\n%s", c, code, out)
		}
	}
}

func hugoSiteOverlay(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for p, c := range files {
		full := filepath.Join(dir, p)
		os.MkdirAll(filepath.Dir(full), 0o755)
		if c != "<dir>" {
			os.WriteFile(full, []byte(c), 0o644)
		}
	}
}

// TestServeWithTracker starts `planktos serve` on a packaged folder and checks that the served manifest
// points browsers at the server's own tracker, which answers WebSocket upgrades at /announce.
func TestServeWithTracker(t *testing.T) {
	dir := hugoSite(t, nil)
	if code, _, errs := run(t, dir, "hugo"); code != 0 {
		t.Fatal(errs)
	}
	cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--quiet", "public")
	cmd.Dir = dir
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Signal(os.Interrupt); cmd.Wait() }()
	var addr string
	buf := make([]byte, 4096)
	for addr == "" {
		n, err := stderr.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		if _, rest, ok := strings.Cut(string(buf[:n]), "Tracker at ws://"); ok {
			addr = strings.TrimSuffix(strings.Fields(rest)[0], "/announce")
		}
	}
	resp, err := http.Get("http://" + addr + "/blog/planktos/manifest.json")
	if err != nil {
		t.Fatal(err)
	}
	var m struct{ Trackers []string }
	json.NewDecoder(resp.Body).Decode(&m)
	resp.Body.Close()
	if len(m.Trackers) != 1 || m.Trackers[0] != "ws://"+addr+"/announce" {
		t.Errorf("served trackers %v, want this server's", m.Trackers)
	}
	req, _ := http.NewRequest("GET", "http://"+addr+"/announce", nil)
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Sec-WebSocket-Version", "13")
	req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Errorf("/announce answered %d, want 101", resp.StatusCode)
	}
}

// TestWarnsWithoutICEServers: `planktos hugo` and `planktos pack` say, on stderr and in --json's warnings,
// that trackers without ice_servers leave visitors behind NATs unable to reach each other, with the fix;
// an ice_servers entry in planktos.toml silences it.
func TestWarnsWithoutICEServers(t *testing.T) {
	dir := hugoSite(t, nil)
	const fix = `ice_servers = [{ urls = ["stun:127.0.0.1:3478"] }]`
	for _, args := range [][]string{{"hugo"}, {"pack", "--base-url", "https://example.org/blog/", "public"}} {
		code, _, errs := run(t, dir, args...)
		if code != 0 || !strings.Contains(errs, "warning: the package has trackers but no ice_servers") ||
			!strings.Contains(errs, fix) || !strings.Contains(errs, "planktos tracker --stun :3478") {
			t.Errorf("%v: exit %d, stderr lacks the warning and its fix:\n%s", args, code, errs)
		}
	}
	code, out, _ := run(t, dir, "hugo", "--json")
	var res struct{ Warnings []string }
	if err := json.Unmarshal([]byte(out), &res); code != 0 || err != nil || len(res.Warnings) != 1 ||
		!strings.Contains(res.Warnings[0], fix) {
		t.Errorf("--json: exit %d, warnings %q (%v)", code, res.Warnings, err)
	}
	hugoSiteOverlay(t, dir, map[string]string{"planktos.toml": "ice_servers = [{ urls = [\"stun:127.0.0.1:3478\"] }]\n"})
	if code, _, errs := run(t, dir, "hugo"); code != 0 || strings.Contains(errs, "ice_servers") {
		t.Errorf("with ice_servers: exit %d, stderr %q", code, errs)
	}
}
