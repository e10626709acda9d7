package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/planktos/planktos/config"
	"github.com/planktos/planktos/hugoext"
	"github.com/planktos/planktos/manifest"
	"github.com/planktos/planktos/signing"
	"github.com/spf13/cobra"
)

func newKeygenCmd() *cobra.Command {
	var force bool
	var configFile string
	cmd := &cobra.Command{
		Use:   "keygen [FILE]",
		Short: "Create the Ed25519 key that signs the site's packages",
		Long: `Create an Ed25519 private key (PEM, PKCS#8, mode 0600) for signing_key, and print its public key.
With a key, packaging signs every manifest, so that a new revision reaches returning visitors from their
peers even while the origin is down. FILE defaults to planktos.key beside planktos.toml (the --config
file's folder, else the current one). keygen never overwrites a key (visitors pin it; --force replaces
it) and refuses a FILE inside a publish folder: the key must never be deployed.`,
		Example: `  planktos keygen
  planktos keygen ~/.config/planktos/example.org.key
  PLANKTOS_SIGNING_KEY="$(cat planktos.key)" planktos hugo   # in CI, from a secret`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := "."
			if configFile != "" {
				dir = filepath.Dir(configFile)
			}
			file := filepath.Join(dir, "planktos.key")
			if len(args) == 1 {
				file = args[0]
			}
			if pub := publishFolder(file, dir); pub != "" {
				return usageError{fmt.Errorf("%s is inside the publish folder %s: the key would be deployed "+
					"with the site; give a path outside it, e.g. beside planktos.toml", file, pub)}
			}
			key, err := signing.Create(file, force)
			if errors.Is(err, signing.ErrExists) {
				return usageError{err}
			}
			if err != nil {
				return err
			}
			printKey(cmd, key, dir)
			return nil
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "replace an existing key file (visitors pinned to the old key "+
		"then take updates from the origin only)")
	cmd.Flags().StringVarP(&configFile, "config", "c", "", "the planktos.toml the key is for (default: planktos.toml "+
		"in the current folder)")
	return cmd
}

// printKey tells the owner what was made and what to do with it.
func printKey(cmd *cobra.Command, key *signing.Key, dir string) {
	setting := key.File
	if abs, err := filepath.Abs(key.File); err == nil {
		setting = abs
		if d, err := filepath.Abs(dir); err == nil {
			if rel, err := filepath.Rel(d, abs); err == nil && !strings.HasPrefix(rel, "..") {
				setting = rel
			}
		}
	}
	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "Wrote the signing key %s (mode 0600). Keep it secret, out of the publish folder and out of "+
		"git, and back it up: visitors pin its public key.\n", key.File)
	fmt.Fprintf(out, "Public key: %s\n", manifest.EncodeKey(key.Public()))
	fmt.Fprintf(out, "Add to %s:\n  signing_key = %q\n", filepath.Join(dir, config.FileName), setting)
	fmt.Fprintf(out, "In CI, put the file's contents in a secret and pass it as PLANKTOS_SIGNING_KEY instead.\n")
}

// publishFolder returns the publish folder file would be in, or "": a folder above it that is a planktos
// package (planktos.sw.js or planktos/manifest.json in it), or the publishDir of the Hugo site in dir.
func publishFolder(file, dir string) string {
	abs, err := filepath.Abs(file)
	if err != nil {
		return ""
	}
	for d := filepath.Dir(abs); ; d = filepath.Dir(d) {
		for _, mark := range []string{manifest.SWPath, filepath.FromSlash(manifest.Path)} {
			if _, err := os.Stat(filepath.Join(d, mark)); err == nil {
				return d
			}
		}
		if filepath.Dir(d) == d {
			break
		}
	}
	site, err := hugoext.LoadSite(hugoext.SiteOptions{Source: dir, Environ: os.Environ()})
	if err != nil {
		return ""
	}
	if rel, err := filepath.Rel(site.PublishDir, abs); err == nil && !strings.HasPrefix(rel, "..") {
		return site.PublishDir
	}
	return ""
}
