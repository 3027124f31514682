// Package backtrace decodes the code addresses an ESP32 prints when it crashes (ESP-IDF's
// "Backtrace: 0xPC:0xSP ..." line on Xtensa, the PC/MEPC/RA registers of its register dump)
// into function names and source lines with the firmware's ELF, as ESP-IDF's monitor does: with
// the toolchain's addr2line for the ELF's architecture. Without the ELF or the tool the raw
// lines stay as they are, and the decoder says what is missing.
package backtrace

import (
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

var (
	// Xtensa: "Backtrace: 0x400d1234:0x3ffb1230 0x400d5678:0x3ffb1250 |<-CORRUPTED".
	backtraceLine = regexp.MustCompile(`Backtrace:`)
	pcSPPair      = regexp.MustCompile(`0x([0-9a-fA-F]{8}):0x[0-9a-fA-F]{8}`)
	// The register dump's program counters: Xtensa "PC      : 0x400d1234", RISC-V "MEPC    :
	// 0x42001234" and "RA      : 0x42005678" (Xtensa's A0 carries window bits: not an address).
	registerPC = regexp.MustCompile(`\b(PC|MEPC|RA)\s*:\s*0x([0-9a-fA-F]{8})\b`)
)

// Addresses are the code addresses a console line carries, in order; nil for other lines.
func Addresses(text string) []uint64 {
	var out []uint64
	add := func(hex string) {
		if v, err := strconv.ParseUint(hex, 16, 64); err == nil && v != 0 {
			out = append(out, v)
		}
	}
	if backtraceLine.MatchString(text) {
		for _, m := range pcSPPair.FindAllStringSubmatch(text, -1) {
			add(m[1])
		}
		return out
	}
	for _, m := range registerPC.FindAllStringSubmatch(text, -1) {
		add(m[2])
	}
	return out
}

// Decoder turns console lines with code addresses into notes naming the functions.
type Decoder struct {
	elf  string
	chip string

	once    sync.Once
	tool    string // addr2line for the ELF's architecture, "" when none was found
	missing string // why nothing is decoded, when so
	text    [][2]uint64
	told    bool // the missing piece was said once
	mu      sync.Mutex
}

// New returns a decoder for the firmware image elf (empty: none given) of a board with chip
// (esp32, esp32s3, ...; it picks the toolchain's addr2line, and may be empty).
func New(elfPath, chip string) *Decoder { return &Decoder{elf: elfPath, chip: chip} }

// DecodeTimeout bounds one addr2line run.
const DecodeTimeout = 10 * time.Second

// Annotate returns the notes for one console line: one per decoded frame ("0x400d1234:
// app_main at src/main.rs:12"), or, the first time a line with addresses cannot be decoded,
// one note saying what is missing (the ELF, or the addr2line for its architecture). Lines
// without code addresses get none.
func (d *Decoder) Annotate(text string) []string {
	addrs := Addresses(text)
	if len(addrs) == 0 {
		return nil
	}
	d.once.Do(d.setup)
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.missing != "" {
		if d.told {
			return nil
		}
		d.told = true
		return []string{"backtrace not decoded: " + d.missing}
	}
	var inText []string
	for _, a := range addrs {
		if d.isCode(a) {
			inText = append(inText, fmt.Sprintf("0x%x", a))
		}
	}
	if len(inText) == 0 {
		return []string{"backtrace: no address of the line is in the code of " + d.elf + " (another image on the board?)"}
	}
	ctx, cancel := context.WithTimeout(context.Background(), DecodeTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, d.tool, append([]string{"-pfiaC", "-e", d.elf}, inText...)...).Output()
	if err != nil {
		return []string{fmt.Sprintf("backtrace not decoded: %s: %v", filepath.Base(d.tool), err)}
	}
	var notes []string
	for _, l := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
		notes = append(notes, "backtrace: "+strings.TrimSpace(l))
	}
	return notes
}

func (d *Decoder) isCode(a uint64) bool {
	for _, r := range d.text {
		if a >= r[0] && a < r[1] {
			return true
		}
	}
	return false
}

// setup reads the ELF's architecture and code ranges and finds the addr2line for it.
func (d *Decoder) setup() {
	if d.elf == "" {
		d.missing = "no firmware ELF was given (make hil ELF=path/to/image.elf, or FLASH=...)"
		return
	}
	f, err := elf.Open(d.elf)
	if err != nil {
		d.missing = fmt.Sprintf("cannot read the ELF: %v", err)
		return
	}
	defer f.Close()
	for _, s := range f.Sections {
		if s.Flags&elf.SHF_EXECINSTR != 0 && s.Size > 0 {
			d.text = append(d.text, [2]uint64{s.Addr, s.Addr + s.Size})
		}
	}
	names := toolNames(f.Machine, d.chip)
	for _, n := range names {
		if p, err := lookTool(n); err == nil {
			d.tool = p
			return
		}
	}
	d.missing = fmt.Sprintf("no addr2line for %s on PATH (tried %s; Espressif's toolchain: espup install, then . ~/export-esp.sh)",
		f.Machine, strings.Join(names, ", "))
}

// toolNames are the addr2line programs that read an ELF of machine m, best first.
func toolNames(m elf.Machine, chip string) []string {
	switch m {
	case elf.EM_XTENSA:
		var out []string
		if strings.HasPrefix(chip, "esp32") && !strings.Contains(chip, "c") && !strings.Contains(chip, "h") {
			out = append(out, "xtensa-"+chip+"-elf-addr2line")
		}
		return append(out, "xtensa-esp-elf-addr2line", "xtensa-esp32s3-elf-addr2line", "xtensa-esp32-elf-addr2line", "xtensa-esp32s2-elf-addr2line")
	case elf.EM_RISCV:
		return []string{"riscv32-esp-elf-addr2line", "llvm-addr2line"}
	}
	return []string{"addr2line", "llvm-addr2line"}
}

// lookTool finds a program on PATH, or in the toolchains espup installs under ~/.rustup.
func lookTool(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", err
	}
	matches, _ := filepath.Glob(filepath.Join(home, ".rustup", "toolchains", "esp", "*", "*", "*", "bin", name))
	if len(matches) > 0 {
		return matches[len(matches)-1], nil
	}
	return "", errors.New(name + " not found")
}
