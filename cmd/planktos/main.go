// Command planktos packages a static website so that its visitors can serve it to each other.
//
// Exit codes: 0 success; 1 the run failed (the site, the disk, a file); 2 bad usage or configuration;
// 130 interrupted. A failed or interrupted run leaves the previous package intact.
package main

import (
	"context"
	"errors"
	"fmt"
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

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	packager.Generator = "planktos " + version()
	root := newRoot()
	err := root.ExecuteContext(ctx)
	switch {
	case err == nil:
	case ctx.Err() != nil:
		fmt.Fprintln(os.Stderr, "interrupted; the previous package is intact")
		os.Exit(exitInterrupted)
	case errors.As(err, new(usageError)):
		os.Exit(exitUsage)
	default:
		os.Exit(exitFailed)
	}
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
	root.AddCommand(newVerifyCmd())
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

// usage reports a command-line mistake cobra found (flags, arguments, command names) and marks it for
// exit code 2.
func usage(c *cobra.Command, err error) error {
	fmt.Fprintf(os.Stderr, "error: %v\nRun '%s --help' for usage.\n", err, c.CommandPath())
	return usageError{err}
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
