package profile

import (
	"strings"
	"testing"

	"github.com/irohconf/irohconf/hil/reset"
)

func TestResetForUSB(t *testing.T) {
	for _, tc := range []struct {
		vid, pid string
		want     ResetMethod
		says     string
	}{
		{"303a", "1001", ResetUSBJTAG, "USB-Serial-JTAG"},
		{"303A", "1001", ResetUSBJTAG, "USB-Serial-JTAG"},
		{"10c4", "ea60", ResetClassic, "CP210x"},
		{"1a86", "7523", ResetClassic, "CH340"},
		{"1a86", "55d4", ResetClassic, "CH9102"},
		{"0403", "6001", ResetClassic, "FTDI"},
		{"303a", "0002", ResetClassic, "not USB-Serial-JTAG"},
		{"1234", "5678", ResetClassic, "unknown USB device 1234:5678"},
	} {
		m, what := ResetForUSB(tc.vid, tc.pid)
		if m != tc.want || !strings.Contains(what, tc.says) {
			t.Errorf("%s:%s: %s (%s), want %s (%q)", tc.vid, tc.pid, m, what, tc.want, tc.says)
		}
	}
}

func TestResetInferredFromTheProfilesVIDPID(t *testing.T) {
	base := "name: b\nkind: serial\nchip: esp32s3\nfirmware: irohconf\n"
	p, err := Parse([]byte(base + "port: {vid_pid: 303a:1001}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if p.ResetMethod != ResetUSBJTAG || p.ResetSequence.String() != reset.USBJTAG.String() {
		t.Errorf("303a:1001 without reset: %s %s", p.ResetMethod, p.ResetSequence)
	}
	p, err = Parse([]byte(base + "port: {vid_pid: 10c4:ea60}\n"))
	if err != nil || p.ResetMethod != ResetClassic {
		t.Errorf("CP210x without reset: %v %v", p, err)
	}
	// A reset the profile names wins over the VID:PID.
	p, err = Parse([]byte(base + "port: {vid_pid: 303a:1001}\nreset: console\n"))
	if err != nil || p.ResetMethod != ResetConsole {
		t.Errorf("named reset: %v %v", p, err)
	}
}

func TestResetInferredOnceThePortIsFound(t *testing.T) {
	p, err := Parse([]byte("name: b\nkind: serial\nchip: esp32s3\nfirmware: irohconf\nport: {usb_serial: \"F4:12\"}\nreset_fallback: console\n"))
	if err != nil {
		t.Fatal(err)
	}
	if p.ResetMethod != "" {
		t.Fatalf("reset %q before the port is known", p.ResetMethod)
	}
	note, err := p.InferReset("303a", "1001")
	if err != nil {
		t.Fatal(err)
	}
	if p.ResetMethod != ResetUSBJTAG || p.FallbackMethod != ResetConsole || !strings.Contains(note, "usb-jtag inferred") {
		t.Errorf("after InferReset: %s / %s, note %q", p.ResetMethod, p.FallbackMethod, note)
	}
	// Inferred once: a second port identity changes nothing.
	if note, _ := p.InferReset("10c4", "ea60"); note != "" || p.ResetMethod != ResetUSBJTAG {
		t.Errorf("second InferReset: %q %s", note, p.ResetMethod)
	}

	q, _ := ForPort("/dev/ttyS0")
	if note, err := q.InferReset("", ""); err != nil || q.ResetMethod != ResetClassic || !strings.Contains(note, "not a USB device") {
		t.Errorf("a port that is not USB: %s %q %v", q.ResetMethod, note, err)
	}
}
