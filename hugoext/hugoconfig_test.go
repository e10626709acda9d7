package hugoext

import (
	"reflect"
	"strings"
	"testing"

	"github.com/planktos/planktos/internal/testsite"
)

// TestReadersAgree asks the pinned Hugo (`hugo config --format json`) and the built-in reader about every
// fixture site, with the same flags and environment, and checks that they find the same publishDir and
// the same site roots (language, folder, baseURL).
func TestReadersAgree(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: runs the pinned Hugo (the first run compiles it, minutes)")
	}
	for _, tc := range hugoCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o := SiteOptions{Source: copyFixture(t, tc.fixture), Destination: tc.dest, BaseURL: tc.baseURL,
				Environment: tc.envName, Environ: tc.env}
			builtIn, err := LoadSite(o)
			if err != nil {
				t.Fatal(err)
			}
			o.Hugo = testsite.Hugo
			hugo, err := LoadSite(o)
			if err != nil {
				t.Fatal(err)
			}
			if builtIn.Reader != ReaderBuiltIn || hugo.Reader != ReaderHugo {
				t.Errorf("readers %q and %q", builtIn.Reader, hugo.Reader)
			}
			if hugo.PublishDir != builtIn.PublishDir {
				t.Errorf("publishDir: hugo config %s, built-in %s", hugo.PublishDir, builtIn.PublishDir)
			}
			if !reflect.DeepEqual(hugo.Roots, builtIn.Roots) {
				t.Errorf("roots:\nhugo config %+v\nbuilt-in    %+v", hugo.Roots, builtIn.Roots)
			}
			if hugo.Environment != builtIn.Environment || hugo.RelativeURLs != builtIn.RelativeURLs {
				t.Errorf("environment %q/%q, relativeURLs %v/%v", hugo.Environment, builtIn.Environment,
					hugo.RelativeURLs, builtIn.RelativeURLs)
			}
		})
	}
}

// TestHugoReaderErrors: a folder without configuration is refused as by the built-in reader (hugo itself
// would print its defaults), and Hugo's own complaint about a broken file reaches the caller.
func TestHugoReaderErrors(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: runs the pinned Hugo")
	}
	_, err := LoadSite(SiteOptions{Source: t.TempDir(), Hugo: testsite.Hugo})
	if err == nil || !strings.Contains(err.Error(), "has no Hugo configuration") {
		t.Errorf("empty folder: %v", err)
	}
	src := writeSite(t, map[string]string{"hugo.toml": "baseURL = \"https://example.org/\"\n[[broken\n"})
	_, err = LoadSite(SiteOptions{Source: src, Hugo: testsite.Hugo})
	if err == nil || !strings.Contains(err.Error(), "hugo config") || !strings.Contains(err.Error(), "hugo.toml") {
		t.Errorf("broken hugo.toml: %v", err)
	}
}

func TestLookPath(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	if LookPath() != nil {
		t.Error("LookPath found a hugo on an empty PATH")
	}
}
