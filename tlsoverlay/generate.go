package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Op says where an edit's Text goes relative to its Anchor.
type Op int

const (
	InsertBefore Op = iota
	InsertAfter
	Replace
)

func (o Op) String() string {
	switch o {
	case InsertBefore:
		return "insert before"
	case InsertAfter:
		return "insert after"
	case Replace:
		return "replace"
	}
	return fmt.Sprintf("Op(%d)", int(o))
}

// Edit is one anchored change to one file of the package.
type Edit struct {
	File   string // file name inside the package directory
	Why    string // one line, shown in errors
	Anchor string // literal text that must occur exactly once
	Op     Op
	Text   string
}

// AnchorError reports an anchor that does not occur exactly once: the patch
// no longer fits this Go release and must be re-anchored by hand.
type AnchorError struct {
	GoVersion string
	File      string
	Anchor    string
	Why       string
	Matches   int
}

func (e *AnchorError) Error() string {
	return fmt.Sprintf("%s: %s: anchor %q (edit: %s) matched %d times, want exactly 1; the crypto/tls patch needs updating for this Go version",
		e.GoVersion, e.File, e.Anchor, e.Why, e.Matches)
}

// Source is the package to patch and the Go release it comes from.
type Source struct {
	Dir       string // e.g. $GOROOT/src/crypto/tls
	GoVersion string // e.g. go1.26.8, for messages
}

// Patch applies edits to the files of src and returns the new contents of
// every file it touched, plus the added files. It reads only; nothing is
// written.
func Patch(src Source, edits []Edit, added map[string][]byte) (map[string][]byte, error) {
	out := make(map[string][]byte)
	for _, e := range edits {
		content, ok := out[e.File]
		if !ok {
			b, err := os.ReadFile(filepath.Join(src.Dir, e.File))
			if err != nil {
				return nil, fmt.Errorf("%s: reading %s: %w", src.GoVersion, e.File, err)
			}
			content = b
		}
		if e.Anchor == "" {
			return nil, fmt.Errorf("%s: edit %q has an empty anchor", e.File, e.Why)
		}
		if n := bytes.Count(content, []byte(e.Anchor)); n != 1 {
			return nil, &AnchorError{GoVersion: src.GoVersion, File: e.File, Anchor: e.Anchor, Why: e.Why, Matches: n}
		}
		var repl string
		switch e.Op {
		case InsertBefore:
			repl = e.Text + e.Anchor
		case InsertAfter:
			repl = e.Anchor + e.Text
		case Replace:
			repl = e.Text
		default:
			return nil, fmt.Errorf("%s: edit %q: unknown op %v", e.File, e.Why, e.Op)
		}
		out[e.File] = bytes.Replace(content, []byte(e.Anchor), []byte(repl), 1)
	}
	for name, b := range added {
		if _, err := os.Stat(filepath.Join(src.Dir, name)); err == nil {
			return nil, fmt.Errorf("%s: added file %s already exists in %s; rename it", src.GoVersion, name, src.Dir)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		if _, dup := out[name]; dup {
			return nil, fmt.Errorf("added file %s is also an edited file", name)
		}
		out[name] = b
	}
	return out, nil
}

// Overlay is the file format of go build -overlay.
type Overlay struct {
	Replace map[string]string
}

// Written reports what WriteOverlay did.
type Written struct {
	OverlayPath string
	Files       int // files in the overlay
	Rewritten   int // files whose content changed on disk (including overlay.json)
}

// filesDir is where WriteOverlay puts the files, inside its output
// directory. The leading "_" keeps the go tool from taking them for a package
// of the module when the output directory is inside one ("./..." skips it).
const filesDir = "_src"

// WriteOverlay writes files into outDir/_src and an overlay.json into outDir
// that maps srcDir/<name> to them. A file is only rewritten when its content
// changed, so its modification time stays put and the build cache stays
// warm. Files left in outDir/_src by an earlier run are removed.
func WriteOverlay(srcDir, outDir string, files map[string][]byte) (Written, error) {
	if !filepath.IsAbs(srcDir) || !filepath.IsAbs(outDir) {
		return Written{}, fmt.Errorf("overlay paths must be absolute (go runs in each package's directory): %q, %q", srcDir, outDir)
	}
	dir := filepath.Join(outDir, filesDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Written{}, err
	}
	old, err := os.ReadDir(dir)
	if err != nil {
		return Written{}, err
	}
	for _, e := range old {
		// Dot files are the temporary files of a concurrent run: leave them.
		if _, keep := files[e.Name()]; !keep && e.Type().IsRegular() && !strings.HasPrefix(e.Name(), ".") {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
				return Written{}, err
			}
		}
	}
	var w Written
	ov := Overlay{Replace: make(map[string]string)}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		dst := filepath.Join(dir, name)
		changed, err := writeIfChanged(dst, files[name])
		if err != nil {
			return Written{}, err
		}
		if changed {
			w.Rewritten++
		}
		ov.Replace[filepath.Join(srcDir, name)] = dst
	}
	j, err := json.MarshalIndent(ov, "", "  ")
	if err != nil {
		return Written{}, err
	}
	w.OverlayPath = filepath.Join(outDir, "overlay.json")
	changed, err := writeIfChanged(w.OverlayPath, append(j, '\n'))
	if err != nil {
		return Written{}, err
	}
	if changed {
		w.Rewritten++
	}
	w.Files = len(files)
	return w, nil
}

// writeIfChanged writes b to path through a temporary file and a rename,
// unless path already holds exactly b.
func writeIfChanged(path string, b []byte) (bool, error) {
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, b) {
		return false, nil
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return false, err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return false, err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return false, err
	}
	if err := tmp.Close(); err != nil {
		return false, err
	}
	return true, os.Rename(tmp.Name(), path)
}
