package status

import (
	"crypto/subtle"
	"encoding/json"
	"net"
	"net/http"
	"strings"
)

// Owns reports whether the URL path p is one of the dashboard's routes.
func Owns(p string) bool { return p == PagePath || p == JSONPath || strings.HasPrefix(p, Prefix+"/") }

// ServeHTTP answers the dashboard's routes (see the package doc) and 404 to anything else.
func (d *Dashboard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !d.allowed(r) || !Owns(r.URL.Path) {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Referrer-Policy", "no-referrer") // the token may be in the URL
	switch r.URL.Path {
	case PagePath:
		d.page(w, r)
	case JSONPath:
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.Encode(d.Snapshot(true))
	case EventsPath:
		d.events(w, r)
	case ScriptPath:
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		w.Write(chartJS)
	default:
		http.NotFound(w, r)
	}
}

// allowed: a loopback client not behind a proxy, or one that presents the token.
func (d *Dashboard) allowed(r *http.Request) bool {
	if t := d.opt.Token; t != "" {
		given := r.URL.Query().Get("token")
		if b, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
			given = strings.TrimSpace(b)
		}
		if subtle.ConstantTimeCompare([]byte(given), []byte(t)) == 1 {
			return true
		}
	}
	for _, h := range []string{"Forwarded", "X-Forwarded-For", "X-Real-Ip"} {
		if r.Header.Get(h) != "" {
			return false
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// events streams a Snapshot per interval as server-sent events until the client goes or Close.
func (d *Dashboard) events(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("X-Accel-Buffering", "no") // nginx: do not hold the stream back
	ch := make(chan []byte, 1)
	d.mu.Lock()
	select {
	case <-d.stop:
		d.mu.Unlock()
		http.Error(w, "dashboard stopped", http.StatusServiceUnavailable)
		return
	default:
	}
	d.subs[ch] = true
	d.mu.Unlock()
	defer func() {
		d.mu.Lock()
		delete(d.subs, ch)
		d.mu.Unlock()
	}()
	w.WriteHeader(http.StatusOK)
	w.Write([]byte("retry: 2000\n\n"))
	ev := event(d.Snapshot(true))
	for {
		if _, err := w.Write(ev); err != nil || rc.Flush() != nil {
			return
		}
		select {
		case ev = <-ch:
		case <-r.Context().Done():
			return
		case <-d.stop:
			return
		}
	}
}

// event is s as one server-sent event named "status".
func event(s Snapshot) []byte {
	b, _ := json.Marshal(s)
	return append(append([]byte("event: status\ndata: "), b...), "\n\n"...)
}
