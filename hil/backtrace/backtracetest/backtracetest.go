// Package backtracetest builds a host ELF with debug information whose function stands in for
// a crash site, for tests of backtrace decoding where no ESP32 image exists.
package backtracetest

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// CrashFunction is the name of the function HostELF's address lies in; CrashFile its source.
const (
	CrashFunction = "irohconf_crash_here"
	CrashFile     = "crash.c"
)

// HostELF compiles a small C program with gcc (-g, no PIE, so its code sits below 4 GiB as an
// ESP32's does) and returns its path and an address inside CrashFunction. It skips the test
// when gcc or addr2line is not installed.
func HostELF(t *testing.T) (string, uint64) {
	t.Helper()
	for _, tool := range []string{"gcc", "addr2line"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed: no host ELF to decode a backtrace with", tool)
		}
	}
	dir := t.TempDir()
	src := filepath.Join(dir, CrashFile)
	code := "void " + CrashFunction + "(void) { *(volatile int *)0 = 1; }\nint main(void) { " + CrashFunction + "(); return 0; }\n"
	if err := os.WriteFile(src, []byte(code), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "crash.elf")
	if out, err := exec.Command("gcc", "-g", "-O0", "-no-pie", "-o", bin, src).CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, out)
	}
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	syms, err := f.Symbols()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range syms {
		if s.Name == CrashFunction {
			return bin, s.Value + 4 // inside the function, as a return address is
		}
	}
	t.Fatalf("%s is not in the symbol table of %s", CrashFunction, bin)
	return "", 0
}
