package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/planktos/planktos/hugoext"
	"github.com/planktos/planktos/packager"
	"github.com/spf13/cobra"
)

func newHugoCmd() *cobra.Command {
	var o hugoext.SiteOptions
	var hugoConfig string
	var f commonFlags
	cmd := &cobra.Command{
		Use:   "hugo [flags]",
		Short: "Package a Hugo site after `hugo` has built it",
		Long: `Package the output of a Hugo build. planktos finds publishDir and baseURL by asking the hugo on
PATH (` + "`hugo config --format json`" + `, with the same --source, --destination, --baseURL, --environment,
--hugo-config as --config, and HUGO_* variables): Hugo's own answer, in your version of Hugo. Without a
hugo on PATH, planktos reads the configuration itself, the way Hugo v0.165 does (hugo.toml|yaml|json or
config.*, config/_default and config/<environment>, the same flags and HUGO_* variables). The first line
of the output says which one was used (--json: "hugoConfig" of each package, "hugo config" or
"built-in"). Every site root is packaged (one per language on multihost sites).
planktos settings come from flags, then PLANKTOS_* variables, then planktos.toml in the site folder.`,
		Example: `  hugo --cleanDestinationDir && planktos hugo
  planktos hugo --source mysite --baseURL https://user.github.io/project/
  HUGO_ENVIRONMENT=staging planktos hugo --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			con := f.console()
			if hugoConfig != "" {
				o.ConfigFiles = strings.Split(hugoConfig, ",")
			}
			o.Environ = os.Environ()
			o.Hugo = hugoext.LookPath()
			site, err := hugoext.LoadSite(o)
			if err != nil {
				return fail(con, usageError{err})
			}
			cfg, err := f.load(cmd.Flags(), site.Source, con)
			if err != nil {
				return fail(con, usageError{err})
			}
			con.Header("Running planktos %s on Hugo site %s (environment %s, configuration read by %s)", version(),
				relToWD(site.Source), site.Environment, site.Reader)
			for _, w := range site.Warnings() {
				con.Warn(w)
			}
			var done []packaged
			for _, r := range site.Roots {
				res, err := packRoot(cmd.Context(), con, r.Dir, r.BaseURL, cfg)
				if errors.Is(err, packager.ErrNoSite) {
					err = fmt.Errorf("%s is missing or empty: run `hugo` first, then planktos hugo", relToWD(r.Dir))
				}
				if err != nil {
					return fail(con, err)
				}
				done = append(done, packaged{Dir: r.Dir, BaseURL: r.BaseURL, Lang: r.Lang, HugoConfig: site.Reader, res: res})
			}
			report(con, done)
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&o.Source, "source", "s", "", "the Hugo site's folder (default: current folder)")
	fl.StringVarP(&o.Destination, "destination", "d", "", "the folder Hugo published to (default: publishDir; HUGO_PUBLISHDIR wins, as in Hugo)")
	fl.StringVarP(&o.BaseURL, "baseURL", "b", "", "the URL the site is served at (default: baseURL; HUGO_BASEURL wins, as in Hugo)")
	fl.StringVarP(&o.Environment, "environment", "e", "", "Hugo environment (default: HUGO_ENVIRONMENT or production)")
	fl.StringVar(&hugoConfig, "hugo-config", "", "Hugo config files, comma-separated (like hugo --config)")
	f.register(fl)
	return cmd
}

// relToWD shortens an absolute path for messages.
func relToWD(p string) string {
	wd, err := os.Getwd()
	if err != nil {
		return p
	}
	if r, err := filepath.Rel(wd, p); err == nil && !strings.HasPrefix(r, "..") {
		return r
	}
	return p
}
