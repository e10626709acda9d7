// Command gensite writes the deterministic benchmark site (see bench/sitegen):
//
//	go run ./bench/gensite -out /tmp/planktos-bench/site          # ~1 GB: 10,000 pages + 20 × 40 MiB
//	go run ./bench/gensite -out /tmp/small -small                 # 1,000 pages + 4 × 8 MiB
//
// The same flags always give byte-identical files (and the same mtimes).
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/planktos/planktos/bench/sitegen"
)

func main() {
	def := sitegen.Default()
	out := flag.String("out", "", "folder to write the site into (required; must be empty or missing unless -force)")
	small := flag.Bool("small", false, "use the small preset of `go test -bench Pack ./packager` (other flags still override)")
	seed := flag.Uint64("seed", def.Seed, "PRNG seed")
	pages := flag.Int("pages", def.Pages, "HTML pages")
	untagged := flag.Int("untagged", def.Untagged, "pages without the install tag")
	images := flag.Int("images", def.Images, "small image files")
	assets := flag.Int("assets", def.Assets, "CSS and JS files")
	media := flag.Int("media", def.Media, "large media files")
	mediaMiB := flag.Int64("media-mib", def.MediaSize>>20, "MiB per media file")
	list := flag.String("list", "", "write the paths of the pages without the install tag to this file")
	force := flag.Bool("force", false, "write into a non-empty folder")
	flag.Parse()
	if *out == "" {
		fmt.Fprintln(os.Stderr, "gensite: -out DIR is required")
		os.Exit(2)
	}
	o := def
	if *small {
		o = sitegen.Small()
	}
	set := map[string]bool{}
	flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if set["seed"] || !*small {
		o.Seed = *seed
	}
	apply := func(name string, dst *int, v int) {
		if set[name] || !*small {
			*dst = v
		}
	}
	apply("pages", &o.Pages, *pages)
	apply("untagged", &o.Untagged, *untagged)
	apply("images", &o.Images, *images)
	apply("assets", &o.Assets, *assets)
	apply("media", &o.Media, *media)
	if set["media-mib"] || !*small {
		o.MediaSize = *mediaMiB << 20
	}
	if names, err := os.ReadDir(*out); err == nil && len(names) > 0 && !*force {
		fmt.Fprintf(os.Stderr, "gensite: %s is not empty; remove it or pass -force\n", *out)
		os.Exit(1)
	}
	start := time.Now()
	st, err := sitegen.Generate(*out, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gensite:", err)
		os.Exit(1)
	}
	if *list != "" {
		if err := os.WriteFile(*list, []byte(strings.Join(st.Untagged, "\n")+"\n"), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "gensite:", err)
			os.Exit(1)
		}
	}
	fmt.Printf("gensite: %d files (%d pages, %d without the install tag, %d media × %d MiB), %d bytes (%.2f GiB) in %s, seed %d\n",
		st.Files, st.Pages, len(st.Untagged), o.Media, o.MediaSize>>20, st.Bytes, float64(st.Bytes)/(1<<30),
		time.Since(start).Round(time.Millisecond), o.Seed)
}
