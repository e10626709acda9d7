package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"runtime/debug"

	"github.com/planktos/planktos/status"
	"github.com/planktos/planktos/stun"
	"github.com/planktos/planktos/tracker"
	"github.com/spf13/cobra"
)

func newTrackerCmd() *cobra.Command {
	var addr, stunAddr, token string
	var quiet, reports bool
	var tf tlsFlags
	cfg := tracker.Config{}.WithDefaults()
	cmd := &cobra.Command{
		Use:   "tracker [flags]",
		Short: "Run the WebSocket tracker alone (ws://HOST:PORT/announce)",
		Long: `Run planktos's WebTorrent WebSocket tracker on its own. Browsers (WebTorrent) and Go clients find each
other through it at ws://HOST:PORT/announce; it speaks the protocol of the npm bittorrent-tracker 11 server.
JSON statistics (swarms, peers, connections, messages/s, bytes) are at http://HOST:PORT/stats.
Every limit below protects the tracker from clients; 0 means no limit where noted.

--stun ADDR also answers STUN Binding requests on UDP ADDR (e.g. --stun :3478): browsers behind a NAT
(nearly all) reach each other only through the address a STUN server tells them, so list it in
planktos.toml as ice_servers = [{ urls = ["stun:HOST:3478"] }]. It relays nothing (no TURN). Its
counters (requests answered, datagrams dropped) are at /stats/stun.

An HTTPS page may only use a wss:// tracker. --tls-cert and --tls-key serve TLS with a certificate of
yours (read again when the files change); --tls-domain NAME gets one from Let's Encrypt by itself, which
needs the listening port reachable as NAME:443 (--addr :443). Or run the tracker behind a proxy that
terminates TLS (Caddy, nginx; see the README's "Deploy").
The Go collector runs at 50 % heap growth (GOGC=50) unless GOGC is set: a tracker's memory is mostly
long-lived connections, and this keeps it about a sixth lower for no measurable loss of throughput.

The owner's dashboard is at http://HOST:PORT/planktos/status (swarms and peers, visitors' reports, a live
chart of P2P vs HTTP bytes; JSON at /planktos/status.json, or planktos stats URL). It answers loopback
clients only, unless --status-token T (or PLANKTOS_STATUS_TOKEN) is set: then any client that adds
?token=T or sends "Authorization: Bearer T". Behind a proxy on the same machine every client looks
local, so a proxied request (X-Forwarded-For, Forwarded, X-Real-IP) needs the token too.

--reports takes visitors' reports at /planktos/report: pages of a site packaged with report = true
send what they moved (bytes from peers, from their store, over HTTP, uploaded; no URLs, no addresses)
to the trackers they use. With --origin, only those sites may report. Malformed, oversized, disallowed
and flooding reports (over 20 at once then 1 a second per address, 200 a second in all) are dropped
and counted on the dashboard.`,
		Example: `  planktos tracker
  planktos tracker --addr 0.0.0.0:8000 --origin https://example.org --origin https://www.example.org
  planktos tracker --addr :443 --tls-domain tracker.example.org --stun :3478
  planktos tracker --addr :8443 --tls-cert fullchain.pem --tls-key privkey.pem --stun :3478
  planktos tracker --reports --status-token "$(openssl rand -hex 16)" --origin https://example.org
  curl http://127.0.0.1:8000/stats
  planktos stats http://127.0.0.1:8000`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cfg.MessageRate == 0 {
				cfg.MessageRate = -1
			}
			if cfg.MaxConns == 0 {
				cfg.MaxConns = -1
			}
			if !quiet {
				cfg.Log = log.New(os.Stderr, "", log.Ltime)
			}
			tlsCfg, err := tf.config()
			if err != nil {
				return usageError{err}
			}
			if os.Getenv("GOGC") == "" {
				debug.SetGCPercent(50) // BENCHMARKS.md, "Tracker"
			}
			return runTracker(cmd.Context(), addr, cfg, tlsCfg, stunAddr, reports, statusToken(token))
		},
	}
	f := cmd.Flags()
	f.StringVar(&addr, "addr", "127.0.0.1:8000", "address to listen on")
	f.StringSliceVar(&cfg.AllowedOrigins, "origin", nil, "allow browser pages of this origin only (repeatable; default: any)")
	f.IntVar(&cfg.MaxConns, "max-conns", cfg.MaxConns, "most open connections (0: no limit)")
	f.Int64Var(&cfg.MaxMessageBytes, "max-message", cfg.MaxMessageBytes, "largest message in bytes; larger ones close the socket")
	f.Float64Var(&cfg.MessageRate, "rate", cfg.MessageRate, "messages per second per connection (0: no limit)")
	f.IntVar(&cfg.MessageBurst, "burst", cfg.MessageBurst, "messages a connection may send at once above --rate")
	f.IntVar(&cfg.MaxSwarmsPerConn, "max-swarms", cfg.MaxSwarmsPerConn, "most swarms one connection may join")
	f.IntVar(&cfg.MaxOffers, "max-offers", cfg.MaxOffers, "most offers relayed per announce")
	f.DurationVar(&cfg.IdleTimeout, "idle", cfg.IdleTimeout, "close connections silent this long (peers in a swarm that answer pings stay)")
	f.DurationVar(&cfg.Interval, "interval", cfg.Interval, "re-announce interval told to clients")
	f.BoolVarP(&quiet, "quiet", "q", false, "do not log")
	f.StringVar(&stunAddr, "stun", "", "also run a STUN server on this UDP address, e.g. :3478 (default: none)")
	f.BoolVar(&reports, "reports", false, "take visitors' reports at /planktos/report (sites packaged with report = true)")
	f.StringVar(&token, "status-token", "",
		"open the dashboard (/planktos/status) to other hosts that give this token (default: loopback only)")
	tf.register(f)
	return cmd
}

// runTracker serves the tracker at /announce, its stats at /stats and its dashboard at /planktos/status
// (over TLS with tlsCfg; token as status.Options.Token), visitors' reports at /planktos/report if reports
// is set, and a STUN server on stunAddr unless it is empty, until ctx ends; then it stops listening and
// closes every WebSocket with "going away".
func runTracker(ctx context.Context, addr string, cfg tracker.Config, tlsCfg *tls.Config, stunAddr string,
	reports bool, token string) error {
	ln, err := listenTCP(addr)
	if err != nil {
		return err
	}
	var st *stun.Server
	if stunAddr != "" {
		if st, err = startSTUN(stunAddr); err != nil {
			ln.Close()
			return err
		}
		defer st.Close()
	}
	tr := tracker.New(cfg)
	defer tr.Close()
	mux := http.NewServeMux()
	mux.Handle("/announce", tr)
	mux.Handle("/stats", tr.StatsHandler())
	src := status.Sources{Server: "tracker", Tracker: tr}
	if reports {
		src.Reports = tracker.NewReports(cfg, tracker.ReportConfig{})
		mux.Handle(tracker.ReportPath, src.Reports)
	}
	dash := status.New(src, status.Options{Token: token})
	defer dash.Close()
	context.AfterFunc(ctx, dash.Close) // ends the event streams, which the server's shutdown waits for
	mux.Handle(status.PagePath, dash)
	mux.Handle(status.JSONPath, dash)
	mux.Handle(status.Prefix+"/", dash)
	if st != nil {
		mux.HandleFunc("/stats/stun", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(st.Stats())
		})
	}
	mux.HandleFunc("/{$}", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "planktos tracker: WebSocket clients connect to /announce; statistics at /stats, dashboard at "+
			status.PagePath)
	})
	httpS, wsS := scheme(tlsCfg != nil)
	err = serveHTTP(ctx, ln, mux, tlsCfg, func(a net.Addr) error {
		fmt.Fprintf(os.Stderr, "Tracker at %s://%s/announce, stats at %s://%s/stats (Ctrl+C to stop)\n", wsS, a, httpS, a)
		if st != nil {
			fmt.Fprintf(os.Stderr, "STUN at %s (UDP)\n", stunURL(st.Addr()))
		}
		printDashboard(httpS, a, token)
		if reports {
			fmt.Fprintf(os.Stderr, "Visitors' reports at %s://%s%s\n", httpS, a, tracker.ReportPath)
		}
		return nil
	})
	tr.Close()
	if err == nil {
		ts := tr.Stats()
		line := fmt.Sprintf("Stopped; %d messages, %d offers relayed, %d answers forwarded", ts.Messages,
			ts.OffersRelayed, ts.AnswersForwarded)
		if src.Reports != nil {
			line += fmt.Sprintf("; %d visitors' reports counted", src.Reports.Stats().Accepted)
		}
		if st != nil {
			ss := st.Stats()
			line += fmt.Sprintf("; STUN answered %d requests, dropped %d datagrams", ss.Answered, ss.Dropped)
		}
		fmt.Fprintln(os.Stderr, line)
	}
	return err
}
