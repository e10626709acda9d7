package serve_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/planktos/planktos/serve"
)

func site(t *testing.T) string {
	dir := t.TempDir()
	files := map[string]string{
		"index.html":            "<html>home</html>",
		"posts/a/index.html":    "<html>a</html>",
		"404.html":              "<html>not here</html>",
		"planktos.sw.js":        "// sw",
		"planktos/files/abc123": "0123456789",
	}
	for p, c := range files {
		full := filepath.Join(dir, p)
		os.MkdirAll(filepath.Dir(full), 0o755)
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestServe(t *testing.T) {
	for _, base := range []string{"/", "/project/"} {
		h := &serve.Handler{Dir: site(t), Base: base}
		srv := httptest.NewServer(h)
		defer srv.Close()
		cases := []struct {
			path, rangeHdr string
			status         int
			body, cache    string
			contentRange   string
		}{
			{"", "", 200, "<html>home</html>", "no-cache", ""},
			{"posts/a/", "", 200, "<html>a</html>", "no-cache", ""},
			{"posts/a/index.html", "", 200, "<html>a</html>", "no-cache", ""},
			{"planktos/files/abc123", "", 200, "0123456789", "public, max-age=31536000, immutable", ""},
			{"planktos/files/abc123", "bytes=2-4", 206, "234", "public, max-age=31536000, immutable", "bytes 2-4/10"},
			{"planktos/files/abc123", "bytes=7-", 206, "789", "public, max-age=31536000, immutable", "bytes 7-9/10"},
			{"planktos/files/abc123", "bytes=-2", 206, "89", "public, max-age=31536000, immutable", "bytes 8-9/10"},
			{"planktos/files/abc123", "bytes=20-", 416, "", "", "bytes */10"}, // errors are not cached
			{"planktos.sw.js", "", 200, "// sw", "no-cache", ""},
			{"missing/", "", 404, "<html>not here</html>", "no-cache", ""},
			{"../../etc/passwd", "", 404, "<html>not here</html>", "no-cache", ""},
		}
		for _, c := range cases {
			req, _ := http.NewRequest("GET", srv.URL+base+c.path, nil)
			if c.rangeHdr != "" {
				req.Header.Set("Range", c.rangeHdr)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != c.status || (c.status != 416 && string(body) != c.body) ||
				resp.Header.Get("Cache-Control") != c.cache || resp.Header.Get("Content-Range") != c.contentRange {
				t.Errorf("%s%s %q: %d %q cache %q range %q", base, c.path, c.rangeHdr, resp.StatusCode, body,
					resp.Header.Get("Cache-Control"), resp.Header.Get("Content-Range"))
			}
		}
		if got := h.Sent.Load(); got == 0 {
			t.Error("Sent counted nothing")
		}
	}
}

func TestServeRedirectsAndLog(t *testing.T) {
	var logBuf bytes.Buffer
	h := &serve.Handler{Dir: site(t), Base: "/project/"}
	h.Log = log.New(&logBuf, "", 0)
	srv := httptest.NewServer(h)
	defer srv.Close()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for path, want := range map[string]string{"/project": "/project/", "/project/posts/a": "/project/posts/a/"} {
		resp, err := client.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 301 || resp.Header.Get("Location") != want {
			t.Errorf("%s: %d to %q, want 301 to %q", path, resp.StatusCode, resp.Header.Get("Location"), want)
		}
	}
	resp, _ := http.Get(srv.URL + "/project/planktos/files/abc123")
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if !strings.Contains(logBuf.String(), "GET /project/planktos/files/abc123 200 10 ") {
		t.Errorf("log lacks the request with its byte count:\n%s", logBuf.String())
	}
	resp, _ = http.Post(srv.URL+"/project/", "text/plain", nil)
	resp.Body.Close()
	if resp.StatusCode != 405 {
		t.Errorf("POST: %d", resp.StatusCode)
	}
}

func TestServeLocalTracker(t *testing.T) {
	dir := site(t)
	manifest := `{"version":1,"revision":"r1","trackers":["wss://tracker.example.org/announce"],"files":{}}`
	os.WriteFile(filepath.Join(dir, "planktos/manifest.json"), []byte(manifest), 0o644)
	tracker := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "tracker") })
	h := &serve.Handler{Dir: dir, Base: "/project/", Tracker: tracker, LocalTracker: true}
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/project/planktos/manifest.json")
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Revision string
		Trackers []string
	}
	json.NewDecoder(resp.Body).Decode(&m)
	resp.Body.Close()
	want := "ws://" + strings.TrimPrefix(srv.URL, "http://") + "/announce"
	if len(m.Trackers) != 1 || m.Trackers[0] != want || m.Revision != "r1" {
		t.Errorf("served manifest %+v, want trackers [%s] and the same revision", m, want)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "planktos/manifest.json")); string(b) != manifest {
		t.Error("the manifest on disk changed")
	}
	resp, _ = http.Get(srv.URL + "/announce")
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "tracker" {
		t.Errorf("/announce reached %q, not the tracker", body)
	}
}

func TestServeETags(t *testing.T) {
	dir := site(t)
	os.WriteFile(filepath.Join(dir, "planktos/manifest.json"), []byte(`{"revision":"a"}`), 0o644)
	srv := httptest.NewServer(&serve.Handler{Dir: dir})
	defer srv.Close()
	for _, p := range []string{"/planktos/manifest.json", "/planktos/files/abc123"} {
		resp, err := http.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		tag := resp.Header.Get("ETag")
		if tag == "" {
			t.Fatalf("%s: no ETag", p)
		}
		req, _ := http.NewRequest("GET", srv.URL+p, nil)
		req.Header.Set("If-None-Match", tag)
		resp, err = http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotModified {
			t.Errorf("%s with If-None-Match: %d, want 304", p, resp.StatusCode)
		}
	}
	// repackaging renames a new manifest onto the old one
	os.WriteFile(filepath.Join(dir, "planktos/manifest.json.new"), []byte(`{"revision":"b"}`), 0o644)
	os.Rename(filepath.Join(dir, "planktos/manifest.json.new"), filepath.Join(dir, "planktos/manifest.json"))
	resp, _ := http.Get(srv.URL + "/planktos/manifest.json")
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.Header.Get("ETag") == "" || resp.StatusCode != 200 || string(body) != `{"revision":"b"}` {
		t.Errorf("changed manifest: %d %q", resp.StatusCode, body)
	}
}
