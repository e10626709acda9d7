package runtime

import (
	"bytes"
	"encoding/json"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/range-golden.json from net/http.ServeContent")

// rangeCase is one request against a file of Size bytes whose ETag is "\"etag\"". The answer is what
// Go's http.ServeContent (zero modtime) returns; runtime/test/range.test.js checks src/sw/range.js
// against the same table, so the service worker answers like a Go origin.
type rangeCase struct {
	Size         int               `json:"size"`
	Headers      map[string]string `json:"headers"`
	Status       int               `json:"status"`
	ContentRange string            `json:"contentRange"`
	Length       string            `json:"contentLength"`
	Body         string            `json:"body"` // the served bytes as offsets "start-end" of the file, or the error text
}

func rangeInputs() []rangeCase {
	ranges := []string{"", "bytes=0-0", "bytes=0-99", "bytes=0-", "bytes=10-", "bytes=99-", "bytes=100-",
		"bytes=-1", "bytes=-10", "bytes=-100", "bytes=-1000", "bytes=-0", "bytes=5-4", "bytes=50-1000",
		"bytes=0-9,20-29", "bytes=0-9,0-99", "bytes=0-60,50-99", "bytes=1000-2000", "bytes=200-,300-",
		"bytes=200-,0-5", "bytes= 3 - 7 ", "bytes=+5-9", "bytes=x-9", "bytes=5", "bytes=--5",
		"bytes=9223372036854775808-", "items=0-5", "bytes=", "bytes=,", "bytes=0-9,", "Bytes=0-5",
		"bytes=-", "bytes=1-2-3", "bytes=00-01"}
	var out []rangeCase
	for _, size := range []int{0, 1, 100} {
		for _, r := range ranges {
			out = append(out, rangeCase{Size: size, Headers: map[string]string{"Range": r}})
		}
	}
	for _, h := range []map[string]string{
		{"Range": "bytes=0-9", "If-Range": `"etag"`},
		{"Range": "bytes=0-9", "If-Range": `"other"`},
		{"Range": "bytes=0-9", "If-Range": `W/"etag"`},
		{"Range": "bytes=0-9", "If-Range": "Mon, 02 Jan 2006 15:04:05 GMT"},
		{"If-None-Match": `"etag"`},
		{"If-None-Match": `W/"etag"`},
		{"If-None-Match": `"a", "etag"`},
		{"If-None-Match": "*"},
		{"If-None-Match": `"other"`},
		{"If-Match": `"etag"`},
		{"If-Match": `"other"`},
		{"If-Match": `W/"etag"`},
		{"If-Match": "*", "Range": "bytes=1-2"},
	} {
		out = append(out, rangeCase{Size: 100, Headers: h})
	}
	return out
}

// serveGo answers c with http.ServeContent over a file whose byte i is i (sizes stay below 256, so a
// body's offsets are found by searching for it).
func serveGo(c rangeCase) rangeCase {
	content := make([]byte, c.Size)
	for i := range content {
		content[i] = byte(i)
	}
	req := httptest.NewRequest("GET", "/f", nil)
	for k, v := range c.Headers {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	rec.Header().Set("Content-Type", "application/octet-stream")
	rec.Header().Set("Etag", `"etag"`)
	http.ServeContent(rec, req, "f", time.Time{}, bytes.NewReader(content))
	c.Status = rec.Code
	c.ContentRange = rec.Header().Get("Content-Range")
	c.Length = rec.Header().Get("Content-Length")
	body := rec.Body.Bytes()
	switch {
	case c.Status == 200 || (c.Status == 206 && !strings.HasPrefix(rec.Header().Get("Content-Type"), "multipart/")):
		if i := bytes.Index(content, body); len(body) > 0 && i >= 0 {
			c.Body = strings.Join([]string{itoa(i), itoa(i + len(body) - 1)}, "-")
		} else {
			c.Body = ""
		}
	case c.Status == 206:
		c.Body = "multipart"
	default:
		c.Body = string(body)
	}
	return c
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

func TestRangeGolden(t *testing.T) {
	var got []rangeCase
	for _, c := range rangeInputs() {
		got = append(got, serveGo(c))
	}
	b, err := json.MarshalIndent(got, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	b = append(b, '\n')
	const golden = "testdata/range-golden.json"
	if *update {
		if err := os.WriteFile(golden, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(want, b) {
		t.Fatalf("%s is not what net/http.ServeContent answers; run: go test ./runtime -run TestRangeGolden -update", golden)
	}
}
