package packager_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/anacrolix/torrent/metainfo"
	"github.com/planktos/planktos/config"
	"github.com/planktos/planktos/packager"
	"github.com/planktos/planktos/serve"
	"github.com/spf13/afero"
)

// linkedSite writes a site on disk whose _static/ links to shared JavaScript outside it, the way Debian
// ships Sphinx output (_static/jquery.js → ../../../../javascript/jquery/jquery.js): one relative link,
// one absolute. It returns the site and the shared folder.
func linkedSite(t *testing.T) (dir, shared string) {
	t.Helper()
	top := t.TempDir()
	dir, shared = filepath.Join(top, "doc/x/html"), filepath.Join(top, "javascript")
	for name, body := range map[string]string{
		filepath.Join(dir, "index.html"):            "<!doctype html><title>x</title><script src=_static/jquery.js></script>",
		filepath.Join(dir, "_static/doctools.js"):   "// own",
		filepath.Join(shared, "jquery/jquery.js"):   "/* jquery */",
		filepath.Join(shared, "underscore/u.js"):    "/* underscore */",
		filepath.Join(dir, "_static/inner/kept.js"): "// kept",
	} {
		os.MkdirAll(filepath.Dir(name), 0o755)
		if err := os.WriteFile(name, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	links := map[string]string{
		"_static/jquery.js":     "../../../../javascript/jquery/jquery.js",
		"_static/underscore.js": filepath.Join(shared, "underscore/u.js"),
		"_static/alias.js":      "inner/kept.js", // inside the site: followed
	}
	for rel, target := range links {
		if err := os.Symlink(target, filepath.Join(dir, rel)); err != nil {
			t.Fatal(err)
		}
	}
	return dir, shared
}

func packDir(dir string, exclude ...string) (*packager.Result, error) {
	c := config.Default()
	c.Exclude = exclude
	return packager.Pack(context.Background(), afero.NewOsFs(),
		packager.Options{Root: dir, BaseURL: "https://example.org/doc/", Config: c})
}

// A symlink out of the publish folder is refused with every such link named and the fix (cp -rL, or
// exclude), the previous package left as it was; doing what the message says then packages the site.
func TestSymlinksOutsideRefused(t *testing.T) {
	dir, shared := linkedSite(t)
	jq := filepath.Join(dir, "_static/jquery.js")
	us := filepath.Join(dir, "_static/underscore.js")
	os.Rename(jq, jq+".off")
	os.Rename(us, us+".off")
	if _, err := packDir(dir, "*.off"); err != nil {
		t.Fatalf("the package before the links: %v", err)
	}
	before, _ := os.ReadFile(filepath.Join(dir, "planktos/manifest.json"))
	os.Rename(jq+".off", jq)
	os.Rename(us+".off", us)

	_, err := packDir(dir)
	if err == nil {
		t.Fatal("packaged a site whose symlinks point outside it")
	}
	msg := err.Error()
	for _, want := range []string{
		"2 symlink(s) in " + dir + " point outside it",
		"_static/jquery.js: symlink points outside the publish directory (to " + filepath.Join(shared, "jquery/jquery.js") + ")",
		"_static/underscore.js: symlink points outside the publish directory",
		"cp -rL " + dir + " COPY",
		`exclude = ["_static/jquery.js", "_static/underscore.js"]`,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "alias.js") {
		t.Errorf("the link inside the site is named:\n%s", msg)
	}
	if after, _ := os.ReadFile(filepath.Join(dir, "planktos/manifest.json")); string(after) != string(before) {
		t.Error("the refused run changed the previous package's manifest")
	}

	// what the message says: copy following the links, package the copy
	cp := filepath.Join(t.TempDir(), "copy")
	if out, err := exec.Command("cp", "-rL", dir, cp).CombinedOutput(); err != nil {
		t.Fatalf("cp -rL: %v %s", err, out)
	}
	res, err := packDir(cp)
	if err != nil {
		t.Fatalf("the copy: %v", err)
	}
	if e, ok := res.Manifest.Files["_static/jquery.js"]; !ok || e.SHA256 != sha([]byte("/* jquery */")) {
		t.Errorf("the copy's jquery.js: %+v", e)
	}
	// or the other fix: exclude them
	res, err = packDir(dir, "_static/jquery.js", "_static/underscore.js")
	if err != nil {
		t.Fatalf("with the links excluded: %v", err)
	}
	if e := res.Manifest.Files["_static/alias.js"]; e.SHA256 != sha([]byte("// kept")) {
		t.Errorf("the inner link was not followed: %+v", e)
	}
}

// A relative publish folder does not let a relative link escape unnoticed; a broken link says so.
func TestSymlinksRelativeRootAndBroken(t *testing.T) {
	dir, _ := linkedSite(t)
	t.Chdir(filepath.Dir(dir))
	if _, err := packDir("html"); err == nil || !strings.Contains(err.Error(), "_static/jquery.js: symlink points outside") {
		t.Errorf("relative root: %v", err)
	}
	os.Remove(filepath.Join(dir, "_static/jquery.js"))
	os.Remove(filepath.Join(dir, "_static/underscore.js"))
	os.Symlink("nowhere.js", filepath.Join(dir, "_static/gone.js"))
	if _, err := packDir("html"); err == nil || !strings.Contains(err.Error(), "broken symlink") ||
		!strings.Contains(err.Error(), `add "_static/gone.js" to exclude`) {
		t.Errorf("broken link: %v", err)
	}
}

// Odd file names (spaces, %, #, unicode, uppercase) round-trip: the manifest key is the name as on
// disk, the server answers its percent-encoded URL with its bytes, and the webseed never sees a site
// name (torrents list store files by hash).
func TestOddNamesRoundTrip(t *testing.T) {
	dir := t.TempDir()
	names := []string{"A Space.html", "100%.css", "Ünïcode/Çà va.png", "UPPER/Index.HTML", "hash#and?.txt", "plus+sign.js"}
	for _, n := range names {
		p := filepath.Join(dir, filepath.FromSlash(n))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte("bytes of "+n), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	res, err := packDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(&serve.Handler{Dir: dir, Base: "/doc/"})
	defer srv.Close()
	for _, n := range names {
		e, ok := res.Manifest.Files[n]
		if !ok || e.SHA256 != sha([]byte("bytes of "+n)) {
			t.Errorf("manifest %q: %+v (have %v)", n, e, ok)
			continue
		}
		var segs []string
		for _, s := range strings.Split(n, "/") {
			segs = append(segs, url.PathEscape(s))
		}
		for _, u := range []string{"/doc/" + strings.Join(segs, "/"), "/doc/planktos/files/" + e.SHA256} {
			resp, err := http.Get(srv.URL + u)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || string(b) != "bytes of "+n {
				t.Errorf("GET %s: %d %q", u, resp.StatusCode, b)
			}
		}
	}
	hex := regexp.MustCompile(`^[0-9a-f]{64}$`)
	for _, ref := range res.Manifest.Torrents {
		mi, err := metainfo.LoadFromFile(filepath.Join(dir, filepath.FromSlash(ref.URL)))
		if err != nil {
			t.Fatal(err)
		}
		info, err := mi.UnmarshalInfo()
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range info.Files {
			if len(f.Path) != 1 || !hex.MatchString(f.Path[0]) {
				t.Errorf("torrent %s lists %q, want store hashes", ref.InfoHash, f.Path)
			}
		}
	}
}
