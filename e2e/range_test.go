package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// answer is the part of a response the Range table compares.
type answer struct {
	Status       int    `json:"status"`
	ContentRange string `json:"contentRange"`
	Length       string `json:"length"`
	Body         []int  `json:"body"` // nil for error answers (their text differs only in wording)
	Source       string `json:"source"`
}

var rangeTable = []map[string]string{
	{}, {"Range": "bytes=0-0"}, {"Range": "bytes=0-99"}, {"Range": "bytes=0-"}, {"Range": "bytes=10-"},
	{"Range": "bytes=99-"}, {"Range": "bytes=100-"}, {"Range": "bytes=-1"}, {"Range": "bytes=-10"},
	{"Range": "bytes=-1000"}, {"Range": "bytes=5-4"}, {"Range": "bytes=50-1000"}, {"Range": "bytes=1000-2000"},
	{"Range": "bytes=200-,0-5"}, {"Range": "bytes= 3 - 7 "}, {"Range": "bytes=x-9"}, {"Range": "bytes=5"},
	{"Range": "items=0-5"}, {"Range": "bytes=0-9,"}, {"Range": "bytes=0-9,0-99"},
	{"Range": "bytes=0-9", "If-Range": "%ETAG%"}, {"Range": "bytes=0-9", "If-Range": `"other"`},
	{"If-None-Match": "%ETAG%"}, {"If-None-Match": `"other"`}, {"If-Match": `"other"`},
}

// Range: the service worker's answers equal Go's http.ServeContent's for the same file and headers.
func TestRangeTable(t *testing.T) {
	dir := builtSite(t, "/")
	data := make([]byte, 100)
	for i := range data {
		data[i] = byte(i)
	}
	os.MkdirAll(filepath.Join(dir, "range"), 0o755)
	writeFile(t, filepath.Join(dir, "range", "data.bin"), data)
	pack(t, dir, "/", "")
	m := readManifest(t, dir)
	etag := `"` + m.Files["range/data.bin"].SHA256 + `"`
	srv := serveSite(t, dir, "/")
	b := newBrowser(t, "")
	b.installed("/", m.storable())
	srv.log()
	for _, method := range []string{"GET", "HEAD"} {
		for _, h := range rangeTable {
			hdr := map[string]string{}
			for k, v := range h {
				if v == "%ETAG%" {
					v = etag
				}
				hdr[k] = v
			}
			want := goAnswer(method, data, etag, hdr)
			got := swAnswer(t, b, method, "/range/data.bin", hdr)
			if method == "GET" && (got.Status == 200 || got.Status == 206) && got.Source != "store" {
				t.Errorf("GET %v answered from %q, want the service worker's store", hdr, got.Source)
			}
			got.Source = ""
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("%s %v:\n service worker %+v\n net/http      %+v", method, hdr, got, want)
			}
		}
	}
	if hits := srv.log(); len(hits) > 0 {
		t.Errorf("the origin answered requests the service worker should have: %v", hits)
	}
	// several ranges: the network answers (multipart), as the origin would
	got := swAnswer(t, b, "GET", "/range/data.bin", map[string]string{"Range": "bytes=0-9,20-29"})
	if got.Status != 206 || got.Source != "" {
		t.Errorf("multi-range: %+v, want the origin's 206", got)
	}
}

func goAnswer(method string, data []byte, etag string, hdr map[string]string) answer {
	req := httptest.NewRequest(method, "/range/data.bin", nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	rec.Header().Set("Etag", etag)
	rec.Header().Set("Content-Type", "application/octet-stream")
	http.ServeContent(rec, req, "data.bin", time.Time{}, bytes.NewReader(data))
	a := answer{Status: rec.Code, ContentRange: rec.Header().Get("Content-Range"), Length: rec.Header().Get("Content-Length")}
	if rec.Code == 200 || rec.Code == 206 {
		if method == "HEAD" {
			a.Body = []int{}
		} else {
			a.Body = ints(rec.Body.Bytes())
		}
	}
	if rec.Code == 304 || rec.Code == 412 || rec.Code == 416 {
		a.Length = ""
	}
	return a
}

func ints(b []byte) []int {
	out := make([]int, len(b))
	for i, c := range b {
		out[i] = int(c)
	}
	return out
}

func swAnswer(t *testing.T, b *browser, method, path string, hdr map[string]string) answer {
	t.Helper()
	h, _ := json.Marshal(hdr)
	var a answer
	b.mustEval(`(async () => {
	  const r = await fetch('`+path+`', { method: '`+method+`', headers: `+string(h)+`, cache: 'no-store' });
	  const body = [...new Uint8Array(await r.arrayBuffer())];
	  const ok = r.status === 200 || r.status === 206;
	  return { status: r.status, contentRange: r.headers.get('content-range') || '',
	    length: ok ? (r.headers.get('content-length') || '') : '', body: ok ? body : null,
	    source: r.headers.get('x-planktos-source') || '' };
	})()`, &a)
	return a
}
