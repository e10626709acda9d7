package manifest_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/planktos/planktos/manifest"
)

var update = flag.Bool("update", false, "rewrite testdata/golden.json and testdata/layout.json from this test's values")

// golden is the manifest in testdata/golden.json: every field set, file names a web server must decode
// (spaces, %, #, ?, Unicode), an empty file in no torrent, ICE servers with and without credentials, and
// site workers. runtime/test/manifest-golden.test.js asserts the same values from the same file.
func golden() *manifest.Manifest {
	h := func(c string) string { return strings.Repeat(c, 64) }
	return &manifest.Manifest{
		Version:   manifest.Version,
		Generator: "planktos golden",
		Base:      "/project/",
		Trackers:  []string{"wss://tracker.example.org/announce", "ws://127.0.0.1:8000/announce"},
		Webseeds:  []string{"https://example.org/project/planktos/", "https://cdn.example.org/planktos/"},
		Torrents: []manifest.TorrentRef{
			{InfoHash: strings.Repeat("ab", 20), URL: manifest.TorrentPath(strings.Repeat("ab", 20)),
				PieceLength: 16384, Length: 20010},
			{InfoHash: strings.Repeat("0f", 20), URL: manifest.TorrentPath(strings.Repeat("0f", 20)),
				PieceLength: 262144, Length: 1048576},
		},
		Files: map[string]manifest.Entry{
			"index.html":              {SHA256: h("1"), Size: 10, Type: "text/html; charset=utf-8", Torrent: 0},
			"copy of index.html":      {SHA256: h("1"), Size: 10, Type: "text/html; charset=utf-8", Torrent: 0},
			"100% #1?.html":           {SHA256: h("2"), Size: 20000, Type: "text/html; charset=utf-8", Torrent: 0},
			"ünïcödé/日本語.txt":         {SHA256: h("3"), Size: 0, Type: "text/plain; charset=utf-8", Torrent: -1},
			"media/clip.webm":         {SHA256: h("4"), Size: 1048576, Type: "video/webm", Torrent: 1},
			"sw.js":                   {SHA256: h("5"), Size: 0, Type: "text/javascript; charset=utf-8", Torrent: -1},
			"inline/push-sw.js":       {SHA256: h("6"), Size: 0, Type: "text/javascript; charset=utf-8", Torrent: -1},
			"a/b/c/index.html":        {SHA256: h("e"), Size: 0, Type: "text/html; charset=utf-8", Torrent: -1},
			"odd name with space.css": {SHA256: h("f"), Size: 0, Type: "text/css; charset=utf-8", Torrent: -1},
			"R&D <draft>.html":        {SHA256: h("d"), Size: 0, Type: "text/html; charset=utf-8", Torrent: -1},
		},
		Runtime: manifest.Runtime{
			Version:       "0.0.0-golden",
			Prefetch:      "visited",
			PrefetchLimit: 52428800,
			P2P:           "download-only",
			ICEServers: []manifest.ICEServer{
				{URLs: []string{"stun:stun.example.org:3478"}},
				{URLs: []string{"turn:turn.example.org:3478", "turns:turn.example.org:5349"},
					Username: "visitor", Credential: "s3cr3t:\"quoted\""},
			},
			SiteWorkers: []string{"inline/push-sw.js", "sw.js"},
			Badge:       true,
			Report:      true,
		},
		Sequence: 1764633600000,
		Key:      "V4HIhf3q0SFExkSr/A3X6SUj1/2kJjw00YAvII38FxM=",
		Disabled: true,
	}
}

// layout is testdata/layout.json: the package layout the JS runtime is checked against.
func layout() map[string]string {
	return map[string]string{
		"dir":             manifest.Dir + "/",
		"serviceWorker":   manifest.SWPath,
		"manifest":        manifest.Path,
		"signature":       manifest.SigPath,
		"badge":           manifest.BadgePath,
		"install":         manifest.InstallPath,
		"peer":            manifest.PeerPath,
		"rootTorrent":     manifest.RootTorrentPath,
		"filesPrefix":     manifest.FilesPrefix,
		"torrentsPrefix":  manifest.TorrentsPrefix,
		"torrentSuffix":   strings.TrimPrefix(manifest.TorrentPath(""), manifest.TorrentsPrefix),
		"torrentName":     manifest.TorrentName,
		"rootTorrentName": manifest.RootTorrentName,
	}
}

// TestGolden: testdata/golden.json decodes to golden() with no field left over, encodes back to the same
// bytes (the packager's encoding is canonical), and its revision is what Seal computes.
func TestGolden(t *testing.T) {
	want := golden()
	if err := want.Seal(); err != nil {
		t.Fatal(err)
	}
	if *update {
		b, err := want.Encode()
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile("testdata/golden.json", b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b := readFile(t, "testdata/golden.json")
	var strict manifest.Manifest
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&strict); err != nil {
		t.Fatalf("golden.json has a field the schema lacks: %v", err)
	}
	got, err := manifest.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("golden.json decodes to\n%+v\nwant\n%+v\n(schema changed? run go test ./manifest -update, then update runtime/test/manifest-golden.test.js)", got, want)
	}
	again, err := got.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again, b) {
		t.Errorf("re-encoded golden.json differs:\n%s", again)
	}
	rev := got.Revision
	got.Generator = "another planktos" // not part of the revision
	if err := got.Seal(); err != nil {
		t.Fatal(err)
	}
	if got.Revision != rev {
		t.Errorf("revision %s, Seal computes %s", rev, got.Revision)
	}
	got.Runtime.SiteWorkers = got.Runtime.SiteWorkers[:1]
	if err := got.Seal(); err != nil {
		t.Fatal(err)
	}
	if got.Revision == rev {
		t.Error("revision unchanged after a runtime setting changed")
	}
}

// TestLayout: testdata/layout.json lists the layout constants.
func TestLayout(t *testing.T) {
	want := layout()
	if *update {
		b, err := json.MarshalIndent(want, "", " ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile("testdata/layout.json", append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var got map[string]string
	if err := json.Unmarshal(readFile(t, "testdata/layout.json"), &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("layout.json is %v, the constants are %v (run go test ./manifest -update)", got, want)
	}
}

// refusal is one case of testdata/refused.json: golden.json with the value at Path replaced (or, with
// Delete, removed). Both Parse and the runtime's parseManifest must refuse it.
type refusal struct {
	Why    string          `json:"why"`
	Path   []string        `json:"path"`
	Value  json.RawMessage `json:"value"`
	Delete bool            `json:"delete"`
}

// TestRefused: Parse refuses every manifest in testdata/refused.json, and accepts golden.json itself.
func TestRefused(t *testing.T) {
	var cases []refusal
	if err := json.Unmarshal(readFile(t, "testdata/refused.json"), &cases); err != nil {
		t.Fatal(err)
	}
	if len(cases) < 5 {
		t.Fatalf("%d cases", len(cases))
	}
	for _, c := range cases {
		t.Run(c.Why, func(t *testing.T) {
			var doc any
			if err := json.Unmarshal(readFile(t, "testdata/golden.json"), &doc); err != nil {
				t.Fatal(err)
			}
			set(t, doc, c)
			b, err := json.Marshal(doc)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := manifest.Parse(b); err == nil {
				t.Errorf("Parse accepted a manifest where %s", c.Why)
			}
		})
	}
}

// set applies c to doc, a decoded JSON document: the path leads through objects (by key) and arrays (by
// index) to the value replaced or, with c.Delete, removed (from an object).
func set(t *testing.T, doc any, c refusal) {
	t.Helper()
	var val any
	if !c.Delete {
		if err := json.Unmarshal(c.Value, &val); err != nil {
			t.Fatal(err)
		}
	}
	last := len(c.Path) - 1
	for i, k := range c.Path {
		switch v := doc.(type) {
		case map[string]any:
			if i < last {
				doc = v[k]
			} else if c.Delete {
				delete(v, k)
			} else {
				v[k] = val
			}
		case []any:
			var n int
			if err := json.Unmarshal([]byte(k), &n); err != nil || n < 0 || n >= len(v) {
				t.Fatalf("path %v: %q is no index of %d items", c.Path, k, len(v))
			}
			if i < last {
				doc = v[n]
			} else {
				v[n] = val
			}
		default:
			t.Fatalf("path %v leads nowhere at %q", c.Path, k)
		}
	}
}

func TestPaths(t *testing.T) {
	if got := manifest.FilePath("ab"); got != "planktos/files/ab" {
		t.Errorf("FilePath: %s", got)
	}
	if got := manifest.TorrentPath("cd"); got != "planktos/torrents/cd.torrent" {
		t.Errorf("TorrentPath: %s", got)
	}
}

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
