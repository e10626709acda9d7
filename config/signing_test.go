package config

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestSigningKey checks where signing_key is resolved from: a path in planktos.toml against the file's
// folder, PLANKTOS_SIGNING_KEY as given (a path from the working directory, or the PEM text of a CI secret).
func TestSigningKey(t *testing.T) {
	const pemText = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----\n"
	dir := writeConfig(t, `signing_key = "keys/site.key"`)
	c, _, _, err := Load(Options{Dir: dir})
	if want := filepath.Join(dir, "keys/site.key"); err != nil || c.SigningKey != want {
		t.Errorf("relative path in the file: %q, %v; want %q", c.SigningKey, err, want)
	}
	c, _, _, err = Load(Options{Dir: writeConfig(t, `signing_key = "/etc/planktos/site.key"`)})
	if err != nil || c.SigningKey != "/etc/planktos/site.key" {
		t.Errorf("absolute path in the file: %q, %v", c.SigningKey, err)
	}
	for _, env := range []string{"ci.key", pemText} {
		c, _, _, err := Load(Options{Dir: dir, Environ: []string{"PLANKTOS_SIGNING_KEY=" + env}})
		if err != nil || c.SigningKey != env {
			t.Errorf("PLANKTOS_SIGNING_KEY=%q: %q, %v", env, c.SigningKey, err)
		}
	}
	if c := mustLoad(t, "", nil); c.SigningKey != "" {
		t.Errorf("default %q, want unsigned", c.SigningKey)
	}
	_, _, _, err = Load(Options{Dir: writeConfig(t, "signing_key = '''\n"+pemText+"'''")})
	if err == nil || !strings.Contains(err.Error(), "PLANKTOS_SIGNING_KEY") {
		t.Errorf("the key's text in planktos.toml: %v, want an error naming PLANKTOS_SIGNING_KEY", err)
	}
}
