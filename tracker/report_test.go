package tracker

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

const goodReport = `{"v":1,"site":"https://example.org/blog/","peers":300,"store":20,"http":100,"uploaded":7}`

// post sends body as a report from ip (with origin as Origin, unless empty) and returns the status.
func post(rp *Reports, ip, origin, body string) int {
	r := httptest.NewRequest(http.MethodPost, ReportPath, strings.NewReader(body))
	r.RemoteAddr = ip + ":5000"
	r.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	if origin != "" {
		r.Header.Set("Origin", origin)
	}
	w := httptest.NewRecorder()
	rp.ServeHTTP(w, r)
	return w.Code
}

func TestReportAdded(t *testing.T) {
	rp := NewReports(Config{}, ReportConfig{})
	r := httptest.NewRequest(http.MethodPost, ReportPath, strings.NewReader(goodReport))
	r.Header.Set("Origin", "https://example.org")
	w := httptest.NewRecorder()
	rp.ServeHTTP(w, r)
	if w.Code != http.StatusNoContent || w.Header().Get("Access-Control-Allow-Origin") != "https://example.org" {
		t.Fatalf("%d %v", w.Code, w.Header())
	}
	if c := post(rp, "192.0.2.1", "", `{"v":1,"site":"https://example.org/blog/","peers":1,"store":2,"http":3,"uploaded":4,"later":[1]}`); c != 204 {
		t.Fatalf("second report: %d", c)
	}
	st := rp.Stats()
	want := ReportBytes{Peers: 301, Store: 22, HTTP: 103, Uploaded: 11}
	if st.Accepted != 2 || st.ReportBytes != want || len(st.Sites) != 1 || st.Sites[0].Reports != 2 ||
		st.Sites[0].ReportBytes != want || st.Dropped != (ReportDrops{}) {
		t.Fatalf("stats %+v", st)
	}
}

func TestReportMalformed(t *testing.T) {
	rp := NewReports(Config{}, ReportConfig{Burst: 1000})
	bad := []string{
		``, `null`, `[]`, `{}`, `{"v":1}`, goodReport + `x`, goodReport + goodReport, `{"v":"1"` + goodReport[6:],
		strings.Replace(goodReport, `"v":1`, `"v":2`, 1),
		strings.Replace(goodReport, `"peers":300`, `"peers":-1`, 1),
		strings.Replace(goodReport, `"peers":300`, `"peers":3.5`, 1),
		strings.Replace(goodReport, `"peers":300`, `"peers":3e2`, 1),
		strings.Replace(goodReport, `"peers":300`, `"peers":"300"`, 1),
		strings.Replace(goodReport, `"peers":300`, `"peers":0300`, 1),
		strings.Replace(goodReport, `"peers":300`, `"peers":1099511627777`, 1),
		strings.Replace(goodReport, `"peers":300,`, ``, 1),
		strings.Replace(goodReport, `"https://example.org/blog/"`, `"ftp://example.org/"`, 1),
		strings.Replace(goodReport, `"https://example.org/blog/"`, `"https://example.org/?q=1"`, 1),
		strings.Replace(goodReport, `"https://example.org/blog/"`, `"/blog/"`, 1),
		strings.Replace(goodReport, `"https://example.org/blog/"`, `1`, 1),
		"\xff" + goodReport,
	}
	for _, b := range bad {
		if c := post(rp, "192.0.2.1", "", b); c != http.StatusBadRequest {
			t.Errorf("%q: %d, want 400", b, c)
		}
	}
	if c := post(rp, "192.0.2.1", "", strings.Replace(goodReport, `"peers":300`, `"peers":1099511627776`, 1)); c != 204 {
		t.Errorf("2^40 refused: %d", c)
	}
	big := `{"v":1,"pad":"` + strings.Repeat("a", MaxReportBytes) + `"}`
	if c := post(rp, "192.0.2.1", "", big); c != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized: %d", c)
	}
	st := rp.Stats()
	if st.Dropped.Malformed != uint64(len(bad)) || st.Dropped.Oversized != 1 || st.Accepted != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestReportNotAllowed(t *testing.T) {
	rp := NewReports(Config{AllowedOrigins: []string{"https://example.org"}}, ReportConfig{})
	cases := []struct {
		origin, site string
		want         int
	}{
		{"https://example.org", "https://example.org/blog/", 204},
		{"", "https://example.org/", 204},
		{"https://evil.example", "https://evil.example/", 403},
		{"https://evil.example", "https://example.org/", 403},
		{"https://example.org", "https://example.org.evil.example/", 403},
		{"", "https://evil.example/", 403},
	}
	for _, c := range cases {
		body := fmt.Sprintf(`{"v":1,"site":%q,"peers":1,"store":0,"http":0,"uploaded":0}`, c.site)
		if got := post(rp, "192.0.2.1", c.origin, body); got != c.want {
			t.Errorf("Origin %q site %q: %d, want %d", c.origin, c.site, got, c.want)
		}
	}
	open := NewReports(Config{}, ReportConfig{})
	if got := post(open, "192.0.2.1", "https://a.example", `{"v":1,"site":"https://b.example/","peers":1,"store":0,"http":0,"uploaded":0}`); got != 403 {
		t.Errorf("site off its page's origin: %d", got)
	}
	if st := rp.Stats(); st.Accepted != 2 || st.Dropped.NotAllowed != 4 {
		t.Fatalf("stats %+v", st)
	}
}

// TestReportFlood: one address gets its burst and then its rate; other addresses are unaffected
// until the global bucket is empty. Every drop is counted.
func TestReportFlood(t *testing.T) {
	var now int64 = 1e18
	rp := NewReports(Config{}, ReportConfig{Burst: 20, Rate: 1, GlobalBurst: 30, GlobalRate: 10})
	rp.now = func() int64 { return now }
	rp.global.at = 0
	codes := map[int]int{}
	for range 25 {
		codes[post(rp, "192.0.2.1", "", goodReport)]++
	}
	if codes[204] != 20 || codes[429] != 5 {
		t.Fatalf("one address: %v", codes)
	}
	now += 1e9 // one token for it, ten globally
	if c := post(rp, "192.0.2.1", "", goodReport); c != 204 {
		t.Fatalf("after a second: %d", c)
	}
	codes = map[int]int{}
	for i := range 30 {
		codes[post(rp, fmt.Sprintf("192.0.2.%d", 2+i), "", goodReport)]++
	}
	if codes[204] != 19 || codes[429] != 11 { // 30 + 10 global tokens - 21 taken
		t.Fatalf("many addresses: %v", codes)
	}
	if st := rp.Stats(); st.Accepted != 40 || st.Dropped.Flood != 16 {
		t.Fatalf("stats %+v", st)
	}
}

// TestReportClientTable: a full client table forgets refilled buckets, and refuses new clients
// while none has refilled.
func TestReportClientTable(t *testing.T) {
	var now int64 = 1e18
	rp := NewReports(Config{}, ReportConfig{Burst: 2, Rate: 1, MaxClients: 2})
	rp.now = func() int64 { return now }
	post(rp, "192.0.2.1", "", goodReport)
	post(rp, "192.0.2.2", "", goodReport)
	if c := post(rp, "192.0.2.3", "", goodReport); c != 429 {
		t.Fatalf("third client while the table is full: %d", c)
	}
	now += 2e9
	if c := post(rp, "192.0.2.3", "", goodReport); c != 204 {
		t.Fatalf("third client after the others refilled: %d", c)
	}
}

// TestReportFloodKeepsAnnouncing floods a tracker's report endpoint from many goroutines while a
// WebSocket client announces: every announce is answered, and the flood is dropped and counted.
func TestReportFloodKeepsAnnouncing(t *testing.T) {
	tr := New(Config{})
	rp := NewReports(Config{}, ReportConfig{Burst: 5, GlobalBurst: 50, GlobalRate: 1})
	mux := http.NewServeMux()
	mux.Handle("/announce", tr)
	mux.Handle(ReportPath, rp)
	hs := httptest.NewServer(mux)
	t.Cleanup(func() { tr.Close(); hs.Close() })
	c := dial(t, "ws"+strings.TrimPrefix(hs.URL, "http")+"/announce")
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 50 {
				resp, err := http.Post(hs.URL+ReportPath, "text/plain", strings.NewReader(goodReport))
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
			}
		})
	}
	for i := range 20 {
		if r := c.join(testID(byte(i)), testID(200), nil); r["interval"] == nil {
			t.Fatalf("announce %d during the flood: %v", i, r)
		}
	}
	wg.Wait()
	st := rp.Stats()
	if st.Accepted+st.Dropped.Flood != 400 || st.Dropped.Flood < 340 {
		t.Fatalf("stats %+v", st)
	}
	if ts := tr.Stats(); ts.Swarms != 20 {
		t.Fatalf("tracker %+v", ts)
	}
}

func TestReportMethods(t *testing.T) {
	rp := NewReports(Config{}, ReportConfig{})
	for m, want := range map[string]int{http.MethodGet: 405, http.MethodOptions: 204} {
		w := httptest.NewRecorder()
		rp.ServeHTTP(w, httptest.NewRequest(m, ReportPath, nil))
		if w.Code != want {
			t.Errorf("%s: %d, want %d", m, w.Code, want)
		}
	}
}

func TestSwarms(t *testing.T) {
	tr, url := startTracker(t, Config{})
	c := dial(t, url)
	c.join(testID(1), testID(100), map[string]any{"left": 0})
	c.join(testID(1), testID(101), nil)
	c.join(testID(2), testID(100), nil)
	list, n := tr.Swarms(1)
	if ih := testID(1); n != 2 || len(list) != 1 || list[0] != (SwarmStats{InfoHash: ih.String(), Complete: 1, Incomplete: 1}) {
		t.Fatalf("%d %+v", n, list)
	}
}
