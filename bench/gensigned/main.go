// Command gensigned writes bench/signgen's signed manifest of N files for the JavaScript side of the
// signature-cost benchmark (open.mjs, next to this file):
//
//	go run ./bench/gensigned -out /tmp/signed -files 10000
//	node bench/gensigned/open.mjs /tmp/signed            # in Node
//	go run ./bench/gensigned/chromium -dir /tmp/signed   # in headless Chromium
//
// It writes manifest.json, manifest.sig (as a package has them), envelope.bin (what peers exchange) and
// key.txt (the public key as planktos.sw.js pins it).
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/planktos/planktos/bench/signgen"
	"github.com/planktos/planktos/manifest"
)

func main() {
	out := flag.String("out", "", "folder to write into (required)")
	files := flag.Int("files", 10000, "files in the manifest")
	flag.Parse()
	if *out == "" || *files < 1 {
		fmt.Fprintln(os.Stderr, "gensigned: -out is required and -files must be at least 1")
		os.Exit(2)
	}
	if err := write(*out, *files); err != nil {
		fmt.Fprintln(os.Stderr, "gensigned:", err)
		os.Exit(1)
	}
}

func write(dir string, n int) error {
	s, err := signgen.Make(n)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for name, b := range map[string][]byte{
		"manifest.json": s.Manifest, "manifest.sig": s.SigFile, "envelope.bin": s.Envelope(),
		"key.txt": []byte(manifest.EncodeKey(s.Key) + "\n"),
	} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return fmt.Errorf("writing %s: %w", name, err)
		}
	}
	fmt.Printf("%s: %d files, manifest %d bytes, envelope %d bytes\n", dir, n, len(s.Manifest), len(s.Envelope()))
	return nil
}
