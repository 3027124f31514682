package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// An overlay replaces files of one Go release's crypto/tls with patched
// copies of them. Used with another release (or after the GOROOT files
// changed in place), it would put old copies in place of new files, losing
// whatever changed, security fixes included. So the generator records what it
// was made from, refuses to overwrite an overlay made from another toolchain
// unless asked to, checks an overlay on request (-check), and adds to
// crypto/tls an init that refuses to run in a binary built by another release.

// manifestName is the record of what an overlay was generated from.
const manifestName = "manifest.json"

// Manifest is what an overlay was generated from and what it wrote.
type Manifest struct {
	GoVersion string `json:"go_version"`
	SourceDir string `json:"source_dir"` // $GOROOT/src/crypto/tls
	// Replaced holds the SHA-256 of every GOROOT file the overlay replaces, as it was read.
	Replaced map[string]string `json:"replaced"`
	// Written holds the SHA-256 of every file in the overlay.
	Written map[string]string `json:"written"`
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// NewManifest records src and the overlay's files; the files that exist in
// src are the replaced ones.
func NewManifest(src Source, files map[string][]byte) (Manifest, error) {
	m := Manifest{GoVersion: src.GoVersion, SourceDir: src.Dir, Replaced: map[string]string{}, Written: map[string]string{}}
	for name, b := range files {
		m.Written[name] = sha256Hex(b)
		orig, err := os.ReadFile(filepath.Join(src.Dir, name))
		switch {
		case err == nil:
			m.Replaced[name] = sha256Hex(orig)
		case !errors.Is(err, fs.ErrNotExist):
			return Manifest{}, err
		}
	}
	return m, nil
}

// ErrNoManifest means the directory holds no overlay made by this generator.
var ErrNoManifest = errors.New("no " + manifestName)

// ReadManifest reads outDir's manifest; ErrNoManifest if there is none.
func ReadManifest(outDir string) (Manifest, error) {
	b, err := os.ReadFile(filepath.Join(outDir, manifestName))
	if errors.Is(err, fs.ErrNotExist) {
		return Manifest{}, fmt.Errorf("%s: %w", outDir, ErrNoManifest)
	}
	if err != nil {
		return Manifest{}, err
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return Manifest{}, fmt.Errorf("%s: %w", filepath.Join(outDir, manifestName), err)
	}
	return m, nil
}

// StaleError lists why an overlay no longer fits the toolchain, or was
// changed after it was written.
type StaleError struct {
	Dir      string
	Problems []string
}

func (e *StaleError) Error() string {
	return fmt.Sprintf("the crypto/tls overlay in %s does not fit this toolchain:\n  %s", e.Dir, strings.Join(e.Problems, "\n  "))
}

// CheckToolchain compares the manifest with src: the same Go release, the
// same GOROOT, and every replaced file unchanged.
func (m Manifest) CheckToolchain(outDir string, src Source) error {
	var problems []string
	if m.GoVersion != src.GoVersion {
		problems = append(problems, fmt.Sprintf("it was generated for %s, the go command is %s", m.GoVersion, src.GoVersion))
	}
	if m.SourceDir != src.Dir {
		problems = append(problems, fmt.Sprintf("it was generated from %s, crypto/tls is now %s", m.SourceDir, src.Dir))
	}
	for _, name := range sortedKeys(m.Replaced) {
		path := filepath.Join(m.SourceDir, name)
		b, err := os.ReadFile(path)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s, which it replaces, cannot be read: %v", path, err))
			continue
		}
		if got := sha256Hex(b); got != m.Replaced[name] {
			problems = append(problems, fmt.Sprintf("%s changed since the overlay was made (sha256 %.12s then, %.12s now): the overlay would put a patched copy of the old file in its place", path, m.Replaced[name], got))
		}
	}
	if len(problems) > 0 {
		return &StaleError{Dir: outDir, Problems: problems}
	}
	return nil
}

// CheckWritten compares the overlay's files with what was written.
func (m Manifest) CheckWritten(outDir string) error {
	var problems []string
	for _, name := range sortedKeys(m.Written) {
		path := filepath.Join(outDir, filesDir, name)
		b, err := os.ReadFile(path)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", path, err))
		} else if got := sha256Hex(b); got != m.Written[name] {
			problems = append(problems, fmt.Sprintf("%s was changed after it was generated", path))
		}
	}
	if len(problems) > 0 {
		return &StaleError{Dir: outDir, Problems: problems}
	}
	return nil
}

// Check is the whole check of an overlay before use: its manifest, the
// toolchain it was made from, and its files.
func Check(outDir string, src Source) error {
	m, err := ReadManifest(outDir)
	if err != nil {
		return err
	}
	if err := m.CheckToolchain(outDir, src); err != nil {
		return err
	}
	return m.CheckWritten(outDir)
}

// WriteManifest writes m into outDir (only when it changed).
func WriteManifest(outDir string, m Manifest) (bool, error) {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return false, err
	}
	return writeIfChanged(filepath.Join(outDir, manifestName), append(b, '\n'))
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// toolchainFileName is the file of crypto/tls that holds the release check.
const toolchainFileName = "irohconf_toolchain.go"

// ToolchainFile is the source of toolchainFileName for goVersion: an init
// that panics when the binary was built by another Go release
// (runtime.Version, without its " X:experiments" suffix).
func ToolchainFile(goVersion string) []byte {
	return fmt.Appendf(nil, `// Code generated by tlsoverlay; DO NOT EDIT.

// Added to crypto/tls by the irohconf build overlay (tlsoverlay). The overlay
// replaces files of one Go release with patched copies of them; a binary built
// by another release would mix two versions of crypto/tls, so it stops here.

package tls

import (
	"errors"
	"runtime"
	"strings"
)

// overlayGoVersion is the Go release the overlay was generated from.
const overlayGoVersion = %q

func init() {
	if err := checkOverlayToolchain(runtime.Version()); err != nil {
		panic(err)
	}
}

// checkOverlayToolchain refuses a binary built by another release than
// overlayGoVersion (running is runtime.Version()).
func checkOverlayToolchain(running string) error {
	if release, _, _ := strings.Cut(running, " "); release != overlayGoVersion {
		return errors.New("crypto/tls: the irohconf RFC 7250 overlay was generated for " + overlayGoVersion +
			", but this binary was built by " + running + "; regenerate it: make overlay REGENERATE=1")
	}
	return nil
}
`, goVersion)
}
