package packager_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/planktos/planktos/config"
	"github.com/planktos/planktos/packager"
	"github.com/spf13/afero"
)

// recorder is an Events that records what Pack reports, and can act when a step begins.
type recorder struct {
	steps, details, warnings []string
	onStep                   func(title string)
}

func (r *recorder) Step(title string) {
	r.steps = append(r.steps, title)
	if r.onStep != nil {
		r.onStep(title)
	}
}
func (r *recorder) Detail(line string)         { r.details = append(r.details, line) }
func (r *recorder) Warn(msg string)            { r.warnings = append(r.warnings, msg) }
func (r *recorder) Progress(done, total int64) {}

func TestPackReportsStepsAndWarnings(t *testing.T) {
	fsys := afero.NewMemMapFs()
	writeSite(t, fsys, site)
	writeSite(t, fsys, map[string]string{"live/index.html": `<html><head><script src="/livereload.js?port=1313"></script></head></html>`})
	rec := &recorder{}
	opts := options("https://example.org/")
	opts.Config.Inject = "never"
	opts.Events = rec
	if _, err := packager.Pack(context.Background(), fsys, opts); err != nil {
		t.Fatal(err)
	}
	want := []string{"Walking publish directory", "Hashing and storing files", "Building torrents", "Writing package"}
	if strings.Join(rec.steps, "|") != strings.Join(want, "|") {
		t.Errorf("steps %q", rec.steps)
	}
	all := strings.Join(rec.warnings, "\n")
	if !strings.Contains(all, "`hugo server` output") || !strings.Contains(all, "live/index.html") {
		t.Errorf("no livereload warning: %q", rec.warnings)
	}
	if !strings.Contains(all, "3 pages do not load planktos/install.js") { // index, two and live; inject = never
		t.Errorf("no untagged-pages warning: %q", rec.warnings)
	}
}

// TestPackInterrupted cancels a run as it starts each later step: the previous package must stay whole.
func TestPackInterrupted(t *testing.T) {
	for _, step := range []string{"Hashing and storing files", "Building torrents", "Writing package"} {
		t.Run(step, func(t *testing.T) {
			fsys := afero.NewMemMapFs()
			writeSite(t, fsys, site)
			pack(t, fsys, options("https://example.org/"))
			manifest, _ := afero.ReadFile(fsys, filepath.Join(root, "planktos/manifest.json"))
			writeSite(t, fsys, map[string]string{"css/site.css": "body{color:green}", "media/big.bin": strings.Repeat("x", 3<<20)})
			ctx, cancel := context.WithCancel(context.Background())
			opts := options("https://example.org/")
			opts.Events = &recorder{onStep: func(title string) {
				if title == step {
					cancel()
				}
			}}
			_, err := packager.Pack(ctx, fsys, opts)
			if step == "Writing package" {
				// Cancelling after the torrents are built is too late to stop: the run completes.
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("error %v, want context.Canceled", err)
			}
			after, _ := afero.ReadFile(fsys, filepath.Join(root, "planktos/manifest.json"))
			if string(after) != string(manifest) {
				t.Fatal("manifest changed")
			}
			checkIntact(t, fsys, manifest)
		})
	}
}

// TestPackWarnsWithoutICEServers: trackers without a STUN server leave visitors behind NATs unable to
// reach each other; packaging says so and names the fix, with the tracker's host. With a STUN server, or
// without trackers (no peers to reach), or with p2p off, it says nothing.
func TestPackWarnsWithoutICEServers(t *testing.T) {
	cases := []struct {
		name     string
		trackers []string
		ice      []config.ICEServer
		p2p      string
		want     string
	}{
		{"trackers, no ice_servers", []string{"wss://tracker.example.org/announce"}, nil, "on",
			`ice_servers = [{ urls = ["stun:tracker.example.org:3478"] }]`},
		{"with a STUN server", []string{"wss://tracker.example.org/announce"},
			[]config.ICEServer{{URLs: []string{"stun:stun.example.org:3478"}}}, "on", ""},
		{"with a TURN server only", []string{"wss://tracker.example.org/announce"},
			[]config.ICEServer{{URLs: []string{"turn:turn.example.org"}, Username: "u", Credential: "p"}}, "on", ""},
		{"no trackers", nil, nil, "on", ""},
		{"p2p off", []string{"wss://tracker.example.org/announce"}, nil, "off", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fsys := afero.NewMemMapFs()
			writeSite(t, fsys, site)
			rec := &recorder{}
			opts := options("https://example.org/")
			opts.Config.Trackers = nil
			for _, tr := range tc.trackers {
				opts.Config.Trackers = append(opts.Config.Trackers, []string{tr})
			}
			opts.Config.ICEServers, opts.Config.P2P, opts.Events = tc.ice, tc.p2p, rec
			if _, err := packager.Pack(context.Background(), fsys, opts); err != nil {
				t.Fatal(err)
			}
			all := strings.Join(rec.warnings, "\n")
			switch {
			case tc.want == "" && strings.Contains(all, "ice_servers"):
				t.Errorf("unexpected warning: %q", rec.warnings)
			case tc.want != "" && (!strings.Contains(all, tc.want) || !strings.Contains(all, "planktos tracker --stun :3478") ||
				!strings.Contains(all, "behind a NAT")):
				t.Errorf("warnings %q lack the fix %q", rec.warnings, tc.want)
			}
		})
	}
}
