package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/planktos/planktos/internal/units"
	"golang.org/x/term"
)

// console talks to the user the way a build step should: a header, bracketed steps, a one-line summary.
// With quiet it prints only warnings and errors; with jsonOut it prints one JSON document at the end.
type console struct {
	out, errw io.Writer
	quiet     bool
	jsonOut   bool
	tty       bool // errw is a terminal: a progress bar may be drawn

	mu        sync.Mutex
	stepStart time.Time
	barShown  bool
	warnings  []string
}

func newConsole(quiet, jsonOut bool) *console {
	return &console{out: os.Stdout, errw: os.Stderr, quiet: quiet || jsonOut, jsonOut: jsonOut,
		tty: term.IsTerminal(int(os.Stderr.Fd()))}
}

func (c *console) Header(format string, args ...any) {
	if !c.quiet {
		fmt.Fprintf(c.out, "\n"+format+"\n", args...)
	}
}

func (c *console) Step(title string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.clearBar()
	c.stepStart = time.Now()
	if !c.quiet {
		fmt.Fprintf(c.out, "\n[%s]\n", title)
	}
}

func (c *console) Detail(line string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.clearBar()
	if !c.quiet {
		fmt.Fprintln(c.out, line)
	}
}

func (c *console) Warn(msg string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.clearBar()
	c.warnings = append(c.warnings, msg)
	if !c.jsonOut {
		fmt.Fprintf(c.errw, "warning: %s\n", msg)
	}
}

// Progress draws a bar on a terminal once a step has run for more than two seconds.
func (c *console) Progress(done, total int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.tty || c.quiet || total <= 0 || time.Since(c.stepStart) < 2*time.Second {
		return
	}
	const width = 30
	frac := min(float64(done)/float64(total), 1)
	fill := int(frac * width)
	fmt.Fprintf(c.errw, "\r  [%s%s] %3.0f%%  %s / %s ", strings.Repeat("=", fill), strings.Repeat(" ", width-fill),
		frac*100, units.Bytes(done), units.Bytes(total))
	c.barShown = true
}

func (c *console) clearBar() {
	if c.barShown {
		fmt.Fprint(c.errw, "\r\033[K")
		c.barShown = false
	}
}

// Summary prints the closing line of a successful run.
func (c *console) Summary(format string, args ...any) {
	if !c.quiet {
		fmt.Fprintf(c.out, "\n"+format+"\n", args...)
	}
}

// Error prints a failure.
func (c *console) Error(err error) {
	if c.jsonOut {
		c.JSON(map[string]any{"error": err.Error(), "warnings": nonNilStrings(c.warnings)})
		return
	}
	fmt.Fprintf(c.errw, "error: %v\n", err)
}

// JSON prints v as the run's machine-readable result.
func (c *console) JSON(v any) {
	enc := json.NewEncoder(c.out)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

func nonNilStrings(s []string) []string { return nonNil(s) }

// nonNil returns s, or an empty slice for nil, so that JSON shows [] rather than null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
