package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"go/format"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writeSource(t *testing.T, files map[string]string) Source {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return Source{Dir: dir, GoVersion: "go1.99.0"}
}

func TestPatchOps(t *testing.T) {
	src := writeSource(t, map[string]string{"a.go": "one\ntwo\nthree\n", "b.go": "x\n"})
	files, err := Patch(src, []Edit{
		{File: "a.go", Op: InsertBefore, Anchor: "two\n", Text: "1.5\n"},
		{File: "a.go", Op: InsertAfter, Anchor: "two\n", Text: "2.5\n"},
		{File: "a.go", Op: Replace, Anchor: "three\n", Text: "3\n"},
		// Edits to one file apply in order: this anchor exists only after the first edit.
		{File: "a.go", Op: Replace, Anchor: "1.5\n", Text: "one and a half\n"},
	}, map[string][]byte{"new.go": []byte("package p\n")})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(files["a.go"]), "one\none and a half\ntwo\n2.5\n3\n"; got != want {
		t.Errorf("a.go = %q, want %q", got, want)
	}
	if _, ok := files["b.go"]; ok {
		t.Error("b.go was not edited but is in the overlay")
	}
	if string(files["new.go"]) != "package p\n" {
		t.Errorf("new.go = %q", files["new.go"])
	}
	if b, _ := os.ReadFile(filepath.Join(src.Dir, "a.go")); string(b) != "one\ntwo\nthree\n" {
		t.Errorf("Patch modified its source: %q", b)
	}
}

func TestPatchAnchorErrors(t *testing.T) {
	src := writeSource(t, map[string]string{"a.go": "same\nsame\nonce\n"})
	for _, tc := range []struct {
		name    string
		anchor  string
		matches int
	}{
		{"missing", "nowhere\n", 0},
		{"matched twice", "same\n", 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Patch(src, []Edit{
				{File: "a.go", Op: Replace, Anchor: "once\n", Text: "fine\n", Why: "first"},
				{File: "a.go", Op: InsertAfter, Anchor: tc.anchor, Text: "x", Why: "the edit under test"},
			}, nil)
			var ae *AnchorError
			if !errors.As(err, &ae) {
				t.Fatalf("err = %v, want an AnchorError", err)
			}
			if ae.File != "a.go" || ae.Anchor != tc.anchor || ae.Matches != tc.matches || ae.GoVersion != "go1.99.0" {
				t.Errorf("AnchorError = %+v, want file a.go, anchor %q, %d matches, go1.99.0", ae, tc.anchor, tc.matches)
			}
			for _, want := range []string{"go1.99.0", "a.go", "the edit under test", "matched", "want exactly 1"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("message %q does not say %q", err, want)
				}
			}
		})
	}
}

func TestPatchBadEdits(t *testing.T) {
	src := writeSource(t, map[string]string{"a.go": "x\n"})
	if _, err := Patch(src, []Edit{{File: "a.go", Anchor: "", Op: Replace, Why: "blank"}}, nil); err == nil || !strings.Contains(err.Error(), "empty anchor") {
		t.Errorf("empty anchor: err = %v", err)
	}
	if _, err := Patch(src, []Edit{{File: "a.go", Anchor: "x", Op: Op(7)}}, nil); err == nil || !strings.Contains(err.Error(), "unknown op") {
		t.Errorf("unknown op: err = %v", err)
	}
	if _, err := Patch(src, []Edit{{File: "gone.go", Anchor: "x", Op: Replace}}, nil); err == nil ||
		!strings.Contains(err.Error(), "gone.go") || !strings.Contains(err.Error(), "go1.99.0") {
		t.Errorf("missing file: err = %v", err)
	}
	if _, err := Patch(src, nil, map[string][]byte{"a.go": []byte("y")}); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("added file that exists upstream: err = %v", err)
	}
}

func TestWriteOverlayIdempotent(t *testing.T) {
	src := writeSource(t, map[string]string{"a.go": "x\n"})
	out := filepath.Join(t.TempDir(), "overlay")
	files := map[string][]byte{"a.go": []byte("patched\n"), "added.go": []byte("new\n")}

	w, err := WriteOverlay(src.Dir, out, files)
	if err != nil {
		t.Fatal(err)
	}
	if w.Files != 2 || w.Rewritten != 3 {
		t.Fatalf("first run: %+v, want 2 files, 3 written (with overlay.json)", w)
	}
	var ov Overlay
	b, err := os.ReadFile(w.OverlayPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &ov); err != nil {
		t.Fatal(err)
	}
	for name, content := range files {
		dst, ok := ov.Replace[filepath.Join(src.Dir, name)]
		if !ok || !filepath.IsAbs(dst) {
			t.Fatalf("overlay.json %s: %q", name, dst)
		}
		if got, _ := os.ReadFile(dst); string(got) != string(content) {
			t.Errorf("%s = %q, want %q", dst, got, content)
		}
	}

	// A second run with the same content touches nothing: the go build
	// cache keys on content, but tools watching mtimes should see no change.
	past := time.Now().Add(-time.Hour).Truncate(time.Second)
	written := []string{filepath.Join(filesDir, "a.go"), filepath.Join(filesDir, "added.go"), "overlay.json"}
	for _, name := range written {
		if err := os.Chtimes(filepath.Join(out, name), past, past); err != nil {
			t.Fatal(err)
		}
	}
	w, err = WriteOverlay(src.Dir, out, files)
	if err != nil {
		t.Fatal(err)
	}
	if w.Rewritten != 0 {
		t.Errorf("second run rewrote %d files", w.Rewritten)
	}
	for _, name := range written {
		fi, err := os.Stat(filepath.Join(out, name))
		if err != nil {
			t.Fatal(err)
		}
		if !fi.ModTime().Equal(past) {
			t.Errorf("%s was rewritten (mtime %v)", name, fi.ModTime())
		}
	}

	// A changed file is rewritten, alone.
	files["a.go"] = []byte("patched again\n")
	if w, err = WriteOverlay(src.Dir, out, files); err != nil || w.Rewritten != 1 {
		t.Errorf("after one change: %+v, %v; want 1 rewritten", w, err)
	}

	// A file the patch no longer produces is removed, and leaves overlay.json.
	delete(files, "added.go")
	if _, err = WriteOverlay(src.Dir, out, files); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(out, filesDir, "added.go")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stale added.go: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(out, "overlay.json")); strings.Contains(string(b), "added.go") {
		t.Errorf("overlay.json still names added.go: %s", b)
	}
}

// TestOutputIsNoPackage checks that the generated files do not form a Go
// package in the output directory: "go vet ./..." from a module containing
// it must not try to build them.
func TestOutputIsNoPackage(t *testing.T) {
	src := writeSource(t, map[string]string{"a.go": "x\n"})
	out := t.TempDir()
	if _, err := WriteOverlay(src.Dir, out, map[string][]byte{"a.go": []byte("package tls\n")}); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".go") || e.IsDir() && !strings.HasPrefix(e.Name(), "_") {
			t.Errorf("%s in the output directory would be seen by ./...", e.Name())
		}
	}
}

func TestWriteOverlayNeedsAbsolutePaths(t *testing.T) {
	if _, err := WriteOverlay("relative/src", t.TempDir(), nil); err == nil || !strings.Contains(err.Error(), "absolute") {
		t.Errorf("err = %v", err)
	}
}

// TestPatchInstalledGo applies the real patch to this machine's crypto/tls:
// every anchor must match exactly once on the Go this project builds with.
func TestPatchInstalledGo(t *testing.T) {
	goroot, err := goEnv("GOROOT")
	if err != nil {
		t.Fatal(err)
	}
	version, err := goEnv("GOVERSION")
	if err != nil {
		t.Fatal(err)
	}
	added, err := readAdded()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := added["rawpublickeys.go"]; !ok {
		t.Fatalf("embedded files: %v", added)
	}
	src := Source{Dir: filepath.Join(goroot, "src", "crypto", "tls"), GoVersion: version}
	files, err := Patch(src, rpkEdits, added)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(files["common.go"]), "\tRawPublicKeys bool\n") {
		t.Error("common.go lacks the RawPublicKeys field")
	}
	// The patched and added files read like the rest of Go: gofmt-clean.
	for name, b := range files {
		if formatted, err := format.Source(b); err != nil {
			t.Errorf("%s does not parse: %v", name, err)
		} else if !bytes.Equal(formatted, b) {
			t.Errorf("%s is not gofmt-clean after patching; check the alignment of inserted lines", name)
		}
	}
	// Applying the patch to its own output must fail: inserted text never
	// re-creates an anchor, so a double application cannot go unnoticed.
	patched := t.TempDir()
	for name, b := range files {
		if _, isAdded := added[name]; isAdded {
			continue
		}
		if err := os.WriteFile(filepath.Join(patched, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var ae *AnchorError
	if _, err := Patch(Source{Dir: patched, GoVersion: version}, rpkEdits, nil); !errors.As(err, &ae) {
		t.Errorf("patching patched files: err = %v, want an AnchorError", err)
	}
}
