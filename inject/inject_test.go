package inject

import (
	"bytes"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// T marks the expected insertion point in a test's want string.
const T = "{{TAG}}"

const tagRoot = `<script src="/planktos/install.js" defer></script>`

var injectCases = []struct {
	name string
	in   string
	mode Mode
	base string
	want string // in with T where the tag goes; "" = unchanged
	res  Result
}{
	{name: "plain doc",
		in:   "<!DOCTYPE html>\n<html>\n<head>\n<title>x</title>\n</head>\n<body><p>hi</p></body>\n</html>\n",
		want: "<!DOCTYPE html>\n<html>\n<head>\n<title>x</title>\n" + T + "</head>\n<body><p>hi</p></body>\n</html>\n"},
	{name: "minified doc",
		in:   `<!doctype html><html lang=en><head><meta charset=utf-8><title>x</title></head><body><a href=/a/ class=x>a</a></body></html>`,
		want: `<!doctype html><html lang=en><head><meta charset=utf-8><title>x</title>` + T + `</head><body><a href=/a/ class=x>a</a></body></html>`},
	{name: "hugo alias page",
		in:   `<!DOCTYPE html><html lang="en-us"><head><title>https://example.org/</title><link rel="canonical" href="https://example.org/"><meta charset="utf-8"><meta http-equiv="refresh" content="0; url=https://example.org/"></head></html>`,
		want: `<!DOCTYPE html><html lang="en-us"><head><title>https://example.org/</title><link rel="canonical" href="https://example.org/"><meta charset="utf-8"><meta http-equiv="refresh" content="0; url=https://example.org/">` + T + `</head></html>`},
	{name: "no </head>, body start tag",
		in:   `<html><head><meta charset=utf-8><title>x</title><body><p>hi`,
		want: `<html><head><meta charset=utf-8><title>x</title>` + T + `<body><p>hi`},
	{name: "no </head> nor body, first non-head element",
		in:   `<html><head><title>x</title><script>a</script><noscript><img src=x></noscript><div>hi</div>`,
		want: `<html><head><title>x</title><script>a</script><noscript><img src=x></noscript>` + T + `<div>hi</div>`},
	{name: "no head at all",
		in:   "<!doctype html><html lang=en><body><p>x</p></body></html>",
		want: "<!doctype html><html lang=en>" + T + "<body><p>x</p></body></html>"},
	{name: "no head, no body",
		in:   "<html><meta charset=utf-8><h1>x</h1></html>",
		want: "<html><meta charset=utf-8>" + T + "<h1>x</h1></html>"},
	{name: "only <head> start tag",
		in:   "<html><head><title>x</title><meta name=a>",
		want: "<html><head>" + T + "<title>x</title><meta name=a>"},
	{name: "only <html> start tag",
		in:   "<html lang=en><title>x</title>",
		want: "<html lang=en>" + T + "<title>x</title>"},
	{name: "only </html>: prepend",
		in:   "<title>x</title></html>",
		want: T + "<title>x</title></html>"},
	{name: "doctype makes a document; tag goes after it",
		in:   "<!-- c --><!DOCTYPE html><title>x</title>",
		want: "<!-- c --><!DOCTYPE html>" + T + "<title>x</title>"},
	{name: "uppercase tags",
		in:   "<HTML><HEAD><TITLE>x</TITLE></HEAD><BODY></BODY></HTML>",
		want: "<HTML><HEAD><TITLE>x</TITLE>" + T + "</HEAD><BODY></BODY></HTML>"},
	{name: "long element name",
		in:   "<html><head><title>x</title><noscript>y</noscript><templates>q<my-element>",
		want: "<html><head><title>x</title><noscript>y</noscript>" + T + "<templates>q<my-element>"},
	{name: "end tag with whitespace and attribute",
		in:   "<html><head><title>x</title></HEAD\n a=b ><body>",
		want: "<html><head><title>x</title>" + T + "</HEAD\n a=b ><body>"},
	{name: "</head> in comment, script, style, title",
		in:   `<html><head><!-- </head> --><script>if(a)document.write("</head>")</script><style>/*</head>*/</style><title></head></title></head><body>`,
		want: `<html><head><!-- </head> --><script>if(a)document.write("</head>")</script><style>/*</head>*/</style><title></head></title>` + T + `</head><body>`},
	{name: "</head> in script with escaped comment",
		in:   `<head><script><!--<script></head></script>--></script></head>`,
		want: `<head><script><!--<script></head></script>--></script>` + T + `</head>`},
	{name: "</head> in textarea",
		in:   `<html><head><title>x</title><textarea></head></textarea></head>`,
		want: `<html><head><title>x</title><textarea></head></textarea>` + T + `</head>`},
	{name: "</head> and <div> inside template",
		in:   `<html><head><template><div></div></head></template><title>x</title></head><body>`,
		want: `<html><head><template><div></div></head></template><title>x</title>` + T + `</head><body>`},
	{name: "</head> in bogus CDATA comment",
		in:   `<html><head><![CDATA[</head>]]><title>x</title></head>`,
		want: `<html><head><![CDATA[</head>]]><title>x</title>` + T + `</head>`},
	{name: "plaintext swallows the rest",
		in:   `<html><head><title>x</title><plaintext></head><body>`,
		want: `<html><head><title>x</title>` + T + `<plaintext></head><body>`},
	{name: "unterminated tag at EOF",
		in:   `<html><head><title>x</title></he`,
		want: `<html><head>` + T + `<title>x</title></he`},
	{name: "found: unquoted", in: `<html><head><script src=/planktos/install.js defer></script></head>`, res: Result{Found: 1}},
	{name: "found: uppercase single-quoted with query", in: `<HTML><HEAD><SCRIPT SRC='/planktos/install.js?v=1'></SCRIPT></HEAD>`, res: Result{Found: 1}},
	{name: "found: absolute", in: `<html><body><script defer src="https://x.org/project/planktos/install.js"></script>`, res: Result{Found: 1}},
	{name: "found: relative", in: `<html><head><script src="../planktos/install.js"></script>`, res: Result{Found: 1}},
	{name: "found: bare relative, fragment id, spaces", in: `<html><script src=" planktos/install.js#x ">`, res: Result{Found: 1}},
	{name: "found: entity-escaped, self-closing", in: `<html><script src="&#47;planktos&#x2F;install.js"/>`, res: Result{Found: 1}},
	{name: "found in fragment", in: `<p>x</p><script src=/planktos/install.js></script>`, mode: Always, res: Result{Found: 1, Fragment: true}},
	{name: "duplicated tags", in: `<html><head>` + tagRoot + tagRoot + `</head><body></body></html>`, res: Result{Found: 2}},
	{name: "body not scanned once the head has the tag", in: `<html><head>` + tagRoot + `</head><body>` + tagRoot + `</body></html>`, res: Result{Found: 1}},
	{name: "not the tag: other file, other folder, link, comment, template, data-src",
		in:   `<html><head><script src=/planktos/install.json></script><script src=/myplanktos/install.js></script><link href=/planktos/install.js><!--<script src=/planktos/install.js>--><template><script src=/planktos/install.js></script></template><script data-src=/planktos/install.js></script></head>`,
		want: `<html><head><script src=/planktos/install.json></script><script src=/myplanktos/install.js></script><link href=/planktos/install.js><!--<script src=/planktos/install.js>--><template><script src=/planktos/install.js></script></template><script data-src=/planktos/install.js></script>` + T + `</head>`},
	{name: "path is case-sensitive",
		in:   `<html><head><script src=/PLANKTOS/INSTALL.JS></script></head>`,
		want: `<html><head><script src=/PLANKTOS/INSTALL.JS></script>` + T + `</head>`},
	{name: "fragment, auto", in: "<p>hello</p>\n", res: Result{Fragment: true}},
	{name: "fragment, always", in: "<p>hello</p>\n", mode: Always, want: T + "<p>hello</p>\n", res: Result{Fragment: true}},
	{name: "fragment with BOM, always", in: "\uFEFFhello <p>x</p>", mode: Always, want: "\uFEFF" + T + "hello <p>x</p>", res: Result{Fragment: true}},
	{name: "fragment with text first, always", in: "hello <b>x</b>", mode: Always, want: T + "hello <b>x</b>", res: Result{Fragment: true}},
	{name: "empty, auto", in: "", res: Result{Fragment: true}},
	{name: "empty, always", in: "", mode: Always, want: T, res: Result{Fragment: true}},
	{name: "never", in: "<html><head></head></html>", mode: Never},
	{name: "never still reports", in: "<p>" + tagRoot, mode: Never, res: Result{Found: 1, Fragment: true}},
	{name: "base /project/", base: "/project/",
		in:   "<html><head></head></html>",
		want: "<html><head>" + T + "</head></html>"},
	{name: "BOM and CRLF preserved",
		in:   "\uFEFF<!DOCTYPE html>\r\n<html>\r\n<head>\r\n<title>x</title>\r\n</head>\r\n<body>\r\n</body>\r\n</html>\r\n",
		want: "\uFEFF<!DOCTYPE html>\r\n<html>\r\n<head>\r\n<title>x</title>\r\n" + T + "</head>\r\n<body>\r\n</body>\r\n</html>\r\n"},
	{name: "hugo server livereload",
		in:   `<html><head><title>x</title></head><body><script src="/livereload.js?mindelay=10&amp;v=2&amp;port=1313&amp;path=livereload" data-no-instant defer></script></body></html>`,
		want: `<html><head><title>x</title>` + T + `</head><body><script src="/livereload.js?mindelay=10&amp;v=2&amp;port=1313&amp;path=livereload" data-no-instant defer></script></body></html>`,
		res:  Result{LiveReload: true}},
	{name: "1 MB body",
		in:   "<!doctype html><html><head><title>x</title></head><body>" + strings.Repeat("<p class=a>lorem ipsum &amp; <b>dolor</b></p>\n", 1<<20/45) + "</body></html>",
		want: "<!doctype html><html><head><title>x</title>" + T + "</head><body>" + strings.Repeat("<p class=a>lorem ipsum &amp; <b>dolor</b></p>\n", 1<<20/45) + "</body></html>"},
	{name: "1 MB inline script in head",
		in:   "<html><head><script>" + strings.Repeat("x='</head>';\r\n", 1<<20/14) + "</script></head><body>",
		want: "<html><head><script>" + strings.Repeat("x='</head>';\r\n", 1<<20/14) + "</script>" + T + "</head><body>"},
}

func TestInject(t *testing.T) {
	for _, c := range injectCases {
		t.Run(c.name, func(t *testing.T) {
			mode := c.mode
			if mode == "" {
				mode = Auto
			}
			tag := Tag(c.base)
			want := c.in
			if c.want != "" {
				if got := strings.Replace(c.want, T, "", 1); got != c.in {
					t.Fatalf("bad test case: want without marker differs from input")
				}
				want = strings.Replace(c.want, T, tag, 1)
			}
			wantRes := c.res
			wantRes.Injected = c.want != ""

			in := []byte(c.in)
			out, res := Page(in, c.base, mode)
			if res != wantRes {
				t.Errorf("result = %+v, want %+v", res, wantRes)
			}
			if string(out) != want {
				t.Errorf("output differs\n got: %.300q\nwant: %.300q", out, want)
			}
			checkInject(t, in, out, res, c.base, mode)
		})
	}
}

// checkInject asserts the properties every call must have: out is in itself
// when nothing was inserted, else in with exactly one tag spliced in, and a
// second Page finds that tag and changes nothing.
func checkInject(t *testing.T, in, out []byte, res Result, base string, mode Mode) {
	t.Helper()
	if !res.Injected {
		if unsafe.SliceData(out) != unsafe.SliceData(in) || len(out) != len(in) {
			t.Fatalf("not injected, but the output is not the input slice")
		}
		return
	}
	tag := []byte(Tag(base))
	if mode == Never || res.Found != 0 || (res.Fragment && mode != Always) {
		t.Fatalf("injected against the rules: %+v mode %q", res, mode)
	}
	if !isSplice(in, out, tag) {
		t.Fatalf("output minus the inserted tag is not the input\n in: %.300q\nout: %.300q", in, out)
	}
	if n := liveInstallScripts(t, out, base); n != 1 {
		t.Fatalf("the parsed output has %d executable install scripts, want 1\nout: %.300q", n, out)
	}
	again, res2 := Page(out, base, mode)
	want2 := Result{Found: 1, Fragment: res.Fragment, LiveReload: res.LiveReload}
	if res2 != want2 || !bytes.Equal(again, out) {
		t.Fatalf("second Page: %+v, want %+v\nout: %.300q", res2, want2, out)
	}
}

// liveInstallScripts counts the HTML script elements outside templates whose
// src is exactly that of Tag(base), in the tree a browser builds.
func liveInstallScripts(t *testing.T, page []byte, base string) int {
	doc, err := html.Parse(bytes.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	tag, err := html.ParseFragment(strings.NewReader(Tag(base)), &html.Node{Type: html.ElementNode, Data: "head", DataAtom: atom.Head})
	if err != nil || len(tag) != 1 {
		t.Fatalf("Tag(%q) does not parse: %v", base, err)
	}
	src := tag[0].Attr[0].Val
	n := 0
	var walk func(*html.Node)
	walk = func(x *html.Node) {
		if x.Type == html.ElementNode && x.Namespace == "" && x.DataAtom == atom.Template {
			return
		}
		if x.Type == html.ElementNode && x.Namespace == "" && x.DataAtom == atom.Script {
			for _, a := range x.Attr {
				if a.Namespace == "" && a.Key == "src" && a.Val == src {
					n++
				}
				if a.Key == "src" {
					break
				}
			}
		}
		for c := x.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return n
}

// isSplice reports whether out == in[:i] + tag + in[i:] for some i.
func isSplice(in, out, tag []byte) bool {
	if len(out) != len(in)+len(tag) {
		return false
	}
	p := 0 // common prefix
	for p < len(in) && in[p] == out[p] {
		p++
	}
	s := 0 // common suffix
	for s < len(in) && in[len(in)-1-s] == out[len(out)-1-s] {
		s++
	}
	for i := len(in) - s; i <= p; i++ {
		if bytes.Equal(out[i:i+len(tag)], tag) {
			return true
		}
	}
	return false
}

func TestInstallTag(t *testing.T) {
	for base, want := range map[string]string{
		"/":          tagRoot,
		"":           tagRoot,
		"/project/":  `<script src="/project/planktos/install.js" defer></script>`,
		"project":    `<script src="/project/planktos/install.js" defer></script>`,
		"/a/b":       `<script src="/a/b/planktos/install.js" defer></script>`,
		`/a"&?#<b/`:  `<script src="/a&#34;&amp;%3F%23&lt;b/planktos/install.js" defer></script>`,
		"/my%20site": `<script src="/my%20site/planktos/install.js" defer></script>`,
	} {
		if got := Tag(base); got != want {
			t.Errorf("Tag(%q) = %s, want %s", base, got, want)
		}
		// Whatever the base, Page must recognise its own tag.
		if _, res := Page([]byte("<html>"+Tag(base)), "/", Auto); res.Found != 1 {
			t.Errorf("Tag(%q) not recognised: %+v", base, res)
		}
	}
}

func FuzzInject(f *testing.F) {
	for _, c := range injectCases {
		if len(c.in) < 4096 {
			f.Add([]byte(c.in), c.base, uint8(0))
		}
	}
	f.Add([]byte("\uFEFF<p>x"), "/a b/", uint8(1))
	f.Add([]byte("<html><head>"), "/p?q#r/", uint8(2))
	f.Fuzz(func(t *testing.T, page []byte, base string, m uint8) {
		mode := []Mode{Auto, Always, Never, ""}[m%4]
		in := bytes.Clone(page)
		out, res := Page(page, base, mode)
		if !bytes.Equal(page, in) {
			t.Fatalf("Page modified its input")
		}
		checkInject(t, page, out, res, base, mode)
	})
}

func BenchmarkInject(b *testing.B) {
	var sb strings.Builder
	sb.WriteString(`<!DOCTYPE html><html lang="en-us"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>A post | Example</title><link rel="stylesheet" href="/css/main.min.css">`)
	sb.WriteString("<style>" + strings.Repeat("body{margin:0;font:16px/1.5 sans-serif}\n", 50) + "</style>\n")
	sb.WriteString(`</head><body><header><nav><a href="/">Home</a> <a href="/posts/">Posts</a></nav></header><main>`)
	for sb.Len() < 50_000 {
		sb.WriteString(`<p>Lorem ipsum dolor sit amet, <a href="/posts/x/">consectetur</a> adipiscing <em>elit</em>, sed do eiusmod tempor.</p>` + "\n")
	}
	sb.WriteString(`</main><script src="/js/app.js" defer></script></body></html>`)
	page := []byte(sb.String())
	b.SetBytes(int64(len(page)))
	b.ReportAllocs()
	for b.Loop() {
		if _, res := Page(page, "/project/", Auto); !res.Injected {
			b.Fatal("not injected")
		}
	}
}

// TestInjectEarly: on a site with its own service worker the tag, without defer, comes before the page's
// first script, so that it runs before any of them; with no script before </head> it goes where Page
// puts it.
func TestInjectEarly(t *testing.T) {
	tag := EarlyTag("/docs/")
	if tag != `<script src="/docs/planktos/install.js"></script>` {
		t.Fatalf("EarlyTag = %s", tag)
	}
	for _, tc := range []struct{ in, want string }{
		{`<html><head><meta charset="utf-8"><script>navigator.serviceWorker.register('/sw.js')</script></head></html>`,
			`<html><head><meta charset="utf-8">` + tag + `<script>navigator.serviceWorker.register('/sw.js')</script></head></html>`},
		{`<html><head><title>x</title></head><body><script src="/app.js"></script></body></html>`,
			`<html><head><title>x</title>` + tag + `</head><body><script src="/app.js"></script></body></html>`},
		{`<html><head><template><script></script></template></head></html>`,
			`<html><head><template><script></script></template>` + tag + `</head></html>`},
	} {
		got, res := Early([]byte(tc.in), "/docs/", Auto)
		if string(got) != tc.want || !res.Injected {
			t.Errorf("Early(%s)\n got %s\nwant %s", tc.in, got, tc.want)
		}
		if again, res := Early(got, "/docs/", Auto); string(again) != string(got) || res.Found != 1 {
			t.Errorf("Early is not idempotent on %s: %s", got, again)
		}
	}
}
