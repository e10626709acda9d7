package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/planktos/planktos/packager"
	"github.com/planktos/planktos/seeder"
	"github.com/planktos/planktos/serve"
	"github.com/planktos/planktos/tracker"
	"github.com/spf13/cobra"
)

func newServeCmd() *cobra.Command {
	var addr, base string
	var quiet, noTracker, keepTrackers, seed bool
	var sf seedFlags
	cmd := &cobra.Command{
		Use:   "serve [flags] [DIR]",
		Short: "Serve a packaged site locally (Range requests, planktos cache headers)",
		Long: `Serve a packaged site folder (default: public) for previewing it. The URL path prefix comes from the
package's manifest (its baseURL's path) unless --base is given. Every request is logged with the bytes sent.

A WebSocket tracker answers at ws://ADDR/announce on the same port, and the manifest is served with that
tracker as its only one (the file on disk is not changed), so previewing browsers find each other here.
--keep-trackers serves the package's own trackers instead; --no-tracker runs no tracker.

--seed also seeds the package over WebRTC from this process (see planktos seed), announced to this
server's tracker (and to the package's own with --keep-trackers or --no-tracker): previewing browsers then
get the site's files peer to peer from the first visit on.`,
		Example: `  planktos serve public
  planktos serve --seed public
  planktos serve --addr 127.0.0.1:1313 testsite/public
  planktos serve --keep-trackers public`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := "public"
			if len(args) == 1 {
				dir = args[0]
			}
			dir, err := filepath.Abs(dir)
			if err != nil {
				return err
			}
			if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
				err := fmt.Errorf("%s is not a folder; build and package the site first (hugo && planktos hugo)", dir)
				fmt.Fprintln(os.Stderr, "error:", err)
				return usageError{err}
			}
			if base == "" {
				base = manifestBase(dir)
			}
			h := &serve.Handler{Dir: dir, Base: base}
			if !quiet {
				h.Log = log.New(os.Stderr, "", log.Ltime)
			}
			if !noTracker {
				t := tracker.New(tracker.Config{})
				defer t.Close()
				h.Tracker, h.LocalTracker = t, !keepTrackers
			}
			if !seed {
				return listen(cmd.Context(), addr, h, nil)
			}
			cfg, err := sf.config(dir)
			if err != nil {
				fmt.Fprintln(os.Stderr, "error:", err)
				return usageError{err}
			}
			cfg.IgnoreManifestTrackers = h.LocalTracker
			var wait func()
			var sd *seeder.Seeder
			err = listen(cmd.Context(), addr, h, func(a net.Addr) error {
				if h.Tracker != nil {
					cfg.Trackers = []string{localAnnounce(a.String())}
				}
				// --quiet silences the request log only: the seeder's lines are few
				sd, wait, err = startSeeding(cmd.Context(), cfg, newConsole(false, false), false)
				return err
			})
			if wait != nil {
				wait()
				fmt.Fprintf(os.Stderr, "Seeder sent %s to peers\n", packager.Bytes(sd.Stats().Uploaded))
			}
			return err
		},
	}
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:8080", "address to listen on")
	cmd.Flags().StringVar(&base, "base", "", "URL path prefix (default: the manifest's base, else /)")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "do not log requests")
	cmd.Flags().BoolVar(&noTracker, "no-tracker", false, "run no tracker at /announce")
	cmd.Flags().BoolVar(&keepTrackers, "keep-trackers", false, "serve the manifest's own trackers, not this server's")
	cmd.Flags().BoolVar(&seed, "seed", false, "also seed the package over WebRTC (see planktos seed)")
	sf.register(cmd.Flags())
	return cmd
}

// manifestBase returns the base path of the package in dir, or "/".
func manifestBase(dir string) string {
	b, err := os.ReadFile(filepath.Join(dir, packager.OutDir, "manifest.json"))
	if err != nil {
		return "/"
	}
	m, err := packager.ParseManifest(b)
	if err != nil || m.Base == "" {
		return "/"
	}
	return m.Base
}

// listen serves h until ctx ends, then shuts down gracefully. started, if set, runs once the server
// listens; an error from it stops the server.
func listen(ctx context.Context, addr string, h *serve.Handler, started func(net.Addr) error) error {
	err := serveHTTP(ctx, addr, h, func(a net.Addr) error {
		fmt.Fprintf(os.Stderr, "Serving %s at http://%s%s (Ctrl+C to stop)\n", h.Dir, a, h.Base)
		if h.Tracker != nil {
			fmt.Fprintf(os.Stderr, "Tracker at ws://%s/announce\n", a)
		}
		if started != nil {
			return started(a)
		}
		return nil
	})
	if err == nil {
		fmt.Fprintf(os.Stderr, "Stopped; sent %s\n", packager.Bytes(h.Sent.Load()))
	}
	return err
}

// serveHTTP listens on addr, calls ready with the address, and serves h until ctx ends; then it stops
// listening and waits up to 5 s for requests in flight. (Hijacked WebSocket connections are their owner's
// to close.) An error from ready closes the listener and is returned.
func serveHTTP(ctx context.Context, addr string, h http.Handler, ready func(net.Addr) error) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		err = fmt.Errorf("listen on %s: %w (pick another port with --addr)", addr, err)
		fmt.Fprintln(os.Stderr, "error:", err)
		return usageError{err}
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }() // serving already: ready may connect to it
	if err := ready(ln.Addr()); err != nil {
		srv.Close()
		return err
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}
