package port

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"go.bug.st/serial/enumerator"
)

// Selector says which port is the board's: a fixed path, or a USB device found by serial number
// and/or VID:PID (a path such as /dev/ttyACM0 can change when the board re-enumerates).
type Selector struct {
	Path         string
	SerialNumber string
	VID, PID     string // four hex digits each, e.g. 303a and 1001
}

// ByUSB tells whether the selector finds the port by USB identity rather than by path.
func (s Selector) ByUSB() bool { return s.SerialNumber != "" || s.VID != "" }

func (s Selector) String() string {
	var parts []string
	if s.Path != "" {
		parts = append(parts, "path "+s.Path)
	}
	if s.SerialNumber != "" {
		parts = append(parts, "USB serial number "+s.SerialNumber)
	}
	if s.VID != "" {
		parts = append(parts, "USB "+s.VID+":"+s.PID)
	}
	if len(parts) == 0 {
		return "no port"
	}
	return strings.Join(parts, ", ")
}

func (s Selector) matches(d *enumerator.PortDetails) bool {
	if !d.IsUSB {
		return false
	}
	if s.SerialNumber != "" && d.SerialNumber != s.SerialNumber {
		return false
	}
	if s.VID != "" && (!strings.EqualFold(d.VID, s.VID) || !strings.EqualFold(d.PID, s.PID)) {
		return false
	}
	return true
}

// Find returns the device path for the selector. A path selector is returned as is; a USB
// selector is looked up in the system's port list, again and again until ctx ends, so a board
// that is re-enumerating is found once it is back. Two matching ports are an error.
func Find(ctx context.Context, s Selector) (string, error) {
	if !s.ByUSB() {
		if s.Path == "" {
			return "", fmt.Errorf("find port: the profile names no path, USB serial number or VID:PID")
		}
		return s.Path, nil
	}
	var lastSeen []string
	for {
		ports, err := enumerator.GetDetailedPortsList()
		if err != nil {
			return "", fmt.Errorf("find port (%s): %w", s, err)
		}
		var found []string
		lastSeen = lastSeen[:0]
		for _, d := range ports {
			if d.IsUSB {
				lastSeen = append(lastSeen, fmt.Sprintf("%s (%s:%s serial %q)", d.Name, d.VID, d.PID, d.SerialNumber))
			}
			if s.matches(d) {
				found = append(found, d.Name)
			}
		}
		switch {
		case len(found) == 1:
			return found[0], nil
		case len(found) > 1:
			return "", fmt.Errorf("find port (%s): %d ports match: %s; name the board by USB serial number",
				s, len(found), strings.Join(found, ", "))
		}
		select {
		case <-ctx.Done():
			seen := "none"
			if len(lastSeen) > 0 {
				seen = strings.Join(lastSeen, "; ")
			}
			return "", fmt.Errorf("find port (%s): not found (%v); USB serial ports present: %s",
				s, context.Cause(ctx), seen)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// USBPort is a USB serial port the system knows, for a person writing a profile.
type USBPort struct {
	Path         string
	VID, PID     string
	SerialNumber string
}

func (u USBPort) String() string {
	return fmt.Sprintf("%s  vid_pid %s:%s  usb_serial %q", u.Path, u.VID, u.PID, u.SerialNumber)
}

// ListUSB lists the USB serial ports plugged in now.
func ListUSB() ([]USBPort, error) {
	ports, err := enumerator.GetDetailedPortsList()
	if err != nil {
		return nil, fmt.Errorf("list serial ports: %w", err)
	}
	var out []USBPort
	for _, d := range ports {
		if d.IsUSB {
			out = append(out, USBPort{Path: d.Name, VID: strings.ToLower(d.VID), PID: strings.ToLower(d.PID), SerialNumber: d.SerialNumber})
		}
	}
	return out, nil
}

// USBIdentity is the USB VID:PID of the port at path (lowercase), found in the system's port
// list; a symlink such as /dev/serial/by-id/... is followed first. ok is false for a port that
// is not a USB device (a built-in UART, a pseudo-terminal) or not in the list, and for
// rfc2217:// ports.
func USBIdentity(path string) (vid, pid string, ok bool, err error) {
	if IsRemote(path) {
		return "", "", false, nil
	}
	ports, err := enumerator.GetDetailedPortsList()
	if err != nil {
		return "", "", false, fmt.Errorf("list serial ports: %w", err)
	}
	vid, pid, ok = usbIdentityIn(ports, path)
	return vid, pid, ok, nil
}

func usbIdentityIn(ports []*enumerator.PortDetails, path string) (vid, pid string, ok bool) {
	want := path
	if real, err := filepath.EvalSymlinks(path); err == nil {
		want = real
	}
	for _, d := range ports {
		if !d.IsUSB {
			continue
		}
		name := d.Name
		if real, err := filepath.EvalSymlinks(name); err == nil {
			name = real
		}
		if name == want {
			return strings.ToLower(d.VID), strings.ToLower(d.PID), true
		}
	}
	return "", "", false
}
