package serve_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/planktos/planktos/serve"
	"github.com/planktos/planktos/status"
	"github.com/planktos/planktos/tracker"
)

// TestServeCounters: Served counts 2xx bodies (ranges included, 404 pages not), Requests every
// site request; the dashboard's and reports' routes reach their handlers and count in neither.
func TestServeCounters(t *testing.T) {
	h := &serve.Handler{Dir: site(t), Base: "/"}
	rp := tracker.NewReports(tracker.Config{}, tracker.ReportConfig{})
	d := status.New(status.Sources{Server: "serve", Reports: rp,
		Origin: func() (int64, int64) { return h.Served.Load(), h.Requests.Load() }}, status.Options{})
	defer d.Close()
	h.Status, h.Reports = d, rp
	srv := httptest.NewServer(h)
	defer srv.Close()
	get := func(path, rng string) int {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		if rng != "" {
			req.Header.Set("Range", rng)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	get("/", "")                                 // 17 bytes
	get("/planktos/files/abc123", "bytes=2-4")   // 3
	get("/missing/", "")                         // the 404 page: not served bytes
	if c := get(status.JSONPath, ""); c != 200 { // loopback client
		t.Fatalf("status.json: %d", c)
	}
	resp, err := http.Post(srv.URL+tracker.ReportPath, "text/plain",
		strings.NewReader(`{"v":1,"site":"http://x/","peers":5,"store":0,"http":0,"uploaded":0}`))
	if err != nil || resp.StatusCode != http.StatusNoContent {
		t.Fatalf("report: %v %v", resp, err)
	}
	if h.Served.Load() != 20 || h.Requests.Load() != 3 || h.Sent.Load() != 20+int64(len("<html>not here</html>")) {
		t.Fatalf("served %d, requests %d, sent %d", h.Served.Load(), h.Requests.Load(), h.Sent.Load())
	}
	if s := d.Snapshot(false); s.Origin.Bytes != 20 || s.Reports.Peers != 5 {
		t.Fatalf("dashboard %+v %+v", s.Origin, s.Reports)
	}
}
