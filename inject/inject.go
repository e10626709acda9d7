// Package inject finds and inserts planktos's install tag in HTML pages, for any site generator.
//
// Tag and EarlyTag build the tag for a site's URL path prefix; Page inserts it into a page that lacks
// it, and Early does so for sites that register a service worker of their own, before their first
// script. Both also report what they found (install tags already present, a fragment, a page from
// `hugo server`), so that a caller that must not change pages (verify) calls Page with Never. A page is
// read with the x/net/html tokenizer and never re-rendered: every byte but the inserted tag is kept.
package inject

import (
	"bytes"
	"strings"

	"golang.org/x/net/html"
)

// Mode says when the install tag is inserted into a page.
// The zero value "" and any unknown value behave like Auto; validate
// user input before it gets here.
type Mode string

const (
	Auto   Mode = "auto"   // insert into full HTML documents that lack the tag; leave fragments alone
	Always Mode = "always" // like auto, and also into fragments (prepend the tag)
	Never  Mode = "never"  // never modify pages
)

// installPath is the path, relative to the site base, that install.js is published at.
const installPath = "planktos/install.js"

// Tag returns the script tag for a site whose URL path prefix is base ("/" or "/project/"):
// `<script src="/project/planktos/install.js" defer></script>`.
//
// base is taken as an already URL-escaped path; a missing leading or trailing
// slash is added ("project" → "/project/", "" → "/"). '?' and '#' are
// percent-escaped (they would end the path) and HTML special characters are
// HTML-escaped, so that Page always recognises the tag it inserted.
func Tag(base string) string {
	if !strings.HasPrefix(base, "/") {
		base = "/" + base
	}
	if !strings.HasSuffix(base, "/") {
		base += "/"
	}
	base = strings.NewReplacer("?", "%3F", "#", "%23").Replace(base)
	return `<script src="` + html.EscapeString(base+installPath) + `" defer></script>`
}

// EarlyTag is Tag without defer: `<script src="/project/planktos/install.js"></script>`.
// It is for sites that register a service worker of their own: placed before the page's first script, it
// runs before any of them, so install.js answers their register() call whenever it comes.
func EarlyTag(base string) string {
	return strings.Replace(Tag(base), ` defer>`, `>`, 1)
}

// Result says what Page found and did.
type Result struct {
	Found      int  // install tags already present (script elements whose src path ends in "planktos/install.js", any quoting/case, absolute or relative URL, query string allowed)
	Injected   bool // the tag was inserted
	Fragment   bool // the input has no <html>, <head> or <body> tag (nor a doctype)
	LiveReload bool // the page references livereload.js (output of `hugo server`)
}

// Page returns page with the install tag inserted where mode requires it. The returned slice is page itself
// (no copy) when nothing was inserted.
//
// The page is read with the x/net/html tokenizer, never parsed and
// re-rendered: the output is the input with Tag(base) spliced in at
// one token boundary, every other byte unchanged (minified markup, comments,
// CRLF, BOM, invalid HTML). Tokens inside comments and raw-text or RCDATA
// elements (script, style, title, textarea, noscript, iframe, xmp, noembed,
// noframes, plaintext) are text to the tokenizer, and everything inside
// <template> is ignored here, as browsers keep it inert.
//
// The tag goes, in order of preference:
//  1. right before the first </head> end tag;
//  2. right before the first start tag of <body> or of an element that cannot
//     be in head (anything but html, head, title, meta, link, style, script,
//     base, noscript and template) — minifiers may drop </head>;
//  3. right after the first <head> start tag, else the first <html> start tag;
//  4. at the start: after a UTF-8 BOM and after a doctype that precedes every
//     tag, so that neither the encoding nor standards mode changes.
//
// A page is a document, not a fragment, when it has an html, head or body
// start or end tag, or a doctype. Fragments get the tag (rule 4) only in
// mode Always. Nothing is inserted when Found ≥ 1, so Page is idempotent.
// Found, Fragment and LiveReload are reported in every mode, Never too. Once the head has been read
// and holds an install tag, the rest of the page is not scanned (unless it mentions livereload.js), so
// Found counts the tags up to the end of the head.
//
// A script counts as the install tag when its src, with surrounding
// whitespace, query and fragment removed, is "planktos/install.js" or ends in
// "/planktos/install.js" (so "/x/myplanktos/install.js" does not count). The
// tag and attribute names are case-insensitive, the path is not: URL paths are
// case-sensitive on most servers, and a false "found" would leave a page
// without a working install tag, while a duplicate is harmless.
func Page(page []byte, base string, mode Mode) ([]byte, Result) {
	return insert(page, base, mode, false)
}

// Early is Page for a site that registers its own service worker: it inserts EarlyTag(base)
// right before the page's first script element when that comes before where Page would insert, and
// where Page would otherwise.
func Early(page []byte, base string, mode Mode) ([]byte, Result) {
	return insert(page, base, mode, true)
}

func insert(page []byte, base string, mode Mode, early bool) ([]byte, Result) {
	s := scan(page)
	res := s.Result
	if mode == Never || res.Found > 0 || (res.Fragment && mode != Always) {
		return page, res
	}
	at := s.prepend
	switch {
	case res.Fragment: // rule 4
	case s.headEnd >= 0:
		at = s.headEnd
	case s.bodyStart >= 0:
		at = s.bodyStart
	case s.afterHead >= 0:
		at = s.afterHead
	case s.afterHTML >= 0:
		at = s.afterHTML
	}
	tag := Tag(base)
	if early {
		tag = EarlyTag(base)
		if s.firstScript >= 0 && s.firstScript < at {
			at = s.firstScript
		}
	}
	out := make([]byte, 0, len(page)+len(tag))
	out = append(append(append(out, page[:at]...), tag...), page[at:]...)
	res.Injected = true
	return out, res
}

// scanResult holds candidate insertion offsets into the page; -1 means none.
type scanResult struct {
	Result
	headEnd, bodyStart, afterHead, afterHTML, prepend int
	firstScript                                       int // the first script start tag
}

var utf8BOM = []byte("\xef\xbb\xbf")

// scan tokenizes the whole page once. Offsets are the running sum of
// len(z.Raw()), which covers every byte up to the current token; an
// unterminated tag at EOF yields no token and can only lie past every offset.
func scan(page []byte) scanResult {
	s := scanResult{headEnd: -1, bodyStart: -1, afterHead: -1, afterHTML: -1, firstScript: -1}
	if bytes.HasPrefix(page, utf8BOM) {
		s.prepend = len(utf8BOM)
	}
	doc, sawTag, template := false, false, 0
	mayLive := bytes.Contains(page, []byte("livereload.js"))
	var buf [8]byte
	z := html.NewTokenizer(bytes.NewReader(page))
	for off := 0; ; {
		tt := z.Next()
		if tt == html.ErrorToken {
			break
		}
		raw := z.Raw()
		start := off
		off += len(raw)
		switch tt {
		case html.DoctypeToken:
			doc = true
			if !sawTag {
				s.prepend = off
			}
		case html.StartTagToken, html.SelfClosingTagToken: // <template/> and <script/> open elements in HTML
			sawTag = true
			name := tagName(raw, &buf)
			if string(name) == "template" {
				template++
			}
			if template > 0 {
				continue
			}
			switch string(name) {
			case "html":
				doc = true
				if s.afterHTML < 0 {
					s.afterHTML = off
				}
			case "head":
				doc = true
				if s.afterHead < 0 {
					s.afterHead = off
				}
			case "script":
				if s.firstScript < 0 {
					s.firstScript = start
				}
				s.script(z)
			case "title", "meta", "link", "style", "base", "noscript":
			default: // body, or an element that cannot be in head
				if string(name) == "body" {
					doc = true
				}
				if s.bodyStart < 0 {
					s.bodyStart = start
				}
			}
		case html.EndTagToken:
			sawTag = true
			name := tagName(raw, &buf)
			switch string(name) {
			case "template":
				if template > 0 {
					template--
				}
			case "head":
				if template == 0 && s.headEnd < 0 {
					s.headEnd = start
				}
				fallthrough
			case "html", "body":
				doc = doc || template == 0
			}
		}
		if s.Found > 0 && template == 0 && (s.headEnd >= 0 || s.bodyStart >= 0) && !mayLive {
			break // the head is read and has the tag: the rest cannot change what Page does
		}
	}
	s.Fragment = !doc
	return s
}

// tagName returns the lower-cased name of a tag token, read from its raw bytes
// the way the tokenizer delimits it, without the allocation of z.TagName.
// Names longer than buf, none of which matter here, come back as "?".
func tagName(raw []byte, buf *[8]byte) []byte {
	n := 0
	for _, c := range bytes.TrimPrefix(raw[1:], []byte("/")) {
		switch {
		case c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\f' || c == '/' || c == '>':
			return buf[:n]
		case n == len(buf):
			buf[0] = '?'
			return buf[:1]
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		}
		buf[n] = c
		n++
	}
	return buf[:n]
}

// script inspects the attributes of a script start tag.
func (s *scanResult) script(z *html.Tokenizer) {
	for more := true; more; {
		var key, val []byte
		key, val, more = z.TagAttr()
		if string(key) != "src" {
			continue
		}
		// Browsers use the first of duplicate attributes.
		p := srcPath(val)
		switch {
		case p == installPath || strings.HasSuffix(p, "/"+installPath):
			s.Found++
		case p == "livereload.js" || strings.HasSuffix(p, "/livereload.js"):
			s.LiveReload = true
		}
		return
	}
}

// srcPath returns the URL in an (unescaped) src value without the
// surrounding ASCII whitespace browsers strip, the query and the fragment.
func srcPath(v []byte) string {
	p := strings.Trim(string(v), "\t\n\f\r ")
	if i := strings.IndexAny(p, "?#"); i >= 0 {
		p = p[:i]
	}
	return p
}
