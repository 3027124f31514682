package backtrace

import (
	"debug/elf"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/irohconf/irohconf/hil/backtrace/backtracetest"
)

func TestAddresses(t *testing.T) {
	for _, tc := range []struct {
		line string
		want []uint64
	}{
		{"Backtrace: 0x400d1234:0x3ffb1230 0x400d5678:0x3ffb1250 |<-CORRUPTED", []uint64{0x400d1234, 0x400d5678}},
		{"PC      : 0x400d1234  PS      : 0x00060030  A0      : 0x800d5678  A1      : 0x3ffb1230", []uint64{0x400d1234}},
		{"MEPC    : 0x42001234  RA      : 0x42005678  SP      : 0x3fc9a000  GP      : 0x3fc8d000", []uint64{0x42001234, 0x42005678}},
		{"I (1234) irohconf_fw: Copied over 0x400d1234 byte(s)", nil},
		{"Backtrace: 0x00000000:0x3ffb1230", nil},
	} {
		if got := Addresses(tc.line); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%q: %x, want %x", tc.line, got, tc.want)
		}
	}
}

func TestDecodeWithHostELF(t *testing.T) {
	bin, addr := backtracetest.HostELF(t)
	d := New(bin, "")
	notes := d.Annotate(fmt.Sprintf("Backtrace: 0x%08x:0x3ffb1230 0x%08x:0x3ffb1250", addr, addr))
	joined := strings.Join(notes, "\n")
	if len(notes) < 2 || !strings.Contains(notes[0], backtracetest.CrashFunction) || !strings.Contains(joined, "crash.c:1") {
		t.Errorf("notes %q: want two frames in irohconf_crash_here at crash.c:1", notes)
	}
	if notes := d.Annotate("Copied over 13 byte(s)"); notes != nil {
		t.Errorf("a line without addresses: %q", notes)
	}
	notes = d.Annotate("Backtrace: 0x7ff00000:0x3ffb1230")
	if len(notes) != 1 || !strings.Contains(notes[0], "no address of the line is in the code") {
		t.Errorf("an address outside the image: %q", notes)
	}
}

func TestSaysWhatIsMissing(t *testing.T) {
	line := "Backtrace: 0x400d1234:0x3ffb1230"
	notes := New("", "esp32s3").Annotate(line)
	if len(notes) != 1 || !strings.Contains(notes[0], "no firmware ELF was given") {
		t.Errorf("without an ELF: %q", notes)
	}

	bin, addr := backtracetest.HostELF(t)
	t.Setenv("PATH", t.TempDir())
	t.Setenv("HOME", t.TempDir())
	d := New(bin, "")
	line = fmt.Sprintf("Backtrace: 0x%08x:0x3ffb1230", addr)
	notes = d.Annotate(line)
	if len(notes) != 1 || !strings.Contains(notes[0], "no addr2line for EM_X86_64 on PATH (tried addr2line, llvm-addr2line") {
		t.Errorf("without addr2line: %q", notes)
	}
	if again := d.Annotate(line); again != nil {
		t.Errorf("the missing tool is said once, then %q", again)
	}
}

func TestToolNames(t *testing.T) {
	if got := toolNames(elf.EM_XTENSA, "esp32s3")[0]; got != "xtensa-esp32s3-elf-addr2line" {
		t.Errorf("xtensa esp32s3: %s", got)
	}
	if got := toolNames(elf.EM_XTENSA, "esp32c3")[0]; got != "xtensa-esp-elf-addr2line" {
		t.Errorf("xtensa with a RISC-V chip name: %s", got)
	}
	if got := toolNames(elf.EM_RISCV, "esp32c6")[0]; got != "riscv32-esp-elf-addr2line" {
		t.Errorf("riscv: %s", got)
	}
}
