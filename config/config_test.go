package config

import (
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/pflag"
	"github.com/spf13/viper"
)

// packFlags builds the flag set the way cmd/planktos/pack.go (commonFlags.register) does, so a rename
// there that breaks the flag → key mapping shows up here too.
func packFlags(t *testing.T, args ...string) *pflag.FlagSet {
	t.Helper()
	fs := pflag.NewFlagSet("pack", pflag.ContinueOnError)
	var configFile string
	var quiet, json bool
	fs.StringVarP(&configFile, "config", "c", "", "")
	fs.BoolVarP(&quiet, "quiet", "q", false, "")
	fs.BoolVar(&json, "json", false, "")
	fs.StringArray("trackers", nil, "")
	fs.StringArray("webseeds", nil, "")
	fs.StringArray("include", nil, "")
	fs.StringArray("exclude", nil, "")
	fs.String("inject", "auto", "")
	fs.String("piece-length", "auto", "")
	fs.String("base-url", "", "")
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return fs
}

// writeConfig writes planktos.toml (if toml is not "") into a new folder and returns the folder.
func writeConfig(t *testing.T, toml string) string {
	t.Helper()
	dir := t.TempDir()
	if toml != "" {
		if err := os.WriteFile(filepath.Join(dir, FileName), []byte(toml), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func load(t *testing.T, toml string, env []string, args ...string) (Config, []string, error) {
	t.Helper()
	c, _, warnings, err := Load(Options{Dir: writeConfig(t, toml), Environ: env, Flags: packFlags(t, args...)})
	return c, warnings, err
}

func mustLoad(t *testing.T, toml string, env []string, args ...string) Config {
	t.Helper()
	c, _, err := load(t, toml, env, args...)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return c
}

func TestPrecedence(t *testing.T) {
	const file = `
inject = "always"
piece_length = "64KiB"
trackers = ["wss://file.example/announce"]
prefetch = "visited"
`
	fileEnv := []string{"PLANKTOS_INJECT=never", "PLANKTOS_PIECE_LENGTH=128KiB",
		"PLANKTOS_TRACKERS=wss://env.example/announce", "PLANKTOS_P2P=off"}
	type want struct {
		inject   string
		piece    int64
		trackers [][]string
		prefetch string
		p2p      string
	}
	cases := []struct {
		name string
		toml string
		env  []string
		args []string
		want want
	}{
		{"defaults", "", nil, nil,
			want{"auto", 0, nil, "all", "on"}},
		{"file over defaults", file, nil, nil,
			want{"always", 64 << 10, [][]string{{"wss://file.example/announce"}}, "visited", "on"}},
		{"env over file", file, fileEnv, nil,
			want{"never", 128 << 10, [][]string{{"wss://env.example/announce"}}, "visited", "off"}},
		{"flags over env", file, fileEnv,
			[]string{"--inject", "auto", "--piece-length", "256KiB", "--trackers", "wss://flag.example/announce",
				"--trackers", "wss://flag2.example/announce"},
			want{"auto", 256 << 10, [][]string{{"wss://flag.example/announce"}, {"wss://flag2.example/announce"}},
				"visited", "off"}},
		// A flag left at its default ("auto") must not hide the file or the environment.
		{"unset flags do not count", file, []string{"PLANKTOS_PIECE_LENGTH=32KiB"}, []string{"--quiet"},
			want{"always", 32 << 10, [][]string{{"wss://file.example/announce"}}, "visited", "on"}},
		{"flag over defaults", "", nil, []string{"--piece-length", "1MiB"},
			want{"auto", 1 << 20, nil, "all", "on"}},
		{"non-config flags ignored", file, nil, []string{"--json", "--base-url", "https://x.example/", "-c", "x.toml"},
			want{"always", 64 << 10, [][]string{{"wss://file.example/announce"}}, "visited", "on"}},
		{"non-planktos env ignored", file, []string{"INJECT=never", "planktos_inject=never", "HUGO_INJECT=never"}, nil,
			want{"always", 64 << 10, [][]string{{"wss://file.example/announce"}}, "visited", "on"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := mustLoad(t, tc.toml, tc.env, tc.args...)
			got := want{c.Inject, c.PieceLength, c.Trackers, c.Prefetch, c.P2P}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestLoadFile(t *testing.T) {
	t.Run("found in Dir", func(t *testing.T) {
		dir := writeConfig(t, `inject = "never"`)
		c, file, _, err := Load(Options{Dir: dir})
		if err != nil {
			t.Fatal(err)
		}
		if file != filepath.Join(dir, FileName) || c.Inject != "never" {
			t.Errorf("file %q inject %q", file, c.Inject)
		}
	})
	t.Run("none in Dir", func(t *testing.T) {
		c, file, _, err := Load(Options{Dir: t.TempDir()})
		if err != nil || file != "" {
			t.Fatalf("file %q err %v", file, err)
		}
		if !sameConfig(c, Default()) {
			t.Errorf("got %+v, want the defaults %+v", c, Default())
		}
	})
	t.Run("explicit file wins over Dir", func(t *testing.T) {
		dir := writeConfig(t, `inject = "never"`)
		other := filepath.Join(t.TempDir(), "other.toml")
		if err := os.WriteFile(other, []byte(`inject = "always"`), 0o644); err != nil {
			t.Fatal(err)
		}
		c, file, _, err := Load(Options{Dir: dir, File: other})
		if err != nil || file != other || c.Inject != "always" {
			t.Fatalf("file %q inject %q err %v", file, c.Inject, err)
		}
	})
	t.Run("explicit file must exist", func(t *testing.T) {
		missing := filepath.Join(t.TempDir(), "missing.toml")
		_, _, _, err := Load(Options{File: missing})
		if err == nil || !strings.Contains(err.Error(), missing) {
			t.Fatalf("want an error naming %s, got %v", missing, err)
		}
	})
}

func TestEnvLists(t *testing.T) {
	cases := []struct {
		name string
		env  string
		want Config // only the fields compared below
	}{
		{"trackers space separated", "PLANKTOS_TRACKERS=wss://a.example/announce wss://b.example/announce",
			Config{Trackers: [][]string{{"wss://a.example/announce"}, {"wss://b.example/announce"}}}},
		{"trackers comma separated", "PLANKTOS_TRACKERS=wss://a.example/announce,wss://b.example/announce",
			Config{Trackers: [][]string{{"wss://a.example/announce"}, {"wss://b.example/announce"}}}},
		{"webseeds", "PLANKTOS_WEBSEEDS=https://cdn.example/planktos https://cdn2.example/p/",
			Config{Webseeds: []string{"https://cdn.example/planktos/", "https://cdn2.example/p/"}}},
		{"include", "PLANKTOS_INCLUDE=**/*.html images/**",
			Config{Include: []string{"**/*.html", "images/**"}}},
		{"exclude", "PLANKTOS_EXCLUDE=*.zip",
			Config{Exclude: []string{"*.zip"}}},
		{"ice json", `PLANKTOS_ICE_SERVERS=[{"urls":["stun:s.example:3478"]},` +
			`{"urls":["turn:t.example"],"username":"u","credential":"c"}]`,
			Config{ICEServers: []ICEServer{{URLs: []string{"stun:s.example:3478"}},
				{URLs: []string{"turn:t.example"}, Username: "u", Credential: "c"}}}},
		// RTCIceServer.urls may be a single string.
		{"ice json urls string", `PLANKTOS_ICE_SERVERS= [{"urls":"stun:s.example"}]`,
			Config{ICEServers: []ICEServer{{URLs: []string{"stun:s.example"}}}}},
		{"ice plain urls", "PLANKTOS_ICE_SERVERS=stun:a.example stun:b.example:3478",
			Config{ICEServers: []ICEServer{{URLs: []string{"stun:a.example"}}, {URLs: []string{"stun:b.example:3478"}}}}},
		{"enabled false", "PLANKTOS_ENABLED=false", Config{}},
		{"prefetch limit", "PLANKTOS_PREFETCH_LIMIT=1GiB", Config{PrefetchLimit: 1 << 30}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := mustLoad(t, "", []string{tc.env})
			if !equal(c.Trackers, tc.want.Trackers) {
				t.Errorf("trackers %q, want %q", c.Trackers, tc.want.Trackers)
			}
			if !equal(c.Webseeds, tc.want.Webseeds) {
				t.Errorf("webseeds %q, want %q", c.Webseeds, tc.want.Webseeds)
			}
			if !equal(c.Include, tc.want.Include) || !equal(c.Exclude, tc.want.Exclude) {
				t.Errorf("include %q exclude %q, want %q %q", c.Include, c.Exclude, tc.want.Include, tc.want.Exclude)
			}
			if !equal(c.ICEServers, tc.want.ICEServers) {
				t.Errorf("ice %+v, want %+v", c.ICEServers, tc.want.ICEServers)
			}
			if wantEnabled := tc.name != "enabled false"; c.Enabled != wantEnabled {
				t.Errorf("enabled %v", c.Enabled)
			}
			if want := cmpInt(tc.want.PrefetchLimit, 50<<20); c.PrefetchLimit != want {
				t.Errorf("prefetch limit %d, want %d", c.PrefetchLimit, want)
			}
		})
	}
}

// equal is reflect.DeepEqual for slices, except that nil and empty are equal.
func equal[S ~[]E, E any](a, b S) bool {
	return len(a) == 0 && len(b) == 0 || reflect.DeepEqual(a, b)
}

// sameConfig compares two configs, nil and empty lists alike.
func sameConfig(a, b Config) bool {
	return a.Enabled == b.Enabled && equal(a.Trackers, b.Trackers) && equal(a.Webseeds, b.Webseeds) &&
		equal(a.Include, b.Include) && equal(a.Exclude, b.Exclude) && a.Inject == b.Inject &&
		a.PieceLength == b.PieceLength && a.Prefetch == b.Prefetch && a.PrefetchLimit == b.PrefetchLimit &&
		a.P2P == b.P2P && equal(a.ICEServers, b.ICEServers)
}

func cmpInt(v, def int64) int64 {
	if v == 0 {
		return def
	}
	return v
}

func TestFileValues(t *testing.T) {
	cases := []struct {
		name  string
		toml  string
		check func(Config) bool
	}{
		{"flat trackers: one tier each", `trackers = ["wss://a.example/announce", "udp://b.example:6969"]`,
			func(c Config) bool {
				return reflect.DeepEqual(c.Trackers, [][]string{{"wss://a.example/announce"}, {"udp://b.example:6969"}})
			}},
		{"explicit tiers", `trackers = [["wss://a.example/announce", "wss://b.example/announce"], ["wss://c.example/announce"]]`,
			func(c Config) bool {
				return reflect.DeepEqual(c.Trackers,
					[][]string{{"wss://a.example/announce", "wss://b.example/announce"}, {"wss://c.example/announce"}})
			}},
		{"mixed tiers", `trackers = ["wss://a.example/announce", ["wss://b.example/announce", "wss://c.example/announce"]]`,
			func(c Config) bool {
				return reflect.DeepEqual(c.Trackers,
					[][]string{{"wss://a.example/announce"}, {"wss://b.example/announce", "wss://c.example/announce"}})
			}},
		{"empty tier dropped", `trackers = [[], ["wss://a.example/announce"]]`,
			func(c Config) bool { return reflect.DeepEqual(c.Trackers, [][]string{{"wss://a.example/announce"}}) }},
		{"single tracker string", `trackers = "wss://a.example/announce"`,
			func(c Config) bool { return reflect.DeepEqual(c.Trackers, [][]string{{"wss://a.example/announce"}}) }},
		{"webseed gets a trailing slash", `webseeds = ["https://cdn.example.org/site/planktos"]`,
			func(c Config) bool {
				return reflect.DeepEqual(c.Webseeds, []string{"https://cdn.example.org/site/planktos/"})
			}},
		{"webseed keeps its slash", `webseeds = ["http://cdn.example.org/planktos/"]`,
			func(c Config) bool {
				return reflect.DeepEqual(c.Webseeds, []string{"http://cdn.example.org/planktos/"})
			}},
		{"globs", "include = [\"**/*.html\"]\nexclude = [\"big/**\", \"*.iso\"]",
			func(c Config) bool {
				return reflect.DeepEqual(c.Include, []string{"**/*.html"}) &&
					reflect.DeepEqual(c.Exclude, []string{"big/**", "*.iso"})
			}},
		{"piece_length auto", `piece_length = "auto"`, func(c Config) bool { return c.PieceLength == 0 }},
		{"piece_length AUTO", `piece_length = "AUTO"`, func(c Config) bool { return c.PieceLength == 0 }},
		{"piece_length 256KiB", `piece_length = "256KiB"`, func(c Config) bool { return c.PieceLength == 256<<10 }},
		{"piece_length integer", `piece_length = 262144`, func(c Config) bool { return c.PieceLength == 262144 }},
		{"piece_length min", `piece_length = "16KiB"`, func(c Config) bool { return c.PieceLength == MinPieceLength }},
		{"piece_length max", `piece_length = "16MiB"`, func(c Config) bool { return c.PieceLength == MaxPieceLength }},
		{"prefetch_limit 50MiB", `prefetch_limit = "50MiB"`, func(c Config) bool { return c.PrefetchLimit == 50<<20 }},
		{"prefetch_limit 1.5GB", `prefetch_limit = "1.5GB"`, func(c Config) bool { return c.PrefetchLimit == 1_500_000_000 }},
		{"prefetch_limit integer", `prefetch_limit = 1000`, func(c Config) bool { return c.PrefetchLimit == 1000 }},
		{"prefetch_limit 0 = unlimited", `prefetch_limit = 0`, func(c Config) bool { return c.PrefetchLimit == 0 }},
		{"inject never", `inject = "never"`, func(c Config) bool { return c.Inject == "never" }},
		{"inject Always (case)", `inject = "Always"`, func(c Config) bool { return c.Inject == "always" }},
		{"prefetch none", `prefetch = "none"`, func(c Config) bool { return c.Prefetch == "none" }},
		{"p2p download-only", `p2p = "download-only"`, func(c Config) bool { return c.P2P == "download-only" }},
		{"enabled false", `enabled = false`, func(c Config) bool { return !c.Enabled }},
		{"ice tables", `
[[ice_servers]]
urls = ["stun:stun.example.org:3478"]

[[ice_servers]]
urls = ["turn:turn.example.org:3478", "turns:turn.example.org:5349"]
username = "u"
credential = "secret"
`, func(c Config) bool {
			return reflect.DeepEqual(c.ICEServers, []ICEServer{
				{URLs: []string{"stun:stun.example.org:3478"}},
				{URLs: []string{"turn:turn.example.org:3478", "turns:turn.example.org:5349"}, Username: "u", Credential: "secret"},
			})
		}},
		{"ice inline table, urls string", `ice_servers = [{ urls = "stun:s.example" }]`,
			func(c Config) bool {
				return reflect.DeepEqual(c.ICEServers, []ICEServer{{URLs: []string{"stun:s.example"}}})
			}},
		{"keys are case-insensitive", `Inject = "never"`, func(c Config) bool { return c.Inject == "never" }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if c := mustLoad(t, tc.toml, nil); !tc.check(c) {
				t.Errorf("unexpected config for %s:\n%+v", tc.toml, c)
			}
		})
	}
}

// TestBadValues: every bad value is an error naming the setting and saying what is expected.
func TestBadValues(t *testing.T) {
	cases := []struct {
		name string
		toml string
		env  []string
		args []string
		want []string // substrings of the error
	}{
		{"webseed not a URL", `webseeds = ["cdn.example.org/planktos/"]`, nil, nil,
			[]string{FileName, "webseeds", "cdn.example.org/planktos/", "https://cdn.example.org/planktos/"}},
		{"webseed ftp", `webseeds = ["ftp://cdn.example.org/"]`, nil, nil, []string{"webseeds", "http(s)"}},
		{"tracker not a URL", `trackers = ["tracker.example.org"]`, nil, nil, []string{"trackers", "wss://"}},
		{"tracker bad scheme", `trackers = ["magnet://x.example/"]`, nil, nil, []string{"trackers", `"magnet"`, "wss://"}},
		{"piece_length not power of two", `piece_length = 300000`, nil, nil,
			[]string{"piece_length", "300000", "power of two", `"auto"`}},
		{"piece_length too small", `piece_length = "8KiB"`, nil, nil, []string{"piece_length", "8192", "16KiB"}},
		{"piece_length too big", `piece_length = "32MiB"`, nil, nil, []string{"piece_length", "16MiB"}},
		{"piece_length not a size", `piece_length = "big"`, nil, nil, []string{"piece_length", `"big"`, "50MiB"}},
		{"size x", `prefetch_limit = "x"`, nil, nil, []string{"prefetch_limit", `"x"`, "50MiB"}},
		{"size unit only", `prefetch_limit = "MiB"`, nil, nil, []string{"prefetch_limit", `"MiB"`}},
		{"size negative", `prefetch_limit = "-1MiB"`, nil, nil, []string{"prefetch_limit"}},
		{"size inf", `prefetch_limit = "inf"`, nil, nil, []string{"prefetch_limit", `"inf"`}},
		{"size NaN", `prefetch_limit = "NaN"`, nil, nil, []string{"prefetch_limit", `"NaN"`}},
		{"size overflow", `prefetch_limit = "1e10GiB"`, nil, nil, []string{"prefetch_limit"}},
		{"size typo keeps the original", `prefetch_limit = "5xMiB"`, nil, nil, []string{`"5xMiB"`}},
		{"inject", `inject = "sometimes"`, nil, nil, []string{"inject", "sometimes", "auto, always, never"}},
		{"prefetch", `prefetch = "some"`, nil, nil, []string{"prefetch", "all, visited, none"}},
		{"p2p", `p2p = "upload-only"`, nil, nil, []string{"p2p", "on, download-only, off"}},
		{"enabled", `enabled = "perhaps"`, nil, nil, []string{"enabled", "true or false"}},
		{"glob", `exclude = ["[a-"]`, nil, nil, []string{"exclude", "[a-", "glob"}},
		{"ice not a table", `ice_servers = ["stun:s.example"]`, nil, nil, []string{"ice_servers", "table"}},
		{"ice no urls", "[[ice_servers]]\nusername = \"u\"", nil, nil, []string{"ice_servers", "no urls"}},
		{"ice bad scheme", "[[ice_servers]]\nurls = [\"https://s.example\"]", nil, nil, []string{"ice_servers", "stun:"}},
		{"ice field typo", "[[ice_servers]]\nurl = \"stun:s.example\"", nil, nil,
			[]string{"ice_servers", `"url"`, `did you mean "urls"`}},
		{"turn without credential", "[[ice_servers]]\nurls = [\"turn:t.example\"]\nusername = \"u\"", nil, nil,
			[]string{"ice_servers", "turn:t.example", "username and credential"}},
		{"ice env bad json", "", []string{`PLANKTOS_ICE_SERVERS=[{"urls":`}, nil, []string{"PLANKTOS_ICE_SERVERS", "ice_servers", "JSON"}},
		{"ice env turn without credential", "", []string{`PLANKTOS_ICE_SERVERS=turn:t.example`}, nil,
			[]string{"ice_servers", "credential"}},
		// The error names where the bad value came from.
		{"bad env value is blamed on the variable", `inject = "never"`, []string{"PLANKTOS_INJECT=bogus"}, nil,
			[]string{"PLANKTOS_INJECT", "bogus"}},
		{"bad flag value is blamed on the flag", `inject = "never"`, []string{"PLANKTOS_INJECT=never"},
			[]string{"--piece-length", "3"}, []string{"--piece-length", "piece_length"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := load(t, tc.toml, tc.env, tc.args...)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if len(tc.env) > 0 || len(tc.args) > 0 {
				if strings.Contains(err.Error(), FileName) {
					t.Errorf("error %q blames %s for a value it did not set", err, FileName)
				}
			}
		})
	}
}

func TestUnknownKey(t *testing.T) {
	cases := []struct {
		name string
		toml string
		want []string
	}{
		{"tracker", `tracker = ["wss://a.example/announce"]`, []string{`"tracker"`, `did you mean "trackers"`}},
		{"pice_length", `pice_length = "auto"`, []string{`"pice_length"`, `did you mean "piece_length"`}},
		{"nested key", "[runtime]\np2p = \"off\"", []string{`"runtime.p2p"`, `did you mean "p2p"`}},
		{"webseed", `webseed = "https://cdn.example/"`, []string{`did you mean "webseeds"`}},
		{"nothing close: list the valid settings", `colour = "blue"`,
			[]string{`"colour"`, "valid settings", "trackers", "piece_length", "ice_servers"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeConfig(t, tc.toml)
			_, _, _, err := Load(Options{Dir: dir})
			if err == nil {
				t.Fatal("an unknown key must be an error")
			}
			want := append([]string{filepath.Join(dir, FileName), "unknown setting"}, tc.want...)
			for _, w := range want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestMalformedTOML(t *testing.T) {
	cases := []struct {
		name string
		toml string
		line string
	}{
		{"missing =", "inject = \"auto\"\n\nfoo bar\n", "line 3"},
		{"unclosed array", "inject = \"auto\"\ntrackers = [\"wss://a.example/announce\"\npiece_length = 3\n", "line 3"},
		{"unclosed string", "inject = \"auto\n", "line 1"},
		{"bad value", "inject = \"auto\"\np2p = on\n", "line 2"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeConfig(t, tc.toml)
			_, _, _, err := Load(Options{Dir: dir})
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range []string{filepath.Join(dir, FileName), "not valid TOML", tc.line, "planktos.toml.example"} {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestUnknownEnvIsAWarning(t *testing.T) {
	cases := []struct {
		env  string
		want []string
	}{
		{"PLANKTOS_TRACKER=wss://a.example/announce", []string{"PLANKTOS_TRACKER", "PLANKTOS_TRACKERS?"}},
		{"PLANKTOS_PIECELENGTH=1MiB", []string{"PLANKTOS_PIECELENGTH", "PLANKTOS_PIECE_LENGTH?"}},
		{"PLANKTOS_COLOUR=blue", []string{"PLANKTOS_COLOUR", "ignored"}},
	}
	for _, tc := range cases {
		t.Run(tc.env, func(t *testing.T) {
			c, warnings, err := load(t, "", []string{tc.env, "PLANKTOS_INJECT=never"})
			if err != nil {
				t.Fatalf("an unknown variable must not be an error: %v", err)
			}
			if c.Inject != "never" {
				t.Errorf("the known variable next to it was not applied: inject %q", c.Inject)
			}
			if len(warnings) != 1 {
				t.Fatalf("want 1 warning, got %q", warnings)
			}
			for _, w := range tc.want {
				if !strings.Contains(warnings[0], w) {
					t.Errorf("warning %q does not contain %q", warnings[0], w)
				}
			}
			if strings.Contains(warnings[0], "DID YOU") || strings.Contains(warnings[0], "VALID SETTINGS") {
				t.Errorf("warning %q shouts", warnings[0])
			}
		})
	}
}

func TestWarnings(t *testing.T) {
	cases := []struct {
		name string
		toml string
		want []string // substrings, one per expected warning
	}{
		{"no trackers", ``, []string{"no trackers"}},
		{"no trackers but p2p off", `p2p = "off"`, nil},
		{"no trackers but disabled", `enabled = false`, nil},
		{"wss only", `trackers = ["wss://a.example/announce"]`, nil},
		{"ws is fine", `trackers = ["ws://127.0.0.1:8000/announce"]`, nil},
		{"udp and http", `trackers = ["wss://a.example/announce", ["udp://b.example:6969", "http://c.example/announce"]]`,
			[]string{"udp://b.example:6969", "http://c.example/announce"}},
		{"only udp: still a tracker for others", `trackers = ["udp://b.example:6969"]`, []string{"udp://b.example:6969"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := mustLoad(t, tc.toml, nil).Warnings()
			if len(w) != len(tc.want) {
				t.Fatalf("got %d warnings %q, want %d", len(w), w, len(tc.want))
			}
			for i := range w {
				if !strings.Contains(w[i], tc.want[i]) {
					t.Errorf("warning %q does not contain %q", w[i], tc.want[i])
				}
			}
			for _, s := range w {
				if strings.Contains(s, "udp://") && !strings.Contains(s, "ws://") {
					t.Errorf("warning %q does not say what browsers can use", s)
				}
			}
		})
	}
}

func TestWebTrackers(t *testing.T) {
	c := mustLoad(t, `trackers = [["udp://a.example:6969", "wss://b.example/announce"], ["http://c.example/announce"], `+
		`["ws://127.0.0.1:8000/announce", "https://d.example/announce", "wss://e.example/announce"]]`, nil)
	want := []string{"wss://b.example/announce", "ws://127.0.0.1:8000/announce", "wss://e.example/announce"}
	if got := c.WebTrackers(); !slices.Equal(got, want) {
		t.Errorf("WebTrackers() = %q, want %q", got, want)
	}
	if got := Default().WebTrackers(); len(got) != 0 {
		t.Errorf("default WebTrackers() = %q", got)
	}
}

func TestDefault(t *testing.T) {
	want := Config{Enabled: true, Inject: "auto", PieceLength: 0, Prefetch: "all", PrefetchLimit: 50 << 20, P2P: "on"}
	got := Default()
	if !sameConfig(got, want) {
		t.Errorf("Default() = %+v\nwant        %+v", got, want)
	}
	if w := got.Warnings(); len(w) != 1 || !strings.Contains(w[0], "no trackers") {
		t.Errorf("Default().Warnings() = %q, want the no-trackers warning", w)
	}
}

func TestParseSize(t *testing.T) {
	cases := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"512", 512, true},
		{"64KiB", 64 << 10, true},
		{"50MiB", 50 << 20, true},
		{"50mib", 50 << 20, true},
		{" 2 GiB ", 2 << 30, true},
		{"1.5GB", 1_500_000_000, true},
		{"10KB", 10_000, true},
		{"3MB", 3_000_000, true},
		{"7B", 7, true},
		{"0", 0, true},
		{"x", 0, false},
		{"", 0, false},
		{"-1", 0, false},
		{"Inf", 0, false},
		{"NaN", 0, false},
		{"9e18GiB", 0, false},
		{"12 parsecs", 0, false},
	}
	for _, tc := range cases {
		got, err := ParseSize(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d, ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

// TestExample: planktos.toml.example at the repository root loads without error and sets every key, so
// it documents every key: adding a key to keys without documenting it fails here.
func TestExample(t *testing.T) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("no caller")
	}
	example := filepath.Join(filepath.Dir(file), "..", "planktos.toml.example")
	c, read, warnings, err := Load(Options{File: example})
	if err != nil {
		t.Fatalf("%s does not load: %v", example, err)
	}
	if read != example || len(warnings) != 0 {
		t.Errorf("read %q, warnings %q", read, warnings)
	}
	// The example shows the defaults.
	if !sameConfig(c, Default()) {
		t.Errorf("the example's values differ from the defaults:\n%+v\n%+v", c, Default())
	}
	v := viper.New()
	v.SetConfigFile(example)
	v.SetConfigType("toml")
	if err := v.ReadInConfig(); err != nil {
		t.Fatal(err)
	}
	set := map[string]bool{}
	for _, k := range v.AllKeys() {
		set[k] = true
	}
	for _, k := range keyNames() {
		if !set[k] {
			t.Errorf("planktos.toml.example does not document %q (add it with its default and a comment)", k)
		}
	}
	// Every documented key has a comment right above it.
	b, err := os.ReadFile(example)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	for i, line := range lines {
		k, _, found := strings.Cut(line, " = ")
		if !found || strings.HasPrefix(line, "#") || i == 0 {
			continue
		}
		if !strings.HasPrefix(lines[i-1], "#") {
			t.Errorf("planktos.toml.example line %d: %s has no comment above it", i+1, k)
		}
	}
}
