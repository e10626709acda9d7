// Command amplification reports the read amplification of a planktos package: for every file, the
// bytes a peer must fetch to obtain it (the pieces it touches) ÷ its size, by size class.
//
//	go run ./bench/amplification public/
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/anacrolix/torrent/metainfo"
	"github.com/planktos/planktos/manifest"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: amplification PUBLISH_DIR")
		os.Exit(2)
	}
	if err := run(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "amplification:", err)
		os.Exit(1)
	}
}

// class accumulates the files of one size class.
type class struct {
	name                  string
	files                 int
	size, fetched         int64
	worst                 float64
	extraPieces, overhead int64 // worst: pieces touched beyond ceil(size/pl); bytes fetched beyond size
}

func run(dir string) error {
	b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(manifest.Path)))
	if err != nil {
		return err
	}
	var m manifest.Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	classes := []*class{{name: "< 64 KiB"}, {name: "64 KiB – 1 MiB"}, {name: "≥ 1 MiB"}}
	for _, ref := range m.Torrents {
		mi, err := metainfo.LoadFromFile(filepath.Join(dir, filepath.FromSlash(ref.URL)))
		if err != nil {
			return err
		}
		info, err := mi.UnmarshalInfo()
		if err != nil {
			return err
		}
		pl, total := info.PieceLength, info.TotalLength()
		var off int64
		for _, f := range info.Files {
			first, last := off/pl, (off+f.Length-1)/pl
			fetched := min((last+1)*pl, total) - first*pl
			c := classes[0]
			if f.Length >= 1<<20 {
				c = classes[2]
			} else if f.Length >= 64<<10 {
				c = classes[1]
			}
			c.files++
			c.size += f.Length
			c.fetched += fetched
			c.worst = max(c.worst, float64(fetched)/float64(f.Length))
			c.extraPieces = max(c.extraPieces, last-first+1-(f.Length+pl-1)/pl)
			c.overhead = max(c.overhead, fetched-f.Length)
			off += f.Length
		}
	}
	fmt.Printf("%d torrents, %d manifest entries, manifest %d bytes (%.0f bytes per file)\n\n",
		len(m.Torrents), len(m.Files), len(b), float64(len(b))/float64(len(m.Files)))
	fmt.Println("| files | count | bytes | amplification (all) | worst file | worst extra pieces | worst extra bytes |")
	fmt.Println("|---|---:|---:|---:|---:|---:|---:|")
	for _, c := range classes {
		if c.files == 0 {
			continue
		}
		fmt.Printf("| %s | %d | %d | %.3f | %.3f | %d | %d |\n", c.name, c.files, c.size,
			float64(c.fetched)/float64(c.size), c.worst, c.extraPieces, c.overhead)
	}
	return nil
}
