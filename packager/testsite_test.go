package packager_test

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/planktos/planktos/config"
	"github.com/planktos/planktos/inject"
	"github.com/planktos/planktos/internal/testsite"
	"github.com/planktos/planktos/packager"
	"github.com/spf13/afero"
	"golang.org/x/net/html"
)

// TestTestsiteInstallTag packages the real testsite, plain and minified, and checks that every page loads
// install.js exactly once and that injection changed no other byte.
func TestTestsiteInstallTag(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the testsite with Hugo")
	}
	for _, v := range []struct {
		name, baseURL string
		args          []string
	}{
		{"plain", "http://127.0.0.1:1/", nil},
		{"minified-subpath", "http://127.0.0.1:1/project/", []string{"--minify"}},
	} {
		t.Run(v.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := testsite.Build(dir, append(v.args, "--baseURL", v.baseURL)...); err != nil {
				t.Fatal(err)
			}
			before := readPages(t, dir)
			res, err := packager.Pack(context.Background(), afero.NewOsFs(),
				packager.Options{Root: dir, BaseURL: v.baseURL, Config: config.Default()})
			if err != nil {
				t.Fatal(err)
			}
			base := res.Manifest.Base
			tag := []byte(inject.Tag(base))
			injected := 0
			for p, orig := range before {
				after, err := os.ReadFile(filepath.Join(dir, p))
				if err != nil {
					t.Fatal(err)
				}
				if n := installScripts(after, base); n != 1 {
					t.Errorf("%s loads install.js %d times", p, n)
				}
				if !bytes.Equal(after, orig) {
					injected++
					if !bytes.Equal(bytes.Replace(after, tag, nil, 1), orig) {
						t.Errorf("%s: injection changed more than the inserted tag", p)
					}
				}
			}
			if injected == 0 || injected != res.Injected || res.Pages != len(before) {
				t.Errorf("%d pages changed, packager says %d injected of %d pages (%d found)", injected,
					res.Injected, res.Pages, len(before))
			}
		})
	}
}

func readPages(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".html") {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		out[rel] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// installScripts counts <script> elements whose src is base+"planktos/install.js", as a browser sees them.
func installScripts(page []byte, base string) int {
	doc, err := html.Parse(bytes.NewReader(page))
	if err != nil {
		return -1
	}
	n := 0
	var visit func(*html.Node)
	visit = func(node *html.Node) {
		if node.Type == html.ElementNode && node.Data == "script" {
			for _, a := range node.Attr {
				if a.Key == "src" && a.Val == base+"planktos/install.js" {
					n++
				}
			}
		}
		for c := node.FirstChild; c != nil; c = c.NextSibling {
			visit(c)
		}
	}
	visit(doc)
	return n
}
