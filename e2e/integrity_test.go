package e2e

import (
	"os"
	"path/filepath"
	"testing"
)

// storeIntegrityJS hashes every stored file and lists those whose content does not match their name.
const storeIntegrityJS = `(async () => {
  const c = await caches.open('planktos:' + window.planktos.base + ':files:v1');
  const bad = [];
  for (const req of await c.keys()) {
    const buf = await (await c.match(req)).arrayBuffer();
    const d = new Uint8Array(await crypto.subtle.digest('SHA-256', buf));
    const hex = [...d].map(b => b.toString(16).padStart(2, '0')).join('');
    if (!req.url.endsWith('/' + hex)) bad.push(req.url);
  }
  return bad;
})()`

// Integrity: tampered copies in planktos/files/ on the server never reach the page or the store.
func TestTamperedStore(t *testing.T) {
	dir := packedSite(t, "/", "")
	m := readManifest(t, dir)
	want := map[string][]byte{}
	for _, k := range []string{"about/index.html", "images/logo.png", "css/" + cssName(t, dir)} {
		orig, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(k)))
		if err != nil {
			t.Fatal(err)
		}
		want[k] = orig
		bad := append([]byte(nil), orig...)
		bad[len(bad)/2] ^= 0x20 // same size, other bytes: only the hash can tell
		writeFile(t, filepath.Join(dir, "planktos", "files", m.Files[k].SHA256), bad)
	}
	srv := serveSite(t, dir, "/")
	b := newBrowser(t, "")
	b.installed("/", m.storable())
	check := func(when string) {
		for k := range want {
			var got string
			b.mustEval(`fetch('/`+k+`').then(r => r.arrayBuffer()).then(b => crypto.subtle.digest('SHA-256', b))
			  .then(d => [...new Uint8Array(d)].map(x => x.toString(16).padStart(2, '0')).join(''))`, &got)
			if got != m.Files[k].SHA256 {
				t.Errorf("%s: the page got other bytes for %s", when, k)
			}
		}
		var bad []string
		b.mustEval(storeIntegrityJS, &bad)
		if len(bad) > 0 {
			t.Errorf("%s: stored files whose content is not their hash: %v", when, bad)
		}
	}
	b.open("/about/")
	check("online")
	srv.stop()
	b.open("/about/")
	check("offline")
	loadsFine(t, b, "/about/", "/")
}

// cssName is the fingerprinted stylesheet's file name in dir/css.
func cssName(t *testing.T, dir string) string {
	t.Helper()
	es, err := os.ReadDir(filepath.Join(dir, "css"))
	if err != nil || len(es) == 0 {
		t.Fatalf("no stylesheet in %s/css: %v", dir, err)
	}
	return es[0].Name()
}
