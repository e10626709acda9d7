package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/planktos/planktos/config"
	"github.com/planktos/planktos/internal/units"
	"github.com/planktos/planktos/manifest"
	"github.com/planktos/planktos/seeder"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

func newSeedCmd() *cobra.Command {
	var f seedFlags
	var trackers []string
	var configFile string
	var quiet bool
	cmd := &cobra.Command{
		Use:   "seed [flags] [DIR]",
		Short: "Seed a packaged site to visitors' browsers over WebRTC",
		Long: `Seed the package in DIR (default: public) to browsers over WebRTC, so that visitors get the site's
files peer to peer even when no other visitor is online. The seeder announces every torrent of the
manifest to its WebSocket trackers (plus --tracker ones) and answers the browsers' offers; it reads the
content-addressed store (DIR/planktos/files) and never writes to it. Run it on any machine that has a copy
of the package, e.g. next to the web server. It follows the package: when planktos runs again it seeds the
new revision, without a restart.

STUN/TURN servers come from ice_servers in planktos.toml (--config, or the current folder) or, if none is
set there, from the package's manifest (the ones browsers use).`,
		Example: `  planktos seed public
  planktos seed --upload-rate 5MiB --max-peers 20 public
  planktos seed --tracker wss://tracker.example.org/announce --verify public`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := "public"
			if len(args) == 1 {
				dir = args[0]
			}
			cfg, err := f.config(dir)
			if err != nil {
				return usageError{err}
			}
			cfg.Trackers = trackers
			pc, _, warnings, err := config.Load(config.Options{File: configFile, Dir: ".", Environ: os.Environ()})
			if err != nil {
				return usageError{err}
			}
			for _, w := range warnings {
				fmt.Fprintln(os.Stderr, "warning:", w)
			}
			for _, s := range pc.ICEServers {
				cfg.ICEServers = append(cfg.ICEServers, manifest.ICEServer(s))
			}
			con := newConsole(quiet, false)
			con.Header("Running planktos %s seed on %s", version(), cfg.Dir)
			sd, wait, err := startSeeding(cmd.Context(), cfg, con, quiet)
			if err != nil {
				return err
			}
			<-cmd.Context().Done()
			wait()
			fmt.Fprintf(os.Stderr, "Stopped; sent %s to peers\n", units.Bytes(sd.Stats().Uploaded))
			return nil
		},
	}
	f.register(cmd.Flags())
	cmd.Flags().StringArrayVar(&trackers, "tracker", nil, "also announce to this WebSocket tracker (repeatable)")
	cmd.Flags().StringVarP(&configFile, "config", "c", "", "planktos config file, for ice_servers (default: planktos.toml here, if any)")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "print only warnings and errors")
	return cmd
}

// seedFlags are the seeder's settings, shared by seed and serve --seed.
type seedFlags struct {
	maxPeers   int
	uploadRate string
	verify     bool
}

func (f *seedFlags) register(fs *pflag.FlagSet) {
	fs.IntVar(&f.maxPeers, "max-peers", 50, "peer connections per torrent at most (a browser opens one per torrent)")
	fs.StringVar(&f.uploadRate, "upload-rate", "0", "upload limit per second, all peers together, e.g. 5MiB (0: none)")
	fs.BoolVar(&f.verify, "verify", false, "hash the whole store when seeding starts; never send a damaged piece")
}

// config is the seeder configuration for the package in dir.
func (f *seedFlags) config(dir string) (seeder.Config, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return seeder.Config{}, err
	}
	if fi, err := os.Stat(filepath.Join(abs, filepath.FromSlash(manifest.Path))); err != nil || !fi.Mode().IsRegular() {
		return seeder.Config{}, fmt.Errorf("%s holds no planktos package (no %s); build and package "+
			"the site first (hugo && planktos hugo)", abs, manifest.Path)
	}
	rate, err := config.ParseSize(f.uploadRate)
	if err != nil {
		return seeder.Config{}, fmt.Errorf("--upload-rate: %w", err)
	}
	if f.maxPeers < 1 {
		return seeder.Config{}, fmt.Errorf("--max-peers must be at least 1, not %d", f.maxPeers)
	}
	return seeder.Config{Dir: abs, MaxPeers: f.maxPeers, UploadRate: rate, Verify: f.verify}, nil
}

// startSeeding starts the seeder, with a status line every 10 s while something changes; once ctx has
// ended, wait stops it.
func startSeeding(ctx context.Context, cfg seeder.Config, con *console, quiet bool) (sd *seeder.Seeder, wait func(), err error) {
	var out io.Writer = os.Stderr
	if quiet {
		out = io.Discard
	}
	cfg.Log = log.New(out, "", log.Ltime)
	con.Step("Seeding over WebRTC")
	start := time.Now()
	sd, err = seeder.New(cfg)
	if err != nil {
		if errors.Is(err, seeder.ErrNoTracker) {
			err = usageError{err}
		}
		return nil, nil, err
	}
	if cfg.Verify {
		bad, err := sd.Checked(ctx)
		if err != nil {
			sd.Close()
			return nil, nil, err
		}
		con.Detail(fmt.Sprintf("verified the store in %v", time.Since(start).Round(time.Millisecond)))
		if bad > 0 {
			con.Warn(fmt.Sprintf("%d pieces do not match their torrent and will not be sent; package the site again "+
				"(planktos hugo) to repair the store", bad))
		}
	}
	limits := fmt.Sprintf("at most %d peers per torrent", cfg.MaxPeers)
	if cfg.UploadRate > 0 {
		limits += fmt.Sprintf(", upload limited to %s/s", units.Bytes(cfg.UploadRate))
	}
	con.Detail(limits + " (Ctrl+C to stop)")
	reported := make(chan struct{})
	go func() {
		defer close(reported)
		tick := time.NewTicker(10 * time.Second)
		defer tick.Stop()
		var last string
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			st := sd.Stats()
			line := fmt.Sprintf("%d peers, %s sent", st.Peers, units.Bytes(st.Uploaded))
			if line != last {
				fmt.Fprintf(out, "%s %s\n", time.Now().Format("15:04:05"), line)
				last = line
			}
		}
	}()
	return sd, func() { <-reported; sd.Close() }, nil
}

// localAnnounce is the tracker URL of a server listening at addr, as a local client dials it.
func localAnnounce(addr string) string {
	for _, any := range []string{"0.0.0.0:", "[::]:"} {
		if port, ok := strings.CutPrefix(addr, any); ok {
			addr = "127.0.0.1:" + port
		}
	}
	return "ws://" + addr + "/announce"
}
