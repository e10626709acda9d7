package tracker

import (
	"bytes"
	"encoding/json"
	"regexp"
	"testing"
)

// FuzzParseReport checks ParseReport against a reference written on encoding/json's generic
// decoding: it never panics, accepts exactly the bodies the reference accepts, and reads the same
// site and counts, each within 0..MaxReportCount.
func FuzzParseReport(f *testing.F) {
	f.Add([]byte(goodReport))
	f.Add([]byte(`{"v":1,"site":"http://127.0.0.1:8080/","peers":0,"store":0,"http":0,"uploaded":1099511627776}`))
	f.Add([]byte(`{"v":1,"site":"https://a/","peers":1e3,"store":0,"http":-0,"uploaded":"1"} `))
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := ParseReport(b)
		want, ok := refReport(b)
		if (err == nil) != ok {
			t.Fatalf("%q: ParseReport error %v, reference accepts %v", b, err, ok)
		}
		if ok && got != want {
			t.Fatalf("%q: read %+v, reference %+v", b, got, want)
		}
	})
}

var digits = regexp.MustCompile(`^(0|[1-9][0-9]*)$`)

func refReport(b []byte) (Report, bool) {
	if !json.Valid(b) {
		return Report{}, false
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if d.Decode(&v) != nil {
		return Report{}, false
	}
	m, ok := v.(map[string]any)
	if !ok || m["v"] != json.Number("1") {
		return Report{}, false
	}
	var rep Report
	if rep.Site, ok = m["site"].(string); !ok || checkSite(rep.Site) != nil {
		return Report{}, false
	}
	for _, f := range []struct {
		name string
		v    *int64
	}{{"peers", &rep.Peers}, {"store", &rep.Store}, {"http", &rep.HTTP}, {"uploaded", &rep.Uploaded}} {
		n, ok := m[f.name].(json.Number)
		if !ok || !digits.MatchString(string(n)) {
			return Report{}, false
		}
		i, err := n.Int64()
		if err != nil || i > MaxReportCount {
			return Report{}, false
		}
		*f.v = i
	}
	return rep, true
}
