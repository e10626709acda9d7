// Package hugoext reads what planktos needs from a Hugo site: where it publishes (publishDir, one root per
// language on multihost sites), and where it is served (baseURL, with any subpath).
// Inserting the install tag into pages is package inject's, which knows nothing of Hugo.
//
// LoadSite has two readers. Given a Hugo (SiteOptions.Hugo, e.g. LookPath's), it asks
// `hugo config --format json`: Hugo's own answer, in the user's version (see loadWithHugo for what that
// output leaves out). Without one, the built-in reader reads the configuration the way Hugo v0.165 reads
// it, without importing Hugo: the first of hugo.* and
// config.* (toml, yaml, yml, json) in the source folder, then config/_default and config/<environment>
// merged over it, then the --destination and --baseURL flags, then HUGO_* environment variables. That
// last order is Hugo's, measured with v0.165.0: HUGO_PUBLISHDIR beats --destination and HUGO_BASEURL
// beats --baseURL (Hugo applies its environment after its flags), so planktos, given the same flags and
// environment as hugo, finds the folder Hugo actually wrote. A test checks that both readers agree on
// every fixture site, and another that the built-in one finds what the pinned Hugo wrote.
package hugoext

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/pelletier/go-toml/v2"
	"github.com/spf13/cast"
	"go.yaml.in/yaml/v3"
)

// SiteOptions are the Hugo flags planktos understands; empty fields take Hugo's defaults.
type SiteOptions struct {
	Source      string   // --source: the site folder (default ".")
	Destination string   // --destination: overrides publishDir (HUGO_PUBLISHDIR still wins, as in Hugo)
	BaseURL     string   // --baseURL (HUGO_BASEURL still wins, as in Hugo)
	Environment string   // --environment (default: HUGO_ENVIRONMENT, HUGO_ENV, else "production")
	ConfigFiles []string // --config: explicit config files, in merge order
	Environ     []string // os.Environ(), for HUGO_* overrides
	// Hugo, when set, is asked for the configuration (`hugo config --format json`, with the flags above
	// and Environ): Hugo's own answer, in the user's version. When nil, the built-in reader reads the files.
	Hugo Hugo
}

// Site is a Hugo site's published output, as planktos needs it.
type Site struct {
	Source       string   // absolute site folder
	Environment  string   // the Hugo environment whose config was read
	Reader       string   // who read it: ReaderHugo or ReaderBuiltIn
	ConfigFiles  []string // what the built-in reader read, in order (ReaderHugo does not say)
	PublishDir   string   // absolute publishDir
	RelativeURLs bool
	Roots        []Root // one per site root: the whole site, or one per language when multihost
}

// Root is one folder Hugo published and the URL it is served at.
type Root struct {
	Lang    string // the language on multihost sites, else ""
	Dir     string // absolute folder
	BaseURL string // absolute URL ending in "/"
}

// LoadSite reads the configuration of the Hugo site at o.Source: by asking o.Hugo when it is set, else
// with the built-in reader. Both give the same Site for the same flags and environment (a test checks it
// with the pinned Hugo on every fixture site); the built-in one also lists ConfigFiles.
func LoadSite(o SiteOptions) (*Site, error) {
	src, err := filepath.Abs(cmp(o.Source, "."))
	if err != nil {
		return nil, err
	}
	if o.Hugo != nil {
		return loadWithHugo(o, src)
	}
	s := &Site{Source: src, Environment: environment(o), Reader: ReaderBuiltIn}
	cfg, files, err := readConfig(src, s.Environment, o.ConfigFiles)
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, noConfig(src)
	}
	s.ConfigFiles = files
	if o.Destination != "" {
		cfg["publishdir"] = o.Destination
	}
	if o.BaseURL != "" {
		cfg["baseurl"] = o.BaseURL
	}
	applyEnv(cfg, o.Environ) // after the flags, as Hugo does
	s.PublishDir = absUnder(src, cmp(cast.ToString(cfg["publishdir"]), "public"))
	s.RelativeURLs = cast.ToBool(cfg["relativeurls"])
	s.Roots, err = roots(cfg, s.PublishDir)
	return s, err
}

func environment(o SiteOptions) string {
	if o.Environment != "" {
		return o.Environment
	}
	for _, name := range []string{"HUGO_ENVIRONMENT", "HUGO_ENV"} {
		if v := getenv(o.Environ, name); v != "" {
			return v
		}
	}
	return "production"
}

// readConfig merges the site's config files into one map with lower-case keys, as Hugo does.
func readConfig(src, env string, explicit []string) (map[string]any, []string, error) {
	cfg := map[string]any{}
	var files []string
	if len(explicit) > 0 {
		for _, f := range explicit {
			f = absUnder(src, f)
			if err := mergeFile(cfg, f, nil, ""); err != nil {
				return nil, nil, err
			}
			files = append(files, f)
		}
	} else if f := firstConfigFile(src); f != "" {
		if err := mergeFile(cfg, f, nil, ""); err != nil {
			return nil, nil, err
		}
		files = append(files, f)
	}
	// Hugo takes the config folder from its --configDir flag only (a configDir key in hugo.toml does not
	// move it); planktos has no such flag, so it is always "config".
	dir := filepath.Join(src, "config")
	for _, d := range []string{filepath.Join(dir, "_default"), filepath.Join(dir, env)} {
		more, err := mergeDir(cfg, d)
		if err != nil {
			return nil, nil, err
		}
		files = append(files, more...)
	}
	return cfg, files, nil
}

var configExts = []string{"toml", "yaml", "yml", "json"}

func firstConfigFile(src string) string {
	for _, name := range []string{"hugo", "config"} {
		for _, ext := range configExts {
			f := filepath.Join(src, name+"."+ext)
			if _, err := os.Stat(f); err == nil {
				return f
			}
		}
	}
	return ""
}

// mergeDir merges a config folder and its subfolders, in lexical order, as Hugo does: hugo.* and config.*
// at the top level, any other name under its key (languages.toml → languages), and name.<lang>.ext under
// that language (params.fr.toml → languages.fr.params, menus.fr.toml → languages.fr.menus, any other
// name.fr.ext → languages.fr).
func mergeDir(cfg map[string]any, dir string) ([]string, error) {
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	var files []string
	err := filepath.WalkDir(dir, func(f string, e fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("read %s: %w", f, err)
		}
		if e.IsDir() || !isConfigExt(filepath.Ext(f)) {
			return nil
		}
		name := strings.TrimSuffix(e.Name(), filepath.Ext(e.Name()))
		var path []string
		unwrap := ""
		if name != "hugo" && name != "config" {
			unwrap = name
			path = []string{name}
			if ext := filepath.Ext(name); ext != "" {
				name, lang := strings.TrimSuffix(name, ext), strings.ToLower(ext[1:])
				unwrap = name
				path = []string{"languages", lang}
				switch name {
				case "menu", "menus":
					path = append(path, "menus")
				case "params":
					path = append(path, "params")
				}
			}
		}
		if err := mergeFile(cfg, f, path, unwrap); err != nil {
			return err
		}
		files = append(files, f)
		return nil
	})
	return files, err
}

func isConfigExt(ext string) bool {
	for _, e := range configExts {
		if strings.EqualFold(ext, "."+e) {
			return true
		}
	}
	return false
}

// mergeFile reads one config file and merges it into cfg under path. A file whose only key is unwrap has
// that key's content merged instead (a file may wrap its content under its own name).
func mergeFile(cfg map[string]any, file string, path []string, unwrap string) error {
	all, err := readFile(file)
	if err != nil {
		return fmt.Errorf("read Hugo config %s: %w", file, err)
	}
	var m any = all
	if unwrap != "" && len(all) == 1 {
		if inner, ok := all[strings.ToLower(unwrap)]; ok {
			m = inner
		}
	}
	for i := len(path) - 1; i >= 0; i-- {
		m = map[string]any{path[i]: m}
	}
	if mm, ok := m.(map[string]any); ok {
		merge(cfg, mm)
	}
	return nil
}

// readFile decodes a TOML, YAML or JSON file into a map with lower-case keys (Hugo's keys are
// case-insensitive). It keeps empty tables: [languages.it] with no keys still configures a language,
// which viper's AllSettings would drop.
func readFile(file string) (map[string]any, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	m := map[string]any{}
	switch strings.ToLower(filepath.Ext(file)) {
	case ".toml":
		err = toml.Unmarshal(b, &m)
	case ".yaml", ".yml":
		err = yaml.Unmarshal(b, &m)
	case ".json":
		err = json.Unmarshal(b, &m)
	default:
		return nil, fmt.Errorf("unknown config format %q (use .toml, .yaml, .yml or .json)", filepath.Ext(file))
	}
	if err != nil {
		return nil, err
	}
	out, _ := lowerKeys(m).(map[string]any)
	if out == nil {
		out = map[string]any{}
	}
	return out, nil
}

// lowerKeys returns v with every map key lower-cased, recursively (YAML's map[any]any included).
func lowerKeys(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			out[strings.ToLower(k)] = lowerKeys(x)
		}
		return out
	case map[any]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			out[strings.ToLower(fmt.Sprint(k))] = lowerKeys(x)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = lowerKeys(x)
		}
		return out
	}
	return v
}

// merge sets src's keys in dst, recursing into tables.
func merge(dst, src map[string]any) {
	for k, v := range src {
		if sm, ok := v.(map[string]any); ok {
			if dm, ok := dst[k].(map[string]any); ok {
				merge(dm, sm)
				continue
			}
		}
		dst[k] = v
	}
}

// applyEnv applies HUGO_KEY and HUGOxSECTIONxKEY overrides (the rune after HUGO is the delimiter, matched
// case-sensitively as Hugo does: HUGOxPARAMSxMAXITEMS is params.maxitems).
func applyEnv(cfg map[string]any, environ []string) {
	for _, kv := range environ {
		name, val, _ := strings.Cut(kv, "=")
		rest, ok := strings.CutPrefix(name, "HUGO")
		if !ok || len(rest) < 2 || name == "HUGO_ENVIRONMENT" || name == "HUGO_ENV" {
			continue
		}
		path := strings.Split(strings.ToLower(strings.ReplaceAll(rest[1:], rest[:1], "\x00")), "\x00")
		m := cfg
		for _, k := range path[:len(path)-1] {
			next, ok := m[k].(map[string]any)
			if !ok {
				next = map[string]any{}
				m[k] = next
			}
			m = next
		}
		m[path[len(path)-1]] = val
	}
}

// roots returns the site roots, as Hugo v0.165 publishes them (measured):
//
//   - A multihost site has one root per enabled language, at publishDir/<lang>, served at the language's
//     baseURL or, for a language without one, at the root baseURL.
//   - Any other site has one root, publishDir, served at the default content language's baseURL if that
//     language sets one, else at the root baseURL.
//
// Hugo makes a site multihost when any configured language (even a disabled one) sets baseURL and the
// number of enabled languages minus the number of disabled ones is above one. (Hugo subtracts the
// disabled languages twice, so en+fr with baseURLs and a disabled de is not multihost: en is published at
// publishDir and fr at publishDir/fr.)
func roots(cfg map[string]any, publishDir string) ([]Root, error) {
	disabled := map[string]bool{}
	for _, l := range stringList(cfg["disablelanguages"]) {
		disabled[strings.ToLower(l)] = true
	}
	langs, _ := cfg["languages"].(map[string]any)
	var all []language
	anyBaseURL := false
	for name, raw := range langs {
		lc, _ := raw.(map[string]any)
		if lc["baseurl"] != nil {
			anyBaseURL = true
		}
		if cast.ToBool(lc["disabled"]) {
			disabled[name] = true
		}
		all = append(all, language{name, cast.ToInt(lc["weight"]), cast.ToString(lc["baseurl"])})
	}
	def := strings.ToLower(cmp(cast.ToString(cfg["defaultcontentlanguage"]), "en"))
	return layout(all, disabled, anyBaseURL, cast.ToString(cfg["baseurl"]), def, publishDir)
}

// language is one configured language; baseURL is "" when it has none of its own.
type language struct {
	name    string
	weight  int
	baseURL string
}

// layout applies Hugo's rules (see roots) to the configured languages: disabled holds the disabled ones,
// anyBaseURL says whether any language (even a disabled one) sets its own baseURL, rootURL is the
// site's baseURL and def the default content language.
func layout(all []language, disabled map[string]bool, anyBaseURL bool, rootURL, def, publishDir string) ([]Root, error) {
	var enabled []language
	for _, l := range all {
		if !disabled[l.name] {
			enabled = append(enabled, l)
		}
	}
	// Hugo's order: by weight (unset weights last), then by name.
	sort.Slice(enabled, func(i, j int) bool {
		a, b := enabled[i], enabled[j]
		if a.weight == b.weight {
			return a.name < b.name
		}
		return b.weight == 0 || (a.weight != 0 && a.weight < b.weight)
	})
	if anyBaseURL && len(enabled)-len(disabled) > 1 {
		var out []Root
		for _, l := range enabled {
			raw, key := l.baseURL, "languages."+l.name+".baseURL"
			if raw == "" {
				raw, key = rootURL, "baseURL"
			}
			u, err := checkBaseURL(raw, key)
			if err != nil {
				return nil, err
			}
			out = append(out, Root{Lang: l.name, Dir: filepath.Join(publishDir, l.name), BaseURL: u})
		}
		return out, nil
	}
	raw, key := rootURL, "baseURL"
	for _, l := range enabled {
		if l.name == def && l.baseURL != "" {
			raw, key = l.baseURL, "languages."+l.name+".baseURL"
		}
	}
	u, err := checkBaseURL(raw, key)
	if err != nil {
		return nil, err
	}
	return []Root{{Dir: publishDir, BaseURL: u}}, nil
}

// stringList reads a list setting; a string (from the environment) is split at commas, else at spaces,
// as Hugo does for HUGO_DISABLELANGUAGES.
func stringList(v any) []string {
	if s, ok := v.(string); ok {
		s = strings.TrimSpace(s)
		if strings.Contains(s, ",") {
			var out []string
			for _, f := range strings.Split(s, ",") {
				if f = strings.TrimSpace(f); f != "" {
					out = append(out, f)
				}
			}
			return out
		}
		return strings.Fields(s)
	}
	return cast.ToStringSlice(v)
}

// checkBaseURL requires an absolute http(s) URL and returns it ending in "/".
func checkBaseURL(raw, key string) (string, error) {
	if raw == "" || raw == "/" {
		return "", fmt.Errorf("%s is not set; planktos needs the address the site is served at: set %s = "+
			"\"https://example.org/\" in the Hugo config or pass --baseURL", key, key)
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		host := raw
		if i := strings.Index(host, "://"); i >= 0 {
			host = host[i+3:]
		}
		host = strings.Trim(host, "/")
		return "", fmt.Errorf("%s %q is not an absolute http(s) URL; write it with its scheme, like "+
			"\"https://%s/\"", key, raw, host)
	}
	if !strings.HasSuffix(raw, "/") {
		raw += "/"
	}
	return raw, nil
}

func absUnder(dir, p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(dir, p)
}

func getenv(environ []string, name string) string {
	for _, kv := range environ {
		if k, v, _ := strings.Cut(kv, "="); k == name {
			return v
		}
	}
	return ""
}

func cmp(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
