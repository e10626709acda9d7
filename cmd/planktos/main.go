// Command planktos packages a static website so that its visitors can serve it to each other.
//
// Exit codes: 0 success; 1 the run failed (the site, the disk, a file); 2 bad usage or configuration;
// 130 interrupted. A failed or interrupted run leaves the previous package intact.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/planktos/planktos/packager"
	"github.com/spf13/cobra"
)

// Exit codes.
const (
	exitFailed      = 1
	exitUsage       = 2
	exitInterrupted = 130
)

// usageError marks errors the user fixes by changing the command line or configuration.
type usageError struct{ error }

func (e usageError) Unwrap() error { return e.error }

// helpError is a command-line mistake cobra found; its message ends with where to read the usage.
type helpError struct {
	error
	cmd string // the command's path, "planktos pack"
}

func (e helpError) Unwrap() error { return e.error }

// consoleError is an error of a command that prints through a console: with --json, main prints it as
// the run's JSON document ({"error": …, "warnings": …}).
type consoleError struct {
	error
	con *console
}

func (e consoleError) Unwrap() error { return e.error }

// reportedError is a failure the command's output already reports in full (verify --json's document):
// main prints nothing more, and exits 1.
type reportedError struct{ error }

func (e reportedError) Unwrap() error { return e.error }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	packager.Generator = "planktos " + version()
	root := newRoot()
	err := root.ExecuteContext(ctx)
	if code := exit(err, ctx.Err() != nil, os.Stderr); code != 0 {
		os.Exit(code)
	}
}

// exit prints a command's error, once — commands return errors and never print them — and returns the
// exit code the README documents: 0 success, 1 the run failed, 2 bad usage or configuration (a
// usageError), 130 interrupted.
func exit(err error, interrupted bool, stderr io.Writer) int {
	var ce consoleError
	var he helpError
	switch {
	case err == nil:
		return 0
	case interrupted:
		fmt.Fprintln(stderr, "interrupted; the previous package is intact")
		return exitInterrupted
	case errors.As(err, new(reportedError)):
	case errors.As(err, &ce) && ce.con.jsonOut:
		ce.con.Error(err)
	default:
		fmt.Fprintf(stderr, "error: %v\n", err)
	}
	if errors.As(err, &he) {
		fmt.Fprintf(stderr, "Run '%s --help' for usage.\n", he.cmd)
	}
	if errors.As(err, new(usageError)) {
		return exitUsage
	}
	return exitFailed
}

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:   "planktos",
		Short: "Let a website's visitors serve it to each other",
		Long: `planktos packages a built static site (Hugo or any other) so that visitors' browsers load it from
a local store, from each other over WebRTC, or over HTTP — whichever is verified first.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(usage)
	root.AddCommand(newHugoCmd(), newPackCmd(), newServeCmd(), newSeedCmd(), newTrackerCmd(), newVersionCmd())
	root.AddCommand(newVerifyCmd(), newKeygenCmd())
	root.AddCommand(newStatsCmd())
	root.RunE = func(c *cobra.Command, _ []string) error { return c.Help() }
	root.Args = func(c *cobra.Command, args []string) error {
		if len(args) > 0 {
			return usage(c, fmt.Errorf("unknown command %q", args[0]))
		}
		return nil
	}
	for _, c := range root.Commands() {
		if check := c.Args; check != nil {
			c.Args = func(c *cobra.Command, args []string) error {
				if err := check(c, args); err != nil {
					return usage(c, err)
				}
				return nil
			}
		}
	}
	return root
}

// usage marks a command-line mistake cobra found (flags, arguments, command names) for exit code 2 and
// the usage hint.
func usage(c *cobra.Command, err error) error {
	return helpError{usageError{err}, c.CommandPath()}
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "version",
		Short:   "Print planktos's version",
		Example: "  planktos version",
		Args:    cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			fmt.Fprintf(cmd.OutOrStdout(), "planktos %s\n", version())
		},
	}
}

// version is the module version when installed with `go install …@vX`, else "dev".
func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}
