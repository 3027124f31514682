// Command render writes a run's junit.xml, summary.md and index.html again from its
// results.json, e.g. after the templates changed or a Ginkgo report was added to the folder.
//
//	go run ./reports/cmd/render reports/latest
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/irohconf/irohconf/reports"
)

func main() {
	if len(os.Args) < 2 || os.Args[1] == "-h" || os.Args[1] == "--help" {
		fmt.Fprintln(os.Stderr, "usage: render RUN_DIR...   (a folder holding results.json, e.g. reports/latest)")
		os.Exit(2)
	}
	failed := false
	for _, dir := range os.Args[1:] {
		if err := reports.Render(dir); err != nil {
			fmt.Fprintf(os.Stderr, "render %s: %v\n", dir, err)
			failed = true
			continue
		}
		fmt.Println(filepath.Join(dir, reports.IndexFile))
	}
	if failed {
		os.Exit(1)
	}
}
