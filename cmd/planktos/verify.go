package main

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/planktos/planktos/config"
	"github.com/planktos/planktos/verify"
	"github.com/spf13/cobra"
)

func newVerifyCmd() *cobra.Command {
	var quiet, jsonOut bool
	var timeout, iceTimeout time.Duration
	var sample string
	cmd := &cobra.Command{
		Use:   "verify [flags] DIR|URL",
		Short: "Check a packaged folder or a deployed site, and say what to fix",
		Long: `Check a package the way visitors' browsers will use it, and name the fix for every broken promise:
the manifest, store and torrents agree; every page loads planktos/install.js; planktos.sw.js is served
at the base as JavaScript without a redirect; the site is on HTTPS (or localhost); the store answers
Range requests with 206; store and torrents are cached long while pages, the manifest and the service
worker are revalidated; every WebSocket tracker accepts a handshake; every STUN server of the manifest's
ice_servers answers a Binding request and every TURN server an Allocate request (401 without credentials,
an allocation with the manifest's, released at once), over UDP, TCP or TLS as its URL says. A package
with trackers but no STUN server fails: visitors behind a NAT could not reach each other.

DIR is a publish folder packaged by planktos hugo or pack: every file is read and every hash
recomputed; HTTP checks are skipped (trackers and ICE servers are still checked). URL is the address
the site is served at: store files are HEAD-checked and a sample of them (--sample) downloaded and
hashed. Exits 1 if any check fails.`,
		Example: `  planktos verify public
  planktos verify https://example.org/
  planktos verify --json https://user.github.io/project/ > verify.json
  planktos verify --sample 0 https://example.org/   # no downloads but pages, torrents and the manifest`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			con := newConsole(quiet, jsonOut)
			size, err := config.ParseSize(sample)
			if err != nil {
				return fail(con, usageError{fmt.Errorf("--sample: %w", err)})
			}
			if size == 0 {
				size = 1 // verify reads 0 as its default
			}
			start := time.Now()
			rep, err := verify.Run(cmd.Context(), args[0], verify.Options{TrackerTimeout: timeout, ICETimeout: iceTimeout, SampleBytes: size,
				Events: &checkPrinter{con: con, target: args[0]}})
			if errors.Is(err, verify.ErrTarget) {
				return fail(con, usageError{err})
			}
			if err != nil {
				return fail(con, err)
			}
			return verifyReport(con, rep, time.Since(start))
		},
	}
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "print only failures and warnings")
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print the checks as JSON (for CI)")
	cmd.Flags().DurationVar(&timeout, "timeout", 5*time.Second, "time each tracker has to accept a WebSocket handshake")
	cmd.Flags().DurationVar(&iceTimeout, "ice-timeout", 2*time.Second, "time each STUN/TURN server has to answer (UDP requests are resent meanwhile)")
	cmd.Flags().StringVar(&sample, "sample", "32MiB", "URL only: bytes of store files to download and hash")
	return cmd
}

// checkPrinter prints each check as it completes: ✓ passed, ✗ failed (with its fix), ! warning, - skipped.
// The header comes with the first step, once the target is known to be checkable.
type checkPrinter struct {
	con     *console
	target  string
	started bool
}

func (p *checkPrinter) Step(title string) {
	if !p.started {
		p.started = true
		p.con.Header("Verifying %s with planktos %s", p.target, version())
	}
	p.con.Step(title)
}

func (p *checkPrinter) Checked(c verify.Check) {
	mark := map[verify.Status]string{verify.Pass: "✓", verify.Fail: "✗", verify.Warn: "!", verify.Skip: "-"}[c.Status]
	line := fmt.Sprintf("%s %s: %s", mark, c.Name, c.Message)
	if c.Fix != "" {
		line += "\n  fix: " + c.Fix
	}
	switch {
	case p.con.jsonOut:
	case p.con.quiet && c.Status == verify.Fail:
		fmt.Fprintln(p.con.errw, line)
	case c.Status == verify.Warn:
		p.con.Warn(fmt.Sprintf("%s: %s (fix: %s)", c.Name, c.Message, c.Fix))
	default:
		p.con.Detail(line)
	}
}

// verifyReport prints the summary (or the JSON document) and returns an error if a check failed.
func verifyReport(con *console, rep *verify.Report, elapsed time.Duration) error {
	failed := rep.Failed()
	if con.jsonOut {
		con.JSON(struct {
			Target    string         `json:"target"`
			OK        bool           `json:"ok"`
			Revision  string         `json:"revision"`
			Checks    []verify.Check `json:"checks"`
			ElapsedMS int64          `json:"elapsedMs"`
		}{rep.Target, len(failed) == 0, rep.Revision, rep.Checks, elapsed.Milliseconds()})
	}
	counts := fmt.Sprintf("%d passed", rep.Count(verify.Pass))
	for _, c := range []struct {
		s          verify.Status
		one, other string
	}{{verify.Warn, "warning", "warnings"}, {verify.Skip, "skipped", "skipped"}} {
		if n := rep.Count(c.s); n > 0 {
			counts += ", " + plural(n, c.one, c.other)
		}
	}
	if len(failed) == 0 {
		con.Summary("Verified %s: all %d checks fine (%s) in %.2f s", rep.Target, len(rep.Checks), counts,
			elapsed.Seconds())
		return nil
	}
	names := make([]string, len(failed))
	for i, c := range failed {
		names[i] = c.Name
	}
	err := fmt.Errorf("%d of %d checks failed: %s", len(failed), len(rep.Checks), strings.Join(names, ", "))
	if con.jsonOut {
		return reportedError{err} // the document has every check
	}
	con.Summary("Verified %s: %v (%s) in %.2f s; apply the fixes above and run planktos verify again",
		rep.Target, err, counts, elapsed.Seconds())
	return err
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
