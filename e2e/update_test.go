package e2e

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// storedHashesJS lists the hashes in the site's content-addressed cache.
const storedHashesJS = `(async () => {
  const c = await caches.open('planktos:' + window.planktos.base + ':files:v1');
  return (await c.keys()).map(r => r.url.split('/').pop());
})()`

// Update: change one page and one image, repackage, serve: a returning visitor sees the new content
// within one navigation; unchanged files are not requested again; the old ones leave storage.
func TestUpdate(t *testing.T) {
	dir := packedSite(t, "/", "")
	old := readManifest(t, dir)
	srv := serveSite(t, dir, "/")
	b := newBrowser(t, "")
	b.installed("/", old.storable())

	page := filepath.Join(dir, "about", "index.html")
	html, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	html = bytes.Replace(html, []byte("</body>"), []byte(`<p id="updated">revision two</p></body>`), 1)
	writeFile(t, page, html)
	writeFile(t, filepath.Join(dir, "images", "logo.png"), squarePNG(t, 7))
	pack(t, dir, "/", "")
	next := readManifest(t, dir)
	if next.Revision == old.Revision {
		t.Fatal("repackaging did not change the revision")
	}
	srv.log()

	b.open("/about/")
	var got struct {
		Updated bool `json:"updated"`
		Logo    int  `json:"logo"`
	}
	b.mustEval(`(async () => {
	  const img = [...document.images].find(i => i.src.endsWith('/images/logo.png'));
	  if (img && !img.complete) await new Promise(r => { img.onload = img.onerror = r; });
	  return { updated: !!document.getElementById('updated'), logo: img ? img.naturalWidth : -1 };
	})()`, &got)
	if !got.Updated || got.Logo != 7 {
		t.Fatalf("first navigation after the update: %+v (want the new page and the 7 px logo)", got)
	}
	b.waitFor("the new revision prefetched", 30*time.Second, func() bool {
		s := b.stats()
		return s.Revision == next.Revision && s.Stored == next.storable()
	})

	unchanged := map[string]string{} // sha → key, for files in both revisions
	for k, f := range next.Files {
		if o, ok := old.Files[k]; ok && o.SHA256 == f.SHA256 {
			unchanged[f.SHA256] = k
		}
	}
	hits := srv.log()
	t.Logf("requests after the update: %v", hits)
	for _, h := range hits {
		sha := strings.TrimPrefix(h.Path, "/planktos/files/")
		key := strings.TrimPrefix(h.Path, "/")
		if strings.HasSuffix(key, "/") || key == "" {
			key += "index.html"
		}
		if k, ok := unchanged[sha]; ok {
			t.Errorf("unchanged %s requested again as %s", k, h.Path)
		} else if f, ok := next.Files[key]; ok && unchanged[f.SHA256] != "" {
			t.Errorf("unchanged %s requested again", h.Path)
		}
	}

	var stored []string
	b.mustEval(storedHashesJS, &stored)
	have := map[string]bool{}
	for _, s := range stored {
		have[s] = true
	}
	for _, k := range []string{"about/index.html", "images/logo.png"} {
		if have[old.Files[k].SHA256] {
			t.Errorf("old %s still in storage", k)
		}
		if !have[next.Files[k].SHA256] {
			t.Errorf("new %s not in storage", k)
		}
	}
	if len(stored) != next.storable() {
		t.Errorf("%d files stored, want %d", len(stored), next.storable())
	}
}

func writeFile(t *testing.T, name string, b []byte) {
	t.Helper()
	if err := os.WriteFile(name, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// squarePNG encodes an n×n PNG no testsite file has.
func squarePNG(t *testing.T, n int) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, n, n))
	for i := range n * n {
		img.Set(i%n, i/n, color.NRGBA{200, uint8(i), 40, 255})
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
