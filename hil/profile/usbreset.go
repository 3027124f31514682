package profile

import (
	"fmt"
	"strings"
)

// USB identities espflash and esptool know. espflash picks its reset by the port's USB product
// id: USB-Serial-JTAG (303a:1001, the ESP32-S3/C3/C6/H2's own USB port) gets the USB-JTAG
// sequence, every other port the classic DTR/RTS sequence of the USB-UART bridges on dev
// boards. Only the bridges named here are known to wire DTR/RTS to EN and IO0 that way.
const espressifVID = "303a"

var usbBridges = map[string]string{
	"10c4:ea60": "Silicon Labs CP210x",
	"10c4:ea70": "Silicon Labs CP2105",
	"10c4:ea71": "Silicon Labs CP2108",
	"1a86:7523": "WCH CH340",
	"1a86:55d3": "WCH CH343",
	"1a86:55d4": "WCH CH9102",
	"0403:6001": "FTDI FT232R",
	"0403:6010": "FTDI FT2232",
	"0403:6011": "FTDI FT4232",
	"0403:6014": "FTDI FT232H",
	"0403:6015": "FTDI FT-X",
}

// ResetForUSB is the reset espflash would use on a port with this USB VID:PID (four hex digits
// each), and what the device is, for the log: usb-jtag for Espressif's USB-Serial-JTAG,
// classic for everything else (espflash's default), named when it is a known USB-UART bridge.
func ResetForUSB(vid, pid string) (ResetMethod, string) {
	id := strings.ToLower(vid + ":" + pid)
	switch {
	case id == espressifVID+":1001":
		return ResetUSBJTAG, "Espressif USB-Serial-JTAG (" + id + ")"
	case usbBridges[id] != "":
		return ResetClassic, usbBridges[id] + " USB-UART bridge (" + id + ")"
	case strings.HasPrefix(id, espressifVID+":"):
		// The S2/S3's USB-OTG CDC console (TinyUSB) has no DTR/RTS wiring to EN and IO0.
		return ResetClassic, "Espressif USB device " + id + ", not USB-Serial-JTAG: classic reset, as espflash does"
	}
	return ResetClassic, "unknown USB device " + id + ": classic reset, as espflash does"
}

// InferReset sets the reset of a profile that names none from the USB VID:PID of its port (see
// ResetForUSB) and returns a note saying what it chose and why. A profile that names a reset
// is left as it is (note empty).
func (p *Profile) InferReset(vid, pid string) (string, error) {
	if p.Reset != "" {
		return "", nil
	}
	m, what := ResetClassic, "not a USB device this host lists: classic reset, as espflash does"
	if vid != "" {
		m, what = ResetForUSB(vid, pid)
	}
	p.Reset = string(m)
	if err := p.resolveReset(); err != nil {
		return "", fmt.Errorf("board %s: %w", p.Name, err)
	}
	return fmt.Sprintf("reset %s inferred from the port: %s", m, what), nil
}
