package packager

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"path"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/spf13/afero"
	"golang.org/x/net/html"
)

// SiteWorker is a service worker the site registers itself (a theme's offline or push worker). A scope
// has one worker: install.js answers the site's register() call with planktos's registration, and with
// site_worker = "import" planktos.sw.js imports the script (see runtime/src/sw/site-worker.js).
type SiteWorker struct {
	// Script is the worker script's manifest key ("sw.js"); empty when the register() argument is not a
	// string literal or names no published file.
	Script string `json:"script,omitempty"`
	// URL is the register() argument as written ("" when it is not a string literal).
	URL string `json:"url"`
	// In is the file whose code calls register(): a page (inline script) or a script.
	In string `json:"in"`
	// Page is a page that loads In, when In is a script (empty when no page was seen loading it).
	Page string `json:"page,omitempty"`
	// Precaches says the worker's own code caches files (Cache.addAll): the site twice, besides planktos.
	Precaches bool `json:"precaches,omitempty"`
	// Imported says planktos.sw.js runs the script.
	Imported bool `json:"imported"`
}

// registerCall finds serviceWorker.register( calls and, when it is a string literal, their first argument.
var registerCall = regexp.MustCompile("serviceWorker\\s*\\.\\s*register\\s*\\(\\s*(?:(['\"`])([^'\"`\\s]*)['\"`])?")

// registrations returns the register() arguments in code ("" for one that is not a string literal).
func registrations(code []byte) []string {
	if !bytes.Contains(code, []byte("serviceWorker")) {
		return nil
	}
	var out []string
	for _, m := range registerCall.FindAllSubmatch(code, -1) {
		out = append(out, string(m[2]))
	}
	return out
}

// inlineRegistrations returns the register() arguments in a page's inline scripts.
func inlineRegistrations(page []byte) []string {
	if !bytes.Contains(page, []byte("serviceWorker")) {
		return nil
	}
	var out []string
	z := html.NewTokenizer(bytes.NewReader(page))
	inScript := false
	for {
		switch z.Next() {
		case html.ErrorToken:
			return out
		case html.StartTagToken:
			name, _ := z.TagName()
			inScript = string(name) == "script"
		case html.TextToken:
			if inScript {
				out = append(out, registrations(z.Text())...)
			}
		default:
			inScript = false
		}
	}
}

// isScript says whether rel is JavaScript a page could load.
func isScript(rel string) bool {
	ext := strings.ToLower(path.Ext(rel))
	return ext == ".js" || ext == ".mjs"
}

// scriptRegistrations reads the site's scripts and returns, by script, the register() arguments in them.
// It runs before the pages are stored: a page whose scripts register a worker gets the early install tag.
func scriptRegistrations(fsys afero.Fs, sources []source) (map[string][]string, error) {
	out := map[string][]string{}
	for _, src := range sources {
		if !isScript(src.rel) || src.size > htmlCap {
			continue
		}
		b, err := readExactly(fsys, src)
		if err != nil {
			return nil, err
		}
		if r := registrations(b); len(r) > 0 {
			out[src.rel] = r
		}
	}
	return out, nil
}

// siteWorkers resolves what the walk found into the site's workers, sorted by the file that registers them.
// A script's register() URL resolves against the page running it; planktos takes the site's base for it.
func siteWorkers(fsys afero.Fs, items []item, scripts map[string][]string, loadedBy *sync.Map, base string,
	imports bool) []SiteWorker {
	byRel := map[string]*item{}
	for i := range items {
		byRel[items[i].rel] = &items[i]
	}
	var out []SiteWorker
	add := func(in, page, raw, against string) {
		w := SiteWorker{URL: raw, In: in, Page: page}
		if key, ok := workerKey(raw, against, base); ok && byRel[key] != nil {
			w.Script, w.Imported = key, imports
			if b, err := readExactly(fsys, byRel[key].source); err == nil {
				w.Precaches = bytes.Contains(b, []byte("addAll("))
			}
		}
		out = append(out, w)
	}
	for i := range items {
		for _, raw := range items[i].registers {
			add(items[i].rel, "", raw, base+items[i].rel)
		}
	}
	for rel, raws := range scripts {
		page, _ := loadedBy.Load(rel)
		p, _ := page.(string)
		for _, raw := range raws {
			add(rel, p, raw, base)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].In < out[j].In })
	return dedupeWorkers(out)
}

// dedupeWorkers keeps one entry per registering file and script URL (every page of a theme repeats it).
func dedupeWorkers(ws []SiteWorker) []SiteWorker {
	seen := map[[2]string]bool{}
	var out []SiteWorker
	for _, w := range ws {
		k := [2]string{w.URL, w.Script}
		if w.Script == "" {
			k[1] = w.In
		}
		if !seen[k] {
			seen[k] = true
			out = append(out, w)
		}
	}
	return out
}

// workerKey returns the manifest key a register() URL names, resolved against the URL path against.
func workerKey(raw, against, base string) (string, bool) {
	if raw == "" {
		return "", false
	}
	ref, err := url.Parse(raw)
	if err != nil {
		return "", false
	}
	p := (&url.URL{Path: against}).ResolveReference(ref)
	if ref.Host != "" || !strings.HasPrefix(p.Path, base) {
		return "", false
	}
	return strings.TrimPrefix(p.Path, base), true
}

// Prelude is what planktos.sw.js starts with: `self.planktosSite={"workers":[...],"key":"..."};`, read
// by runtime/src/sw (site-worker.js imports the workers; the key is the one a signed manifest from a peer
// must verify under). Workers is always an array; Key is omitted when the package is unsigned.
type Prelude struct {
	Workers []string `json:"workers"`
	Key     string   `json:"key,omitempty"`
}

// PreludeVar starts the prelude line.
const PreludeVar = "self.planktosSite="

// sitePrelude is the line planktos.sw.js starts with on a site whose workers it imports or whose
// package is signed by key (manifest.EncodeKey form); nil when there are neither.
func sitePrelude(ws []SiteWorker, base, key string) []byte {
	urls := []string{}
	for _, w := range ws {
		if w.Imported {
			u := (&url.URL{Path: base + w.Script}).EscapedPath()
			if !contains(urls, u) {
				urls = append(urls, u)
			}
		}
	}
	if len(urls) == 0 && key == "" {
		return nil
	}
	b, _ := json.Marshal(Prelude{Workers: urls, Key: key})
	return []byte(PreludeVar + string(b) + ";\n")
}

// ParsePrelude reads the prelude at the start of a planktos.sw.js; ok is false when it has none.
func ParsePrelude(sw []byte) (p Prelude, ok bool) {
	line, _, _ := bytes.Cut(sw, []byte("\n"))
	rest, found := bytes.CutPrefix(line, []byte(PreludeVar))
	if !found {
		return p, false
	}
	return p, json.Unmarshal(bytes.TrimSuffix(bytes.TrimSpace(rest), []byte(";")), &p) == nil
}

// importedWorkers lists the scripts of the workers planktos.sw.js imports, for the manifest.
func importedWorkers(ws []SiteWorker) []string {
	var out []string
	for _, w := range ws {
		if w.Imported && !contains(out, w.Script) {
			out = append(out, w.Script)
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// workerWarning tells the owner what becomes of one of the site's workers.
func workerWarning(w SiteWorker) string {
	where := w.In
	if w.Page != "" {
		where += ", loaded by " + w.Page
	}
	head := fmt.Sprintf("the site registers its own service worker %s (in %s)", w.URL, where)
	if w.URL == "" {
		head = fmt.Sprintf("the site registers its own service worker (in %s), with a URL planktos cannot read", where)
	}
	switch {
	case w.Imported:
		msg := head + ": planktos.sw.js runs it, so its push, notificationclick, sync and message handlers " +
			"keep working, and its answers for URLs planktos does not serve; its install and activate handlers " +
			"do not run"
		if w.Precaches {
			msg += " (it precaches the site itself: planktos's prefetch does that job)"
		}
		return msg + `. Set site_worker = "drop" in planktos.toml if it must not run at all`
	case w.Script == "" && w.URL != "":
		return head + ", which is not a published file: its register() gets planktos's registration, and " +
			"nothing of it runs"
	case w.Script == "":
		return head + `: its register() gets planktos's registration, and nothing of it runs; write the ` +
			`URL as a string literal so that planktos can import it`
	default:
		return head + `: with site_worker = "drop" nothing of it runs (no push, notifications or its own routes); ` +
			`its register() gets planktos's registration. Set site_worker = "import" to run it inside planktos.sw.js`
	}
}
