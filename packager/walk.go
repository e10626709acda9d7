package packager

import (
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
	"github.com/spf13/afero"
)

// Names planktos owns in a site root; they are never packaged.
const (
	OutDir   = "planktos"       // everything planktos writes, but the service worker
	SWName   = "planktos.sw.js" // the service worker, at the root so its scope covers the site
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
// run's are left alone).
func walk(fsys afero.Fs, root string, include, exclude []string) ([]source, error) {
	var out []source
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
		if fi.IsDir() {
			return nil
		}
		src := source{rel: rel, size: fi.Size(), mtime: fi.ModTime(), mode: fi.Mode().Perm(), real: p}
		if fi.Mode()&os.ModeSymlink != 0 {
			if src, err = followLink(fsys, root, p, rel); err != nil {
				return err
			}
		} else if !fi.Mode().IsRegular() {
			return fmt.Errorf("%s: not a regular file (%s); remove it or add it to exclude", p, fi.Mode().Type())
		}
		if selected(rel, include, exclude) {
			out = append(out, src)
		}
		return nil
	})
	return out, err
}

// followLink resolves a symlink that stays inside root; one pointing elsewhere is an error, so that
// packaging never publishes a file the site did not.
func followLink(fsys afero.Fs, root, p, rel string) (source, error) {
	lr, ok := fsys.(afero.LinkReader)
	if !ok {
		return source{}, fmt.Errorf("%s: symlinks are not supported on this filesystem", p)
	}
	target, err := lr.ReadlinkIfPossible(p)
	if err != nil {
		return source{}, fmt.Errorf("%s: %w", p, err)
	}
	if !filepath.IsAbs(target) {
		target = filepath.Join(filepath.Dir(p), target)
	}
	absRoot, _ := filepath.Abs(root)
	if real, err := filepath.EvalSymlinks(target); err == nil {
		target = real
	}
	if r, err := filepath.EvalSymlinks(absRoot); err == nil {
		absRoot = r
	}
	if inside, _ := filepath.Rel(absRoot, target); inside == ".." || strings.HasPrefix(inside, "../") {
		return source{}, fmt.Errorf("%s: symlink points outside the publish directory (to %s); "+
			"replace it with a copy of the file or add %q to exclude", p, target, rel)
	}
	fi, err := fsys.Stat(target)
	if err != nil {
		return source{}, fmt.Errorf("%s: broken symlink: %w", p, err)
	}
	if !fi.Mode().IsRegular() {
		return source{}, fmt.Errorf("%s: symlink to a folder; replace it with a copy or add %q to exclude", p, rel)
	}
	return source{rel: rel, size: fi.Size(), mtime: fi.ModTime(), mode: fi.Mode().Perm(), real: target}, nil
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
