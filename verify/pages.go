package verify

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"

	"github.com/planktos/planktos/inject"
	"golang.org/x/sync/errgroup"
)

// Fixes of the pages check.
const (
	fixTag = "make every page load the install script: call {{ partial \"planktos.html\" . }} in your theme's " +
		"<head> (see themes-snippet/), or package with inject = \"auto\" (the default), then run planktos again"
	fixLiveReload = "build with `hugo`, not `hugo server`, then run planktos again"
)

// checkPages checks that every HTML page of the manifest loads planktos/install.js, with hugoext's
// detection (the one the packager injects by), and that install.js itself is there. A folder's pages are
// read where they are published and must still be what was packaged; on a URL up to MaxPages pages are
// fetched at their address (posts/x/ for posts/x/index.html).
func (r *run) checkPages(ctx context.Context) Check {
	if r.m == nil {
		return noManifest(CheckPages)
	}
	pages := r.pages()
	fetched := pages
	if r.web != nil {
		fetched = pages[:min(len(pages), r.opts.MaxPages)]
	}
	var p, fragments problems
	fixes := map[string]bool{}
	if f, err := r.src.open(ctx, installPath); err != nil {
		p.add("%s cannot be loaded: %v", installPath, err)
		fixes[fixDeploy] = true
	} else {
		f.Close()
	}
	type result struct {
		problem, fix string
		fragment     bool
	}
	results := make([]result, len(fetched))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(r.workers())
	for i, name := range fetched {
		g.Go(func() error {
			res := &results[i]
			res.problem, res.fix, res.fragment = r.page(gctx, name)
			return nil
		})
	}
	g.Wait()
	for i, res := range results {
		if res.problem != "" {
			p.add("%s", res.problem)
			fixes[res.fix] = true
		}
		if res.fragment {
			fragments.add("%s", fetched[i])
		}
	}
	what := fmt.Sprintf("%s load %s", plural(len(fetched)-len(fragments.list), "page", "pages"), installPath)
	if r.web != nil {
		what += fmt.Sprintf(" (fetched %d of %d pages)", len(fetched), len(pages))
	}
	if len(fragments.list) > 0 {
		what += fmt.Sprintf("; %s without it left alone (inject = \"always\" adds it): %s",
			plural(len(fragments.list), "HTML fragment", "HTML fragments"), fragments.String())
	}
	if !p.empty() {
		var fix []string
		for _, f := range []string{fixTag, fixLiveReload, fixRepack, fixDeploy} {
			if fixes[f] {
				fix = append(fix, f)
			}
		}
		return fail(CheckPages, strings.Join(fix, "; "), "%s: %s", what, p.String())
	}
	return pass(CheckPages, "%s", what)
}

// pages returns the manifest's HTML pages: the home page first, then in path order.
func (r *run) pages() []string {
	var pages []string
	for name, e := range r.m.Files {
		if strings.HasPrefix(e.Type, "text/html") {
			pages = append(pages, name)
		}
	}
	sort.Slice(pages, func(i, j int) bool {
		if (pages[i] == "index.html") != (pages[j] == "index.html") {
			return pages[i] == "index.html"
		}
		return pages[i] < pages[j]
	})
	return pages
}

// pageURL is the address links use for a page, relative to the base: posts/x/ for posts/x/index.html.
func pageURL(name string) string {
	if name == "index.html" || strings.HasSuffix(name, "/index.html") {
		return strings.TrimSuffix(name, "index.html")
	}
	return name
}

// page checks one page and returns what is wrong and its fix, or whether it is a fragment without the tag.
func (r *run) page(ctx context.Context, name string) (problem, fix string, fragment bool) {
	rel := name
	if r.web != nil {
		rel = pageURL(name)
	}
	b, err := readAll(ctx, r.src, rel, 32<<20)
	if err != nil {
		return err.Error(), fixDeploy, false
	}
	if r.web == nil {
		if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != r.m.Files[name].SHA256 {
			return name + " changed since it was packaged", fixRepack, false
		}
	}
	_, res := inject.Page(b, r.m.Base, inject.Never)
	switch {
	case res.LiveReload:
		return name + " loads livereload.js (output of `hugo server`)", fixLiveReload, false
	case res.Found > 0:
		return "", "", false
	case res.Fragment:
		return "", "", true
	}
	return name + " does not load " + installPath, fixTag, false
}
