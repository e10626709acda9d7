package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/planktos/planktos/internal/units"
	"github.com/planktos/planktos/status"
	"github.com/spf13/cobra"
)

func newStatsCmd() *cobra.Command {
	var jsonOut bool
	var token string
	cmd := &cobra.Command{
		Use:   "stats [flags] URL",
		Short: "Print the figures of a running planktos serve or tracker (its dashboard)",
		Long: `Read the dashboard of a running planktos serve or planktos tracker (URL/planktos/status.json) and print
its figures: what the origin served over HTTP, what its seeder uploaded over WebRTC, the tracker's
swarms, visitors' reports, and the P2P share of bytes. URL is the server's address (its path is
ignored; ws:// and wss:// tracker URLs work too). --json prints the status JSON as the server sent it.

The dashboard answers loopback clients only, unless the server has --status-token T: from another
host pass --token T (or set PLANKTOS_STATUS_TOKEN).`,
		Example: `  planktos stats http://127.0.0.1:8080
  planktos stats --json http://127.0.0.1:8000 | jq .p2p
  planktos stats --token "$TOKEN" wss://tracker.example.org/announce`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			u, err := statusURL(args[0])
			if err != nil {
				return usageError{err}
			}
			body, s, err := fetchStatus(cmd.Context(), u, statusToken(token))
			if err != nil {
				return err
			}
			if jsonOut {
				_, err = os.Stdout.Write(body)
				return err
			}
			printStats(os.Stdout, u, s)
			return nil
		},
	}
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print the status JSON")
	cmd.Flags().StringVar(&token, "token", "",
		"the server's --status-token (for a dashboard on another host)")
	return cmd
}

// statusToken is the --status-token or --token flag's value, else PLANKTOS_STATUS_TOKEN (read here,
// not as the flag's default, so that --help does not print it).
func statusToken(flag string) string {
	if flag != "" {
		return flag
	}
	return os.Getenv("PLANKTOS_STATUS_TOKEN")
}

// statusURL is the status.json URL of the server at raw.
func statusURL(raw string) (string, error) {
	if !strings.Contains(raw, "://") {
		raw = "http://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("%q is not a server's URL; give one like http://127.0.0.1:8080", raw)
	}
	switch u.Scheme {
	case "ws":
		u.Scheme = "http"
	case "wss":
		u.Scheme = "https"
	case "http", "https":
	default:
		return "", fmt.Errorf("%q: want an http, https, ws or wss URL", raw)
	}
	return u.Scheme + "://" + u.Host + status.JSONPath, nil
}

// fetchStatus gets and checks u's status JSON.
func fetchStatus(ctx context.Context, u, token string) ([]byte, status.Snapshot, error) {
	var s status.Snapshot
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, s, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, s, fmt.Errorf("cannot reach %s (is planktos serve or planktos tracker running there?): %w", u, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	switch {
	case resp.StatusCode == http.StatusNotFound && token != "":
		return nil, s, fmt.Errorf("%s answered 404: not a planktos server, or the token is not its --status-token", u)
	case resp.StatusCode == http.StatusNotFound:
		return nil, s, fmt.Errorf("%s answered 404: not a planktos server, or its dashboard answers only its own "+
			"machine: pass --token (the server's --status-token), or run planktos stats there", u)
	case resp.StatusCode != http.StatusOK:
		return nil, s, fmt.Errorf("%s answered %s", u, resp.Status)
	case err != nil:
		return nil, s, fmt.Errorf("read %s: %w", u, err)
	}
	if json.Unmarshal(body, &s) != nil || s.Planktos != "status" {
		return nil, s, fmt.Errorf("%s is not a planktos dashboard (its answer is not planktos's status JSON)", u)
	}
	return body, s, nil
}

// printStats prints s the way packaging prints its run: a header, bracketed sections, a summary line.
func printStats(w io.Writer, u string, s status.Snapshot) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "\nplanktos stats: %s (%s, up %s)\n", strings.TrimSuffix(u, status.JSONPath), s.Server,
		time.Duration(s.UptimeSeconds)*time.Second)
	if o := s.Origin; o != nil {
		fmt.Fprintf(&b, "\n[Origin]\nServed %s over HTTP (2xx bodies) in %s\n", units.Bytes(o.Bytes),
			count(o.Requests, "request"))
	}
	if sd := s.Seeder; sd != nil {
		fmt.Fprintf(&b, "\n[Seeder]\nUploaded %s over WebRTC\n", units.Bytes(sd.Uploaded))
	}
	if t := s.Tracker; t != nil {
		fmt.Fprintf(&b, "\n[Tracker]\n%s, %s (%s, %s), %s\n", count(t.Swarms, "swarm"), count(t.Peers, "peer"),
			count(t.Seeders, "seeder"), count(t.Leechers, "leecher"), count(t.Connections, "connection"))
		for _, sw := range t.Torrents[:min(5, len(t.Torrents))] {
			fmt.Fprintf(&b, "  %s  %s, %s\n", sw.InfoHash, count(sw.Complete, "seeder"), count(sw.Incomplete, "leecher"))
		}
	}
	if r := s.Reports; r != nil {
		d := r.Dropped
		fmt.Fprintf(&b, "\n[Visitors' reports]\n%s: %s from peers, %s from their store, %s over HTTP, %s uploaded\n",
			count(r.Accepted, "report"), units.Bytes(r.Peers), units.Bytes(r.Store), units.Bytes(r.HTTP),
			units.Bytes(r.Uploaded))
		fmt.Fprintf(&b, "Dropped: %d malformed, %d oversized, %d not allowed, %d flood\n", d.Malformed, d.Oversized,
			d.NotAllowed, d.Flood)
	}
	p := s.P2P
	fmt.Fprintf(&b, "\nP2P share of bytes: %.1f %% (%s from peers per %s, %s over HTTP per %s)\n", p.Share*100,
		units.Bytes(p.Bytes), sourceName(p.Source), units.Bytes(p.HTTPBytes), sourceName(p.HTTPSource))
	w.Write(b.Bytes())
}

// count is "1 thing" or "n things".
func count[N int | int64 | uint64](n N, thing string) string {
	return plural(int(n), thing, thing+"s")
}

func sourceName(s string) string {
	switch s {
	case "reports":
		return "visitors' reports"
	case "seeder":
		return "the origin's seeder"
	case "origin":
		return "the origin"
	}
	return "no source yet"
}
