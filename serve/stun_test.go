package serve_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/planktos/planktos/serve"
)

// TestServeLocalSTUN: with LocalTracker and STUNPort, the served manifest's runtime.iceServers starts
// with this host's STUN server (the host the request named, the STUN server's port), before the package's
// own servers; every other runtime setting is kept, the cached manifest follows the Host header, and
// without STUNPort nothing is added.
func TestServeLocalSTUN(t *testing.T) {
	dir := site(t)
	manifest := `{"version":1,"revision":"r1","trackers":["wss://t.example.org/announce"],"files":{},` +
		`"runtime":{"p2p":"on","iceServers":[{"urls":["turn:turn.example.org"],"username":"u","credential":"c"}]}}`
	os.WriteFile(filepath.Join(dir, "planktos/manifest.json"), []byte(manifest), 0o644)
	tracker := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	h := &serve.Handler{Dir: dir, Tracker: tracker, LocalTracker: true, STUNPort: 3478}
	srv := httptest.NewServer(h)
	defer srv.Close()
	type ice struct {
		URLs       []string `json:"urls"`
		Username   string   `json:"username"`
		Credential string   `json:"credential"`
	}
	get := func(host string) (servers []ice, p2p string, etag string) {
		t.Helper()
		resp, body := request(t, srv.URL+"/planktos/manifest.json", host)
		var m struct {
			Runtime struct {
				P2P        string `json:"p2p"`
				ICEServers []ice  `json:"iceServers"`
			}
		}
		if err := json.Unmarshal(body, &m); err != nil {
			t.Fatal(err)
		}
		return m.Runtime.ICEServers, m.Runtime.P2P, resp.Header.Get("ETag")
	}
	servers, p2p, tag1 := get("")
	if len(servers) != 2 || strings.Join(servers[0].URLs, " ") != "stun:127.0.0.1:3478" ||
		servers[1].URLs[0] != "turn:turn.example.org" || servers[1].Credential != "c" || p2p != "on" {
		t.Errorf("served iceServers %+v, p2p %q; want this server's STUN, then the package's TURN", servers, p2p)
	}
	servers, _, tag2 := get("preview.test:8080")
	if len(servers) != 2 || servers[0].URLs[0] != "stun:preview.test:3478" || tag1 == tag2 {
		t.Errorf("for Host preview.test:8080: %+v (ETag %s, before %s)", servers, tag2, tag1)
	}
	servers, _, _ = get("[::1]:8080")
	if len(servers) != 2 || servers[0].URLs[0] != "stun:[::1]:3478" {
		t.Errorf("for Host [::1]:8080: %+v", servers)
	}

	// a package without runtime settings gets just this server's STUN
	os.WriteFile(filepath.Join(dir, "planktos/manifest.json"), []byte(`{"version":1,"trackers":[]}`), 0o644)
	if servers, _, _ = get(""); len(servers) != 1 || servers[0].URLs[0] != "stun:127.0.0.1:3478" {
		t.Errorf("without runtime: %+v", servers)
	}
	// a package that already lists it does not get it twice
	os.WriteFile(filepath.Join(dir, "planktos/manifest.json"),
		[]byte(`{"version":1,"runtime":{"iceServers":[{"urls":["stun:127.0.0.1:3478"]}]}}`), 0o644)
	if servers, _, _ = get(""); len(servers) != 1 {
		t.Errorf("listed twice: %+v", servers)
	}
	h2 := &serve.Handler{Dir: dir, Tracker: tracker, LocalTracker: true}
	srv2 := httptest.NewServer(h2)
	defer srv2.Close()
	resp, _ := http.Get(srv2.URL + "/planktos/manifest.json")
	var m map[string]json.RawMessage
	json.NewDecoder(resp.Body).Decode(&m)
	resp.Body.Close()
	if string(m["runtime"]) != `{"iceServers":[{"urls":["stun:127.0.0.1:3478"]}]}` {
		t.Errorf("without STUNPort the runtime changed: %s", m["runtime"])
	}
}
