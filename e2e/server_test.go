package e2e

import (
	"crypto/tls"
	"errors"
	"mime"
	"net"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// hit is one request the test server answered.
type hit struct {
	Path   string
	Range  string
	Status int
	Bytes  int64
}

// siteServer serves a directory at base like a static host: http.ServeContent (no redirect for
// index.html), `dir` → `dir/index.html`, `dir` without slash → 301, 404.html for missing files. Every
// answer says Cache-Control: no-store, so only planktos (never the HTTP cache) can answer offline.
type siteServer struct {
	dir, base string
	mu        sync.Mutex
	hits      []hit
	srv       *http.Server
	// override, when set, may answer a request itself (returns true) — to break things on purpose.
	override func(w http.ResponseWriter, r *http.Request) bool
	// cacheable drops the Cache-Control: no-store (a plain host, for the benchmarks' baseline).
	cacheable bool
}

func serveSite(t *testing.T, dir, base string) *siteServer {
	t.Helper()
	s := &siteServer{dir: dir, base: base}
	s.start(t)
	t.Cleanup(s.stop)
	return s
}

func (s *siteServer) start(t *testing.T) {
	t.Helper()
	s.srv = serveOrigin(t, s)
}

// serveOrigin serves h at t's origin (originOf): plain HTTP on loopback for the flat tests, HTTPS with
// the test CA's certificate for a field test's https:// origin.
func serveOrigin(t *testing.T, h http.Handler) *http.Server {
	t.Helper()
	u, err := url.Parse(originOf(t))
	if err != nil {
		t.Fatal(err)
	}
	var l net.Listener
	// the port of the previous test's server may linger briefly
	if !poll.Until(5*time.Second, func() bool { l, err = net.Listen("tcp", u.Host); return err == nil }) {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	if u.Scheme == "https" {
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{testCA(t).leaf}}
		go srv.ServeTLS(l, "", "")
	} else {
		go srv.Serve(l)
	}
	return srv
}

// stop takes the origin down (connections refused), as when a site goes offline.
func (s *siteServer) stop() {
	if s.srv != nil {
		s.srv.Close()
		s.srv = nil
	}
}

type countingWriter struct {
	http.ResponseWriter
	status int
	n      int64
}

func (c *countingWriter) WriteHeader(code int) { c.status = code; c.ResponseWriter.WriteHeader(code) }

// Unwrap lets http.ResponseController reach the connection (the dashboard's event stream flushes).
func (c *countingWriter) Unwrap() http.ResponseWriter { return c.ResponseWriter }

func (c *countingWriter) Write(b []byte) (int, error) {
	if c.status == 0 {
		c.status = 200
	}
	n, err := c.ResponseWriter.Write(b)
	c.n += int64(n)
	return n, err
}

func (s *siteServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	cw := &countingWriter{ResponseWriter: w}
	defer func() {
		s.mu.Lock()
		s.hits = append(s.hits, hit{Path: r.URL.Path, Range: r.Header.Get("Range"), Status: cw.status, Bytes: cw.n})
		s.mu.Unlock()
	}()
	if !s.cacheable {
		cw.Header().Set("Cache-Control", "no-store")
	}
	if s.override != nil && s.override(cw, r) {
		return
	}
	rel, ok := strings.CutPrefix(r.URL.Path, s.base)
	if !ok {
		http.NotFound(cw, r)
		return
	}
	name := filepath.Join(s.dir, filepath.FromSlash(path.Clean("/"+rel)))
	if fi, err := os.Stat(name); err == nil && fi.IsDir() {
		if !strings.HasSuffix(r.URL.Path, "/") {
			http.Redirect(cw, r, r.URL.Path+"/", http.StatusMovedPermanently)
			return
		}
		name = filepath.Join(name, "index.html")
	}
	f, err := os.Open(name)
	if errors.Is(err, os.ErrNotExist) {
		s.notFound(cw, r)
		return
	} else if err != nil {
		http.Error(cw, err.Error(), 500)
		return
	}
	defer f.Close()
	fi, _ := f.Stat()
	if ct := mime.TypeByExtension(filepath.Ext(name)); ct != "" {
		cw.Header().Set("Content-Type", ct)
	}
	http.ServeContent(cw, r, name, fi.ModTime(), f)
}

func (s *siteServer) notFound(w http.ResponseWriter, r *http.Request) {
	b, err := os.ReadFile(filepath.Join(s.dir, "404.html"))
	if err != nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(404)
	w.Write(b)
}

// log returns the requests answered so far and forgets them.
func (s *siteServer) log() []hit {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.hits
	s.hits = nil
	return h
}
