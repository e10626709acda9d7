// Package sitegen writes a deterministic, Hugo-like published site for benchmarks: HTML pages of realistic
// sizes in sections and folders, small CSS/JS/image files, and large media files of pseudo-random bytes.
//
// The same Options (seed included) always give byte-identical files with the same names, on any machine.
// Every page loads planktos/install.js already, except Untagged ones, so that a benchmark measures hashing
// and storing rather than rewriting pages.
package sitegen

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"
)

// Options says what to generate.
type Options struct {
	Seed      uint64
	Pages     int   // HTML files in total (home, 404, section lists and content pages)
	Untagged  int   // how many of them lack the install tag (spread over the site)
	Images    int   // small binary "images" (2–120 KB)
	Assets    int   // CSS and JS files (2–150 KB)
	Media     int   // large media files
	MediaSize int64 // bytes per media file
	Workers   int   // 0 means GOMAXPROCS
}

// Default is the ~1 GB site of the packaging benchmark: 10,000 pages and 20 × 40 MiB media.
func Default() Options {
	return Options{Seed: 1, Pages: 10000, Untagged: 8, Images: 1000, Assets: 40, Media: 20, MediaSize: 40 << 20}
}

// Small is the site of `go test -bench Pack ./packager`: 1,000 pages and 4 × 8 MiB media.
func Small() Options {
	return Options{Seed: 1, Pages: 1000, Untagged: 4, Images: 100, Assets: 10, Media: 4, MediaSize: 8 << 20}
}

// Stats describes a generated site.
type Stats struct {
	Files    int
	Bytes    int64
	Pages    int
	Untagged []string // slash paths relative to the root of the pages without the install tag
}

// Mtime is the modification time every generated file gets, so that the tree is identical between runs.
var Mtime = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

// InstallTag is the tag every tagged page carries in its head.
const InstallTag = `<script src="/planktos/install.js" defer></script>`

var sections = []string{"docs", "blog", "news", "guides", "reference", "tutorials", "community", "releases",
	"api", "showcase"}

const subsPerSection = 20

// file is one file to write: its content comes from gen, seeded by its index.
type file struct {
	rel  string
	size int64 // 0 for pages, whose size is decided while generating
	kind int
}

const (
	kindPage = iota
	kindCSS
	kindJS
	kindImage
	kindMedia
)

// plan lists the files of a site, in a fixed order.
func plan(o Options) ([]file, map[int]bool) {
	var files []file
	untagged := map[int]bool{}
	for i := 0; i < o.Pages; i++ {
		files = append(files, file{rel: pagePath(i), kind: kindPage})
	}
	if o.Untagged > 0 && o.Pages > 0 {
		step := max(o.Pages/o.Untagged, 1)
		for k := 0; k < o.Untagged && k*step+step/2+k < o.Pages; k++ {
			untagged[k*step+step/2+k] = true // +k: not all in the same section
		}
	}
	for i := 0; i < o.Assets; i++ {
		if i%2 == 0 {
			files = append(files, file{rel: fmt.Sprintf("css/style-%02d.css", i/2), kind: kindCSS})
		} else {
			files = append(files, file{rel: fmt.Sprintf("js/bundle-%02d.js", i/2), kind: kindJS})
		}
	}
	for i := 0; i < o.Images; i++ {
		ext := []string{"png", "jpg", "webp", "svg"}[i%4]
		files = append(files, file{rel: fmt.Sprintf("images/%s/img-%04d.%s", sections[i%len(sections)], i, ext),
			kind: kindImage})
	}
	for i := 0; i < o.Media; i++ {
		ext := []string{"mp4", "webm"}[i%2]
		files = append(files, file{rel: fmt.Sprintf("media/clip-%02d.%s", i, ext), size: o.MediaSize, kind: kindMedia})
	}
	return files, untagged
}

// pagePath lays pages out like Hugo's pretty URLs: home, 404, then section/topic-NN/[page-NNN/]index.html.
func pagePath(i int) string {
	switch i {
	case 0:
		return "index.html"
	case 1:
		return "404.html"
	}
	j := i - 2
	sec := sections[j%len(sections)]
	j /= len(sections)
	sub, k := j%subsPerSection, j/subsPerSection
	if k == 0 {
		return fmt.Sprintf("%s/topic-%02d/index.html", sec, sub)
	}
	return fmt.Sprintf("%s/topic-%02d/page-%03d/index.html", sec, sub, k)
}

// Generate writes the site under dir (created if needed). Existing files of the same names are replaced.
func Generate(dir string, o Options) (Stats, error) {
	files, untagged := plan(o)
	n := o.Workers
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	dirs := map[string]bool{}
	for _, f := range files {
		dirs[filepath.Dir(filepath.Join(dir, filepath.FromSlash(f.rel)))] = true
	}
	for d := range dirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return Stats{}, err
		}
	}
	sizes := make([]int64, len(files))
	errs := make([]error, len(files))
	// Media first: they are the largest jobs, so workers finish at about the same time.
	order := make([]int, len(files))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return files[order[a]].kind == kindMedia && files[order[b]].kind != kindMedia })
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			var buf bytes.Buffer
			for i := range jobs {
				sizes[i], errs[i] = writeFile(dir, files[i], i, o.Seed, untagged[i], &buf)
			}
		})
	}
	for _, i := range order {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	st := Stats{Files: len(files), Pages: o.Pages}
	for i, f := range files {
		if errs[i] != nil {
			return st, fmt.Errorf("%s: %w", f.rel, errs[i])
		}
		st.Bytes += sizes[i]
		if f.kind == kindPage && untagged[i] {
			st.Untagged = append(st.Untagged, f.rel)
		}
	}
	return st, nil
}

func writeFile(dir string, f file, idx int, seed uint64, untagged bool, buf *bytes.Buffer) (int64, error) {
	r := rand.New(rand.NewPCG(seed, uint64(idx)*0x9e3779b97f4a7c15+1))
	name := filepath.Join(dir, filepath.FromSlash(f.rel))
	buf.Reset()
	switch f.kind {
	case kindPage:
		page(buf, r, f.rel, untagged)
	case kindCSS:
		css(buf, r, logUniform(r, 2<<10, 60<<10))
	case kindJS:
		js(buf, r, logUniform(r, 4<<10, 150<<10))
	case kindImage:
		image(buf, r, f.rel, logUniform(r, 2<<10, 120<<10))
	case kindMedia:
		return media(name, seed, idx, f.size)
	}
	if err := os.WriteFile(name, buf.Bytes(), 0o644); err != nil {
		return 0, err
	}
	return int64(buf.Len()), os.Chtimes(name, Mtime, Mtime)
}

// logUniform picks a size between lo and hi, small sizes more often, as on real sites.
func logUniform(r *rand.Rand, lo, hi int) int {
	return int(float64(lo) * math.Exp(r.Float64()*math.Log(float64(hi)/float64(lo))))
}

var words = strings.Fields(`the of and to in a is that for it as was with be by on not he this are or his from at
which but have an they you were her she there one all we their been has when who will more no if out so said what
up its about into than them can only other new some could time these two may then do first any my now such like our
over man me even most made after also did many before must through back years where much your way well down should
because each just those people how too little state good very make world still own see men work long get here
between both life being under never day same another know while last might us great old year off come since against
go came right used take three packet torrent peer seed piece hash browser service worker cache static site page
network tracker webseed bandwidth latency mirror offline upload download replica content address manifest shard`)

// page writes an HTML page of 5–40 KB in a typical theme's shape.
func page(buf *bytes.Buffer, r *rand.Rand, rel string, untagged bool) {
	target := logUniform(r, 5<<10, 40<<10)
	title := sentence(r, 3+r.IntN(6))
	fmt.Fprintf(buf, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"+
		"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>%s</title>\n"+
		"<meta name=\"description\" content=\"%s\">\n<link rel=\"canonical\" href=\"https://example.org/%s\">\n"+
		"<link rel=\"stylesheet\" href=\"/css/style-%02d.css\">\n<script src=\"/js/bundle-%02d.js\" defer></script>\n",
		title, sentence(r, 12), strings.TrimSuffix(rel, "index.html"), r.IntN(20), r.IntN(20))
	if !untagged {
		buf.WriteString(InstallTag + "\n")
	}
	buf.WriteString("</head>\n<body class=\"page\">\n<header class=\"site-header\"><nav><ul>\n")
	for _, s := range sections {
		fmt.Fprintf(buf, "<li><a href=\"/%s/\">%s</a></li>\n", s, strings.ToUpper(s[:1])+s[1:])
	}
	fmt.Fprintf(buf, "</ul></nav></header>\n<main>\n<article>\n<h1>%s</h1>\n", title)
	for buf.Len() < target-600 {
		switch r.IntN(10) {
		case 0:
			fmt.Fprintf(buf, "<h2 id=\"s%d\">%s</h2>\n", r.IntN(1000), sentence(r, 2+r.IntN(5)))
		case 1:
			fmt.Fprintf(buf, "<figure><img src=\"/images/%s/img-%04d.png\" alt=\"%s\" loading=\"lazy\" width=\"%d\" height=\"%d\"></figure>\n",
				sections[r.IntN(len(sections))], r.IntN(1000), sentence(r, 4), 320+r.IntN(960), 200+r.IntN(600))
		case 2:
			buf.WriteString("<pre><code>")
			for range 3 + r.IntN(12) {
				fmt.Fprintf(buf, "%s := %s(%d)\n", words[r.IntN(len(words))], words[r.IntN(len(words))], r.IntN(1<<16))
			}
			buf.WriteString("</code></pre>\n")
		default:
			buf.WriteString("<p>")
			for range 2 + r.IntN(6) {
				buf.WriteString(sentence(r, 6+r.IntN(18)))
				buf.WriteString(". ")
			}
			if r.IntN(3) == 0 {
				fmt.Fprintf(buf, "See <a href=\"/%s/topic-%02d/\">%s</a>.", sections[r.IntN(len(sections))],
					r.IntN(subsPerSection), sentence(r, 3))
			}
			buf.WriteString("</p>\n")
		}
	}
	buf.WriteString("</article>\n</main>\n<footer><p>© 2026 Example. Built with Hugo.</p></footer>\n</body>\n</html>\n")
}

func sentence(r *rand.Rand, n int) string {
	var b strings.Builder
	for i := range n {
		w := words[r.IntN(len(words))]
		if i == 0 {
			w = strings.ToUpper(w[:1]) + w[1:]
		} else {
			b.WriteByte(' ')
		}
		b.WriteString(w)
	}
	return b.String()
}

func css(buf *bytes.Buffer, r *rand.Rand, target int) {
	for buf.Len() < target {
		fmt.Fprintf(buf, ".%s-%d{margin:%dpx %dpx;color:#%06x;font-size:%d.%dem}\n", words[r.IntN(len(words))],
			r.IntN(500), r.IntN(40), r.IntN(40), r.IntN(1<<24), r.IntN(3), r.IntN(10))
	}
}

func js(buf *bytes.Buffer, r *rand.Rand, target int) {
	for buf.Len() < target {
		fmt.Fprintf(buf, "function %s%d(a,b){return a*%d+b-%d}\n", words[r.IntN(len(words))], r.IntN(1<<20),
			r.IntN(1000), r.IntN(1000))
	}
}

// image writes a file with the right magic number followed by incompressible bytes (or SVG text).
func image(buf *bytes.Buffer, r *rand.Rand, rel string, size int) {
	switch filepath.Ext(rel) {
	case ".svg":
		buf.WriteString(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 100">` + "\n")
		for buf.Len() < size {
			fmt.Fprintf(buf, "<circle cx=\"%d\" cy=\"%d\" r=\"%d\" fill=\"#%06x\"/>\n", r.IntN(100), r.IntN(100),
				r.IntN(50), r.IntN(1<<24))
		}
		buf.WriteString("</svg>\n")
		return
	case ".png":
		buf.WriteString("\x89PNG\r\n\x1a\n")
	case ".jpg":
		buf.Write([]byte{0xff, 0xd8, 0xff, 0xe0})
	case ".webp":
		buf.WriteString("RIFF\x00\x00\x00\x00WEBPVP8 ")
	}
	randomBytes(buf, r, size-buf.Len())
}

func randomBytes(w io.Writer, r *rand.Rand, n int) {
	var b [8]byte
	chunk := make([]byte, 0, 4096)
	for n > 0 {
		binary.LittleEndian.PutUint64(b[:], r.Uint64())
		k := min(n, 8)
		chunk = append(chunk, b[:k]...)
		n -= k
		if len(chunk) >= 4088 || n == 0 {
			w.Write(chunk)
			chunk = chunk[:0]
		}
	}
}

// media writes size pseudo-random bytes (ChaCha8, several GB/s) behind an MP4/WebM-like header.
func media(name string, seed uint64, idx int, size int64) (int64, error) {
	var key [32]byte
	binary.LittleEndian.PutUint64(key[0:], seed)
	binary.LittleEndian.PutUint64(key[8:], uint64(idx))
	copy(key[16:], "planktos-bench!!")
	src := rand.NewChaCha8(key)
	f, err := os.Create(name)
	if err != nil {
		return 0, err
	}
	buf := make([]byte, 1<<20)
	var head []byte
	if strings.HasSuffix(name, ".webm") {
		head = []byte{0x1a, 0x45, 0xdf, 0xa3}
	} else {
		head = []byte("\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom")
	}
	var written int64
	for written < size {
		k := int(min(int64(len(buf)), size-written))
		src.Read(buf[:k])
		if written == 0 {
			copy(buf, head)
		}
		if _, err := f.Write(buf[:k]); err != nil {
			f.Close()
			return written, err
		}
		written += int64(k)
	}
	if err := f.Close(); err != nil {
		return written, err
	}
	return written, os.Chtimes(name, Mtime, Mtime)
}
