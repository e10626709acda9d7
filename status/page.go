package status

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"strconv"

	"github.com/planktos/planktos/internal/units"
)

//go:embed page.html
var pageHTML string

//go:embed chart.js
var chartJS []byte

var pageTmpl = template.Must(template.New("status").Parse(pageHTML))

// pageData is what page.html renders: the snapshot, flattened for Fig, and the token to pass on.
type pageData struct {
	Snapshot
	Token         string
	flat          map[string]any
	windowSeconds float64
}

// page renders the dashboard with the figures of now; chart.js keeps them current.
func (d *Dashboard) page(w http.ResponseWriter, r *http.Request) {
	s := d.Snapshot(false)
	b, _ := json.Marshal(s)
	var tree any
	json.Unmarshal(b, &tree)
	p := pageData{Snapshot: s, Token: r.URL.Query().Get("token"), flat: map[string]any{},
		windowSeconds: d.opt.Window.Seconds()}
	flatten("", tree, p.flat)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; style-src 'unsafe-inline'; img-src 'self' data:")
	if err := pageTmpl.Execute(w, p); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
}

// flatten maps every number under v to its dotted JSON path.
func flatten(prefix string, v any, out map[string]any) {
	m, ok := v.(map[string]any)
	if !ok {
		out[prefix] = v
		return
	}
	for k, c := range m {
		if prefix != "" {
			k = prefix + "." + k
		}
		flatten(k, c, out)
	}
}

// Fig is the element showing the figure at path, formatted as "bytes", "percent" or "count", with
// the data-field and data-value that chart.js updates and tests read.
func (p pageData) Fig(path, format string) template.HTML {
	v, _ := p.flat[path].(float64)
	id := ""
	if path == "p2p.share" {
		id = ` id="p2p-share"`
	}
	return template.HTML(fmt.Sprintf(`<span%s data-field="%s" data-format="%s" data-value="%s">%s</span>`,
		id, template.HTMLEscapeString(path), format, strconv.FormatFloat(v, 'f', -1, 64),
		template.HTMLEscapeString(human(v, format))))
}

// human formats v as chart.js's human does.
func human(v float64, format string) string {
	switch format {
	case "bytes":
		return units.Bytes(int64(v)).String()
	case "percent":
		return strconv.FormatFloat(v*100, 'f', 1, 64) + " %"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// WindowMinutes is the chart's span in minutes.
func (p pageData) WindowMinutes() float64 { return p.windowSeconds / 60 }
