package packager_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/planktos/planktos/manifest"
	"github.com/planktos/planktos/packager"
	"github.com/spf13/afero"
)

// TestPackBadInput runs a good package, breaks something, and checks that the next run fails with a message
// that names the fix while the previous package stays complete.
func TestPackBadInput(t *testing.T) {
	cases := []struct {
		name  string
		setup func(t *testing.T, f *faultFs, opts *packager.Options)
		want  string // in the error
	}{
		{"missing publish dir", func(t *testing.T, f *faultFs, o *packager.Options) {
			o.Root = "/site/nothing"
		}, "run `hugo`"},
		{"empty publish dir", func(t *testing.T, f *faultFs, o *packager.Options) {
			f.MkdirAll("/site/empty/planktos/files", 0o755) // only planktos's own output
			o.Root = "/site/empty"
		}, "run `hugo`"},
		{"base URL without scheme", func(t *testing.T, f *faultFs, o *packager.Options) {
			o.BaseURL = "example.org/"
		}, "like https://example.org/"},
		{"base URL relative", func(t *testing.T, f *faultFs, o *packager.Options) {
			o.BaseURL = "/project/"
		}, "absolute http(s) URL"},
		{"unreadable file", func(t *testing.T, f *faultFs, o *packager.Options) {
			change(t, f, "css/site.css")
			f.unreadable = filepath.Join(root, "css/site.css")
		}, "permission denied (check the permissions"},
		{"file changing during the run", func(t *testing.T, f *faultFs, o *packager.Options) {
			change(t, f, "posts/two/index.html")
			f.changing = filepath.Join(root, "posts/two/index.html")
		}, "wait until `hugo` has finished"},
		{"large file changing during the run", func(t *testing.T, f *faultFs, o *packager.Options) {
			change(t, f, "media/big.bin")
			f.changing = filepath.Join(root, "media/big.bin")
		}, "wait until `hugo` has finished"},
		{"disk full", func(t *testing.T, f *faultFs, o *packager.Options) {
			change(t, f, "media/big.bin")
			f.quota.Store(1 << 20)
		}, "free some disk space"},
		{"failure at the switch to the new manifest", func(t *testing.T, f *faultFs, o *packager.Options) {
			change(t, f, "css/site.css")
			f.failRename = filepath.Join(root, "planktos/manifest.json")
		}, "write manifest"},
		{"output dir not writable", func(t *testing.T, f *faultFs, o *packager.Options) {
			change(t, f, "css/site.css")
			f.readOnlyIn = filepath.Join(root, "planktos") + "/"
		}, "check the permissions"},
		{"control character in a file name", func(t *testing.T, f *faultFs, o *packager.Options) {
			afero.WriteFile(f.Fs, filepath.Join(root, "bad\nname.html"), []byte("x"), 0o644)
		}, "rename it"},
		{"invalid piece length", func(t *testing.T, f *faultFs, o *packager.Options) {
			o.Config.PieceLength = 1000
			change(t, f, "css/site.css")
		}, "piece"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			mem := afero.NewMemMapFs()
			writeSite(t, mem, site)
			opts := options("https://example.org/")
			pack(t, mem, opts)
			manifest, _ := afero.ReadFile(mem, filepath.Join(root, "planktos/manifest.json"))
			f := newFaultFs(mem)
			tc.setup(t, f, &opts)
			packFails(t, f, opts, tc.want)
			after, _ := afero.ReadFile(mem, filepath.Join(root, "planktos/manifest.json"))
			if string(after) != string(manifest) {
				t.Fatal("the manifest changed")
			}
			checkIntact(t, mem, manifest)
		})
	}
}

// packFails runs Pack and requires an error that contains want.
func packFails(t *testing.T, fsys afero.Fs, opts packager.Options, want string) {
	t.Helper()
	_, err := packager.Pack(context.Background(), fsys, opts)
	if err == nil {
		t.Fatal("Pack succeeded")
	}
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not contain %q", err, want)
	}
	if testing.Verbose() {
		t.Log(err)
	}
}

// change gives a published file new content, so that the failing run has something new to store.
func change(t *testing.T, f *faultFs, p string) {
	t.Helper()
	full := filepath.Join(root, p)
	b, err := afero.ReadFile(f.Fs, full)
	if err != nil {
		t.Fatal(err)
	}
	if err := afero.WriteFile(f.Fs, full, append(b, " changed"...), 0o644); err != nil {
		t.Fatal(err)
	}
}

// checkIntact asserts the package the manifest describes is whole: store files, torrents, runtime, no temps.
func checkIntact(t *testing.T, fsys afero.Fs, raw []byte) {
	t.Helper()
	m, err := manifest.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	for p, e := range m.Files {
		b, err := afero.ReadFile(fsys, filepath.Join(root, "planktos/files", e.SHA256))
		if err != nil || sha(b) != e.SHA256 {
			t.Errorf("store file for %s is gone or wrong: %v", p, err)
		}
	}
	for _, tr := range m.Torrents {
		if ok, _ := afero.Exists(fsys, filepath.Join(root, tr.URL)); !ok {
			t.Errorf("torrent %s is gone", tr.URL)
		}
	}
	for _, p := range []string{"planktos.sw.js", "planktos/install.js"} {
		if ok, _ := afero.Exists(fsys, filepath.Join(root, p)); !ok {
			t.Errorf("%s is gone", p)
		}
	}
	afero.Walk(fsys, filepath.Join(root, "planktos"), func(p string, fi os.FileInfo, err error) error {
		if err == nil && strings.Contains(p, ".planktos-tmp-") {
			t.Errorf("temporary file left: %s", p)
		}
		return nil
	})
	var v map[string]any
	if json.Unmarshal(raw, &v) != nil {
		t.Error("manifest is not JSON")
	}
}
