package main_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestErrorsArePrinted: every command's failure prints one message naming the problem, with the exit code
// the README documents (1 the run failed, 2 bad usage or configuration).
func TestErrorsArePrinted(t *testing.T) {
	empty := t.TempDir()
	// A folder that looks packaged but whose manifest is not one: the seeder refuses it (exit 1).
	broken := t.TempDir()
	if err := os.MkdirAll(filepath.Join(broken, "planktos"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(broken, "planktos", "manifest.json"), []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		args []string
		code int
		want string // in stderr
	}{
		{[]string{"hugo"}, 2, "has no Hugo configuration"},
		{[]string{"pack", "site"}, 2, "--base-url is required"},
		{[]string{"pack", "--base-url", "https://x.org/", "missing"}, 1, "missing"},
		{[]string{"serve", "missing"}, 2, "is not a folder"},
		{[]string{"serve", "--seed", "--stun", "off", "--addr", "127.0.0.1:0", broken}, 1, "manifest"},
		{[]string{"seed", "missing"}, 2, "holds no planktos package"},
		{[]string{"seed", broken}, 1, "manifest"},
		{[]string{"tracker", "--addr", "256.0.0.1:1"}, 2, "listen on 256.0.0.1:1"},
		{[]string{"verify", "missing"}, 2, "missing"},
		{[]string{"version", "extra"}, 2, "Run 'planktos version --help' for usage."},
		{[]string{"pack", "--no-such-flag"}, 2, "no-such-flag"},
		{[]string{"no-such-command"}, 2, `unknown command "no-such-command"`},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, _, errs := run(t, empty, tc.args...)
			if code != tc.code || !strings.Contains(errs, tc.want) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", code, errs, tc.code, tc.want)
			}
			if n := strings.Count(errs, "error: "); n != 1 {
				t.Errorf("%d error lines, want one:\n%s", n, errs)
			}
		})
	}
}

// TestJSONErrorsArePrinted: with --json the error is the run's JSON document on stdout, printed once,
// and stderr stays quiet.
func TestJSONErrorsArePrinted(t *testing.T) {
	for _, args := range [][]string{
		{"hugo", "--json"},
		{"pack", "--json", "site"},
		{"verify", "--json", "missing"},
	} {
		code, out, errs := run(t, t.TempDir(), args...)
		var v struct {
			Error    string   `json:"error"`
			Warnings []string `json:"warnings"`
		}
		dec := json.NewDecoder(strings.NewReader(out))
		if err := dec.Decode(&v); err != nil || v.Error == "" || dec.More() || code != 2 || errs != "" {
			t.Errorf("%s: exit %d, stdout %q, stderr %q", strings.Join(args, " "), code, out, errs)
		}
	}
}
