package profile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/irohconf/irohconf/hil/reset"
)

func TestExampleProfilesParse(t *testing.T) {
	files, err := filepath.Glob("../../fixtures/boards/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no example profiles in fixtures/boards (%v)", err)
	}
	for _, f := range files {
		p, err := Load(f)
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		if p.Source != f || p.ResetMethod == "" || p.Baud <= 0 || p.BootTimeout <= 0 {
			t.Errorf("%s: not resolved: %+v", f, p)
		}
	}
}

func TestVirtualDefaults(t *testing.T) {
	p, err := Parse([]byte("name: v\nkind: virtual\nfirmware: irohconf\n"))
	if err != nil {
		t.Fatal(err)
	}
	if p.ResetMethod != ResetConsole || p.VirtualBoard.Binary != DefaultBinary || p.VirtualBoard.Bind != DefaultBind ||
		p.Baud != DefaultBaud || p.BootTimeout != DefaultBootTimeout || p.Chip != "linux" {
		t.Errorf("defaults not applied: %+v %+v", p, p.VirtualBoard)
	}
}

func TestMemory(t *testing.T) {
	p, err := Parse([]byte("name: v\nkind: virtual\nfirmware: irohconf\nmemory: {internal_heap: 200000, psram: 2097152, source: measured}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if p.Memory.Heap() != 200000+2097152 || p.Memory.MainStack != DefaultMainStack {
		t.Errorf("memory %+v, heap %d", p.Memory, p.Memory.Heap())
	}
	p, err = Load("../../fixtures/boards/virtual.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if p.Memory == nil || p.Memory.Heap() <= 0 || p.Memory.MainStack != 48*1024 || p.Memory.Source == "" {
		t.Errorf("virtual.yaml memory %+v", p.Memory)
	}
}

func TestResetMethods(t *testing.T) {
	base := "name: b\nkind: serial\nchip: esp32\nfirmware: irohconf\nport: {path: /dev/ttyUSB0}\n"
	for _, tc := range []struct {
		reset    string
		method   ResetMethod
		seq      reset.Sequence
		fallback string
	}{
		{"classic", ResetClassic, reset.Classic, ""},
		{"usb-jtag", ResetUSBJTAG, reset.USBJTAG, ""},
		{"console", ResetConsole, nil, ""},
		{"none", ResetNone, nil, ""},
		{`"D0|R1|W0.3|R0"`, ResetCustom, reset.MustParse("D0|R1|W0.3|R0"), "console"},
	} {
		doc := base + "reset: " + tc.reset + "\n"
		if tc.fallback != "" {
			doc += "reset_fallback: " + tc.fallback + "\n"
		}
		p, err := Parse([]byte(doc))
		if err != nil {
			t.Errorf("reset %s: %v", tc.reset, err)
			continue
		}
		if p.ResetMethod != tc.method || p.ResetSequence.String() != tc.seq.String() {
			t.Errorf("reset %s: got %s %q", tc.reset, p.ResetMethod, p.ResetSequence)
		}
		want := ResetNone
		if tc.fallback == "console" {
			want = ResetConsole
		}
		if p.FallbackMethod != want {
			t.Errorf("reset %s: fallback %s, want %s", tc.reset, p.FallbackMethod, want)
		}
	}
}

func TestBootTimeoutIsADuration(t *testing.T) {
	base := "name: b\nkind: virtual\nfirmware: irohconf\n"
	p, err := Parse([]byte(base + "boot_timeout: 1m30s\n"))
	if err != nil || p.BootTimeout != 90*time.Second {
		t.Fatalf("boot_timeout 1m30s: %v %v", p, err)
	}
	if _, err := Parse([]byte(base + "boot_timeout: 30\n")); err == nil {
		t.Error("boot_timeout: 30 (no unit) was accepted")
	}
}

func TestParseErrors(t *testing.T) {
	serial := "name: b\nkind: serial\nchip: esp32\nfirmware: irohconf\nport: {path: /dev/ttyUSB0}\nreset: classic\n"
	for _, tc := range []struct{ name, doc, want string }{
		{"unknown field", serial + "baudrate: 9600\n", "field baudrate not found"},
		{"unknown nested field", "name: b\nkind: serial\nchip: esp32\nfirmware: irohconf\nreset: classic\nport: {device: /dev/x}\n", "field device not found"},
		{"empty", "", "empty document"},
		{"two documents", serial + "---\n" + serial, "more than one YAML document"},
		{"bad name", strings.Replace(serial, "name: b", "name: My Board", 1), `name: "My Board"`},
		{"no kind", strings.Replace(serial, "kind: serial\n", "", 1), "kind: missing"},
		{"bad kind", strings.Replace(serial, "kind: serial", "kind: usb", 1), `kind: "usb": want serial or virtual`},
		{"no firmware", strings.Replace(serial, "firmware: irohconf\n", "", 1), "firmware: missing"},
		{"no port", strings.Replace(serial, "port: {path: /dev/ttyUSB0}\n", "", 1), "a serial board needs port.path"},
		{"bad vid:pid", strings.Replace(serial, "{path: /dev/ttyUSB0}", "{vid_pid: 303a-1001}", 1), "port.vid_pid"},
		{"no chip", strings.Replace(serial, "chip: esp32\n", "", 1), "chip: missing"},
		{"virtual no reset", "name: v\nkind: virtual\nfirmware: foreign\nvirtual: {args: [--example-firmware]}\n", "cannot be reset through the console"},
		{"unknown reset", strings.Replace(serial, "reset: classic", "reset: hard", 1), `reset: "hard": want classic`},
		{"bad sequence", strings.Replace(serial, "reset: classic", `reset: "D0|R1|W0.1|R2"`, 1), `step 4 "R2"`},
		{"bad fallback", serial + "reset_fallback: power\n", `reset_fallback: "power"`},
		{"foreign console reset", strings.Replace(strings.Replace(serial, "irohconf", "foreign", 1), "reset: classic", "reset: console", 1), "foreign firmware has no console"},
		{"foreign console fallback", strings.Replace(serial, "irohconf", "foreign", 1) + "reset_fallback: console\n", "foreign firmware has no console"},
		{"negative baud", serial + "baud: -1\n", "baud: -1 is negative"},
		{"virtual with port", "name: v\nkind: virtual\nfirmware: irohconf\nport: {path: /dev/x}\n", "remove port"},
		{"virtual with flash", "name: v\nkind: virtual\nfirmware: irohconf\nflash: {elf: x}\n", "remove flash"},
		{"virtual foreign", "name: v\nkind: virtual\nfirmware: foreign\nreset: none\n", "only with args: [--example-firmware]"},
		{"virtual classic", "name: v\nkind: virtual\nfirmware: irohconf\nreset: classic\n", "no modem lines"},
		{"virtual bad secret", "name: v\nkind: virtual\nfirmware: irohconf\nvirtual: {secret: abc}\n", "virtual.secret"},
		{"memory without heap", serial + "memory: {source: x}\n", "memory.internal_heap"},
		{"memory negative psram", serial + "memory: {internal_heap: 1, psram: -1, source: x}\n", "memory.psram: -1 is negative"},
		{"memory small stack", serial + "memory: {internal_heap: 1, main_stack: 4096, source: x}\n", "memory.main_stack: 4096 bytes is less than 16384"},
		{"memory without source", serial + "memory: {internal_heap: 1}\n", "memory.source: missing"},
		{"memory unknown field", serial + "memory: {internal_heap: 1, source: x, heap: 2}\n", "field heap not found"},
		{"serial with virtual", serial + "virtual: {bind: 127.0.0.1:0}\n", "only for kind virtual"},
		{"not yaml", "name: [\n", "yaml"},
	} {
		_, err := Parse([]byte(tc.doc))
		if err == nil {
			t.Errorf("%s: accepted", tc.name)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %q does not say %q", tc.name, err, tc.want)
		}
	}
}

func TestSeveralErrorsAtOnce(t *testing.T) {
	_, err := Parse([]byte("name: b\nkind: serial\nfirmware: irohconf\nreset: classic\n"))
	if err == nil || !strings.Contains(err.Error(), "port") || !strings.Contains(err.Error(), "chip") {
		t.Errorf("want both the port and the chip named, got %v", err)
	}
}

func TestLoadNamesTheFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(path, []byte("name: b\nkind: serial\nspeed: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path)
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "line 3") {
		t.Errorf("want the file and line named, got %v", err)
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing.yaml")); err == nil {
		t.Error("a missing file was accepted")
	}
}

func TestVIDPID(t *testing.T) {
	p := &Profile{Port: Port{VIDPID: "303A:1001"}}
	if v, pid := p.VIDPID(); v != "303a" || pid != "1001" {
		t.Errorf("VIDPID = %s %s", v, pid)
	}
}

func TestForPort(t *testing.T) {
	p, err := ForPort("/dev/ttyUSB0")
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "port-ttyusb0" || p.Port.Path != "/dev/ttyUSB0" || p.ResetMethod != "" ||
		p.FallbackMethod != ResetConsole || p.Baud != DefaultBaud || p.BootTimeout != DefaultBootTimeout {
		t.Errorf("ForPort: %+v", p)
	}
}
