package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/planktos/planktos/internal/units"
	"github.com/planktos/planktos/manifest"
	"github.com/planktos/planktos/seeder"
	"github.com/planktos/planktos/serve"
	"github.com/planktos/planktos/status"
	"github.com/planktos/planktos/stun"
	"github.com/planktos/planktos/tracker"
	"github.com/spf13/cobra"
)

func newServeCmd() *cobra.Command {
	var addr, base, stunAddr, token string
	var quiet, noTracker, keepTrackers, seed bool
	var sf seedFlags
	var tf tlsFlags
	cmd := &cobra.Command{
		Use:   "serve [flags] [DIR]",
		Short: "Serve a packaged site locally (Range requests, planktos cache headers)",
		Long: `Serve a packaged site folder (default: public) for previewing it. The URL path prefix comes from the
package's manifest (its baseURL's path) unless --base is given. Every request is logged with the bytes sent.

A WebSocket tracker answers at ws://ADDR/announce on the same port, and the manifest is served with that
tracker as its only one (the file on disk is not changed), so previewing browsers find each other here.
--keep-trackers serves the package's own trackers instead; --no-tracker runs no tracker.

A STUN server answers on UDP at the same host and port as --addr (UDP and TCP ports are distinct), and
the served manifest's runtime.iceServers starts with stun:HOST:PORT (HOST as the browser reached this
server), before the package's own ICE servers: previewing browsers behind a NAT can then reach each other.
--stun ADDR puts it elsewhere, --stun off runs none. With --keep-trackers or --no-tracker the manifest is
served unchanged and no STUN server runs unless --stun ADDR is given.

--tls-cert and --tls-key serve HTTPS (and wss:// for the tracker) with a certificate of yours;
--tls-domain NAME gets one from Let's Encrypt on the listening port (reachable as NAME:443).

--seed also seeds the package over WebRTC from this process (see planktos seed), announced to this
server's tracker (and to the package's own with --keep-trackers or --no-tracker): previewing browsers then
get the site's files peer to peer from the first visit on.

The owner's dashboard is at http://ADDR/planktos/status (live chart of P2P vs HTTP bytes, the origin's
bytes and requests, the seeder's uploads, the tracker's swarms, visitors' reports; JSON at
/planktos/status.json, or run planktos stats URL). It answers loopback clients only, unless
--status-token T (or PLANKTOS_STATUS_TOKEN) is set: then any client that adds ?token=T or sends
"Authorization: Bearer T". This server's tracker takes visitors' reports at /planktos/report (sent by
pages of a package built with report = true).`,
		Example: `  planktos serve public
  planktos serve --seed public
  planktos serve --addr 127.0.0.1:1313 testsite/public
  planktos serve --keep-trackers public
  planktos serve --stun off public
  planktos serve --addr 127.0.0.1:8443 --tls-cert cert.pem --tls-key key.pem public`,
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
				return usageError{err}
			}
			if base == "" {
				base = manifestBase(dir)
			}
			tlsCfg, err := tf.config()
			if err != nil {
				return usageError{err}
			}
			h := &serve.Handler{Dir: dir, Base: base}
			if !quiet {
				h.Log = log.New(os.Stderr, "", log.Ltime)
			}
			var t *tracker.Server
			var reports *tracker.Reports
			if !noTracker {
				t = tracker.New(tracker.Config{})
				defer t.Close()
				h.Tracker, h.LocalTracker = t, !keepTrackers
				reports = tracker.NewReports(tracker.Config{}, tracker.ReportConfig{})
				h.Reports = reports
			}
			var sd atomic.Pointer[seeder.Seeder] // set once seeding starts
			var seeding *atomic.Pointer[seeder.Seeder]
			if seed {
				seeding = &sd
			}
			token = statusToken(token)
			dash := serveDashboard(h, t, reports, seeding, token)
			defer dash.Close()
			context.AfterFunc(cmd.Context(), dash.Close) // ends the event streams shutdown waits for
			var cfg seeder.Config
			if seed {
				if cfg, err = sf.config(dir); err != nil {
					return usageError{err}
				}
			}
			ln, err := listenTCP(addr)
			if err != nil {
				return err
			}
			if stunAddr == "" && !h.LocalTracker {
				stunAddr = "off"
			}
			st, err := serveSTUN(stunAddr, ln.Addr())
			if err != nil {
				ln.Close()
				return err
			}
			if st != nil {
				defer st.Close()
				h.STUNPort = st.Port()
			}
			if !seed {
				return listen(cmd.Context(), ln, h, tlsCfg, st, token, nil)
			}
			cfg.IgnoreManifestTrackers = h.LocalTracker
			var wait func()
			err = listen(cmd.Context(), ln, h, tlsCfg, st, token, func(a net.Addr) error {
				if h.Tracker != nil {
					announce, err := seederAnnounce(cmd.Context(), a, h.Tracker, tlsCfg != nil)
					if err != nil {
						return err
					}
					cfg.Trackers = []string{announce}
				}
				// --quiet silences the request log only: the seeder's lines are few
				s, w, err := startSeeding(cmd.Context(), cfg, newConsole(false, false), false)
				sd.Store(s)
				wait = w
				return err
			})
			if wait != nil {
				wait()
				fmt.Fprintf(os.Stderr, "Seeder sent %s to peers\n", units.Bytes(sd.Load().Stats().Uploaded))
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
	cmd.Flags().StringVar(&token, "status-token", "",
		"open the dashboard (/planktos/status) to other hosts that give this token (default: loopback only)")
	cmd.Flags().StringVar(&stunAddr, "stun", "", "UDP address of the STUN server the served manifest points browsers at (default: --addr's; off: none)")
	tf.register(cmd.Flags())
	sf.register(cmd.Flags())
	return cmd
}

// manifestBase returns the base path of the package in dir, or "/".
func manifestBase(dir string) string {
	b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(manifest.Path)))
	if err != nil {
		return "/"
	}
	m, err := manifest.Parse(b)
	if err != nil || m.Base == "" {
		return "/"
	}
	return m.Base
}

// listen serves h on ln (with TLS when tlsCfg is set) until ctx ends, then shuts down gracefully. started,
// if set, runs once the server listens; an error from it stops the server. st is the STUN server, if any,
// for the start and stop lines.
func listen(ctx context.Context, ln net.Listener, h *serve.Handler, tlsCfg *tls.Config, st *stun.Server,
	token string, started func(net.Addr) error) error {
	httpS, wsS := scheme(tlsCfg != nil)
	err := serveHTTP(ctx, ln, h, tlsCfg, func(a net.Addr) error {
		fmt.Fprintf(os.Stderr, "Serving %s at %s://%s%s (Ctrl+C to stop)\n", h.Dir, httpS, a, h.Base)
		if h.Tracker != nil {
			fmt.Fprintf(os.Stderr, "Tracker at %s://%s/announce\n", wsS, a)
		}
		if st != nil {
			fmt.Fprintf(os.Stderr, "STUN at %s (UDP)\n", stunURL(st.Addr()))
		}
		if h.Status != nil {
			printDashboard(httpS, a, token)
		}
		if started != nil {
			return started(a)
		}
		return nil
	})
	if err == nil {
		line := fmt.Sprintf("Stopped; sent %s", units.Bytes(h.Sent.Load()))
		if st != nil {
			line += fmt.Sprintf("; STUN answered %d requests", st.Stats().Answered)
		}
		fmt.Fprintln(os.Stderr, line)
	}
	return err
}

// serveDashboard starts serve's dashboard on h's counters, its tracker t and reports (nil without a
// tracker) and, if sd is not nil, the seeder it will hold; h serves it.
func serveDashboard(h *serve.Handler, t *tracker.Server, rp *tracker.Reports, sd *atomic.Pointer[seeder.Seeder],
	token string) *status.Dashboard {
	src := status.Sources{Server: "serve", Tracker: t, Reports: rp,
		Origin: func() (int64, int64) { return h.Served.Load(), h.Requests.Load() }}
	if sd != nil {
		src.Seeder = func() int64 {
			if s := sd.Load(); s != nil {
				return s.Stats().Uploaded
			}
			return 0
		}
	}
	d := status.New(src, status.Options{Token: token})
	h.Status = d
	return d
}

// printDashboard says where the dashboard is and how to open it from another host.
func printDashboard(httpS string, a net.Addr, token string) {
	how := "from other hosts: start with --status-token T, open ?token=T"
	if token != "" {
		how = "from other hosts: add ?token=<your --status-token>"
	}
	fmt.Fprintf(os.Stderr, "Dashboard at %s://%s%s (%s)\n", httpS, a, status.PagePath, how)
}

// serveSTUN starts serve's STUN server: on flag's UDP address, or, when flag is empty, on the host and
// port the HTTP server listens on (tcp); "off" starts none (nil, nil). If tcp's port was picked by the
// system and is taken for UDP, another free port is used.
func serveSTUN(flag string, tcp net.Addr) (*stun.Server, error) {
	switch flag {
	case "off", "none", "false":
		return nil, nil
	case "":
		ta, ok := tcp.(*net.TCPAddr)
		if !ok {
			return startSTUN(tcp.String())
		}
		host := ""
		if !ta.IP.IsUnspecified() {
			host = ta.IP.String()
		}
		s, err := stun.Listen(net.JoinHostPort(host, strconv.Itoa(ta.Port)))
		if err != nil {
			// the TCP port is free, the UDP one is not: say so, or pick another
			s, err = stun.Listen(net.JoinHostPort(host, "0"))
			if err != nil {
				return startSTUN(net.JoinHostPort(host, strconv.Itoa(ta.Port)))
			}
		}
		return s, nil
	}
	return startSTUN(flag)
}

// seederAnnounce is the tracker URL serve's own seeder announces to. Without TLS it is the server's own
// address; with TLS the seeder could not check the certificate (issued for a domain, or self-signed), so
// it reaches the same tracker through a plain WebSocket listener on loopback that lives until ctx ends.
func seederAnnounce(ctx context.Context, a net.Addr, tr http.Handler, tlsOn bool) (string, error) {
	if !tlsOn {
		return localAnnounce(a.String()), nil
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("listen on loopback for the seeder's tracker connection: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/announce", tr)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	context.AfterFunc(ctx, func() { srv.Close() })
	return "ws://" + ln.Addr().String() + "/announce", nil
}
