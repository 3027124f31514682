package main

import (
	"bytes"
	"errors"
	"go/format"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// fakeGOROOT copies the installed crypto/tls (its .go files) into a
// directory laid out like a GOROOT, so that a test can change it.
func fakeGOROOT(t *testing.T) Source {
	t.Helper()
	goroot, err := goEnv("GOROOT")
	if err != nil {
		t.Fatal(err)
	}
	from := filepath.Join(goroot, "src", "crypto", "tls")
	dir := filepath.Join(t.TempDir(), "src", "crypto", "tls")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	names, err := filepath.Glob(filepath.Join(from, "*.go"))
	if err != nil || len(names) == 0 {
		t.Fatalf("no Go files in %s: %v", from, err)
	}
	for _, name := range names {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(name)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return Source{Dir: dir, GoVersion: testedGoVersions[0]}
}

func wantStale(t *testing.T, err error, says ...string) {
	t.Helper()
	var se *StaleError
	if !errors.As(err, &se) {
		t.Fatalf("err = %v, want a StaleError", err)
	}
	for _, s := range says {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("message %q does not say %q", err, s)
		}
	}
}

// A GOROOT file the overlay replaces changes after generation (a Go update in
// place, a distribution's patch): the overlay no longer fits, -check says so,
// and the generator refuses to replace it unless told to regenerate.
func TestGenerateRefusesChangedGOROOT(t *testing.T) {
	src := fakeGOROOT(t)
	out := filepath.Join(t.TempDir(), "overlay")
	if err := Generate(src, out, Options{}); err != nil {
		t.Fatal(err)
	}
	if err := Check(out, src); err != nil {
		t.Fatalf("fresh overlay: %v", err)
	}
	m, err := ReadManifest(out)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := m.Replaced["handshake_server_tls13.go"]; !ok || m.GoVersion != src.GoVersion {
		t.Fatalf("manifest %+v lacks the replaced handshake_server_tls13.go or the release", m)
	}
	if _, ok := m.Replaced["rawpublickeys.go"]; ok {
		t.Error("manifest records an added file as replaced")
	}

	changed := filepath.Join(src.Dir, "handshake_server_tls13.go")
	f, err := os.OpenFile(changed, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("\n// a security fix\n"); err != nil {
		t.Fatal(err)
	}
	f.Close()

	wantStale(t, Check(out, src), changed, "changed since the overlay was made")
	err = Generate(src, out, Options{})
	wantStale(t, err, changed, "REGENERATE=1")
	if b, _ := os.ReadFile(filepath.Join(out, filesDir, "handshake_server_tls13.go")); strings.Contains(string(b), "a security fix") {
		t.Fatal("the refused run rewrote the overlay")
	}

	if err := Generate(src, out, Options{Regenerate: true}); err != nil {
		t.Fatalf("regenerate: %v", err)
	}
	if err := Check(out, src); err != nil {
		t.Fatalf("after regenerating: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(out, filesDir, "handshake_server_tls13.go")); !strings.Contains(string(b), "a security fix") {
		t.Error("the regenerated overlay lacks the changed file's new content")
	}
}

// Another Go release: refused as untested unless allowed, and an overlay of
// the old release is not replaced silently.
func TestGenerateRefusesOtherRelease(t *testing.T) {
	src := fakeGOROOT(t)
	out := filepath.Join(t.TempDir(), "overlay")
	if err := Generate(src, out, Options{}); err != nil {
		t.Fatal(err)
	}
	next := Source{Dir: src.Dir, GoVersion: "go1.99.0"}
	err := Generate(next, out, Options{})
	if err == nil || !strings.Contains(err.Error(), allowUntestedEnv+"=1") || !strings.Contains(err.Error(), "go1.99.0") {
		t.Fatalf("untested release: err = %v, want a refusal naming %s", err, allowUntestedEnv)
	}
	wantStale(t, Check(out, next), "generated for "+src.GoVersion+", the go command is go1.99.0")
	wantStale(t, Generate(next, out, Options{AllowUntested: true}), "generated for "+src.GoVersion, "REGENERATE=1")
	if err := Generate(next, out, Options{AllowUntested: true, Regenerate: true}); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(out, filesDir, toolchainFileName)); !strings.Contains(string(b), `"go1.99.0"`) {
		t.Errorf("%s after regenerating for go1.99.0:\n%s", toolchainFileName, b)
	}
}

func TestCheckFindsEditedOverlay(t *testing.T) {
	src := fakeGOROOT(t)
	out := filepath.Join(t.TempDir(), "overlay")
	if err := Check(out, src); !errors.Is(err, ErrNoManifest) {
		t.Fatalf("no overlay yet: err = %v, want ErrNoManifest", err)
	}
	if err := Generate(src, out, Options{}); err != nil {
		t.Fatal(err)
	}
	edited := filepath.Join(out, filesDir, "rawpublickeys.go")
	if err := os.WriteFile(edited, []byte("package tls\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	wantStale(t, Check(out, src), edited, "changed after it was generated")
}

// The release check added to crypto/tls stops a binary built by another
// release, and lets one built by its own release run. The file is built on
// its own, as package tls of a scratch module.
func TestToolchainFileEnforcesRelease(t *testing.T) {
	running, err := goEnv("GOVERSION")
	if err != nil {
		t.Fatal(err)
	}
	if b := ToolchainFile(running); !bytes.Equal(mustFormat(t, b), b) {
		t.Errorf("%s is not gofmt-clean:\n%s", toolchainFileName, b)
	}
	for _, tc := range []struct {
		generatedFor string
		wantPanic    bool
	}{
		{running, false},
		{"go1.0.0", true},
	} {
		t.Run(tc.generatedFor, func(t *testing.T) {
			dir := t.TempDir()
			write := func(name, content string) {
				t.Helper()
				path := filepath.Join(dir, name)
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			write("go.mod", "module scratch\n\ngo 1.22\n")
			write(filepath.Join("tls", toolchainFileName), string(ToolchainFile(tc.generatedFor)))
			write("main.go", "package main\n\nimport _ \"scratch/tls\"\n\nfunc main() { println(\"started\") }\n")
			cmd := exec.Command("go", "run", ".")
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "GOFLAGS=", "GOWORK=off", "GOTOOLCHAIN=local")
			b, err := cmd.CombinedOutput()
			out := string(b)
			if !tc.wantPanic {
				if err != nil || !strings.Contains(out, "started") {
					t.Fatalf("built by its own release: %v\n%s", err, out)
				}
				return
			}
			if err == nil || strings.Contains(out, "started") {
				t.Fatalf("a binary built by %s ran with an overlay for %s:\n%s", running, tc.generatedFor, out)
			}
			for _, want := range []string{"generated for go1.0.0", "built by " + running, "REGENERATE=1"} {
				if !strings.Contains(out, want) {
					t.Errorf("output does not say %q:\n%s", want, out)
				}
			}
		})
	}
}

func mustFormat(t *testing.T, b []byte) []byte {
	t.Helper()
	f, err := format.Source(b)
	if err != nil {
		t.Fatal(err)
	}
	return f
}
