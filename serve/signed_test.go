package serve_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/planktos/planktos/manifest"
	"github.com/planktos/planktos/serve"
)

// signedSite is site() with the golden signed manifest and its signature.
func signedSite(t *testing.T) (dir string, body, sig []byte) {
	t.Helper()
	dir = site(t)
	for _, f := range [][2]string{{"golden.json", manifest.Path}, {"golden.sig", manifest.SigPath}} {
		b, err := os.ReadFile(filepath.Join("../manifest/testdata", f[0]))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.FromSlash(f[1])), b, 0o644); err != nil {
			t.Fatal(err)
		}
		if f[1] == manifest.Path {
			body = b
		} else {
			sig = b
		}
	}
	return dir, body, sig
}

// request GETs url with the Host header host (if not empty), and returns the response and its body.
func request(t *testing.T, url, host string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if host != "" {
		req.Host = host
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

// TestServeSignedPreview: a preview (LocalTracker, STUNPort) serves a signed manifest's exact bytes, so
// that its signature still verifies, and says where its tracker and STUN server are in headers instead:
// X-Planktos-Trackers is this server's /announce, X-Planktos-Ice-Servers its STUN server first and then
// the package's own servers. The ETag follows the headers (the Host the request named); manifest.sig is
// served as it is and revalidated; without LocalTracker no header is added.
func TestServeSignedPreview(t *testing.T) {
	dir, body, sig := signedSite(t)
	m, err := manifest.Parse(body)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := manifest.ParseKey(m.Key)
	if err != nil {
		t.Fatal(err)
	}
	tracker := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	srv := httptest.NewServer(&serve.Handler{Dir: dir, Tracker: tracker, LocalTracker: true, STUNPort: 3478})
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")

	resp, got := request(t, srv.URL+"/"+manifest.Path, "")
	if !bytes.Equal(got, body) {
		t.Fatalf("served a signed manifest of %d bytes, not the file's %d", len(got), len(body))
	}
	if err := manifest.Verify(pub, got, sig); err != nil {
		t.Errorf("served manifest: %v", err)
	}
	var trackers []string
	if err := json.Unmarshal([]byte(resp.Header.Get(serve.TrackersHeader)), &trackers); err != nil ||
		len(trackers) != 1 || trackers[0] != "ws://"+host+"/announce" {
		t.Errorf("%s: %q (%v), want [ws://%s/announce]", serve.TrackersHeader, resp.Header.Get(serve.TrackersHeader), err, host)
	}
	var ice []manifest.ICEServer
	if err := json.Unmarshal([]byte(resp.Header.Get(serve.ICEServersHeader)), &ice); err != nil {
		t.Fatalf("%s: %q: %v", serve.ICEServersHeader, resp.Header.Get(serve.ICEServersHeader), err)
	}
	want := append([]manifest.ICEServer{{URLs: []string{"stun:127.0.0.1:3478"}}}, m.Runtime.ICEServers...)
	if len(ice) != len(want) || ice[0].URLs[0] != want[0].URLs[0] || ice[2].Credential != want[2].Credential ||
		strings.Join(ice[2].URLs, " ") != strings.Join(want[2].URLs, " ") {
		t.Errorf("%s: %+v, want %+v", serve.ICEServersHeader, ice, want)
	}
	if resp.Header.Get("Cache-Control") != "no-cache" {
		t.Errorf("manifest Cache-Control %q", resp.Header.Get("Cache-Control"))
	}

	other, _ := request(t, srv.URL+"/"+manifest.Path, "preview.test:8080")
	if !strings.Contains(other.Header.Get(serve.ICEServersHeader), "stun:preview.test:3478") ||
		other.Header.Get(serve.TrackersHeader) != `["ws://preview.test:8080/announce"]` ||
		other.Header.Get("ETag") == resp.Header.Get("ETag") {
		t.Errorf("for Host preview.test:8080: %v", other.Header)
	}

	resp, got = request(t, srv.URL+"/"+manifest.SigPath, "")
	if resp.StatusCode != 200 || !bytes.Equal(got, sig) || resp.Header.Get("Cache-Control") != "no-cache" {
		t.Errorf("manifest.sig: %d %q, Cache-Control %q", resp.StatusCode, got, resp.Header.Get("Cache-Control"))
	}

	plain := httptest.NewServer(&serve.Handler{Dir: dir})
	defer plain.Close()
	resp, got = request(t, plain.URL+"/"+manifest.Path, "")
	if !bytes.Equal(got, body) || resp.Header.Get(serve.TrackersHeader) != "" || resp.Header.Get(serve.ICEServersHeader) != "" {
		t.Errorf("without LocalTracker: %d bytes, headers %v", len(got), resp.Header)
	}
}

// TestServeSignedNoSTUN: without STUNPort a preview of a signed manifest sends the tracker header only.
func TestServeSignedNoSTUN(t *testing.T) {
	dir, body, _ := signedSite(t)
	srv := httptest.NewServer(&serve.Handler{Dir: dir, Tracker: http.NotFoundHandler(), LocalTracker: true})
	defer srv.Close()
	resp, got := request(t, srv.URL+"/"+manifest.Path, "")
	if !bytes.Equal(got, body) || resp.Header.Get(serve.TrackersHeader) == "" ||
		resp.Header.Get(serve.ICEServersHeader) != "" {
		t.Errorf("%d bytes, headers %v", len(got), resp.Header)
	}
}
