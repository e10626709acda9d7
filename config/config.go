// Package config reads planktos's settings: command-line flags, then PLANKTOS_* environment variables,
// then planktos.toml, then defaults — the first that sets a key wins.
//
// viper does the layering it is made for: it reads planktos.toml, holds the defaults, binds the flags
// (BindPFlag: a flag the user gave wins, one left alone does not hide the file) and answers each key from
// the highest layer that sets it. Three things stay here, each for a reason measured against viper 1.21:
//
//   - The environment comes from Options.Environ, not the process (tests and callers pass their own),
//     and a PLANKTOS_ variable that names no setting is warned about. viper's SetEnvPrefix/AutomaticEnv
//     read os.Getenv only and say nothing of unknown names, so PLANKTOS_* variables are merged here as
//     a layer between the file and the flags.
//   - Unknown keys are reported by their full path with the closest valid key ("runtime.p2p": did you
//     mean "p2p"?). UnmarshalExact (mapstructure's ErrorUnused) says `” has invalid keys: runtime`
//     (measured): the top-level table only, no suggestion; viper's AllKeys has the full paths.
//   - Decoding is one table, settings, of key, default and decoder. A value arrives typed from the file
//     and as a string from the environment or a flag ("a,b c", "256KiB", JSON for ice_servers), and
//     its checks depend on the key (an enum's allowed values, a piece length's bounds). A DecodeHook
//     sees only a value and a target type, so Unmarshal would need a Go type per kind of setting and
//     would still prefix every message with mapstructure's "decoding failed due to the following
//     error(s)"; the decoders read viper's value themselves, and Load names where it came from.
//
// go-toml's strict decoding alone would cover the file but none of the layering, which would then be
// written here instead: viper stays.
package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/planktos/planktos/signing"

	"github.com/spf13/pflag"
	"github.com/spf13/viper"
)

// FileName is the configuration file planktos looks for in the site's source directory.
const FileName = "planktos.toml"

// Config is planktos's complete configuration. The zero value is not valid; use Load or Default.
type Config struct {
	Enabled     bool       // false emits the kill switch: a runtime that removes planktos from visitors
	Trackers    [][]string // announce tiers (BEP 12); browsers can only use ws:// and wss://
	Webseeds    []string   // extra URLs serving the package's planktos/ folder, e.g. a CDN
	Include     []string   // globs of published files to package (default: all)
	Exclude     []string   // globs of published files to leave out
	Inject      string     // auto | always | never
	PieceLength int64      // torrent piece length in bytes; 0 picks one from the package size

	Prefetch      string      // all | visited | none: what a visitor's browser keeps for offline use
	PrefetchLimit int64       // bytes prefetched at most; 0 means no limit
	P2P           string      // on | download-only | off
	ICEServers    []ICEServer // STUN/TURN servers for WebRTC; none by default
	// SiteWorker says what becomes of a service worker the site registers itself: "import" runs it
	// inside planktos's (its push, notification and other handlers keep working), "drop" does not run it.
	// Either way its register() call gets planktos's registration: a scope has one worker.
	SiteWorker string
	// Badge shows visitors a small badge of what they got from peers (off: nothing of it is loaded).
	Badge bool
	// Report has visitors' browsers send aggregate byte counters to the trackers for their dashboards.
	Report bool
	// SigningKey is the Ed25519 key file that signs the package (see `planktos keygen`), or, from
	// PLANKTOS_SIGNING_KEY, the key's PEM text itself (signing.IsPEM). Empty: the package is unsigned.
	// Load resolves a relative path from planktos.toml against the file's folder; one from the
	// environment stays relative to the working directory.
	SigningKey string
}

// ICEServer is one WebRTC ICE server, as the browser's RTCIceServer.
type ICEServer struct {
	URLs       []string `json:"urls" mapstructure:"urls"`
	Username   string   `json:"username,omitempty" mapstructure:"username"`
	Credential string   `json:"credential,omitempty" mapstructure:"credential"`
}

// Default returns the configuration used when nothing is set.
func Default() Config {
	c, err := decode(newViper())
	if err != nil {
		panic(err) // the defaults above are valid
	}
	return c
}

func newViper() *viper.Viper {
	v := viper.New()
	for _, st := range settings {
		v.SetDefault(st.key, st.def)
	}
	return v
}

// Options says where Load looks.
type Options struct {
	// File is an explicit configuration file; it must exist. Empty means FileName in Dir, if present.
	File string
	// Dir is the directory searched for FileName (the Hugo site source, or the current directory).
	Dir string
	// Flags are the command's flags; a flag named like a key ("piece-length" for piece_length) overrides it
	// when the user set it.
	Flags *pflag.FlagSet
	// Environ is the environment, as os.Environ; nil reads no environment.
	Environ []string
}

// Load reads the configuration. It returns the file it read (empty if none) and warnings for the user.
func Load(opts Options) (c Config, file string, warnings []string, err error) {
	v := newViper()
	file, err = readFile(v, opts)
	if err != nil {
		return c, file, nil, err
	}
	var env map[string]any
	env, warnings = readEnv(opts.Environ)
	if err := v.MergeConfigMap(env); err != nil {
		return c, file, warnings, fmt.Errorf("read the environment: %w", err)
	}
	if err := bindFlags(v, opts.Flags); err != nil {
		return c, file, warnings, err
	}
	c, err = decode(v)
	if err != nil {
		return c, file, warnings, fmt.Errorf("%s%w", origin(err, file, opts), err)
	}
	c.SigningKey, err = signingKey(c.SigningKey, file, opts)
	return c, file, warnings, err
}

// signingKey resolves the signing_key setting k: PEM text from the environment as it is, a relative path
// from the file against the file's folder.
func signingKey(k, file string, opts Options) (string, error) {
	fromEnv := slices.ContainsFunc(opts.Environ, func(kv string) bool {
		return strings.HasPrefix(kv, "PLANKTOS_SIGNING_KEY=")
	})
	switch {
	case k == "" || fromEnv:
		return k, nil
	case signing.IsPEM(k):
		return "", fmt.Errorf("%s: signing_key holds the key itself; a file you commit must not: give the key "+
			"file's path, or pass the key's text in the PLANKTOS_SIGNING_KEY environment variable (a CI secret)", file)
	case file != "" && !filepath.IsAbs(k):
		return filepath.Join(filepath.Dir(file), k), nil
	}
	return k, nil
}

// origin names where the bad value of a decode error came from, as a message prefix: the flag, the
// environment variable or the file ("" for a default).
func origin(err error, file string, opts Options) string {
	var ke *keyError
	if !errors.As(err, &ke) {
		return ""
	}
	if opts.Flags != nil {
		if f := opts.Flags.Lookup(strings.ReplaceAll(ke.key, "_", "-")); f != nil && f.Changed {
			return "--" + f.Name + ": "
		}
	}
	name := "PLANKTOS_" + strings.ToUpper(ke.key)
	for _, kv := range opts.Environ {
		if k, _, _ := strings.Cut(kv, "="); k == name {
			return name + ": "
		}
	}
	if file != "" {
		return file + ": "
	}
	return ""
}

func readFile(v *viper.Viper, opts Options) (string, error) {
	file := opts.File
	if file == "" {
		file = filepath.Join(opts.Dir, FileName)
		if _, err := os.Stat(file); errors.Is(err, os.ErrNotExist) {
			return "", nil
		}
	}
	f, err := os.Open(file)
	if err != nil {
		return file, fmt.Errorf("read config: %w", err)
	}
	defer f.Close()
	fv := viper.New()
	fv.SetConfigType("toml")
	if err := fv.ReadConfig(f); err != nil {
		return file, fmt.Errorf("%s is not valid TOML: %w (see planktos.toml.example)", file, tomlError(err))
	}
	for _, k := range fv.AllKeys() {
		if !known(k) {
			return file, fmt.Errorf("%s: unknown setting %q%s", file, k, suggest(k))
		}
	}
	return file, v.MergeConfigMap(fv.AllSettings())
}

// tomlError drops viper's generic wrapper and adds the line and column the TOML parser reported: its
// error message alone does not say where (go-toml's DecodeError keeps the position apart).
func tomlError(err error) error {
	var pe interface{ Position() (row, column int) }
	if errors.As(err, &pe) {
		row, col := pe.Position()
		return fmt.Errorf("line %d, column %d: %w", row, col, pe.(error))
	}
	if u := errors.Unwrap(err); u != nil {
		return u
	}
	return err
}

// readEnv returns the settings PLANKTOS_<KEY> variables set, and warnings about PLANKTOS_ variables that
// set nothing.
func readEnv(environ []string) (map[string]any, []string) {
	env := map[string]any{}
	var warnings []string
	for _, kv := range environ {
		name, val, _ := strings.Cut(kv, "=")
		key, ok := strings.CutPrefix(name, "PLANKTOS_")
		if !ok {
			continue
		}
		key = strings.ToLower(key)
		if !known(key) {
			hint := " (valid: PLANKTOS_<setting> for a setting of planktos.toml.example)"
			if best := closest(key); best != "" {
				hint = fmt.Sprintf(" (did you mean PLANKTOS_%s?)", strings.ToUpper(best))
			}
			warnings = append(warnings, fmt.Sprintf("environment variable %s is not a planktos setting; it is "+
				"ignored%s", name, hint))
			continue
		}
		env[key] = val
	}
	return env, warnings
}

// bindFlags binds every flag named like a key ("piece-length" for piece_length): viper takes its value
// when the user gave it.
func bindFlags(v *viper.Viper, flags *pflag.FlagSet) error {
	if flags == nil {
		return nil
	}
	var err error
	flags.VisitAll(func(f *pflag.Flag) {
		if key := strings.ReplaceAll(f.Name, "-", "_"); known(key) && err == nil {
			err = v.BindPFlag(key, f)
		}
	})
	return err
}

// suggest returns ` (did you mean "x"?)` for the known key closest to k, or the list of valid settings
// when none is close.
func suggest(k string) string {
	if best := closest(k); best != "" {
		return fmt.Sprintf(" (did you mean %q?)", best)
	}
	return fmt.Sprintf(" (valid settings: %s)", strings.Join(keyNames(), ", "))
}

// closest returns the known key closest to k's last part (k may be nested, like "runtime.p2p"), or "".
func closest(k string) string {
	leaf := k[strings.LastIndex(k, ".")+1:]
	best, bestD := "", 4
	for _, name := range keyNames() {
		if d := levenshtein(leaf, name); d < bestD {
			best, bestD = name, d
		}
	}
	return best
}

func keyNames() []string {
	names := make([]string, 0, len(settings))
	for _, st := range settings {
		names = append(names, st.key)
	}
	sort.Strings(names)
	return names
}

func known(key string) bool {
	for _, st := range settings {
		if st.key == key {
			return true
		}
	}
	return false
}

func levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
