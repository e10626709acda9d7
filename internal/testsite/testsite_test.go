package testsite

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func TestHugoVersion(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the first run compiles Hugo (minutes)")
	}
	out, err := Hugo("version").CombinedOutput()
	if err != nil {
		t.Fatalf("hugo version: %v\n%s", err, out)
	}
	if !bytes.Contains(out, []byte("hugo v0.165.0")) {
		t.Fatalf("want pinned hugo v0.165.0, got %s", out)
	}
}

func TestDir(t *testing.T) {
	d := Dir()
	if !filepath.IsAbs(d) {
		t.Fatalf("Dir() = %q, not absolute", d)
	}
	for _, p := range []string{"hugo.toml", "themes/plankton", "../themes-snippet/layouts/partials/planktos.html"} {
		if _, err := os.Stat(filepath.Join(d, p)); err != nil {
			t.Error(err)
		}
	}
}

func TestBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: builds the testsite with the pinned Hugo")
	}
	cases := []struct {
		name    string
		args    []string
		wantSrc string
	}{
		{"default", nil, "/planktos/install.js"},
		{"minify", []string{"--minify"}, "/planktos/install.js"},
		{"subpath", []string{"--baseURL", "http://127.0.0.1:1/project/"}, "/project/planktos/install.js"},
		{"subpath-minify", []string{"--minify", "--baseURL", "http://127.0.0.1:1/project/"}, "/project/planktos/install.js"},
	}
	// Generate the video once up front, so the parallel builds below don't all encode it.
	if err := EnsureMedia(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dst := t.TempDir()
			if err := Build(dst, tc.args...); err != nil {
				t.Fatal(err)
			}
			checkSite(t, dst, tc.wantSrc)
		})
	}
}

var (
	// A script tag and its src, quoted or (after --minify) unquoted.
	scriptTag = regexp.MustCompile(`(?is)<script\b[^>]*?\bsrc=(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))[^>]*>`)
	// Hugo's alias pages are a bare meta refresh: <meta http-equiv="refresh" content="0; url=...">.
	metaRefresh = regexp.MustCompile(`(?i)<meta\s+http-equiv=["']?refresh`)
)

func checkSite(t *testing.T, dst, wantSrc string) {
	t.Helper()
	var pages, aliases []string
	err := filepath.WalkDir(dst, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".html") {
			return err
		}
		rel, _ := filepath.Rel(dst, p)
		rel = filepath.ToSlash(rel)
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if metaRefresh.Match(b) {
			aliases = append(aliases, rel)
			return nil
		}
		pages = append(pages, rel)
		var srcs []string
		for _, m := range scriptTag.FindAllSubmatch(b, -1) {
			src := string(m[1]) + string(m[2]) + string(m[3])
			if strings.Contains(src, "planktos/install.js") {
				srcs = append(srcs, src)
			}
		}
		if len(srcs) != 1 || srcs[0] != wantSrc {
			t.Errorf("%s: want exactly one install script with src %q, got %q", rel, wantSrc, srcs)
		}
		// (Some docs pages also mention "planktos/install.js" in their text, as a trap for regex-based
		// injectors; so count tags, not substrings.)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(pages) < 20 {
		t.Errorf("%d non-alias HTML pages, want >= 20: %v", len(pages), pages)
	}
	t.Logf("%d HTML pages, %d alias pages", len(pages), len(aliases))

	for _, rel := range []string{"about-us/index.html", "old/about.html"} {
		if !slices.Contains(aliases, rel) {
			t.Errorf("alias page %s missing (aliases: %v)", rel, aliases)
		}
	}
	for _, rel := range []string{
		"404.html", "index.html", "about/index.html", "media/index.html", "posts/über-plankton/index.html",
		"gallery/diatom/index.html",
	} {
		if !slices.Contains(pages, rel) {
			t.Errorf("page %s missing", rel)
		}
	}
	for _, rel := range []string{
		"files/read me.txt", "files/café.txt", "images/logo.png", "images/banner.jpg", "favicon.png",
		"gallery/diatom/diatom.png", "gallery/copepod/copepod.jpg", "robots.txt", "sitemap.xml", "index.xml",
	} {
		if _, err := os.Stat(filepath.Join(dst, filepath.FromSlash(rel))); err != nil {
			t.Error(err)
		}
	}
	if css, _ := filepath.Glob(filepath.Join(dst, "css", "style.min.*.css")); len(css) != 1 {
		t.Errorf("fingerprinted CSS: got %v", css)
	}

	video, err := os.ReadFile(filepath.Join(dst, "media", "clip.webm"))
	if err != nil {
		t.Fatal(err)
	}
	if len(video) <= 1<<20 {
		t.Errorf("media/clip.webm is %d bytes, want > 1 MiB", len(video))
	}
	// EBML magic, and a Cues element (the seek index) somewhere.
	if !bytes.HasPrefix(video, []byte{0x1A, 0x45, 0xDF, 0xA3}) || !bytes.Contains(video, []byte{0x1C, 0x53, 0xBB, 0x6B}) {
		t.Errorf("media/clip.webm is not a WebM with cues")
	}
	media, _ := os.ReadFile(filepath.Join(dst, "media", "index.html"))
	if !regexp.MustCompile(`<video\b[^>]*\bcontrols`).Match(media) || !bytes.Contains(media, []byte("media/clip.webm")) {
		t.Errorf("media/index.html has no <video controls> for media/clip.webm")
	}
}
