// Package serve is planktos's preview and origin server for a packaged site: Range requests on every file,
// immutable caching for the content-addressed store, revalidation for pages, the manifest and the service
// worker, the site's 404 page, and a log of the bytes sent per request.
package serve

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log"
	"net"
	"net/http"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/planktos/planktos/manifest"
	"github.com/planktos/planktos/status"
	"github.com/planktos/planktos/tracker"
)

// Handler serves a packaged site from a folder.
type Handler struct {
	// Dir is the site root on disk (the folder holding planktos.sw.js).
	Dir string
	// Base is the URL path the site is served under, e.g. "/" or "/project/"; empty means "/".
	Base string
	// Log, if set, receives one line per request: method, path, status, bytes sent, Range, duration.
	Log *log.Logger
	// Tracker, if set, answers WebSocket tracker connections at /announce on the same port.
	Tracker http.Handler
	// LocalTracker makes the served manifest list only this server's /announce as tracker, so that
	// previewed pages find each other through Tracker without editing the package on disk. A signed
	// manifest (one with a key) is served as its bytes are, so that its signature verifies, and the
	// override travels in TrackersHeader instead (and this server's STUN in ICEServersHeader).
	LocalTracker bool
	// STUNPort, if not 0, is the UDP port of a STUN server on this host (package stun). With LocalTracker,
	// the served manifest's runtime.iceServers then starts with {"urls":["stun:HOST:STUNPort"]}, HOST
	// being the host the request reached (its Host header without the port), followed by the package's
	// own ICE servers: previewing browsers learn their server-reflexive address from this server and can
	// still use the package's TURN servers. Without LocalTracker it has no effect.
	STUNPort int
	// Status, if set, answers the owner's dashboard (package status) at /planktos/status….
	Status http.Handler
	// Reports, if set, takes visitors' reports (tracker.Reports) at tracker.ReportPath.
	Reports http.Handler
	// Sent counts the body bytes sent; Served only those of 2xx responses, and Requests the requests
	// answered (the tracker's, the dashboard's and reports aside).
	Sent, Served, Requests atomic.Int64

	served atomic.Pointer[servedManifest]
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.Tracker != nil && r.URL.Path == "/announce" {
		h.Tracker.ServeHTTP(w, r) // unwrapped: the WebSocket upgrade hijacks the connection
		return
	}
	if h.Status != nil && status.Owns(r.URL.Path) {
		h.Status.ServeHTTP(w, r) // unwrapped and uncounted: its event stream never ends
		return
	}
	if h.Reports != nil && r.URL.Path == tracker.ReportPath {
		h.Reports.ServeHTTP(w, r)
		return
	}
	start := time.Now()
	cw := &countingWriter{ResponseWriter: w, status: http.StatusOK}
	h.serve(cw, r)
	h.Sent.Add(cw.n)
	h.Requests.Add(1)
	if cw.status >= 200 && cw.status < 300 {
		h.Served.Add(cw.n)
	}
	if h.Log != nil {
		h.Log.Printf("%s %s %d %d range=%q %s", r.Method, r.URL.Path, cw.status, cw.n, r.Header.Get("Range"),
			time.Since(start).Round(time.Microsecond))
	}
}

func (h *Handler) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	base := h.Base
	if base == "" {
		base = "/"
	}
	rel, ok := strings.CutPrefix(r.URL.Path, base)
	if !ok {
		if r.URL.Path+"/" == base {
			http.Redirect(w, r, base, http.StatusMovedPermanently)
			return
		}
		h.notFound(w, r)
		return
	}
	name, fi, err := h.resolve(rel)
	if errors.Is(err, errDirNoSlash) {
		http.Redirect(w, r, r.URL.Path+"/", http.StatusMovedPermanently)
		return
	}
	if err != nil {
		h.notFound(w, r)
		return
	}
	h.file(w, r, name, fi, http.StatusOK)
}

var errDirNoSlash = errors.New("directory without trailing slash")

// resolve maps a URL path below the base to a file: folders to their index.html.
func (h *Handler) resolve(rel string) (string, fs.FileInfo, error) {
	clean := path.Clean("/" + rel)
	if strings.Contains(clean, "\x00") {
		return "", nil, fs.ErrNotExist
	}
	name := h.Dir + clean
	fi, err := os.Stat(name)
	if err != nil {
		return "", nil, err
	}
	if fi.IsDir() {
		if rel != "" && !strings.HasSuffix(rel, "/") {
			return "", nil, errDirNoSlash
		}
		name = path.Join(name, "index.html")
		if fi, err = os.Stat(name); err != nil {
			return "", nil, err
		}
	}
	if !fi.Mode().IsRegular() {
		return "", nil, fs.ErrNotExist
	}
	return name, fi, nil
}

// file sends a file with Range support and planktos's cache policy.
func (h *Handler) file(w http.ResponseWriter, r *http.Request, name string, fi fs.FileInfo, status int) {
	f, err := os.Open(name)
	if err != nil {
		http.Error(w, "cannot read file", http.StatusInternalServerError)
		return
	}
	defer f.Close()
	w.Header().Set("Cache-Control", cacheControl(strings.TrimPrefix(name, h.Dir)))
	if strings.HasSuffix(name, ".sw.js") {
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	}
	if status != http.StatusOK { // the 404 page: no ranges, no conditional requests
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(status)
		if r.Method != http.MethodHead {
			io.Copy(w, f)
		}
		return
	}
	if sha, ok := strings.CutPrefix(strings.TrimPrefix(name, h.Dir), "/"+manifest.FilesPrefix); ok {
		w.Header().Set("ETag", `"`+sha+`"`) // named by its SHA-256
	}
	if strings.HasSuffix(name, "/"+manifest.Path) { // revalidated on every navigation
		if m, err := h.manifest(f, name, fi, r); err == nil {
			for k, v := range m.header {
				w.Header().Set(k, v)
			}
			w.Header().Set("ETag", m.etag)
			http.ServeContent(w, r, name, fi.ModTime(), bytes.NewReader(m.body))
			return
		}
		f.Seek(0, io.SeekStart) // not a manifest we understand: serve it as it is
	}
	http.ServeContent(w, r, name, fi.ModTime(), f)
}

// The preview's overrides of a signed manifest (LocalTracker): its bytes must reach the browser as
// signed, so this server's tracker and STUN server travel in response headers instead, each a JSON array,
// which the runtime applies to the manifest it received from this origin (and to nothing a peer offers).
const (
	// TrackersHeader lists the announce URLs that replace the manifest's trackers: this server's /announce.
	TrackersHeader = "X-Planktos-Trackers"
	// ICEServersHeader (with STUNPort) is the RTCIceServer list that replaces runtime.iceServers: this
	// server's STUN first, then the package's own.
	ICEServersHeader = "X-Planktos-Ice-Servers"
)

// servedManifest is the manifest as last served: its bytes (trackers replaced and this server's STUN
// added, with LocalTracker, or for a signed manifest the file's bytes and the overrides as headers) and
// ETag, for the file version, tracker URL and STUN URL they were made from. Every navigation revalidates
// the manifest, and a 10,000-file site's is megabytes: it is read, rewritten and hashed once per version.
type servedManifest struct {
	name, announce, stun string
	fi                   fs.FileInfo
	body                 []byte
	header               map[string]string // TrackersHeader and ICEServersHeader, for a signed manifest
	etag                 string
}

// of reports whether m was made from this version of the file (same file, size and mtime; the packager
// replaces the manifest by renaming a new file onto it) for this tracker URL and STUN URL.
func (m *servedManifest) of(name string, fi fs.FileInfo, announce, stun string) bool {
	return m.name == name && m.announce == announce && m.stun == stun && os.SameFile(m.fi, fi) &&
		m.fi.Size() == fi.Size() &&
		m.fi.ModTime().Equal(fi.ModTime())
}

// manifest returns the manifest file f as it is to be served, and remembers it.
func (h *Handler) manifest(f io.Reader, name string, fi fs.FileInfo, r *http.Request) (*servedManifest, error) {
	announce, stun := "", ""
	if h.LocalTracker {
		announce = localAnnounce(r)
		if h.STUNPort != 0 {
			stun = localSTUN(r, h.STUNPort)
		}
	}
	if m := h.served.Load(); m != nil && m.of(name, fi, announce, stun) {
		return m, nil
	}
	b, err := io.ReadAll(io.LimitReader(f, 64<<20))
	if err != nil {
		return nil, err
	}
	m := &servedManifest{name: name, announce: announce, stun: stun, fi: fi, body: b}
	if announce != "" {
		if m.body, m.header, err = preview(b, announce, stun); err != nil {
			return nil, err
		}
	}
	m.etag = etag(m.body, m.header[TrackersHeader], m.header[ICEServersHeader])
	h.served.Store(m)
	return m, nil
}

// etag is a strong validator for b and the headers served with it: Last-Modified has one-second
// granularity, too coarse for repackaging.
func etag(b []byte, headers ...string) string {
	sum := sha256.New()
	sum.Write(b)
	for _, v := range headers {
		sum.Write([]byte{0})
		sum.Write([]byte(v))
	}
	return `"` + hex.EncodeToString(sum.Sum(nil)[:16]) + `"`
}

// preview is the manifest b as a preview serves it, pointing browsers at announce and stun (if not
// empty): an unsigned manifest rewritten (withTracker), a signed one (it has a key) unchanged with the
// overrides in TrackersHeader and ICEServersHeader.
func preview(b []byte, announce, stun string) ([]byte, map[string]string, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, nil, err
	}
	if key, ok := m["key"]; !ok || string(key) == "null" || string(key) == `""` {
		out, err := withTracker(bytes.NewReader(b), announce, stun)
		return out, nil, err
	}
	trackers, _ := json.Marshal([]string{announce})
	hdr := map[string]string{TrackersHeader: string(trackers)}
	if stun != "" {
		rt, err := runtimeOf(m)
		if err != nil {
			return nil, nil, err
		}
		servers, err := withSTUN(rt, stun)
		if err != nil {
			return nil, nil, err
		}
		ice, _ := json.Marshal(servers)
		hdr[ICEServersHeader] = string(ice)
	}
	return b, hdr, nil
}

// withTracker returns the manifest read from r with its trackers replaced by announce and, if stun is
// not empty, an ICE server of that URL first in runtime.iceServers (unless the package lists it already).
// Every other field is kept as it is.
func withTracker(r io.Reader, announce, stun string) ([]byte, error) {
	var m map[string]json.RawMessage
	if err := json.NewDecoder(io.LimitReader(r, 64<<20)).Decode(&m); err != nil {
		return nil, err
	}
	m["trackers"], _ = json.Marshal([]string{announce})
	if stun != "" {
		rt, err := runtimeOf(m)
		if err != nil {
			return nil, err
		}
		servers, err := withSTUN(rt, stun)
		if err != nil {
			return nil, err
		}
		rt["iceServers"], _ = json.Marshal(servers)
		m["runtime"], _ = json.Marshal(rt)
	}
	return json.Marshal(m)
}

// runtimeOf is the manifest m's runtime object by key, empty if it has none.
func runtimeOf(m map[string]json.RawMessage) (map[string]json.RawMessage, error) {
	var rt map[string]json.RawMessage
	if raw, ok := m["runtime"]; ok && string(raw) != "null" {
		if err := json.Unmarshal(raw, &rt); err != nil {
			return nil, fmt.Errorf("manifest runtime: %w", err)
		}
	}
	if rt == nil {
		rt = map[string]json.RawMessage{}
	}
	return rt, nil
}

// withSTUN is runtime rt's iceServers with an ICE server of the URL stun first, unless one lists it already.
func withSTUN(rt map[string]json.RawMessage, stun string) ([]json.RawMessage, error) {
	servers := []json.RawMessage{}
	if raw, ok := rt["iceServers"]; ok && string(raw) != "null" {
		if err := json.Unmarshal(raw, &servers); err != nil {
			return nil, fmt.Errorf("manifest runtime.iceServers: %w", err)
		}
	}
	if listsURL(servers, stun) {
		return servers, nil
	}
	own, _ := json.Marshal(map[string][]string{"urls": {stun}})
	return append([]json.RawMessage{own}, servers...), nil
}

// listsURL reports whether one of the ICE servers has url among its urls.
func listsURL(servers []json.RawMessage, url string) bool {
	for _, raw := range servers {
		var s struct {
			URLs json.RawMessage `json:"urls"`
		}
		if json.Unmarshal(raw, &s) != nil {
			continue
		}
		var one string
		var many []string
		if json.Unmarshal(s.URLs, &one) == nil && one == url {
			return true
		}
		if json.Unmarshal(s.URLs, &many) == nil && slices.Contains(many, url) {
			return true
		}
	}
	return false
}

// localSTUN is the URL of this host's STUN server on port as the request reached the host; empty when
// the request named no host.
func localSTUN(r *http.Request, port int) string {
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if host == "" {
		return ""
	}
	return "stun:" + net.JoinHostPort(host, strconv.Itoa(port))
}

// localAnnounce is the tracker URL of this server as the request reached it.
func localAnnounce(r *http.Request) string {
	scheme := "ws"
	if r.TLS != nil {
		scheme = "wss"
	}
	return scheme + "://" + r.Host + "/announce"
}

// cacheControl: store files never change; everything else is revalidated so updates arrive at once.
func cacheControl(p string) string {
	if strings.HasPrefix(p, "/"+manifest.FilesPrefix) || strings.HasPrefix(p, "/"+manifest.TorrentsPrefix) {
		return "public, max-age=31536000, immutable"
	}
	return "no-cache"
}

func (h *Handler) notFound(w http.ResponseWriter, r *http.Request) {
	name := path.Join(h.Dir, "404.html")
	if fi, err := os.Stat(name); err == nil {
		h.file(w, r, name, fi, http.StatusNotFound)
		return
	}
	http.NotFound(w, r)
}

// countingWriter records the status and the body bytes written.
type countingWriter struct {
	http.ResponseWriter
	status int
	n      int64
}

func (c *countingWriter) WriteHeader(status int) {
	c.status = status
	c.ResponseWriter.WriteHeader(status)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (c *countingWriter) Unwrap() http.ResponseWriter { return c.ResponseWriter }

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.ResponseWriter.Write(p)
	c.n += int64(n)
	return n, err
}

// String describes the handler for logs.
func (h *Handler) String() string { return fmt.Sprintf("%s at %s", h.Dir, h.Base) }
