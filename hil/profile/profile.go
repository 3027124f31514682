// Package profile reads board profiles: YAML files that say what a board is (chip, firmware,
// memory), where it is plugged in (port path, or USB serial number / VID:PID), how to reset and
// flash it, and how long it may take to boot. A profile of kind "virtual" starts the virtual board
// instead of opening a USB port.
//
// Parsing is strict: an unknown field, a bad reset sequence or a missing port is an error that
// names the file and the field.
package profile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/irohconf/irohconf/hil/reset"
)

// Kind says how the board is reached.
type Kind string

const (
	Serial  Kind = "serial"  // a board on a serial port
	Virtual Kind = "virtual" // the virtual board: a local process with its console on a pty
)

// Firmware says what the board runs, and so what its console can do.
type Firmware string

const (
	// Irohconf is the in-repo firmware: the examples' lines, a boot banner, STATUS lines and
	// console commands (help, id, ticket, status, reset).
	Irohconf Firmware = "irohconf"
	// Foreign is firmware that prints the iroh ESP32 examples' lines and takes no commands.
	Foreign Firmware = "foreign"
)

// ResetMethod names how the board is restarted.
type ResetMethod string

const (
	ResetClassic ResetMethod = "classic"  // RTS/DTR on a USB-UART bridge (esptool HardReset)
	ResetUSBJTAG ResetMethod = "usb-jtag" // RTS/DTR on the chip's USB-Serial-JTAG; it re-enumerates
	ResetConsole ResetMethod = "console"  // the firmware's "reset" command
	ResetNone    ResetMethod = "none"     // nobody resets it: a person presses EN, or it is already up
	ResetCustom  ResetMethod = "custom"   // an esptool mini-language sequence
)

// Defaults.
const (
	DefaultBaud        = 115200
	DefaultBootTimeout = 60 * time.Second
	DefaultBinary      = "build/bin/virtual-board"
	DefaultBind        = "127.0.0.1:0"
	// DefaultMainStack is the ESP32 main task's stack the firmware is built with
	// (CONFIG_ESP_MAIN_TASK_STACK_SIZE in firmware/esp32/sdkconfig.defaults).
	DefaultMainStack = 48 * 1024
	// MinMainStack is the smallest main stack the virtual board accepts.
	MinMainStack = 16 * 1024
)

// Profile is one board.
type Profile struct {
	Name     string   `yaml:"name"`
	Kind     Kind     `yaml:"kind"`
	Chip     string   `yaml:"chip"`
	Firmware Firmware `yaml:"firmware"`
	Port     Port     `yaml:"port"`
	Baud     int      `yaml:"baud"`
	// Reset is a method name or an esptool mini-language sequence ("D0|R1|W0.1|R0"). Left
	// out on a serial board, it is inferred from the port's USB VID:PID (ResetForUSB).
	Reset string `yaml:"reset"`
	// ResetFallback is used when Reset needs modem lines the port does not have: "console"
	// or "none" (the default, which makes such a reset an error).
	ResetFallback string        `yaml:"reset_fallback"`
	BootTimeout   time.Duration `yaml:"boot_timeout"`
	Flash         *Flash        `yaml:"flash"`
	Memory        *Memory       `yaml:"memory"`
	VirtualBoard  *VirtualBoard `yaml:"virtual"`
	Notes         string        `yaml:"notes"`

	// Resolved by Parse.
	ResetMethod    ResetMethod    `yaml:"-"`
	ResetSequence  reset.Sequence `yaml:"-"` // for classic, usb-jtag and custom
	FallbackMethod ResetMethod    `yaml:"-"` // ResetConsole or ResetNone
	Source         string         `yaml:"-"` // the file it came from
}

// Port says where a serial board is plugged in. Path, or a USB serial number and/or VID:PID
// (which find the board again when it re-enumerates under another name).
type Port struct {
	Path      string `yaml:"path"`
	USBSerial string `yaml:"usb_serial"`
	VIDPID    string `yaml:"vid_pid"` // "303a:1001"
}

// Flash says how to flash the board with espflash.
type Flash struct {
	// ELF is the firmware image; a path relative to the profile's folder, or given at flash time.
	ELF string `yaml:"elf"`
	// Baud for flashing (espflash --baud); 0 uses the console baud.
	Baud int `yaml:"baud"`
	// Args are extra espflash arguments, e.g. ["--chip", "esp32s3"].
	Args []string `yaml:"args"`
}

// Memory is the RAM the board leaves the application, with where the figures come from. The
// virtual board is held to it (a heap budget and the main task's stack); for a board on a port
// it says what to expect of its STATUS heap figures.
type Memory struct {
	// InternalHeap is the free internal RAM the application's heap has once WiFi and lwIP run.
	InternalHeap int64 `yaml:"internal_heap"`
	// PSRAM is the external RAM added to the heap (CONFIG_SPIRAM_USE_MALLOC); 0 for none.
	PSRAM int64 `yaml:"psram"`
	// MainStack is the main task's stack, which the firmware's runtime runs on; default 48 KiB.
	MainStack int64 `yaml:"main_stack"`
	// Source says where the figures come from (documents, measurements).
	Source string `yaml:"source"`
}

// Heap is the heap budget: internal RAM plus PSRAM.
func (m Memory) Heap() int64 { return m.InternalHeap + m.PSRAM }

// VirtualBoard configures the virtual board process.
type VirtualBoard struct {
	// Binary is the virtual-board program; relative paths are from the repository root.
	Binary string `yaml:"binary"`
	Bind   string `yaml:"bind"`
	// Secret is a fixed 64-hex secret key (IROH_SECRET); empty lets the board make one.
	Secret string `yaml:"secret"`
	// Args are extra arguments, e.g. --example-firmware (behave like the iroh ESP32
	// examples' firmware: their lines only, no console commands).
	Args []string `yaml:"args"`
	// KeyLog, set by the suite rather than a profile, is where the board writes its TLS secrets
	// (SSLKEYLOGFILE), so a cell's capture can be decrypted from the board's side.
	KeyLog string `yaml:"-"`
}

var (
	nameRE   = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*$`)
	vidpidRE = regexp.MustCompile(`^[0-9a-fA-F]{4}:[0-9a-fA-F]{4}$`)
	secretRE = regexp.MustCompile(`^[0-9a-fA-F]{64}$`)
)

// Load reads and checks a profile file.
func Load(path string) (*Profile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("board profile: %w", err)
	}
	p, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("board profile %s: %w", path, err)
	}
	p.Source = path
	return p, nil
}

// Parse reads and checks one profile document.
func Parse(data []byte) (*Profile, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var p Profile
	if err := dec.Decode(&p); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("empty document")
		}
		return nil, err
	}
	var extra any
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, errors.New("more than one YAML document: one profile per file")
	}
	if err := p.resolve(); err != nil {
		return nil, err
	}
	return &p, nil
}

func (p *Profile) resolve() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
	}

	if !nameRE.MatchString(p.Name) {
		bad("name", "%q: want lowercase letters, digits, '.', '_' or '-' (it names report columns and log folders)", p.Name)
	}
	switch p.Kind {
	case Serial, Virtual:
	case "":
		bad("kind", "missing: want serial or virtual")
	default:
		bad("kind", "%q: want serial or virtual", p.Kind)
	}
	switch p.Firmware {
	case Irohconf, Foreign:
	case "":
		bad("firmware", "missing: want irohconf (our firmware, with console commands) or foreign (the iroh ESP32 examples' lines, no commands)")
	default:
		bad("firmware", "%q: want irohconf or foreign", p.Firmware)
	}
	if p.Baud == 0 {
		p.Baud = DefaultBaud
	} else if p.Baud < 0 {
		bad("baud", "%d is negative", p.Baud)
	}
	if p.BootTimeout == 0 {
		p.BootTimeout = DefaultBootTimeout
	} else if p.BootTimeout < 0 {
		bad("boot_timeout", "%v is negative", p.BootTimeout)
	}

	switch p.Kind {
	case Serial:
		if p.Port == (Port{}) {
			bad("port", "a serial board needs port.path, port.usb_serial or port.vid_pid")
		}
		if p.Port.VIDPID != "" && !vidpidRE.MatchString(p.Port.VIDPID) {
			bad("port.vid_pid", "%q: want four hex digits, a colon and four hex digits, e.g. 303a:1001", p.Port.VIDPID)
		}
		if p.VirtualBoard != nil {
			bad("virtual", "only for kind virtual")
		}
		if p.Chip == "" {
			bad("chip", "missing: e.g. esp32, esp32s3, esp32c6")
		}
	case Virtual:
		if p.Port != (Port{}) {
			bad("port", "a virtual board opens its own pseudo-terminal; remove port")
		}
		if p.Flash != nil {
			bad("flash", "a virtual board is not flashed; remove flash")
		}
		if p.VirtualBoard == nil {
			p.VirtualBoard = &VirtualBoard{}
		}
		// Foreign firmware on the virtual board is its --example-firmware mode: the iroh ESP32
		// examples' lines, no console commands.
		if p.Firmware == Foreign && !slices.Contains(p.VirtualBoard.Args, "--example-firmware") {
			bad("firmware", "the virtual board plays foreign firmware only with args: [--example-firmware]")
		}
		if p.VirtualBoard.Binary == "" {
			p.VirtualBoard.Binary = DefaultBinary
		}
		if p.VirtualBoard.Bind == "" {
			p.VirtualBoard.Bind = DefaultBind
		}
		if s := p.VirtualBoard.Secret; s != "" && !secretRE.MatchString(s) {
			bad("virtual.secret", "want 64 hex digits (a 32-byte secret key), got %d characters", len(s))
		}
		if p.Chip == "" {
			p.Chip = "linux"
		}
		if p.Reset == "" {
			p.Reset = string(ResetConsole)
		}
	}
	if p.Flash != nil && p.Flash.Baud < 0 {
		bad("flash.baud", "%d is negative", p.Flash.Baud)
	}
	if m := p.Memory; m != nil {
		if m.InternalHeap <= 0 {
			bad("memory.internal_heap", "want the free internal heap in bytes, e.g. 233984")
		}
		if m.PSRAM < 0 {
			bad("memory.psram", "%d is negative", m.PSRAM)
		}
		if m.MainStack == 0 {
			m.MainStack = DefaultMainStack
		} else if m.MainStack < MinMainStack {
			bad("memory.main_stack", "%d bytes is less than %d", m.MainStack, MinMainStack)
		}
		if strings.TrimSpace(m.Source) == "" {
			bad("memory.source", "missing: say where the figures come from")
		}
	}

	if err := p.resolveReset(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (p *Profile) resolveReset() error {
	switch ResetMethod(p.Reset) {
	case ResetClassic:
		p.ResetMethod, p.ResetSequence = ResetClassic, reset.Classic
	case ResetUSBJTAG:
		p.ResetMethod, p.ResetSequence = ResetUSBJTAG, reset.USBJTAG
	case ResetConsole:
		p.ResetMethod = ResetConsole
	case ResetNone:
		p.ResetMethod = ResetNone
	case "":
		if p.Kind != Serial {
			return errors.New("reset: missing: want classic, usb-jtag, console, none or a sequence like D0|R1|W0.1|R0")
		}
		// A serial board's reset follows from its port's USB VID:PID, as espflash chooses it:
		// now when the profile names the VID:PID, else once the port is found (InferReset).
		if vid, pid := p.VIDPID(); vid != "" {
			m, _ := ResetForUSB(vid, pid)
			p.Reset = string(m)
			return p.resolveReset()
		}
		p.ResetMethod, p.ResetSequence = "", nil
	default:
		if !strings.ContainsAny(p.Reset[:1], "DRUW") {
			return fmt.Errorf("reset: %q: want classic, usb-jtag, console, none or a sequence like D0|R1|W0.1|R0", p.Reset)
		}
		seq, err := reset.Parse(p.Reset)
		if err != nil {
			return fmt.Errorf("reset: %w", err)
		}
		p.ResetMethod, p.ResetSequence = ResetCustom, seq
	}
	switch ResetMethod(p.ResetFallback) {
	case "", ResetNone:
		p.FallbackMethod = ResetNone
	case ResetConsole:
		p.FallbackMethod = ResetConsole
	default:
		return fmt.Errorf("reset_fallback: %q: want console or none", p.ResetFallback)
	}
	if p.Firmware == Foreign && (p.ResetMethod == ResetConsole || p.FallbackMethod == ResetConsole) {
		return errors.New("reset: foreign firmware has no console commands, so it cannot be reset through the console")
	}
	if p.Kind == Virtual && p.ResetMethod != ResetConsole && p.ResetMethod != ResetNone {
		return fmt.Errorf("reset: %q: a virtual board has no modem lines; want console or none", p.Reset)
	}
	return nil
}

// ForPort is the profile of a board known only by its port (`make hil PORT=/dev/ttyUSB0`):
// our firmware, the reset espflash would choose for the port's USB VID:PID (inferred when the
// port is found), falling back to the console's reset command.
func ForPort(path string) (*Profile, error) {
	name := strings.ToLower(filepath.Base(path))
	name = regexp.MustCompile(`[^a-z0-9._-]+`).ReplaceAllString(name, "-")
	p := &Profile{
		Name: "port-" + strings.Trim(name, "-"), Kind: Serial, Chip: "unknown", Firmware: Irohconf,
		Port: Port{Path: path}, ResetFallback: string(ResetConsole),
	}
	if err := p.resolve(); err != nil {
		return nil, fmt.Errorf("board on %s: %w", path, err)
	}
	return p, nil
}

// HasConsole tells whether the firmware answers console commands.
func (p *Profile) HasConsole() bool { return p.Firmware == Irohconf }

// VIDPID splits port.vid_pid into its two halves, lowercase.
func (p *Profile) VIDPID() (vid, pid string) {
	if p.Port.VIDPID == "" {
		return "", ""
	}
	vid, pid, _ = strings.Cut(strings.ToLower(p.Port.VIDPID), ":")
	return vid, pid
}

// LoadNamed reads a profile given by path, or by name from root/fixtures/boards/<name>.yaml.
func LoadNamed(root, nameOrPath string) (*Profile, error) {
	path := nameOrPath
	if _, err := os.Stat(path); err != nil {
		path = filepath.Join(root, "fixtures", "boards", nameOrPath+".yaml")
	}
	return Load(path)
}

// FlashELF is the profile's flash.elf, relative paths taken from the profile's folder; empty
// when the profile names none.
func (p *Profile) FlashELF() string {
	if p.Flash == nil || p.Flash.ELF == "" {
		return ""
	}
	if !filepath.IsAbs(p.Flash.ELF) && p.Source != "" {
		return filepath.Join(filepath.Dir(p.Source), p.Flash.ELF)
	}
	return p.Flash.ELF
}
