// Command build builds the repository's testsite with the pinned Hugo (generating its video first).
//
//	go run ./internal/testsite/build DEST [hugo flags...]
package main

import (
	"fmt"
	"os"

	"github.com/planktos/planktos/internal/testsite"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: go run ./internal/testsite/build DEST [hugo flags...]")
		os.Exit(2)
	}
	if err := testsite.Build(os.Args[1], os.Args[2:]...); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}
