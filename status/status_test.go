package status

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/planktos/planktos/internal/wait"
	"github.com/planktos/planktos/tracker"
)

// fakeOrigin is an origin's counters that the test moves.
type fakeOrigin struct{ bytes, requests, seeder atomic.Int64 }

func (o *fakeOrigin) sources(rp *tracker.Reports) Sources {
	return Sources{Server: "serve", Reports: rp,
		Origin: func() (int64, int64) { return o.bytes.Load(), o.requests.Load() },
		Seeder: o.seeder.Load}
}

func report(t *testing.T, rp *tracker.Reports, body string) {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, tracker.ReportPath, strings.NewReader(body))
	w := httptest.NewRecorder()
	rp.ServeHTTP(w, r)
	if w.Code != http.StatusNoContent {
		t.Fatalf("report %s: %d %s", body, w.Code, w.Body)
	}
}

func get(t *testing.T, d *Dashboard, url string, hdr ...string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, url, nil)
	r.RemoteAddr = "127.0.0.1:4000"
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	d.ServeHTTP(w, r)
	return w
}

func snapshot(t *testing.T, d *Dashboard) Snapshot {
	t.Helper()
	w := get(t, d, JSONPath)
	var s Snapshot
	if err := json.Unmarshal(w.Body.Bytes(), &s); w.Code != 200 || err != nil {
		t.Fatalf("%d %v: %s", w.Code, err, w.Body)
	}
	return s
}

// TestStatusFigures: after known traffic, status.json has the origin's, the seeder's, the tracker's
// and the reports' figures, the P2P share from the right sources, and a series that adds up.
func TestStatusFigures(t *testing.T) {
	var o fakeOrigin
	tr := tracker.New(tracker.Config{})
	defer tr.Close()
	rp := tracker.NewReports(tracker.Config{}, tracker.ReportConfig{})
	src := o.sources(rp)
	src.Tracker = tr
	d := New(src, Options{Interval: 10 * time.Millisecond})
	defer d.Close()

	o.bytes.Store(3000)
	o.requests.Store(7)
	o.seeder.Store(1000)
	s := snapshot(t, d)
	if s.Planktos != "status" || s.Server != "serve" || s.P2P != (Share{Share: 0.25, Bytes: 1000, Source: "seeder",
		HTTPBytes: 3000, HTTPSource: "origin"}) || *s.Origin != (Origin{3000, 7}) || s.Seeder.Uploaded != 1000 {
		t.Fatalf("before reports: %+v", s)
	}
	report(t, rp, `{"v":1,"site":"http://127.0.0.1/","peers":9000,"store":500,"http":2000,"uploaded":4000}`)
	report(t, rp, `{"v":1,"site":"http://127.0.0.1/","peers":3000,"store":0,"http":1000,"uploaded":0}`)
	s = snapshot(t, d)
	if s.P2P != (Share{Share: 0.8, Bytes: 12000, Source: "reports", HTTPBytes: 3000, HTTPSource: "origin"}) ||
		s.Reports.Accepted != 2 || s.Reports.Peers != 12000 || s.Reports.Uploaded != 4000 || s.Tracker.Swarms != 0 {
		t.Fatalf("after reports: %+v %+v", s.P2P, s.Reports)
	}
	// the series holds every byte counted since the start, once the sampler has seen them
	wait.For(t, "the series to hold every byte", 5*time.Second, func() bool {
		s = snapshot(t, d)
		return sum(s.Series.P2P) == 12000 && sum(s.Series.HTTP) == 3000
	})
	if s.Series.IntervalSeconds != 0.01 || s.Series.WindowSeconds != 600 {
		t.Fatalf("series %+v", s.Series)
	}
}

// TestStatusTrackerOnly: without an origin, HTTP bytes are the visitors' reported ones.
func TestStatusTrackerOnly(t *testing.T) {
	rp := tracker.NewReports(tracker.Config{}, tracker.ReportConfig{})
	d := New(Sources{Server: "tracker", Reports: rp}, Options{})
	defer d.Close()
	if s := snapshot(t, d); s.P2P.Source != "none" || s.P2P.HTTPSource != "none" || s.P2P.Share != 0 || s.Origin != nil {
		t.Fatalf("%+v", s)
	}
	report(t, rp, `{"v":1,"site":"https://example.org/","peers":1,"store":0,"http":3,"uploaded":0}`)
	if s := snapshot(t, d); s.P2P != (Share{Share: 0.25, Bytes: 1, Source: "reports", HTTPBytes: 3, HTTPSource: "reports"}) {
		t.Fatalf("%+v", s.P2P)
	}
}

// TestStatusEvents: the event stream starts with the whole series and then delivers each new
// interval's bytes as they move.
func TestStatusEvents(t *testing.T) {
	var o fakeOrigin
	d := New(o.sources(nil), Options{Interval: 20 * time.Millisecond})
	defer d.Close()
	hs := httptest.NewServer(d)
	defer hs.Close()
	resp, err := http.Get(hs.URL + EventsPath)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	events := readEvents(resp.Body)
	first := <-events
	if first.Series == nil || first.Sample != nil {
		t.Fatalf("first event %+v", first)
	}
	got, samples := int64(0), 0
	for _, add := range []int64{5000, 2000} {
		want := got + add
		o.bytes.Add(add)
		timeout := time.After(10 * time.Second)
		for got < want {
			select {
			case s, ok := <-events:
				if !ok {
					t.Fatal("stream ended")
				}
				if s.Series != nil { // as chart.js does: a series replaces what it had
					got = sum(s.Series.HTTP)
				} else if s.Sample != nil {
					got += s.Sample.HTTP
					samples++
				}
			case <-timeout:
				t.Fatalf("events carried %d of %d bytes", got, want)
			}
		}
		if got != want {
			t.Fatalf("events carried %d bytes, want %d", got, want)
		}
	}
	if samples == 0 {
		t.Fatal("no event carried a sample")
	}
	d.Close() // ends the stream
	for range events {
	}
}

// readEvents parses a server-sent event stream of "status" events until it ends.
func readEvents(r io.Reader) <-chan Snapshot {
	ch := make(chan Snapshot, 16)
	go func() {
		defer close(ch)
		sc := bufio.NewScanner(r)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				var s Snapshot
				if json.Unmarshal([]byte(data), &s) == nil {
					ch <- s
				}
			}
		}
	}()
	return ch
}

// TestStatusAccess: loopback clients get the dashboard; others only with the token; anything else
// is a 404 as if there were no dashboard.
func TestStatusAccess(t *testing.T) {
	var o fakeOrigin
	d := New(o.sources(nil), Options{Token: "s3cret"})
	defer d.Close()
	cases := []struct {
		remote, url, hdr, val string
		want                  int
	}{
		{"127.0.0.1:1", JSONPath, "", "", 200},
		{"[::1]:1", PagePath, "", "", 200},
		{"192.0.2.1:1", JSONPath, "", "", 404},
		{"192.0.2.1:1", JSONPath + "?token=s3cret", "", "", 200},
		{"192.0.2.1:1", JSONPath + "?token=s3cre", "", "", 404},
		{"192.0.2.1:1", JSONPath, "Authorization", "Bearer s3cret", 200},
		{"192.0.2.1:1", JSONPath, "Authorization", "Bearer nope", 404},
		{"127.0.0.1:1", JSONPath, "X-Forwarded-For", "192.0.2.1", 404}, // through a proxy on loopback
		{"127.0.0.1:1", Prefix + "/other", "", "", 404},
	}
	for _, c := range cases {
		r := httptest.NewRequest(http.MethodGet, c.url, nil)
		r.RemoteAddr = c.remote
		if c.hdr != "" {
			r.Header.Set(c.hdr, c.val)
		}
		w := httptest.NewRecorder()
		d.ServeHTTP(w, r)
		if w.Code != c.want {
			t.Errorf("%s %s %s: %d, want %d", c.remote, c.url, c.hdr, w.Code, c.want)
		}
	}
	open := New(o.sources(nil), Options{})
	defer open.Close()
	r := httptest.NewRequest(http.MethodGet, JSONPath+"?token=", nil)
	w := httptest.NewRecorder()
	open.ServeHTTP(w, r)
	if w.Code != 404 {
		t.Fatalf("no token set, remote client: %d", w.Code)
	}
}

// TestStatusPage: the page carries every figure with its data-field and data-value, and passes the
// token it was opened with on to its module.
func TestStatusPage(t *testing.T) {
	var o fakeOrigin
	o.bytes.Store(1500)
	o.requests.Store(3)
	tr := tracker.New(tracker.Config{})
	defer tr.Close()
	src := o.sources(tracker.NewReports(tracker.Config{}, tracker.ReportConfig{}))
	src.Tracker = tr
	d := New(src, Options{Token: "a b&c"})
	defer d.Close()
	w := get(t, d, PagePath+"?token=a+b%26c")
	page := w.Body.String()
	for _, want := range []string{
		`id="planktos-status" data-server="serve"`,
		`data-field="origin.bytes" data-format="bytes" data-value="1500">1.5 kB<`,
		`data-field="origin.requests" data-format="count" data-value="3">3<`,
		`id="p2p-share" data-field="p2p.share"`, `data-field="reports.dropped.flood"`, `data-field="tracker.peers"`,
		`<svg id="chart"`, `id="torrents"`, `src="status/chart.js?token=a%20b%26c"`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	if w.Header().Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("%v", w.Header())
	}
	js := get(t, d, ScriptPath)
	if !strings.HasPrefix(js.Header().Get("Content-Type"), "text/javascript") || !strings.Contains(js.Body.String(), "EventSource") {
		t.Fatalf("chart.js: %v", js.Header())
	}
}

func sum(v []int64) (n int64) {
	for _, x := range v {
		n += x
	}
	return n
}

// TestHumanMatchesChartJS: the page's figures read the same before and after chart.js updates them.
func TestHumanMatchesChartJS(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("node is missing")
		}
		t.Skip("node is missing")
	}
	cases := []struct {
		V      float64
		Format string
	}{{0, "bytes"}, {999, "bytes"}, {1000, "bytes"}, {1549, "bytes"}, {999999, "bytes"}, {1e6, "bytes"},
		{1234567890123, "bytes"}, {0, "percent"}, {0.93123, "percent"}, {1, "percent"}, {42, "count"}}
	args, _ := json.Marshal(cases)
	script := `import('./chart.js').then(m => console.log(JSON.stringify(` + string(args) +
		`.map(c => m.human(c.V, c.Format)))))`
	out, err := exec.Command(node, "--input-type=module", "-e", script).CombinedOutput()
	if err != nil {
		t.Fatalf("node: %v: %s", err, out)
	}
	var js []string
	if err := json.Unmarshal(out, &js); err != nil || len(js) != len(cases) {
		t.Fatalf("node said %s (%v)", out, err)
	}
	for i, c := range cases {
		if g := human(c.V, c.Format); g != js[i] {
			t.Errorf("%v %s: Go %q, chart.js %q", c.V, c.Format, g, js[i])
		}
	}
}
