// Command tlsoverlay generates a go build -overlay that adds RFC 7250 raw
// public keys (TLS 1.3, Ed25519, as iroh uses them) to the installed Go
// toolchain's crypto/tls, without copying or forking the package.
//
// It reads $(go env GOROOT)/src/crypto/tls, applies the anchored edits of
// edits.go, adds the files of _files/, and writes the results plus
// overlay.json into -out. Use the overlay with an absolute path:
//
//	GOFLAGS=-overlay=/abs/out/overlay.json go test ./...
//
// It must itself be run without the overlay (GOFLAGS= go run ./tlsoverlay).
package main

import (
	"embed"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

// addedFiles are new files of package crypto/tls. They live in a directory
// whose name starts with "_" so that the go tool never builds them here.
//
//go:embed _files/*.go
var addedFiles embed.FS

// testedGoVersions are the releases the patch was verified on (go test
// crypto/tls and the project's tests under the overlay).
var testedGoVersions = []string{"go1.26.8"}

func main() {
	out := flag.String("out", "", "directory to write the patched files and overlay.json into (created if missing)")
	flag.Parse()
	if *out == "" || flag.NArg() != 0 {
		fmt.Fprintln(os.Stderr, "usage: tlsoverlay -out DIR")
		os.Exit(2)
	}
	if err := run(*out); err != nil {
		fmt.Fprintln(os.Stderr, "tlsoverlay:", err)
		os.Exit(1)
	}
}

func run(out string) error {
	outDir, err := filepath.Abs(out)
	if err != nil {
		return err
	}
	goroot, err := goEnv("GOROOT")
	if err != nil {
		return err
	}
	version, err := goEnv("GOVERSION")
	if err != nil {
		return err
	}
	if !slices.Contains(testedGoVersions, version) {
		fmt.Fprintf(os.Stderr, "tlsoverlay: warning: the crypto/tls patch was tested with %s, this toolchain is %s; "+
			"anchors are still checked, run 'make test-tls-std' to check the result\n",
			strings.Join(testedGoVersions, ", "), version)
	}
	added, err := readAdded()
	if err != nil {
		return err
	}
	src := Source{Dir: filepath.Join(goroot, "src", "crypto", "tls"), GoVersion: version}
	files, err := Patch(src, rpkEdits, added)
	if err != nil {
		return err
	}
	w, err := WriteOverlay(src.Dir, outDir, files)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "tlsoverlay: %s: %d edits, %d files (%d rewritten) in %s\n",
		version, len(rpkEdits), w.Files, w.Rewritten, outDir)
	fmt.Printf("GOFLAGS=-overlay=%s\n", w.OverlayPath)
	return nil
}

func readAdded() (map[string][]byte, error) {
	added := make(map[string][]byte)
	err := fs.WalkDir(addedFiles, "_files", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := addedFiles.ReadFile(path)
		added[filepath.Base(path)] = b
		return err
	})
	return added, err
}

// goEnv asks the go command on PATH, the one that will build with the
// overlay, so a GOTOOLCHAIN switch is followed too. GOFLAGS is cleared: it
// may name the overlay this run is about to create.
func goEnv(key string) (string, error) {
	cmd := exec.Command("go", "env", key)
	cmd.Env = append(os.Environ(), "GOFLAGS=")
	cmd.Stderr = os.Stderr
	b, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go env %s: %w", key, err)
	}
	v := strings.TrimSpace(string(b))
	if v == "" {
		return "", fmt.Errorf("go env %s is empty", key)
	}
	return v, nil
}
