package verify

import (
	"net/http"
	"testing"
)

// TestCacheJudgement covers the Cache-Control values hosts send by default (GitHub Pages max-age=600,
// Netlify max-age=0, must-revalidate, S3 none) and the mistakes verify must catch.
func TestCacheJudgement(t *testing.T) {
	validators := http.Header{"Etag": {`"x"`}}
	for _, c := range []struct {
		cc          string
		long, reval Status
	}{
		{"public, max-age=31536000, immutable", Pass, Fail},
		{"max-age=31536000", Pass, Fail},
		{"immutable", Pass, Fail},
		{"no-store", Fail, Pass},
		{"no-cache", Warn, Pass},
		{"max-age=600", Warn, Pass},
		{"public, max-age=0, must-revalidate", Warn, Pass},
		{"max-age=7200", Warn, Warn},
		{`max-age="172800"`, Pass, Fail},
		{"max-age=bogus", Warn, Pass},
		{"", Warn, Pass},
	} {
		if got, _ := cachedLong(c.cc); got != c.long {
			t.Errorf("store file %q: %s, want %s", c.cc, got, c.long)
		}
		if got, _ := revalidated(c.cc, validators); got != c.reval {
			t.Errorf("manifest %q: %s, want %s", c.cc, got, c.reval)
		}
	}
	if got, _ := revalidated("no-cache", http.Header{}); got != Warn {
		t.Errorf("no-cache without validators: %s, want a warning", got)
	}
	if got, _ := revalidated("", http.Header{"Last-Modified": {"Mon, 01 Jan 2024 00:00:00 GMT"}}); got != Warn {
		t.Errorf("no Cache-Control, Last-Modified: %s, want a warning (heuristic freshness)", got)
	}
}
