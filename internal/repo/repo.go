// Package repo finds the irohconf checkout, where built programs (build/bin), fixtures and
// reports live, for code that runs from anywhere inside it: tests in package folders, Ginkgo
// suites, the irohconf binary.
package repo

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// EnvRoot overrides the search: the checkout to use.
const EnvRoot = "IROHCONF_ROOT"

const module = "github.com/irohconf/irohconf"

// Root is $IROHCONF_ROOT, else the nearest folder at or above the working directory whose go.mod
// is this module's, else the checkout this package was compiled from.
func Root() (string, error) {
	if r := os.Getenv(EnvRoot); r != "" {
		if !isRoot(r) {
			return "", fmt.Errorf("%s=%s is not an irohconf checkout (no go.mod of %s)", EnvRoot, r, module)
		}
		return r, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if isRoot(dir) {
			return dir, nil
		}
		if filepath.Dir(dir) == dir {
			break
		}
	}
	if _, file, _, ok := runtime.Caller(0); ok {
		if dir := filepath.Dir(filepath.Dir(filepath.Dir(file))); isRoot(dir) {
			return dir, nil
		}
	}
	return "", fmt.Errorf("no irohconf checkout (a go.mod of %s) at or above %s; set %s", module, wd, EnvRoot)
}

// Path joins rel to the root.
func Path(rel ...string) (string, error) {
	root, err := Root()
	if err != nil {
		return "", err
	}
	return filepath.Join(append([]string{root}, rel...)...), nil
}

// isRoot tells whether dir holds this module's go.mod.
func isRoot(dir string) bool {
	f, err := os.Open(filepath.Join(dir, "go.mod"))
	if err != nil {
		return false
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if line := strings.TrimSpace(s.Text()); strings.HasPrefix(line, "module ") {
			return strings.TrimSpace(strings.TrimPrefix(line, "module")) == module
		}
	}
	return false
}
