package main

import (
	"context"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"runtime/debug"

	"github.com/planktos/planktos/tracker"
	"github.com/spf13/cobra"
)

func newTrackerCmd() *cobra.Command {
	var addr string
	var quiet bool
	cfg := tracker.Config{}.WithDefaults()
	cmd := &cobra.Command{
		Use:   "tracker [flags]",
		Short: "Run the WebSocket tracker alone (ws://HOST:PORT/announce)",
		Long: `Run planktos's WebTorrent WebSocket tracker on its own. Browsers (WebTorrent) and Go clients find each
other through it at ws://HOST:PORT/announce; it speaks the protocol of the npm bittorrent-tracker 11 server.
JSON statistics (swarms, peers, connections, messages/s, bytes) are at http://HOST:PORT/stats.
Every limit below protects the tracker from clients; 0 means no limit where noted.
The Go collector runs at 50 % heap growth (GOGC=50) unless GOGC is set: a tracker's memory is mostly
long-lived connections, and this keeps it about a sixth lower for no measurable loss of throughput.`,
		Example: `  planktos tracker
  planktos tracker --addr 0.0.0.0:8000 --origin https://example.org --origin https://www.example.org
  curl http://127.0.0.1:8000/stats`,
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
			if os.Getenv("GOGC") == "" {
				debug.SetGCPercent(50) // BENCHMARKS.md, "Tracker"
			}
			return runTracker(cmd.Context(), addr, cfg)
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
	return cmd
}

// runTracker serves the tracker at /announce and its stats at /stats until ctx ends, then stops
// listening and closes every WebSocket with "going away".
func runTracker(ctx context.Context, addr string, cfg tracker.Config) error {
	tr := tracker.New(cfg)
	defer tr.Close()
	mux := http.NewServeMux()
	mux.Handle("/announce", tr)
	mux.Handle("/stats", tr.StatsHandler())
	mux.HandleFunc("/{$}", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "planktos tracker: WebSocket clients connect to /announce; statistics at /stats")
	})
	err := serveHTTP(ctx, addr, mux, func(a net.Addr) error {
		fmt.Fprintf(os.Stderr, "Tracker at ws://%s/announce, stats at http://%s/stats (Ctrl+C to stop)\n", a, a)
		return nil
	})
	tr.Close()
	if err == nil {
		st := tr.Stats()
		fmt.Fprintf(os.Stderr, "Stopped; %d messages, %d offers relayed, %d answers forwarded\n",
			st.Messages, st.OffersRelayed, st.AnswersForwarded)
	}
	return err
}
