package verify

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/planktos/planktos/manifest"
)

// Fixes of the hosting checks.
const (
	fixHTTPS = "serve the site over HTTPS (most hosts offer free certificates) and package it for its https:// URL"
	fixRange = "host planktos/files/ where Range requests work (GitHub Pages, Netlify, S3/CloudFront, nginx and " +
		"Caddy support them); a proxy or CDN in front must pass the Range header through"
	fixCache = "send Cache-Control: public, max-age=31536000, immutable for planktos/files/* and " +
		"planktos/torrents/*, and Cache-Control: no-cache for pages, planktos/manifest.json, planktos/root.torrent " +
		"and planktos.sw.js (`planktos serve` does exactly this)"
	fixSWType = "configure the host to send Content-Type: text/javascript for planktos.sw.js (for .js files)"
)

// noServer is the message of the HTTP checks skipped on a folder.
const noServer = "a folder has no server; run planktos verify on the deployed site's URL"

// checkServiceWorker checks that planktos.sw.js is served at the base (its scope must cover the site) with
// a JavaScript type and without a redirect: browsers refuse to register a worker otherwise.
func (r *run) checkServiceWorker(ctx context.Context) Check {
	if r.web == nil {
		body, err := readAll(ctx, r.src, swPath, 16<<20)
		if err != nil {
			return fail(CheckServiceWorker, fixRepack, "%s is missing: %v", r.src.where(swPath), err)
		}
		c, ok := r.siteWorkers(body)
		if !ok {
			return c
		}
		return pass(CheckServiceWorker, "%s is at the publish root (its type and redirects depend on the host)%s",
			swPath, c.Message)
	}
	u := r.web.url(swPath)
	resp, err := r.web.do(ctx, http.MethodGet, swPath, nil, false)
	if err != nil {
		return fail(CheckServiceWorker, fixDeploy, "%v", err)
	}
	defer resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode >= 300 && resp.StatusCode < 400 {
		return fail(CheckServiceWorker, "serve planktos.sw.js itself at "+u+", without a redirect (look for the host's "+
			"trailing-slash, www or https redirect rules)", "%s redirects (%s) to %s: browsers refuse to register a "+
			"service worker behind a redirect", u, resp.Status, loc)
	}
	if resp.StatusCode != http.StatusOK {
		return fail(CheckServiceWorker, fixDeploy, "GET %s: %s", u, resp.Status)
	}
	ct := resp.Header.Get("Content-Type")
	mt, _, _ := mime.ParseMediaType(ct)
	switch mt {
	case "text/javascript", "application/javascript", "application/x-javascript", "application/ecmascript",
		"text/ecmascript":
	default:
		return fail(CheckServiceWorker, fixSWType, "%s is served as %q: browsers register a service worker only "+
			"from a JavaScript type", u, ct)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return fail(CheckServiceWorker, fixDeploy, "GET %s: %v", u, err)
	}
	c, ok := r.siteWorkers(body)
	if !ok {
		return c
	}
	return pass(CheckServiceWorker, "%s is served as %s, without a redirect%s", u, ct, c.Message)
}

// siteWorkers checks that planktos.sw.js imports the site's own service workers the manifest lists (see
// packager.SiteWorker). It returns a failing check, or ok and a message tail naming them.
func (r *run) siteWorkers(sw []byte) (Check, bool) {
	if r.m == nil || len(r.m.Runtime.SiteWorkers) == 0 {
		return Check{}, true
	}
	names := strings.Join(r.m.Runtime.SiteWorkers, ", ")
	first, _, _ := bytes.Cut(sw, []byte("\n"))
	for _, w := range r.m.Runtime.SiteWorkers {
		if !bytes.HasPrefix(first, []byte("self.planktosSite=")) || !bytes.Contains(first, []byte(w+`"`)) {
			return fail(CheckServiceWorker, "deploy planktos.sw.js together with the package (planktos writes both)",
				"the manifest says planktos.sw.js runs the site's own service worker %s, but this planktos.sw.js "+
					"does not import it: the site's worker would not run at all", w), false
		}
	}
	return Check{Message: fmt.Sprintf("; it runs the site's own service worker %s (its install and activate "+
		"handlers do not run; site_worker = \"drop\" turns that off)", names)}, true
}

// checkHTTPS checks that the site is served over HTTPS, or from localhost, where browsers also run service
// workers. A folder is checked for the URL it was packaged for.
func (r *run) checkHTTPS(context.Context) Check {
	u, what := (*url.URL)(nil), "served at"
	if r.web != nil {
		u = r.web.base
	} else {
		if r.m == nil || len(r.m.Webseeds) == 0 {
			return noManifest(CheckHTTPS)
		}
		var err error
		if u, err = url.Parse(r.m.Webseeds[0]); err != nil {
			return fail(CheckHTTPS, fixRepack, "the manifest's webseed %q is not a URL", r.m.Webseeds[0])
		}
		u.Path = strings.TrimSuffix(u.Path, manifest.Dir+"/")
		what = "packaged for"
	}
	switch {
	case u.Scheme == "https":
		return pass(CheckHTTPS, "%s %s, over HTTPS", what, u)
	case isLocal(u.Hostname()):
		return pass(CheckHTTPS, "%s %s: plain HTTP, which browsers allow on %s, for testing", what, u, u.Hostname())
	}
	return fail(CheckHTTPS, fixHTTPS, "%s %s: plain HTTP, and browsers run service workers only on HTTPS origins "+
		"(or localhost), so planktos stays off for every visitor", what, u)
}

// isLocal reports whether browsers treat host as a secure context over plain HTTP.
func isLocal(host string) bool {
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// checkRange asks for a kilobyte from the middle of the largest store file and expects 206 with the right
// Content-Range: webseeds and video seeking depend on it.
func (r *run) checkRange(ctx context.Context) Check {
	if r.web == nil {
		return skip(CheckRange, noServer)
	}
	if r.m == nil {
		return noManifest(CheckRange)
	}
	var p problems
	var big blob
	for _, b := range r.blobs(&p) {
		if b.size > big.size {
			big = b
		}
	}
	if big.size < 2 {
		return skip(CheckRange, "no store file is large enough to ask for a part of it")
	}
	from := big.size / 2
	to := min(from+1023, big.size-1)
	resp, err := r.web.do(ctx, http.MethodGet, big.rel(), http.Header{"Range": {fmt.Sprintf("bytes=%d-%d", from, to)}},
		true)
	if err != nil {
		return fail(CheckRange, fixRange, "%v", err)
	}
	defer resp.Body.Close() // on a 200, unread: the connection is dropped rather than the file downloaded
	u := r.web.url(big.rel())
	switch resp.StatusCode {
	case http.StatusPartialContent:
	case http.StatusOK:
		return fail(CheckRange, fixRange, "%s answered 200 with the whole file (%d bytes) to a request for bytes "+
			"%d-%d: the host ignores Range", u, big.size, from, to)
	default:
		return fail(CheckRange, fixRange, "%s answered %s to a request for bytes %d-%d", u, resp.Status, from, to)
	}
	want := fmt.Sprintf("bytes %d-%d/%d", from, to, big.size)
	if got := resp.Header.Get("Content-Range"); got != want {
		return fail(CheckRange, fixRange, "%s answered 206 with Content-Range %q, want %q", u, got, want)
	}
	n, err := io.Copy(io.Discard, io.LimitReader(resp.Body, to-from+2))
	if err != nil || n != to-from+1 {
		return fail(CheckRange, fixRange, "%s sent %d bytes for a %d-byte range (%v)", u, n, to-from+1, err)
	}
	return pass(CheckRange, "%s%.12s… answered 206 with Content-Range %s", storePrefix, big.sha, want)
}

// checkCache reads the Cache-Control of one file of each kind: the store and the torrents never change
// (their names are their hashes) and should be cached long; pages, the manifest, root.torrent and the
// service worker change with every package and must be revalidated, or returning visitors miss updates.
func (r *run) checkCache(ctx context.Context) Check {
	if r.web == nil {
		return skip(CheckCache, noServer)
	}
	if r.m == nil {
		return noManifest(CheckCache)
	}
	type target struct {
		rel  string
		long bool
	}
	var targets []target
	var p problems
	if bs := r.blobs(&p); len(bs) > 0 {
		targets = append(targets, target{bs[0].rel(), true})
	}
	if len(r.m.Torrents) > 0 {
		targets = append(targets, target{r.m.Torrents[0].URL, true}, target{rootTorrent, false})
	}
	targets = append(targets, target{manifestPath, false}, target{swPath, false})
	if pages := r.pages(); len(pages) > 0 {
		targets = append(targets, target{pageURL(pages[0]), false})
	}
	var fails, warns, seen []string
	for _, t := range targets {
		resp, err := r.web.do(ctx, http.MethodHead, t.rel, nil, true)
		if err != nil {
			fails = append(fails, err.Error())
			continue
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			continue // a missing file is another check's failure
		}
		name := t.rel
		if name == "" {
			name = "the home page"
		} else if strings.HasPrefix(name, storePrefix) || strings.HasPrefix(name, manifest.TorrentsPrefix) {
			name = name[:strings.LastIndex(name, "/")+1] + "*"
		}
		cc := resp.Header.Get("Cache-Control")
		st, why := revalidated(cc, resp.Header)
		if t.long {
			st, why = cachedLong(cc)
		}
		switch st {
		case Fail:
			fails = append(fails, name+": "+why)
		case Warn:
			warns = append(warns, name+": "+why)
		default:
			seen = append(seen, fmt.Sprintf("%s: %s", name, cc))
		}
	}
	switch {
	case len(fails) > 0:
		return fail(CheckCache, fixCache, "%s", strings.Join(append(fails, warns...), "; "))
	case len(warns) > 0:
		return warn(CheckCache, fixCache, "%s", strings.Join(warns, "; "))
	}
	return pass(CheckCache, "%s", strings.Join(seen, "; "))
}

// cachedLong judges the Cache-Control of a file that never changes.
func cachedLong(cc string) (Status, string) {
	d := directives(cc)
	age, hasAge := maxAge(d)
	switch _, noStore := d["no-store"]; {
	case noStore:
		return Fail, fmt.Sprintf("%q makes browsers and CDNs download it again on every use, though it never changes", cc)
	case cc == "":
		return Warn, "no Cache-Control: caches guess how long to keep a file that never changes"
	}
	if _, ok := d["immutable"]; ok || (hasAge && age >= 24*time.Hour) {
		return Pass, ""
	}
	return Warn, fmt.Sprintf("%q makes caches revalidate a file that never changes", cc)
}

// revalidated judges the Cache-Control of a file that changes with every package.
func revalidated(cc string, h http.Header) (Status, string) {
	d := directives(cc)
	age, hasAge := maxAge(d)
	_, noCache := d["no-cache"]
	_, noStore := d["no-store"]
	switch _, immutable := d["immutable"]; {
	case immutable:
		return Fail, fmt.Sprintf("%q: returning visitors would never get a new version", cc)
	case noStore:
		return Pass, ""
	case noCache && h.Get("ETag") == "" && h.Get("Last-Modified") == "":
		return Warn, fmt.Sprintf("%q without an ETag or Last-Modified: every revalidation downloads it whole", cc)
	case noCache:
		return Pass, ""
	case hasAge && age > 24*time.Hour:
		return Fail, fmt.Sprintf("%q: returning visitors would get a new version only %s after it is deployed", cc, age)
	case hasAge && age > time.Hour:
		return Warn, fmt.Sprintf("%q: returning visitors get a new version up to %s late", cc, age)
	case hasAge:
		return Pass, ""
	case h.Get("Last-Modified") != "":
		return Warn, "no Cache-Control: browsers may reuse an old version for a while (heuristic freshness)"
	}
	return Pass, ""
}

// directives parses a Cache-Control header into lower-cased directives and their unquoted values.
func directives(cc string) map[string]string {
	d := map[string]string{}
	for _, part := range strings.Split(cc, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		if k != "" {
			d[strings.ToLower(k)] = strings.Trim(v, `"`)
		}
	}
	return d
}

// maxAge returns the max-age directive, if any.
func maxAge(d map[string]string) (time.Duration, bool) {
	v, ok := d["max-age"]
	if !ok {
		return 0, false
	}
	s, err := strconv.ParseInt(v, 10, 64)
	if err != nil || s < 0 {
		return 0, true // invalid: stale at once (RFC 9111, 5.2.1.1 and 4.2.1)
	}
	return time.Duration(min(s, 1<<32)) * time.Second, true
}
