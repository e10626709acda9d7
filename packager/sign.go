package packager

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"time"

	"github.com/planktos/planktos/manifest"
	"github.com/planktos/planktos/signing"
	"github.com/spf13/afero"
)

// Signed packages (see manifest/sign.go for what browsers do with them).
//
// With Config.SigningKey set, Pack loads the key before it reads anything else and refuses one that
// would be published: a key file inside the publish folder, or a published file with the key file's
// bytes. The manifest then carries the key and a Sequence, and commit writes its signature to
// manifest.SigPath just before the manifest itself. The sequence is the previous package's plus one, or
// the clock in milliseconds when that is greater (a CI machine that builds from a clean folder never sees
// the previous package, and the clock still moves it on); it stays the same when the revision does, so
// packaging unchanged input twice writes the same bytes. A previous manifest that carries this key but
// no longer verifies was edited: its sequence cannot be trusted, so Pack refuses to go on from it.

// previous is the package in the publish folder before the run.
type previous struct {
	raw, sig []byte             // manifest.json and manifest.sig as they were (nil when absent)
	m        *manifest.Manifest // raw parsed; nil when absent or unreadable
}

// readPrevious reads the current package at root.
func readPrevious(fsys afero.Fs, root string) previous {
	var p previous
	p.raw, _ = afero.ReadFile(fsys, native(root, manifest.Path))
	p.sig, _ = afero.ReadFile(fsys, native(root, manifest.SigPath))
	if p.raw != nil {
		p.m, _ = manifest.Parse(p.raw)
	}
	return p
}

// loadKey loads the configured signing key (nil when there is none) and refuses a key file inside root.
func loadKey(fsys afero.Fs, opts Options) (*signing.Key, error) {
	if opts.Config.SigningKey == "" {
		return nil, nil
	}
	key, err := signing.Load(fsys, opts.Config.SigningKey)
	if err != nil {
		return nil, err
	}
	if key.File != "" && inside(opts.Root, key.File) {
		return nil, keyPublished(fmt.Sprintf("the signing key %s is inside the publish folder %s", key.File, opts.Root))
	}
	return key, nil
}

// inside says whether path is root or below it, by their absolute paths (and, on disk, with symlinks
// resolved).
func inside(root, path string) bool {
	for _, resolve := range []func(string) (string, error){filepath.Abs, evalAbs} {
		r, err1 := resolve(root)
		p, err2 := resolve(path)
		if err1 != nil || err2 != nil {
			continue
		}
		if rel, err := filepath.Rel(r, p); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return true
		}
	}
	return false
}

func evalAbs(p string) (string, error) {
	a, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	return filepath.EvalSymlinks(a)
}

// keyPublished is the error for a key that would be deployed with the site; what says where it is.
func keyPublished(what string) error {
	return fmt.Errorf("%s: it would be deployed with the site, "+
		"and anyone could sign updates that visitors accept; move the key out of the folder (e.g. beside "+
		"planktos.toml) and point signing_key at it, or in CI pass it in PLANKTOS_SIGNING_KEY. If it was ever "+
		"deployed, treat it as stolen and make a new one with `planktos keygen`", what)
}

// refusePublished refuses a published file whose bytes are the key's, before any is stored. Only files of
// the key's size are read.
func refusePublished(fsys afero.Fs, root string, sources []source, key *signing.Key) error {
	if key == nil {
		return nil
	}
	for _, s := range sources {
		if s.size != int64(len(key.Raw)) {
			continue
		}
		b, err := afero.ReadFile(fsys, s.real)
		if err != nil {
			return fmt.Errorf("read %s: %w", s.real, explain(err))
		}
		if bytes.Equal(b, key.Raw) {
			return keyPublished(fmt.Sprintf("the published file %s is the signing key (%s)",
				native(root, s.rel), key.Source()))
		}
	}
	return nil
}

// sequence returns the signed manifest m's sequence, given the previous package, and a note for the owner
// (a key rotation); see the comment at the top of this file.
func sequence(m *manifest.Manifest, key *signing.Key, prev previous, root string, now time.Time) (int64, string, error) {
	next := now.UnixMilli()
	if prev.m != nil {
		next = max(next, prev.m.Sequence+1)
	}
	id := key.ID()
	switch {
	case prev.m == nil && prev.raw != nil && bytes.Contains(prev.raw, []byte(id)):
		return 0, "", editedError(root, "does not parse")
	case prev.m == nil || prev.m.Key == "":
		return next, "", nil
	case prev.m.Key != id:
		return next, fmt.Sprintf("the previous package was signed by another key (%s): visitors whose service "+
			"worker pinned it accept this one only from the origin (see the README on key rotation)",
			signing.Short(prev.m.Key)), nil
	}
	if err := manifest.Verify(key.Public(), prev.raw, prev.sig); err != nil {
		return 0, "", editedError(root, "does not match its signature "+manifest.SigPath)
	}
	if prev.m.Revision == m.Revision {
		return prev.m.Sequence, "", nil // nothing new to announce
	}
	return next, "", nil
}

func editedError(root, what string) error {
	return fmt.Errorf("the previous package's %s carries this signing key but %s: it was edited, and its "+
		"sequence cannot be trusted (the new package's could go backwards, and visitors would ignore it); "+
		"restore %s and %s as packaging left them, or delete %s to start over",
		native(root, manifest.Path), what, manifest.Path, manifest.SigPath, native(root, manifest.Path))
}

// writeManifest writes m, signed by key when key is set, and switches to it: the signature first, then the
// manifest. If the manifest cannot be written, the previous signature (prevSig) is put back, so the previous
// package still verifies. An unsigned package removes a stale signature once its manifest is written.
func writeManifest(fsys afero.Fs, root string, m *manifest.Manifest, key *signing.Key, prevSig []byte) error {
	b, err := m.Encode()
	if err != nil {
		return err
	}
	sigPath := native(root, manifest.SigPath)
	if key != nil {
		if err := writeAtomic(fsys, sigPath, manifest.Sign(key.Private, b), 0o644); err != nil {
			return fmt.Errorf("write signature: %w", explain(err))
		}
	}
	if err := writeAtomic(fsys, native(root, manifest.Path), b, 0o644); err != nil {
		if key != nil {
			restore(fsys, sigPath, prevSig)
		}
		return fmt.Errorf("write manifest: %w", explain(err))
	}
	if key == nil {
		if err := fsys.Remove(sigPath); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove the stale signature %s: %w", sigPath, explain(err))
		}
	}
	return nil
}

// restore puts a file back as it was (absent when old is nil), as well as it can.
func restore(fsys afero.Fs, name string, old []byte) {
	if old == nil {
		fsys.Remove(name)
		return
	}
	writeAtomic(fsys, name, old, 0o644)
}

// seal sets what a signed package adds to m — the kill switch's Disabled in every package, and with a key
// its Key and Sequence — and seals it. It returns the lines to report once the package is written.
func seal(m *manifest.Manifest, key *signing.Key, prev previous, opts Options) ([]string, error) {
	m.Disabled = !opts.Config.Enabled
	if key != nil {
		m.Key = key.ID()
	}
	if err := m.Seal(); err != nil || key == nil {
		return nil, err
	}
	seq, note, err := sequence(m, key, prev, opts.Root, time.Now())
	if err != nil {
		return nil, err
	}
	m.Sequence = seq
	lines := []string{fmt.Sprintf("Signed with key %s (%s), sequence %d", signing.Short(m.Key), key.Source(), seq)}
	if note != "" {
		lines = append(lines, "Note: "+note)
	}
	return lines, nil
}
