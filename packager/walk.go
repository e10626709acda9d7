package packager

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/bmatcuk/doublestar/v4"
	"github.com/planktos/planktos/manifest"
	"github.com/spf13/afero"
)

// Names planktos owns in a site root; they are never packaged.
const (
	OutDir   = manifest.Dir     // everything planktos writes, but the service worker
	SWName   = manifest.SWPath  // the service worker, at the root so its scope covers the site
	tmpMark  = ".planktos-tmp-" // prefix of temporary files; a run removes stale ones
	htmlCap  = 64 << 20         // HTML pages larger than this are packaged without injection
	smallCap = 1 << 20          // files up to this size are read into memory in one go
)

// source is a published file found by the walk.
type source struct {
	rel   string // relative POSIX path, the manifest key
	size  int64
	mtime time.Time
	mode  fs.FileMode
	real  string // path in the Fs to read (differs from the joined rel for followed symlinks)
}

// walk lists the files to package under root, in lexical order. It removes the temporary files that
// an interrupted run left next to the pages it was rewriting (those older than this walk: a concurrent
// run's are left alone). Symlinks are followed when their target is a file inside root; those pointing
// outside it are all reported together in one error that says how to package them (see outsideError).
func walk(fsys afero.Fs, root string, include, exclude []string) ([]source, error) {
	var out []source
	var outside []outsideLink
	start := time.Now()
	err := afero.Walk(fsys, root, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return fmt.Errorf("read %s: %w", p, err)
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if rel == "." {
			return nil
		}
		if rel == OutDir || rel == SWName || strings.Contains(path.Base(rel), tmpMark) {
			if fi.IsDir() {
				return filepath.SkipDir
			}
			if isTemp(rel) && fi.Mode().IsRegular() && fi.ModTime().Before(start) {
				fsys.Remove(p)
			}
			return nil
		}
		if err := checkName(rel); err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		if fi.IsDir() || !selected(rel, include, exclude) {
			return nil
		}
		src := source{rel: rel, size: fi.Size(), mtime: fi.ModTime(), mode: fi.Mode().Perm(), real: p}
		if fi.Mode()&os.ModeSymlink != 0 {
			var link *outsideLink
			if src, link, err = followLink(fsys, root, p, rel); link != nil {
				outside = append(outside, *link)
				return nil
			} else if err != nil {
				return err
			}
		} else if !fi.Mode().IsRegular() {
			return fmt.Errorf("%s: not a regular file (%s); remove it or add it to exclude", p, fi.Mode().Type())
		}
		out = append(out, src)
		return nil
	})
	if err == nil && len(outside) > 0 {
		err = outsideError(root, outside)
	}
	return out, err
}

// outsideLink is a symlink of the site whose target lies outside the publish folder.
type outsideLink struct {
	rel    string // its manifest key
	target string // where it points, resolved
}

// outsideError refuses symlinks that leave the publish folder. A static host given the folder would not
// have their targets (Debian's Sphinx docs link _static/jquery.js to /usr/share/javascript/…), and
// planktos publishes nothing from outside it; so the owner copies what the site needs, with cp -rL.
func outsideError(root string, links []outsideLink) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%d symlink(s) in %s point outside it; a web server given only this folder could not "+
		"serve them, and planktos publishes nothing from outside it:", len(links), root)
	const shown = 10
	var globs []string
	for i, l := range links {
		if i < shown {
			fmt.Fprintf(&b, "\n  %s: symlink points outside the publish directory (to %s)", l.rel, l.target)
		}
		globs = append(globs, fmt.Sprintf("%q", l.rel))
	}
	if len(links) > shown {
		fmt.Fprintf(&b, "\n  … and %d more", len(links)-shown)
		globs = append(globs[:shown], "…")
	}
	fmt.Fprintf(&b, "\ncopy the folder with the files they point to and package the copy: cp -rL %s COPY "+
		"(then run planktos on COPY); or, if the site does not need them, add exclude = [%s] to planktos.toml",
		root, strings.Join(globs, ", "))
	return errors.New(b.String())
}

// followLink resolves a symlink. One to a file inside root is followed; one pointing elsewhere is
// returned as an outsideLink (never read), so that packaging never publishes a file the site did not.
func followLink(fsys afero.Fs, root, p, rel string) (source, *outsideLink, error) {
	lr, ok := fsys.(afero.LinkReader)
	if !ok {
		return source{}, nil, fmt.Errorf("%s: symlinks are not supported on this filesystem", p)
	}
	target, err := lr.ReadlinkIfPossible(p)
	if err != nil {
		return source{}, nil, fmt.Errorf("%s: %w", p, err)
	}
	if !filepath.IsAbs(target) {
		target = filepath.Join(filepath.Dir(p), target)
	}
	target, _ = filepath.Abs(target) // a relative root gave a relative target, which Rel cannot compare
	absRoot, _ := filepath.Abs(root)
	if real, err := filepath.EvalSymlinks(target); err == nil {
		target = real
	}
	if r, err := filepath.EvalSymlinks(absRoot); err == nil {
		absRoot = r
	}
	if inside, _ := filepath.Rel(absRoot, target); inside == ".." || strings.HasPrefix(inside, "../") {
		return source{}, &outsideLink{rel: rel, target: target}, nil
	}
	fi, err := fsys.Stat(target)
	if err != nil {
		return source{}, nil, fmt.Errorf("%s: broken symlink (to %s); remove it or add %q to exclude", p, target, rel)
	}
	if !fi.Mode().IsRegular() {
		return source{}, nil, fmt.Errorf("%s: symlink to a folder; replace it with a copy (cp -rL) or add %q to exclude", p, rel)
	}
	return source{rel: rel, size: fi.Size(), mtime: fi.ModTime(), mode: fi.Mode().Perm(), real: target}, nil, nil
}

// checkName refuses names a URL cannot carry faithfully.
func checkName(rel string) error {
	if !utf8.ValidString(rel) {
		return fmt.Errorf("file name is not valid UTF-8; rename it")
	}
	for _, r := range rel {
		if unicode.IsControl(r) {
			return fmt.Errorf("file name contains a control character (%U); rename it", r)
		}
	}
	return nil
}

// selected applies include and exclude globs. A glob without "/" matches a base name in any folder.
func selected(rel string, include, exclude []string) bool {
	match := func(globs []string) bool {
		for _, g := range globs {
			target := rel
			if !strings.Contains(g, "/") {
				target = path.Base(rel)
			}
			if ok, _ := doublestar.Match(g, target); ok {
				return true
			}
		}
		return false
	}
	return (len(include) == 0 || match(include)) && !match(exclude)
}
