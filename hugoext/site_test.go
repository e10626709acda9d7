package hugoext

import (
	"encoding/xml"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/planktos/planktos/internal/testsite"
)

// writeSite writes files (slash paths → content) into a new folder and returns the folder.
func writeSite(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// copyFixture copies testdata/site/<name> into a new folder (Hugo writes next to its source) and returns
// the copy.
func copyFixture(t *testing.T, name string) string {
	t.Helper()
	src := filepath.Join("testdata", "site", name)
	dst := filepath.Join(t.TempDir(), name)
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// root is a Root with Dir relative to the site folder (slash-separated).
type root struct{ Lang, Dir, BaseURL string }

func relRoots(t *testing.T, src string, rs []Root) []root {
	t.Helper()
	var out []root
	for _, r := range rs {
		out = append(out, root{r.Lang, rel(t, src, r.Dir), r.BaseURL})
	}
	return out
}

func rel(t *testing.T, src, p string) string {
	t.Helper()
	if !filepath.IsAbs(p) {
		t.Errorf("%q is not absolute", p)
	}
	r, err := filepath.Rel(src, p)
	if err != nil {
		t.Fatal(err)
	}
	return filepath.ToSlash(r)
}

const minimal = "baseURL = \"https://example.org/\"\n"

func TestLoadSite(t *testing.T) {
	cases := []struct {
		name    string
		files   map[string]string // a site written from scratch, or
		fixture string            // a copy of testdata/site/<fixture>
		opts    SiteOptions       // Source is set by the test; a relative Destination stays relative
		env     []string

		wantEnv     string // default "production"
		wantFiles   []string
		wantPublish string // relative to the site folder
		wantRoots   []root
		wantRelURLs bool
	}{
		// Which file: hugo.* before config.*, and toml, yaml, yml, json in that order. The first found is the
		// only one read.
		{name: "hugo.toml", files: map[string]string{"hugo.toml": minimal},
			wantFiles: []string{"hugo.toml"}, wantPublish: "public", wantRoots: []root{{"", "public", "https://example.org/"}}},
		{name: "config.toml", files: map[string]string{"config.toml": minimal},
			wantFiles: []string{"config.toml"}, wantPublish: "public", wantRoots: []root{{"", "public", "https://example.org/"}}},
		{name: "hugo.toml wins, config.toml ignored", files: map[string]string{
			"hugo.toml":   minimal,
			"config.toml": "baseURL = \"https://config.example.org/\"\npublishDir = \"from-config\"\nrelativeURLs = true\n"},
			wantFiles: []string{"hugo.toml"}, wantPublish: "public", wantRoots: []root{{"", "public", "https://example.org/"}}},
		{name: "hugo.yaml", files: map[string]string{"hugo.yaml": "baseURL: https://yaml.example.org/\npublishDir: docs\n"},
			wantFiles: []string{"hugo.yaml"}, wantPublish: "docs", wantRoots: []root{{"", "docs", "https://yaml.example.org/"}}},
		{name: "hugo.json", files: map[string]string{"hugo.json": `{"baseURL": "https://json.example.org/", "relativeURLs": true}`},
			wantFiles: []string{"hugo.json"}, wantPublish: "public", wantRoots: []root{{"", "public", "https://json.example.org/"}},
			wantRelURLs: true},
		{name: "config.yml", files: map[string]string{"config.yml": "baseurl: https://yml.example.org/\n"},
			wantFiles: []string{"config.yml"}, wantPublish: "public", wantRoots: []root{{"", "public", "https://yml.example.org/"}}},
		{name: "hugo.toml before hugo.yaml", files: map[string]string{
			"hugo.toml": minimal, "hugo.yaml": "baseURL: https://yaml.example.org/\n"},
			wantFiles: []string{"hugo.toml"}, wantPublish: "public", wantRoots: []root{{"", "public", "https://example.org/"}}},
		{name: "hugo.json before config.toml", files: map[string]string{
			"hugo.json": `{"baseURL": "https://json.example.org/"}`, "config.toml": minimal},
			wantFiles: []string{"hugo.json"}, wantPublish: "public", wantRoots: []root{{"", "public", "https://json.example.org/"}}},

		// Config folder: config/_default, then config/<environment>, merged over the root file.
		{name: "config dir alone", files: map[string]string{"config/_default/hugo.toml": minimal},
			wantFiles: []string{"config/_default/hugo.toml"}, wantPublish: "public",
			wantRoots: []root{{"", "public", "https://example.org/"}}},
		{name: "config dir merged over the root file", files: map[string]string{
			"hugo.toml":                     "baseURL = \"https://root.example.org/\"\npublishDir = \"site\"\nrelativeURLs = true\n",
			"config/_default/hugo.toml":     "baseURL = \"https://default.example.org/\"\n",
			"config/_default/params.toml":   "color = \"red\"\n",
			"config/development/hugo.toml":  "baseURL = \"http://localhost:1313/\"\n",
			"config/production/config.toml": "publishDir = \"prod\"\n"},
			wantFiles: []string{"hugo.toml", "config/_default/hugo.toml", "config/_default/params.toml",
				"config/production/config.toml"},
			wantPublish: "prod", wantRoots: []root{{"", "prod", "https://default.example.org/"}}, wantRelURLs: true},
		{name: "environment production by default", fixture: "configdir",
			wantFiles:   []string{"hugo.toml", "config/_default/hugo.toml", "config/production/hugo.yaml"},
			wantPublish: "out", wantRoots: []root{{"", "out", "https://prod.example.org/project/"}}},
		{name: "HUGO_ENVIRONMENT", fixture: "configdir", env: []string{"HUGO_ENVIRONMENT=staging"}, wantEnv: "staging",
			wantFiles:   []string{"hugo.toml", "config/_default/hugo.toml", "config/staging/hugo.json"},
			wantPublish: "staging-out", wantRoots: []root{{"", "staging-out", "https://staging.example.org/"}}},
		{name: "HUGO_ENV", fixture: "configdir", env: []string{"HUGO_ENV=staging"}, wantEnv: "staging",
			wantFiles:   []string{"hugo.toml", "config/_default/hugo.toml", "config/staging/hugo.json"},
			wantPublish: "staging-out", wantRoots: []root{{"", "staging-out", "https://staging.example.org/"}}},
		{name: "HUGO_ENVIRONMENT before HUGO_ENV", fixture: "configdir",
			env: []string{"HUGO_ENV=production", "HUGO_ENVIRONMENT=staging"}, wantEnv: "staging",
			wantFiles:   []string{"hugo.toml", "config/_default/hugo.toml", "config/staging/hugo.json"},
			wantPublish: "staging-out", wantRoots: []root{{"", "staging-out", "https://staging.example.org/"}}},
		{name: "--environment beats HUGO_ENVIRONMENT", fixture: "configdir", env: []string{"HUGO_ENVIRONMENT=staging"},
			opts: SiteOptions{Environment: "development"}, wantEnv: "development",
			wantFiles:   []string{"hugo.toml", "config/_default/hugo.toml"},
			wantPublish: "out", wantRoots: []root{{"", "out", "https://default.example.org/"}}},
		{name: "--environment", fixture: "configdir", opts: SiteOptions{Environment: "staging"}, wantEnv: "staging",
			wantFiles:   []string{"hugo.toml", "config/_default/hugo.toml", "config/staging/hugo.json"},
			wantPublish: "staging-out", wantRoots: []root{{"", "staging-out", "https://staging.example.org/"}}},
		{name: "languages.toml in the config dir", files: map[string]string{
			"config/_default/hugo.toml":        minimal,
			"config/_default/languages.toml":   "[en]\nweight = 1\nbaseURL = \"https://en.example.org/\"\n[fr]\nweight = 2\nbaseURL = \"https://fr.example.org/\"\n",
			"config/production/languages.yaml": "fr:\n  baseURL: https://fr.prod.example.org/\n"},
			wantFiles: []string{"config/_default/hugo.toml", "config/_default/languages.toml",
				"config/production/languages.yaml"},
			wantPublish: "public", wantRoots: []root{
				{"en", "public/en", "https://en.example.org/"}, {"fr", "public/fr", "https://fr.prod.example.org/"}}},
		{name: "languages.toml wrapped in its own name", files: map[string]string{
			"hugo.toml": minimal,
			"config/_default/languages.toml": "[languages.en]\nbaseURL = \"https://en.example.org/\"\n" +
				"[languages.fr]\nbaseURL = \"https://fr.example.org/\"\n"},
			wantFiles:   []string{"hugo.toml", "config/_default/languages.toml"},
			wantPublish: "public", wantRoots: []root{
				{"en", "public/en", "https://en.example.org/"}, {"fr", "public/fr", "https://fr.example.org/"}}},
		// Hugo walks subfolders of the config dir, and hugo.<lang>.toml configures that language (both
		// measured with v0.165.0).
		{name: "config dir subfolder and hugo.<lang>.toml", files: map[string]string{
			"config/_default/hugo.toml":          "baseURL = \"https://example.org/\"\n[languages.en]\nweight = 1\n[languages.fr]\nweight = 2\n",
			"config/_default/hugo.fr.toml":       "baseURL = \"https://fr.example.org/\"\n",
			"config/_default/params.en.toml":     "greeting = \"hi\"\n",
			"config/_default/sub/languages.toml": "[en]\nbaseURL = \"https://en.example.org/\"\n",
			"config/_default/README.md":          "not config\n"},
			wantFiles: []string{"config/_default/hugo.fr.toml", "config/_default/hugo.toml",
				"config/_default/params.en.toml", "config/_default/sub/languages.toml"},
			wantPublish: "public", wantRoots: []root{
				{"en", "public/en", "https://en.example.org/"}, {"fr", "public/fr", "https://fr.example.org/"}}},

		// Environment variables and flags. Hugo v0.165.0 applies HUGO_* after its flags (measured): the
		// environment beats --destination and --baseURL.
		{name: "publishDir and baseURL from the file", fixture: "envpublish",
			wantFiles: []string{"hugo.toml"}, wantPublish: "public-file",
			wantRoots: []root{{"", "public-file", "https://file.example.org/"}}},
		{name: "HUGO_PUBLISHDIR and HUGO_BASEURL", fixture: "envpublish",
			env:       []string{"HUGO_PUBLISHDIR=from-env", "HUGO_BASEURL=https://env.example.org/sub"},
			wantFiles: []string{"hugo.toml"}, wantPublish: "from-env",
			wantRoots: []root{{"", "from-env", "https://env.example.org/sub/"}}},
		{name: "HUGOxPUBLISHDIR", fixture: "envpublish", env: []string{"HUGOxPUBLISHDIR=from-x"},
			wantFiles: []string{"hugo.toml"}, wantPublish: "from-x",
			wantRoots: []root{{"", "from-x", "https://file.example.org/"}}},
		{name: "HUGO_RELATIVEURLS", fixture: "envpublish", env: []string{"HUGO_RELATIVEURLS=true"},
			wantFiles: []string{"hugo.toml"}, wantPublish: "public-file",
			wantRoots: []root{{"", "public-file", "https://file.example.org/"}}, wantRelURLs: true},
		{name: "flags override the file", fixture: "envpublish",
			opts:      SiteOptions{Destination: "from-flag", BaseURL: "https://flag.example.org/"},
			wantFiles: []string{"hugo.toml"}, wantPublish: "from-flag",
			wantRoots: []root{{"", "from-flag", "https://flag.example.org/"}}},
		{name: "flags override the config dir", files: map[string]string{
			"hugo.toml": minimal, "config/production/hugo.toml": "publishDir = \"prod\"\nbaseURL = \"https://prod.example.org/\"\n"},
			opts:      SiteOptions{Destination: "from-flag", BaseURL: "https://flag.example.org/"},
			wantFiles: []string{"hugo.toml", "config/production/hugo.toml"}, wantPublish: "from-flag",
			wantRoots: []root{{"", "from-flag", "https://flag.example.org/"}}},
		{name: "environment beats flags, as in Hugo", fixture: "envpublish",
			env:       []string{"HUGO_PUBLISHDIR=from-env"},
			opts:      SiteOptions{Destination: "from-flag", BaseURL: "https://flag.example.org/"},
			wantFiles: []string{"hugo.toml"}, wantPublish: "from-env",
			wantRoots: []root{{"", "from-env", "https://flag.example.org/"}}},
		{name: "HUGO_BASEURL beats --baseURL", fixture: "envpublish",
			env:       []string{"HUGO_BASEURL=https://env.example.org/"},
			opts:      SiteOptions{BaseURL: "https://flag.example.org/"},
			wantFiles: []string{"hugo.toml"}, wantPublish: "public-file",
			wantRoots: []root{{"", "public-file", "https://env.example.org/"}}},
		{name: "unrelated variables ignored", fixture: "envpublish",
			env:       []string{"HUGO=1", "HUGO_=x", "PUBLISHDIR=nope", "XHUGO_PUBLISHDIR=nope", "HUGO_CACHEDIR=/tmp/c"},
			wantFiles: []string{"hugo.toml"}, wantPublish: "public-file",
			wantRoots: []root{{"", "public-file", "https://file.example.org/"}}},

		// Paths and URLs.
		{name: "relative publishDir is under the site", fixture: "reldest",
			wantFiles: []string{"hugo.yaml"}, wantPublish: "build/site",
			wantRoots: []root{{"", "build/site", "https://user.github.io/project/"}}},
		{name: "relative --destination is under the site", fixture: "reldest", opts: SiteOptions{Destination: "../rd-out"},
			wantFiles: []string{"hugo.yaml"}, wantPublish: "../rd-out",
			wantRoots: []root{{"", "../rd-out", "https://user.github.io/project/"}}},
		{name: "baseURL subpath gets its slash", files: map[string]string{"hugo.toml": "baseURL = \"https://user.github.io/project\"\n"},
			wantFiles: []string{"hugo.toml"}, wantPublish: "public",
			wantRoots: []root{{"", "public", "https://user.github.io/project/"}}},
		{name: "explicit config files, in order", files: map[string]string{
			"hugo.toml": "baseURL = \"https://ignored.example.org/\"\n", "a.toml": minimal + "publishDir = \"a\"\n",
			"b.yaml": "publishDir: b\n"},
			opts:      SiteOptions{ConfigFiles: []string{"a.toml", "b.yaml"}},
			wantFiles: []string{"a.toml", "b.yaml"}, wantPublish: "b", wantRoots: []root{{"", "b", "https://example.org/"}}},

		// Languages.
		{name: "multihost", fixture: "multihost", wantFiles: []string{"hugo.toml"}, wantPublish: "public",
			wantRoots: []root{
				{"en", "public/en", "https://en.example.org/"},
				{"fr", "public/fr", "https://example.fr/sub/"},
				{"nl", "public/nl", "https://example.org/"},
				{"it", "public/it", "https://example.org/"}}},
		// HUGO_DISABLELANGUAGES replaces disableLanguages (de is enabled again); measured with Hugo.
		{name: "multihost with HUGO_DISABLELANGUAGES", fixture: "multihost", env: []string{"HUGO_DISABLELANGUAGES=nl"},
			wantFiles: []string{"hugo.toml"}, wantPublish: "public",
			wantRoots: []root{
				{"en", "public/en", "https://en.example.org/"},
				{"fr", "public/fr", "https://example.fr/sub/"},
				{"de", "public/de", "https://de.example.org/"},
				{"it", "public/it", "https://example.org/"}}},
		// A list from the environment is split at commas. en, fr, it enabled, de, nl, es disabled: 3 − 3
		// is not above 1, so Hugo v0.165 publishes one site (measured: en at public/, its sitemap index
		// under https://en.example.org/).
		{name: "HUGO_DISABLELANGUAGES list ends multihost", fixture: "multihost", env: []string{"HUGO_DISABLELANGUAGES=de, nl"},
			wantFiles: []string{"hugo.toml"}, wantPublish: "public",
			wantRoots: []root{{"", "public", "https://en.example.org/"}}},
		{name: "multihost language baseURL from the environment", fixture: "multihost",
			env:       []string{"HUGO_LANGUAGES_NL_BASEURL=https://nl.example.org/", "HUGOxLANGUAGESxITxBASEURL=https://example.it/"},
			wantFiles: []string{"hugo.toml"}, wantPublish: "public",
			wantRoots: []root{
				{"en", "public/en", "https://en.example.org/"},
				{"fr", "public/fr", "https://example.fr/sub/"},
				{"nl", "public/nl", "https://nl.example.org/"},
				{"it", "public/it", "https://example.it/"}}},
		// The delimiter after HUGO is case-sensitive: x splits, X does not.
		{name: "HUGOx delimiter is case-sensitive", files: map[string]string{
			"hugo.toml": minimal + "[languages.en]\nweight = 1\nbaseURL = \"https://en.example.org/\"\n" +
				"[languages.lux]\nweight = 2\nbaseURL = \"https://lux.example.org/\"\n"},
			env:       []string{"HUGOxLANGUAGESxLUXxBASEURL=https://example.lu/"},
			wantFiles: []string{"hugo.toml"}, wantPublish: "public",
			wantRoots: []root{{"en", "public/en", "https://en.example.org/"}, {"lux", "public/lux", "https://example.lu/"}}},
		{name: "multihost with --destination", fixture: "multihost", opts: SiteOptions{Destination: "dist"},
			wantFiles: []string{"hugo.toml"}, wantPublish: "dist",
			wantRoots: []root{
				{"en", "dist/en", "https://en.example.org/"},
				{"fr", "dist/fr", "https://example.fr/sub/"},
				{"nl", "dist/nl", "https://example.org/"},
				{"it", "dist/it", "https://example.org/"}}},
		{name: "language keys are lower-cased", files: map[string]string{
			"hugo.toml": minimal + "[languages.EN]\nbaseURL = \"https://en.example.org/\"\n[languages.Fr]\nbaseURL = \"https://fr.example.org/\"\n"},
			wantFiles: []string{"hugo.toml"}, wantPublish: "public",
			wantRoots: []root{{"en", "public/en", "https://en.example.org/"}, {"fr", "public/fr", "https://fr.example.org/"}}},
		{name: "one language with its own baseURL is not multihost", files: map[string]string{
			"hugo.toml": minimal + "[languages.en]\nbaseURL = \"https://en.example.org/\"\n"},
			wantFiles: []string{"hugo.toml"}, wantPublish: "public",
			wantRoots: []root{{"", "public", "https://en.example.org/"}}},
		{name: "one enabled language left is not multihost", files: map[string]string{
			"hugo.toml": minimal + "[languages.en]\nbaseURL = \"https://en.example.org/\"\n" +
				"[languages.fr]\nbaseURL = \"https://fr.example.org/\"\ndisabled = true\n"},
			wantFiles: []string{"hugo.toml"}, wantPublish: "public",
			wantRoots: []root{{"", "public", "https://en.example.org/"}}},
		// Hugo v0.165 counts disabled languages twice (enabled − disabled > 1): en and fr with their own
		// baseURLs plus a disabled de are published as one site (measured: en at public/, fr at public/fr/).
		{name: "two languages and a disabled one are not multihost", files: map[string]string{
			"hugo.toml": minimal + "disableLanguages = [\"de\"]\n[languages.en]\nweight = 1\nbaseURL = \"https://en.example.org/\"\n" +
				"[languages.fr]\nweight = 2\nbaseURL = \"https://fr.example.org/\"\n[languages.de]\nbaseURL = \"https://de.example.org/\"\n"},
			wantFiles: []string{"hugo.toml"}, wantPublish: "public",
			wantRoots: []root{{"", "public", "https://en.example.org/"}}},
		{name: "languages without baseURL are not multihost", files: map[string]string{
			"hugo.toml": minimal + "defaultContentLanguage = \"fr\"\n[languages.en]\nweight = 1\n[languages.fr]\nweight = 2\n"},
			wantFiles: []string{"hugo.toml"}, wantPublish: "public",
			wantRoots: []root{{"", "public", "https://example.org/"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src := ""
			if tc.fixture != "" {
				src = copyFixture(t, tc.fixture)
			} else {
				src = writeSite(t, tc.files)
			}
			o := tc.opts
			o.Source = src
			o.Environ = tc.env
			s, err := LoadSite(o)
			if err != nil {
				t.Fatal(err)
			}
			if s.Source != src {
				t.Errorf("Source %q, want %q", s.Source, src)
			}
			if want := cmp(tc.wantEnv, "production"); s.Environment != want {
				t.Errorf("Environment %q, want %q", s.Environment, want)
			}
			var files []string
			for _, f := range s.ConfigFiles {
				files = append(files, rel(t, src, f))
			}
			if !slices.Equal(files, tc.wantFiles) {
				t.Errorf("ConfigFiles %q, want %q", files, tc.wantFiles)
			}
			if got := rel(t, src, s.PublishDir); got != tc.wantPublish {
				t.Errorf("PublishDir %q, want %q", got, tc.wantPublish)
			}
			if got := relRoots(t, src, s.Roots); !reflect.DeepEqual(got, tc.wantRoots) {
				t.Errorf("Roots\n got %+v\nwant %+v", got, tc.wantRoots)
			}
			if s.RelativeURLs != tc.wantRelURLs {
				t.Errorf("RelativeURLs %v", s.RelativeURLs)
			}
		})
	}
}

// TestLoadSiteRelativeSource: a relative --source is relative to the working directory; publishDir and
// --destination then to the source (not the working directory).
func TestLoadSiteRelativeSource(t *testing.T) {
	src := copyFixture(t, "reldest")
	t.Chdir(filepath.Dir(src))
	for _, dest := range []string{"", "rel-out"} {
		s, err := LoadSite(SiteOptions{Source: filepath.Base(src), Destination: dest})
		if err != nil {
			t.Fatal(err)
		}
		want := filepath.Join(src, "build", "site")
		if dest != "" {
			want = filepath.Join(src, dest)
		}
		if s.Source != src || s.PublishDir != want || len(s.Roots) != 1 || s.Roots[0].Dir != want {
			t.Errorf("--destination %q: Source %q PublishDir %q Roots %+v; want %q", dest, s.Source, s.PublishDir, s.Roots, want)
		}
	}
	abs := filepath.Join(t.TempDir(), "abs-out")
	s, err := LoadSite(SiteOptions{Source: filepath.Base(src), Destination: abs})
	if err != nil {
		t.Fatal(err)
	}
	if s.PublishDir != abs {
		t.Errorf("absolute --destination: PublishDir %q, want %q", s.PublishDir, abs)
	}
}

func TestLoadSiteErrors(t *testing.T) {
	cases := []struct {
		name  string
		files map[string]string
		opts  SiteOptions
		env   []string
		want  []string // substrings of the error
	}{
		{"no config at all", map[string]string{"content/a.md": "x"}, SiteOptions{}, nil,
			[]string{"no Hugo configuration", "hugo.toml", "config/_default", "--source"}},
		{"config folder with no environment folders", map[string]string{"config/README": "x"}, SiteOptions{}, nil,
			[]string{"no Hugo configuration"}},
		{"baseURL unset", map[string]string{"hugo.toml": "title = \"x\"\n"}, SiteOptions{}, nil,
			[]string{"baseURL is not set", `baseURL = "https://example.org/"`, "--baseURL"}},
		{"baseURL /", map[string]string{"hugo.toml": "baseURL = \"/\"\n"}, SiteOptions{}, nil,
			[]string{"baseURL is not set", "--baseURL"}},
		{"baseURL without scheme", map[string]string{"hugo.toml": "baseURL = \"example.org\"\n"}, SiteOptions{}, nil,
			[]string{`"example.org"`, "not an absolute http(s) URL", `"https://example.org/"`}},
		{"baseURL scheme-relative", map[string]string{"hugo.toml": "baseURL = \"//example.org/x/\"\n"}, SiteOptions{}, nil,
			[]string{`"https://example.org/x/"`}},
		{"baseURL ftp", map[string]string{"hugo.toml": "baseURL = \"ftp://example.org/\"\n"}, SiteOptions{}, nil,
			[]string{`"ftp://example.org/"`, "http(s)"}},
		{"--baseURL without scheme", map[string]string{"hugo.toml": minimal}, SiteOptions{BaseURL: "example.org/project/"}, nil,
			[]string{`"example.org/project/"`, `"https://example.org/project/"`}},
		{"HUGO_BASEURL without scheme", map[string]string{"hugo.toml": minimal}, SiteOptions{}, []string{"HUGO_BASEURL=example.net"},
			[]string{`"example.net"`, `"https://example.net/"`}},
		{"multihost language without scheme", map[string]string{"hugo.toml": minimal +
			"[languages.en]\nbaseURL = \"https://en.example.org/\"\n[languages.fr]\nbaseURL = \"fr.example.org\"\n"}, SiteOptions{}, nil,
			[]string{"languages.fr.baseURL", `"https://fr.example.org/"`}},
		{"multihost language falls back to an unset baseURL", map[string]string{"hugo.toml": "[languages.en]\n" +
			"baseURL = \"https://en.example.org/\"\n[languages.fr]\nweight = 2\n"}, SiteOptions{}, nil,
			[]string{"baseURL is not set"}},
		{"malformed hugo.toml", map[string]string{"hugo.toml": "baseURL = \n"}, SiteOptions{}, nil,
			[]string{"hugo.toml"}},
		{"malformed config dir file", map[string]string{"hugo.toml": minimal, "config/_default/params.yaml": "a: [\n"},
			SiteOptions{}, nil, []string{"params.yaml"}},
		{"explicit config file missing", map[string]string{"hugo.toml": minimal}, SiteOptions{ConfigFiles: []string{"nope.toml"}}, nil,
			[]string{"nope.toml"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := tc.opts
			o.Source = writeSite(t, tc.files)
			o.Environ = tc.env
			s, err := LoadSite(o)
			if err == nil {
				t.Fatalf("no error; site %+v", s)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func sitemap(locs ...string) string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="utf-8" standalone="yes"?>` + "\n" +
		`<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:xhtml="http://www.w3.org/1999/xhtml">` + "\n")
	for _, l := range locs {
		b.WriteString("  <url>\n    <loc>" + l + "</loc>\n  </url>\n")
	}
	b.WriteString("</urlset>\n")
	return b.String()
}

const sitemapIndex = `<?xml version="1.0" encoding="utf-8" standalone="yes"?>
<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
	<sitemap>
		<loc>https://example.org/en/sitemap.xml</loc>
	</sitemap>
	<sitemap>
		<loc>https://example.org/fr/sitemap.xml</loc>
	</sitemap>
</sitemapindex>
`

func TestSiteWarnings(t *testing.T) {
	const multihost = "[languages.en]\nweight = 1\nbaseURL = \"https://en.example.org/\"\n" +
		"[languages.fr]\nweight = 2\nbaseURL = \"https://example.fr/sub/\"\n"
	cases := []struct {
		name  string
		files map[string]string
		want  [][]string // per warning, its substrings
	}{
		{"clean", map[string]string{"hugo.toml": minimal, "public/sitemap.xml": sitemap("https://example.org/", "https://example.org/a/")}, nil},
		{"no sitemap", map[string]string{"hugo.toml": minimal}, nil},
		{"empty sitemap", map[string]string{"hugo.toml": minimal, "public/sitemap.xml": sitemap()}, nil},
		{"relativeURLs with subpath", map[string]string{"hugo.toml": "baseURL = \"https://user.github.io/project/\"\nrelativeURLs = true\n"},
			[][]string{{"relativeURLs", "/project/", "relativeURLs = false"}}},
		{"relativeURLs without subpath", map[string]string{"hugo.toml": minimal + "relativeURLs = true\n"}, nil},
		{"subpath without relativeURLs", map[string]string{"hugo.toml": "baseURL = \"https://user.github.io/project/\"\n",
			"public/sitemap.xml": sitemap("https://user.github.io/project/")}, nil},
		{"sitemap from another baseURL", map[string]string{"hugo.toml": minimal,
			"public/sitemap.xml": sitemap("https://old.example.org/", "https://example.org/")},
			[][]string{{"sitemap.xml", "https://old.example.org/", "https://example.org/", "rebuild"}}},
		{"sitemap from hugo server", map[string]string{"hugo.toml": minimal,
			"public/sitemap.xml": sitemap("http://localhost:1313/")},
			[][]string{{"http://localhost:1313/"}}},
		{"sitemap missing the subpath", map[string]string{"hugo.toml": "baseURL = \"https://user.github.io/project/\"\n",
			"public/sitemap.xml": sitemap("https://user.github.io/")},
			[][]string{{"https://user.github.io/", "https://user.github.io/project/"}}},
		{"sitemap http vs https", map[string]string{"hugo.toml": minimal,
			"public/sitemap.xml": sitemap("http://example.org/")},
			[][]string{{"http://example.org/"}}},
		{"sitemap index under the baseURL", map[string]string{"hugo.toml": minimal, "public/sitemap.xml": sitemapIndex}, nil},
		{"sitemap index for another baseURL", map[string]string{"hugo.toml": "baseURL = \"https://example.com/\"\n",
			"public/sitemap.xml": sitemapIndex},
			[][]string{{"https://example.org/en/sitemap.xml", "https://example.com/"}}},
		{"flag baseURL differs from the build", map[string]string{"hugo.toml": "baseURL = \"https://example.com/\"\n",
			"public/sitemap.xml": sitemap("https://example.com/")}, nil},
		{"multihost: each root checked", map[string]string{"hugo.toml": minimal + "relativeURLs = true\n" + multihost,
			"public/en/sitemap.xml": sitemap("https://en.example.org/"),
			"public/fr/sitemap.xml": sitemap("https://en.example.org/")},
			[][]string{{"relativeURLs", "/sub/"}, {"fr", "https://en.example.org/", "https://example.fr/sub/"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := LoadSite(SiteOptions{Source: writeSite(t, tc.files)})
			if err != nil {
				t.Fatal(err)
			}
			w := s.Warnings()
			if len(w) != len(tc.want) {
				t.Fatalf("got %d warnings %q, want %d", len(w), w, len(tc.want))
			}
			for i, subs := range tc.want {
				for _, sub := range subs {
					if !strings.Contains(w[i], sub) {
						t.Errorf("warning %q does not contain %q", w[i], sub)
					}
				}
			}
		})
	}
}

// hugoCases are fixture sites with the flags and environment hugo and planktos are given.
var hugoCases = []struct {
	name    string
	fixture string
	env     []string
	dest    string // --destination, relative to the site folder when relative
	baseURL string // --baseURL
	envName string // --environment
}{
	{name: "multihost", fixture: "multihost"},
	{name: "multihost, HUGO_DISABLELANGUAGES=nl", fixture: "multihost", env: []string{"HUGO_DISABLELANGUAGES=nl"}},
	{name: "not multihost: 3 enabled, 3 disabled", fixture: "multihost", env: []string{"HUGO_DISABLELANGUAGES=de, nl"}},
	{name: "config dir, staging", fixture: "configdir", env: []string{"HUGO_ENVIRONMENT=staging"}},
	{name: "config dir, --environment", fixture: "configdir", env: []string{"HUGO_ENVIRONMENT=staging"}, envName: "development"},
	{name: "HUGO_PUBLISHDIR beats --destination", fixture: "envpublish",
		env:  []string{"HUGO_PUBLISHDIR=from-env", "HUGO_BASEURL=https://env.example.org/sub"},
		dest: "from-flag", baseURL: "https://flag.example.org/"},
	{name: "relative --destination", fixture: "reldest", dest: "../rd-out"},
}

// TestLoadSiteMatchesHugo builds fixture sites with the pinned Hugo (internal/testsite.Hugo, v0.165.0)
// and checks that LoadSite, given the same flags and environment, names exactly the folders Hugo wrote,
// with the baseURLs Hugo wrote into their sitemaps.
func TestLoadSiteMatchesHugo(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: runs the pinned Hugo (the first run compiles it, minutes)")
	}
	for _, tc := range hugoCases {
		t.Run(tc.name, func(t *testing.T) {
			src := copyFixture(t, tc.fixture)
			args := []string{"--source", src, "--noBuildLock", "--quiet"}
			if tc.dest != "" {
				args = append(args, "--destination", tc.dest)
			}
			if tc.baseURL != "" {
				args = append(args, "--baseURL", tc.baseURL)
			}
			if tc.envName != "" {
				args = append(args, "--environment", tc.envName)
			}
			cmd := testsite.Hugo(args...)
			cmd.Env = append(cmd.Env, tc.env...)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("hugo %s: %v\n%s", strings.Join(args, " "), err, out)
			}
			s, err := LoadSite(SiteOptions{Source: src, Destination: tc.dest, BaseURL: tc.baseURL,
				Environment: tc.envName, Environ: tc.env})
			if err != nil {
				t.Fatal(err)
			}
			// Where Hugo wrote: the topmost folders holding a sitemap.xml (a single-host multilingual site also
			// has one per language below its root), searched from the site's parent so that a
			// --destination outside the site is seen too.
			wrote := map[string]string{} // folder → first <loc>
			err = filepath.WalkDir(filepath.Dir(src), func(p string, d fs.DirEntry, err error) error {
				if err != nil || d.IsDir() || d.Name() != "sitemap.xml" {
					return err
				}
				wrote[filepath.Dir(p)] = readSitemap(t, p)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			for dir := range wrote {
				for up := filepath.Dir(dir); up != filepath.Dir(up); up = filepath.Dir(up) {
					if _, ok := wrote[up]; ok {
						delete(wrote, dir)
						break
					}
				}
			}
			if len(wrote) == 0 {
				t.Fatal("hugo wrote no sitemap.xml")
			}
			roots := map[string]string{}
			for _, r := range s.Roots {
				roots[r.Dir] = r.BaseURL
			}
			for dir, loc := range wrote {
				base, ok := roots[dir]
				if !ok {
					t.Errorf("hugo wrote a site root at %s (%s) that LoadSite does not report; roots %+v", dir, loc, s.Roots)
					continue
				}
				if !strings.HasPrefix(loc, base) {
					t.Errorf("%s: hugo's sitemap starts with %s, LoadSite says the baseURL is %s", dir, loc, base)
				}
			}
			for dir := range roots {
				if _, ok := wrote[dir]; !ok {
					t.Errorf("LoadSite reports a root at %s where hugo wrote no site; hugo wrote %v", dir, wrote)
				}
			}
			if w := s.Warnings(); len(w) != 0 {
				t.Errorf("warnings on a fresh build: %q", w)
			}
		})
	}
}

// readSitemap returns the first <loc> of a sitemap or sitemap index.
func readSitemap(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	d := xml.NewDecoder(f)
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			return ""
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "loc" {
			var loc string
			if err := d.DecodeElement(&loc, &se); err != nil {
				t.Fatal(err)
			}
			return strings.TrimSpace(loc)
		}
	}
}
