package config

import (
	"encoding/json"
	"fmt"
	"math"
	"math/bits"
	"net/url"
	"strconv"
	"strings"

	"github.com/bmatcuk/doublestar/v4"
	"github.com/spf13/cast"
	"github.com/spf13/viper"
)

// Bounds on the piece length: WebTorrent requests 16 KiB blocks, and huge pieces waste a visitor's bandwidth.
const (
	MinPieceLength = 16 << 10
	MaxPieceLength = 16 << 20
)

// keyError is a decode error about one key; Load prefixes it with where the value came from.
type keyError struct {
	key string
	err error
}

func (e *keyError) Error() string { return e.err.Error() }
func (e *keyError) Unwrap() error { return e.err }

// settings lists every setting: its key, its default, and how its value is decoded into a Config. A key
// missing here is unknown.
var settings = []struct {
	key    string
	def    any
	decode func(v *viper.Viper, c *Config) error
}{
	{"enabled", true, boolean(func(c *Config) *bool { return &c.Enabled }, "enabled")},
	{"trackers", []string{}, func(v *viper.Viper, c *Config) (err error) {
		c.Trackers, err = tiers(v.Get("trackers"))
		return err
	}},
	{"webseeds", []string{}, func(v *viper.Viper, c *Config) (err error) {
		c.Webseeds, err = webseeds(v.Get("webseeds"))
		return err
	}},
	{"include", []string{}, func(v *viper.Viper, c *Config) (err error) {
		c.Include, err = globs("include", v.Get("include"))
		return err
	}},
	{"exclude", []string{}, func(v *viper.Viper, c *Config) (err error) {
		c.Exclude, err = globs("exclude", v.Get("exclude"))
		return err
	}},
	{"inject", "auto", enum(func(c *Config) *string { return &c.Inject }, "inject", "auto", "always", "never")},
	{"piece_length", "auto", func(v *viper.Viper, c *Config) (err error) {
		c.PieceLength, err = pieceLength(v.GetString("piece_length"))
		return err
	}},
	{"prefetch", "all", enum(func(c *Config) *string { return &c.Prefetch }, "prefetch", "all", "visited", "none")},
	{"prefetch_limit", "50MiB", func(v *viper.Viper, c *Config) (err error) {
		if c.PrefetchLimit, err = ParseSize(v.GetString("prefetch_limit")); err != nil {
			return fmt.Errorf("prefetch_limit: %w", err)
		}
		return nil
	}},
	{"p2p", "on", enum(func(c *Config) *string { return &c.P2P }, "p2p", "on", "download-only", "off")},
	{"ice_servers", []any{}, func(v *viper.Viper, c *Config) (err error) {
		c.ICEServers, err = iceServers(v.Get("ice_servers"))
		return err
	}},
	{"site_worker", "import", enum(func(c *Config) *string { return &c.SiteWorker }, "site_worker", "import", "drop")},
	{"badge", false, boolean(func(c *Config) *bool { return &c.Badge }, "badge")},
	{"report", false, boolean(func(c *Config) *bool { return &c.Report }, "report")},
	{"signing_key", "", func(v *viper.Viper, c *Config) error {
		c.SigningKey = v.GetString("signing_key")
		return nil
	}},
}

// boolean decodes a true/false setting into the field f returns.
func boolean(f func(*Config) *bool, key string) func(*viper.Viper, *Config) error {
	return func(v *viper.Viper, c *Config) (err error) {
		if *f(c), err = cast.ToBoolE(v.Get(key)); err != nil {
			return fmt.Errorf("%s: want true or false, got %q", key, v.GetString(key))
		}
		return nil
	}
}

// enum decodes a setting that takes one of allowed (case-insensitive) into the field f returns.
func enum(f func(*Config) *string, key string, allowed ...string) func(*viper.Viper, *Config) error {
	return func(v *viper.Viper, c *Config) (err error) {
		*f(c), err = oneOf(key, v.GetString(key), allowed...)
		return err
	}
}

// decode turns viper's loosely typed values into a validated Config; an error is a *keyError.
func decode(v *viper.Viper) (Config, error) {
	var c Config
	for _, st := range settings {
		if err := st.decode(v, &c); err != nil {
			return c, &keyError{st.key, err}
		}
	}
	return c, nil
}

// Warnings returns advice about settings that are valid but probably not what the owner wants.
func (c Config) Warnings() []string {
	var w []string
	if c.Enabled && c.P2P != "off" && len(c.Trackers) == 0 {
		w = append(w, "no trackers configured: visitors cannot find each other and will load over HTTP only; "+
			"set trackers = [\"wss://…/announce\"] in planktos.toml")
	}
	for _, tier := range c.Trackers {
		for _, t := range tier {
			if !strings.HasPrefix(t, "ws://") && !strings.HasPrefix(t, "wss://") {
				w = append(w, fmt.Sprintf("tracker %s: browsers can only use ws:// and wss:// trackers; "+
					"it is kept in the torrents for other BitTorrent clients", t))
			}
		}
	}
	return w
}

// WebTrackers returns the trackers a browser can use (ws and wss), in tier order.
func (c Config) WebTrackers() []string {
	var out []string
	for _, tier := range c.Trackers {
		for _, t := range tier {
			if strings.HasPrefix(t, "ws://") || strings.HasPrefix(t, "wss://") {
				out = append(out, t)
			}
		}
	}
	return out
}

func oneOf(key, val string, allowed ...string) (string, error) {
	val = strings.ToLower(strings.TrimSpace(val))
	for _, a := range allowed {
		if val == a {
			return val, nil
		}
	}
	return "", fmt.Errorf("%s: %q is not one of %s", key, val, strings.Join(allowed, ", "))
}

// list accepts a TOML array or a string of comma- or space-separated items (from the environment).
func list(raw any) []string {
	if s, ok := raw.(string); ok {
		return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' })
	}
	return cast.ToStringSlice(raw)
}

// tiers accepts ["a", "b"] (one tier each), [["a", "b"], ["c"]] (explicit tiers) or a string.
func tiers(raw any) ([][]string, error) {
	var out [][]string
	items, ok := raw.([]any)
	if !ok {
		for _, s := range list(raw) {
			out = append(out, []string{s})
		}
		return out, checkTrackers(out)
	}
	for _, it := range items {
		if tier, ok := it.([]any); ok {
			if len(tier) > 0 { // an empty tier announces nowhere
				out = append(out, cast.ToStringSlice(tier))
			}
		} else {
			out = append(out, []string{cast.ToString(it)})
		}
	}
	return out, checkTrackers(out)
}

func checkTrackers(tiers [][]string) error {
	for _, tier := range tiers {
		for _, t := range tier {
			u, err := url.Parse(t)
			if err != nil || u.Host == "" {
				return fmt.Errorf("trackers: %q is not a URL; write it like \"wss://tracker.example.org/announce\"", t)
			}
			switch u.Scheme {
			case "ws", "wss", "http", "https", "udp":
			default:
				return fmt.Errorf("trackers: %q has scheme %q; use wss:// (or ws:// for local tests)", t, u.Scheme)
			}
		}
	}
	return nil
}

func webseeds(raw any) ([]string, error) {
	var out []string
	for _, s := range list(raw) {
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("webseeds: %q is not an http(s) URL; give the URL where the package's "+
				"planktos/ folder is served, e.g. \"https://cdn.example.org/planktos/\"", s)
		}
		if !strings.HasSuffix(s, "/") {
			s += "/" // BEP 19: a multi-file webseed URL is a folder
		}
		out = append(out, s)
	}
	return out, nil
}

func globs(key string, raw any) ([]string, error) {
	out := list(raw)
	for _, g := range out {
		if !doublestar.ValidatePattern(g) {
			return nil, fmt.Errorf("%s: %q is not a valid glob (use * within a folder, ** across folders)", key, g)
		}
	}
	return out, nil
}

func pieceLength(s string) (int64, error) {
	if strings.EqualFold(strings.TrimSpace(s), "auto") || s == "" {
		return 0, nil
	}
	n, err := ParseSize(s)
	if err != nil {
		return 0, fmt.Errorf("piece_length: %w", err)
	}
	if n < MinPieceLength || n > MaxPieceLength || bits.OnesCount64(uint64(n)) != 1 {
		return 0, fmt.Errorf("piece_length: %d is not a power of two between 16KiB and 16MiB; use \"auto\"", n)
	}
	return n, nil
}

// ParseSize reads a byte count like "512", "64KiB", "50MiB", "2GB".
func ParseSize(s string) (int64, error) {
	orig := s
	s = strings.TrimSpace(s)
	units := []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"B", 1}}
	mult := int64(1)
	for _, u := range units {
		if len(s) > len(u.suffix) && strings.EqualFold(s[len(s)-len(u.suffix):], u.suffix) {
			s, mult = strings.TrimSpace(s[:len(s)-len(u.suffix)]), u.mult
			break
		}
	}
	n, err := strconv.ParseFloat(s, 64)
	// ParseFloat also reads "NaN" and "Inf", which are no sizes; 2^63 bytes is far beyond any site.
	if err != nil || n < 0 || math.IsNaN(n) || n*float64(mult) >= math.MaxInt64 {
		return 0, fmt.Errorf("%q is not a size; write it like 50MiB", orig)
	}
	return int64(n * float64(mult)), nil
}

// iceServers accepts an array of tables (planktos.toml), or from the environment a string: a JSON array of
// RTCIceServer objects, or URLs separated by spaces or commas (one server each).
func iceServers(raw any) ([]ICEServer, error) {
	if s, ok := raw.(string); ok {
		if !strings.HasPrefix(strings.TrimSpace(s), "[") {
			var out []ICEServer
			for _, u := range list(s) {
				out = append(out, ICEServer{URLs: []string{u}})
			}
			return out, checkICE(out)
		}
		var entries []any // not []ICEServer: RTCIceServer's urls may be a string or an array
		if err := json.Unmarshal([]byte(s), &entries); err != nil {
			return nil, fmt.Errorf("ice_servers: not a JSON array of {\"urls\": …} objects: %w", err)
		}
		raw = entries
	}
	var out []ICEServer
	for _, it := range cast.ToSlice(raw) {
		m, ok := it.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("ice_servers: each entry must be a table like { urls = [\"stun:stun.example.org\"] }")
		}
		var srv ICEServer
		for k, v := range m {
			switch strings.ToLower(k) {
			case "urls":
				srv.URLs = list(v)
			case "username":
				srv.Username = cast.ToString(v)
			case "credential":
				srv.Credential = cast.ToString(v)
			default:
				hint := ""
				if d := levenshtein(strings.ToLower(k), "urls"); d <= 2 {
					hint = ` (did you mean "urls"?)`
				}
				return nil, fmt.Errorf("ice_servers: unknown field %q%s; an entry has urls, username and "+
					"credential", k, hint)
			}
		}
		out = append(out, srv)
	}
	return out, checkICE(out)
}

// checkICE applies the browser's rules (RTCPeerConnection throws on a violation, which would break
// planktos for every visitor): stun:, stuns:, turn: or turns: URLs, and a TURN server needs a username and
// a credential.
func checkICE(servers []ICEServer) error {
	for _, s := range servers {
		if len(s.URLs) == 0 {
			return fmt.Errorf("ice_servers: an entry has no urls")
		}
		for _, u := range s.URLs {
			switch {
			case strings.HasPrefix(u, "stun:"), strings.HasPrefix(u, "stuns:"):
			case strings.HasPrefix(u, "turn:"), strings.HasPrefix(u, "turns:"):
				if s.Username == "" || s.Credential == "" {
					return fmt.Errorf("ice_servers: %q is a TURN server: give its username and credential "+
						"in the same entry", u)
				}
			default:
				return fmt.Errorf("ice_servers: %q must start with stun:, stuns:, turn: or turns:", u)
			}
		}
	}
	return nil
}
