package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/planktos/planktos/config"
	"github.com/planktos/planktos/internal/units"
	"github.com/planktos/planktos/manifest"
	"github.com/planktos/planktos/packager"
	"github.com/spf13/afero"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

func newPackCmd() *cobra.Command {
	var baseURL string
	var f commonFlags
	cmd := &cobra.Command{
		Use:   "pack [flags] DIR",
		Short: "Package any static site folder",
		Long: `Package a folder of published static files (any generator) for planktos. DIR is served at --base-url.
Settings come from flags, then PLANKTOS_* variables, then planktos.toml in the current folder.`,
		Example: `  planktos pack --base-url https://example.org/ public
  planktos pack --base-url https://user.github.io/project/ --trackers wss://tracker.example.org/announce _site`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			con := f.console()
			cfg, err := f.load(cmd.Flags(), ".", con)
			if err != nil {
				return fail(con, usageError{err})
			}
			if baseURL == "" {
				return fail(con, usageError{errors.New("--base-url is required: the absolute URL DIR is served " +
					"at, e.g. --base-url https://example.org/")})
			}
			con.Header("Running planktos %s on %s", version(), args[0])
			res, err := packRoot(cmd.Context(), con, args[0], baseURL, cfg)
			if err != nil {
				return fail(con, err)
			}
			report(con, []packaged{{Dir: args[0], BaseURL: baseURL, res: res}})
			return nil
		},
	}
	cmd.Flags().StringVar(&baseURL, "base-url", "", "absolute URL DIR is served at (required)")
	f.register(cmd.Flags())
	return cmd
}

// commonFlags are the flags of every packaging command.
type commonFlags struct {
	configFile  string
	quiet, json bool
}

func (f *commonFlags) register(fs *pflag.FlagSet) {
	fs.StringVarP(&f.configFile, "config", "c", "", "planktos config file (default: planktos.toml in the site folder)")
	fs.BoolVarP(&f.quiet, "quiet", "q", false, "print only warnings and errors")
	fs.BoolVar(&f.json, "json", false, "print the result as JSON (for CI)")
	// Flags named like config keys override planktos.toml and PLANKTOS_* (see config.Load).
	fs.StringArray("trackers", nil, "WebSocket tracker URL; repeat for more (config: trackers)")
	fs.StringArray("webseeds", nil, "extra URL serving the package's planktos/ folder, e.g. a CDN (config: webseeds)")
	fs.StringArray("include", nil, "glob of files to package; repeatable (config: include)")
	fs.StringArray("exclude", nil, "glob of files to leave out; repeatable (config: exclude)")
	fs.String("inject", "auto", "insert the install tag into pages: auto, always or never (config: inject)")
	fs.String("piece-length", "auto", "torrent piece length, e.g. 256KiB (config: piece_length)")
}

func (f *commonFlags) console() *console { return newConsole(f.quiet, f.json) }

// load reads the configuration and prints its warnings.
func (f *commonFlags) load(flags *pflag.FlagSet, dir string, con *console) (config.Config, error) {
	cfg, _, warnings, err := config.Load(config.Options{File: f.configFile, Dir: dir, Flags: flags,
		Environ: os.Environ()})
	if err != nil {
		return cfg, err
	}
	for _, w := range append(warnings, cfg.Warnings()...) {
		con.Warn(w)
	}
	return cfg, nil
}

func packRoot(ctx context.Context, con *console, dir, baseURL string, cfg config.Config) (*packager.Result, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	return packager.Pack(ctx, afero.NewOsFs(), packager.Options{Root: abs, BaseURL: baseURL, Config: cfg, Events: con,
		CacheDir: cacheDir()})
}

// cacheDir is where the hash cache lives: the user's cache folder (e.g. ~/.cache/planktos), if any.
func cacheDir() string {
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "planktos")
	}
	return ""
}

// packaged is one packaged root, for the summary.
type packaged struct {
	Dir     string `json:"dir"`
	BaseURL string `json:"baseURL"`
	Lang    string `json:"lang,omitempty"`
	// HugoConfig says who read a Hugo site's configuration: "hugo config" or "built-in".
	HugoConfig string `json:"hugoConfig,omitempty"`
	res        *packager.Result
}

func report(con *console, roots []packaged) {
	type jsonRoot struct {
		packaged
		Files     int                   `json:"files"`
		Bytes     int64                 `json:"bytes"`
		Pages     int                   `json:"pages"`
		Injected  int                   `json:"injected"`
		Added     int                   `json:"added"`
		Cloned    int64                 `json:"clonedBytes"`
		Pruned    int                   `json:"pruned"`
		Revision  string                `json:"revision"`
		Key       string                `json:"key,omitempty"`      // the signing key's public half (signed packages)
		Sequence  int64                 `json:"sequence,omitempty"` // the signed package's sequence
		Torrents  []manifest.TorrentRef `json:"torrents"`
		ElapsedMS int64                 `json:"elapsedMs"`
		// SiteWorkers are the site's own service workers (each is also a warning).
		SiteWorkers []packager.SiteWorker `json:"siteWorkers"`
	}
	var out []jsonRoot
	for _, r := range roots {
		m := r.res.Manifest
		torrents := fmt.Sprintf("%d torrents", len(m.Torrents))
		if len(m.Torrents) == 1 {
			torrents = "1 torrent (infohash " + m.Torrents[0].InfoHash + ")"
		}
		con.Summary("Packaged %d files (%s) of %s into %s, revision %.12s, in %.2f s",
			r.res.Files, units.Bytes(r.res.Bytes), r.BaseURL, torrents, m.Revision, r.res.Elapsed.Seconds())
		out = append(out, jsonRoot{packaged: r, Files: r.res.Files, Bytes: r.res.Bytes, Pages: r.res.Pages,
			Injected: r.res.Injected, Added: r.res.Added, Cloned: r.res.Cloned, Pruned: r.res.Pruned, Revision: m.Revision, Key: m.Key, Sequence: m.Sequence,
			Torrents: m.Torrents, ElapsedMS: r.res.Elapsed.Milliseconds(), SiteWorkers: nonNil(r.res.SiteWorkers)})
	}
	if con.jsonOut {
		con.JSON(map[string]any{"packages": out, "warnings": nonNilStrings(con.warnings)})
	}
}

// fail returns err for main to print through con (as JSON with --json).
func fail(con *console, err error) error {
	return consoleError{err, con}
}
