package hugoext

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
)

// Hugo returns a command that runs a Hugo binary with args. Its Stdout and Stderr are left unset; when its
// Env is nil the command inherits the caller's environment.
type Hugo func(args ...string) *exec.Cmd

// LookPath returns a Hugo that runs the hugo found on PATH, or nil when PATH has none.
func LookPath() Hugo {
	path, err := exec.LookPath("hugo")
	if err != nil {
		return nil
	}
	return func(args ...string) *exec.Cmd { return exec.Command(path, args...) }
}

// The readers LoadSite reports in Site.Reader.
const (
	ReaderHugo    = "hugo config" // the user's `hugo config --format json`: Hugo's own answer
	ReaderBuiltIn = "built-in"    // planktos's reading of the config files, matched to Hugo v0.165
)

// hugoConfig is what planktos reads of `hugo config --format json --printZero` (keys are lower case).
type hugoConfig struct {
	BaseURL                string   `json:"baseurl"`
	PublishDir             string   `json:"publishdir"`
	RelativeURLs           bool     `json:"relativeurls"`
	DefaultContentLanguage string   `json:"defaultcontentlanguage"`
	DisableLanguages       []string `json:"disablelanguages"`
	Environment            string   `json:"environment"`
	Languages              map[string]struct {
		Weight   int  `json:"weight"`
		Disabled bool `json:"disabled"`
	} `json:"languages"`
}

// loadWithHugo is LoadSite asking `hugo config --format json`, which prints the configuration Hugo
// resolved (files, config folders, environment, flags, HUGO_* variables) for one language. Measured with
// v0.165.0, it differs from the site's files in ways loadWithHugo works around:
//
//   - Only one language's view is printed (--lang, default the first language): its baseURL replaces the
//     site's, and the languages map loses every baseURL. So each language is asked for separately, and a
//     language counts as setting a baseURL of its own when the languages' baseURLs are not all the same.
//   - Nothing says whether the site is multihost, nor where each language is published: the rule is
//     Hugo's (see roots), applied to what Hugo printed.
//   - publishdir is printed as configured: a relative one is relative to the site folder.
//   - disablelanguages from HUGO_DISABLELANGUAGES="de, nl" is split at commas untrimmed (" nl"), and
//     that language's disabled stays false, yet Hugo does not publish it: names are trimmed here.
//   - environment is HUGO_ENVIRONMENT's even when --environment names another (whose files Hugo does
//     read): the flag is taken when given.
//   - Keys with zero values are left out without --printZero (a language with no settings vanishes).
//   - A folder with no configuration at all is not an error: Hugo prints its defaults. So the
//     configuration files are looked for first, as by the built-in reader.
func loadWithHugo(o SiteOptions, src string) (*Site, error) {
	if !hasConfig(src, environment(o), o.ConfigFiles) {
		return nil, noConfig(src)
	}
	args := []string{"config", "--format", "json", "--printZero", "--source", src}
	for flag, v := range map[string]string{"--environment": o.Environment, "--destination": o.Destination,
		"--baseURL": o.BaseURL, "--config": strings.Join(o.ConfigFiles, ",")} {
		if v != "" {
			args = append(args, flag, v)
		}
	}
	var top hugoConfig
	if err := runHugoConfig(o, args, &top); err != nil {
		return nil, err
	}
	disabled := map[string]bool{}
	for _, l := range top.DisableLanguages {
		disabled[strings.ToLower(strings.TrimSpace(l))] = true
	}
	def := strings.ToLower(cmp(top.DefaultContentLanguage, "en"))
	all := make([]language, 0, len(top.Languages))
	for name, l := range top.Languages {
		if l.Disabled {
			disabled[name] = true
		}
		all = append(all, language{name: name, weight: l.Weight, baseURL: top.BaseURL})
	}
	rootURL, anyBaseURL := top.BaseURL, false
	if len(all) > 1 {
		if err := languageBaseURLs(o, args, all); err != nil {
			return nil, err
		}
		for _, l := range all {
			anyBaseURL = anyBaseURL || l.baseURL != all[0].baseURL
			if l.name == def {
				rootURL = l.baseURL
			}
		}
	}
	s := &Site{Source: src, Environment: cmp(o.Environment, top.Environment), Reader: ReaderHugo, RelativeURLs: top.RelativeURLs,
		PublishDir: absUnder(src, cmp(top.PublishDir, "public"))}
	var err error
	s.Roots, err = layout(all, disabled, anyBaseURL, rootURL, def, s.PublishDir)
	return s, err
}

// languageBaseURLs asks Hugo for each language's baseURL, concurrently.
func languageBaseURLs(o SiteOptions, args []string, langs []language) error {
	errs := make([]error, len(langs))
	var wg sync.WaitGroup
	for i := range langs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var c hugoConfig
			errs[i] = runHugoConfig(o, append(append([]string(nil), args...), "--lang", langs[i].name), &c)
			langs[i].baseURL = c.BaseURL
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// runHugoConfig runs o.Hugo with args, with o.Environ's HUGO_* variables, and decodes its JSON into v.
func runHugoConfig(o SiteOptions, args []string, v *hugoConfig) error {
	cmd := o.Hugo(args...)
	switch {
	case o.Environ == nil:
	case cmd.Env == nil:
		cmd.Env = o.Environ
	default: // a Hugo with an environment of its own (the tests' pinned one) gets the HUGO_* variables
		for _, kv := range o.Environ {
			if strings.HasPrefix(kv, "HUGO") {
				cmd.Env = append(cmd.Env, kv)
			}
		}
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("hugo %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	if err := json.Unmarshal(stdout.Bytes(), v); err != nil {
		return fmt.Errorf("hugo %s printed no configuration planktos can read (%w); an old Hugo may lack "+
			"--format json: upgrade it, or take it off PATH to use planktos's own reader",
			strings.Join(args, " "), err)
	}
	return nil
}

// hasConfig reports whether the site has configuration files Hugo would read.
func hasConfig(src, env string, explicit []string) bool {
	if len(explicit) > 0 || firstConfigFile(src) != "" {
		return true
	}
	for _, d := range []string{"_default", env} {
		if fi, err := os.Stat(filepath.Join(src, "config", d)); err == nil && fi.IsDir() {
			return true
		}
	}
	return false
}

func noConfig(src string) error {
	return fmt.Errorf("%s has no Hugo configuration (hugo.toml, hugo.yaml, hugo.json, config.* or "+
		"config/_default/); run planktos hugo in your site's folder or pass --source", src)
}
