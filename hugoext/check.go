package hugoext

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// Warnings returns advice about a site whose output planktos can package, but probably not as intended.
func (s *Site) Warnings() []string {
	var w []string
	for _, r := range s.Roots {
		if u, _ := url.Parse(r.BaseURL); s.RelativeURLs && u != nil && u.Path != "/" {
			w = append(w, fmt.Sprintf("relativeURLs = true with a baseURL subpath (%s) makes Hugo write links that "+
				"break under the subpath; set relativeURLs = false", u.Path))
		}
		if loc := firstLoc(r.Dir); loc != "" && !strings.HasPrefix(loc, r.BaseURL) {
			w = append(w, fmt.Sprintf("%s/sitemap.xml links to %s, which is not under the baseURL %s: the site "+
				"was built for another address; rebuild with `hugo` (and the same --baseURL) so pages and "+
				"torrents agree", r.Dir, loc, r.BaseURL))
		}
	}
	return w
}

// firstLoc returns the first <loc> of a root's sitemap.xml: an absolute URL Hugo wrote under the baseURL it
// built with (a page, or a language's sitemap). It returns "" when there is none.
func firstLoc(dir string) string {
	f, err := os.Open(filepath.Join(dir, "sitemap.xml"))
	if err != nil {
		return ""
	}
	defer f.Close()
	d := xml.NewDecoder(io.LimitReader(f, 1<<20))
	for {
		tok, err := d.Token()
		if err != nil {
			return ""
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "loc" {
			var loc string
			if err := d.DecodeElement(&loc, &se); err != nil && !errors.Is(err, io.EOF) {
				return ""
			}
			return strings.TrimSpace(loc)
		}
	}
}
