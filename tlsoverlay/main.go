// Command tlsoverlay generates a go build -overlay that adds RFC 7250 raw
// public keys (TLS 1.3, Ed25519, as iroh uses them) to the installed Go
// toolchain's crypto/tls, without copying or forking the package.
//
// It reads $(go env GOROOT)/src/crypto/tls, applies the anchored edits of
// edits.go, adds the files of _files/ and a release check (an init that
// refuses a binary built by another Go release), and writes the results,
// overlay.json and manifest.json (the release, and the SHA-256 of every file
// replaced and written) into -out. It refuses a Go release it was not tested
// with (-allow-untested, IROHCONF_OVERLAY_ALLOW_UNTESTED=1) and an existing
// overlay made from another toolchain (-regenerate); -check checks an overlay
// before use. Use the overlay with an absolute path:
//
//	GOFLAGS=-overlay=/abs/out/overlay.json go test ./...
//
// It must itself be run without the overlay (GOFLAGS= go run ./tlsoverlay).
package main

import (
	"embed"
	"errors"
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

// allowUntestedEnv, set to 1, lets the generator patch a Go release that is
// not in testedGoVersions (like -allow-untested).
const allowUntestedEnv = "IROHCONF_OVERLAY_ALLOW_UNTESTED"

func main() {
	out := flag.String("out", "", "directory to write the patched files, overlay.json and manifest.json into (created if missing)")
	check := flag.Bool("check", false, "only check the overlay in -out against this toolchain and its manifest; write nothing")
	regenerate := flag.Bool("regenerate", false, "replace an overlay generated from another toolchain (a changed Go release or GOROOT)")
	allowUntested := flag.Bool("allow-untested", false, "patch a Go release the patch was not tested with (also "+allowUntestedEnv+"=1)")
	flag.Parse()
	if *out == "" || flag.NArg() != 0 {
		fmt.Fprintln(os.Stderr, "usage: tlsoverlay -out DIR [-check | -regenerate] [-allow-untested]")
		os.Exit(2)
	}
	outDir, err := filepath.Abs(*out)
	if err == nil {
		var src Source
		if src, err = installedSource(); err == nil {
			if *check {
				if err = Check(outDir, src); err == nil {
					fmt.Fprintf(os.Stderr, "tlsoverlay: %s fits %s (%s)\n", outDir, src.GoVersion, src.Dir)
				}
			} else {
				err = Generate(src, outDir, Options{
					Regenerate:    *regenerate,
					AllowUntested: *allowUntested || os.Getenv(allowUntestedEnv) == "1",
				})
			}
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "tlsoverlay:", err)
		os.Exit(1)
	}
}

// installedSource is crypto/tls of the go command on PATH.
func installedSource() (Source, error) {
	goroot, err := goEnv("GOROOT")
	if err != nil {
		return Source{}, err
	}
	version, err := goEnv("GOVERSION")
	if err != nil {
		return Source{}, err
	}
	return Source{Dir: filepath.Join(goroot, "src", "crypto", "tls"), GoVersion: version}, nil
}

// Options are the generator's overrides; the zero value is the safe one.
type Options struct {
	// Regenerate replaces an overlay whose manifest names another toolchain.
	Regenerate bool
	// AllowUntested patches a release outside testedGoVersions.
	AllowUntested bool
}

// Generate patches src into outDir. It refuses a Go release outside
// testedGoVersions and an existing overlay made from another toolchain,
// unless opts say otherwise.
func Generate(src Source, outDir string, opts Options) error {
	if !slices.Contains(testedGoVersions, src.GoVersion) {
		if !opts.AllowUntested {
			return fmt.Errorf("the crypto/tls patch was tested with %s, this toolchain is %s; "+
				"to patch it anyway set %s=1 (or pass -allow-untested), then run 'make test-tls-std' and add the release to testedGoVersions in tlsoverlay/main.go",
				strings.Join(testedGoVersions, ", "), src.GoVersion, allowUntestedEnv)
		}
		fmt.Fprintf(os.Stderr, "tlsoverlay: %s=1: patching %s, which the patch was not tested with (tested: %s)\n",
			allowUntestedEnv, src.GoVersion, strings.Join(testedGoVersions, ", "))
	}
	if old, err := ReadManifest(outDir); err == nil {
		if err := old.CheckToolchain(outDir, src); err != nil && !opts.Regenerate {
			return fmt.Errorf("%w\nrefusing to replace it silently: check the new toolchain with 'make overlay REGENERATE=1' "+
				"(tlsoverlay -regenerate), then 'make test-tls-std'", err)
		}
	} else if !errors.Is(err, ErrNoManifest) {
		return err
	}
	added, err := readAdded()
	if err != nil {
		return err
	}
	added[toolchainFileName] = ToolchainFile(src.GoVersion)
	files, err := Patch(src, rpkEdits, added)
	if err != nil {
		return err
	}
	m, err := NewManifest(src, files)
	if err != nil {
		return err
	}
	w, err := WriteOverlay(src.Dir, outDir, files)
	if err != nil {
		return err
	}
	// The manifest last: an interrupted run leaves the old manifest, which no
	// longer matches the files, and -check says so.
	if changed, err := WriteManifest(outDir, m); err != nil {
		return err
	} else if changed {
		w.Rewritten++
	}
	fmt.Fprintf(os.Stderr, "tlsoverlay: %s: %d edits, %d files (%d rewritten) in %s\n",
		src.GoVersion, len(rpkEdits), w.Files, w.Rewritten, outDir)
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
