package framework

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestParseManifestIsStrict(t *testing.T) {
	good := "name: p\nroles: [client, server]\nalpns: [echo/0]\nfeatures: [idle-dial]\n"
	if _, err := ParseManifest([]byte(good)); err != nil {
		t.Fatalf("good manifest refused: %v", err)
	}
	for name, bad := range map[string]string{
		"unknown field":   good + "colour: blue\n",
		"unknown feature": "name: p\nroles: [client]\nfeatures: [telepathy]\n",
		"unknown role":    "name: p\nroles: [relay]\n",
		"server no alpns": "name: p\nroles: [server]\n",
		"no name":         "roles: [client]\n",
	} {
		if _, err := ParseManifest([]byte(bad)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestExpandAndCustomEncodings(t *testing.T) {
	m, err := ParseManifest([]byte("name: up\nroles: [client]\nversions: [\"1.0.0\", \"1.4.1\"]\ncustom_addr_encodings:\n  \"1.0.0\": [legacy]\n  default: [current]\n"))
	if err != nil {
		t.Fatal(err)
	}
	ms := m.Expand()
	if len(ms) != 2 || ms[0].Name != "up-1.0.0" || ms[1].Name != "up-1.4.1" {
		t.Fatalf("expanded to %+v", ms)
	}
	if got := strings.Join(ms[0].CustomEncodings(), ","); got != "legacy" {
		t.Errorf("1.0.0 reads %q, want legacy", got)
	}
	if got := strings.Join(ms[1].CustomEncodings(), ","); got != "current" {
		t.Errorf("1.4.1 reads %q, want current (the default)", got)
	}
}

func TestClassify(t *testing.T) {
	cases := []struct {
		err    error
		want   Outcome
		reason string
	}{
		{nil, Succeeded, ""},
		{NotDeclared("x", "x declares %d streams", 1), Unsupported, "x declares 1 streams"},
		{Testbed(errors.New("no engine")), Errored, "no engine"},
		{Testbed(NotDeclared("x", "answered 127")), Unsupported, "answered 127"},
		{errors.New("echo differs"), Failed, "echo differs"},
	}
	for _, c := range cases {
		got, reason := Classify(c.err)
		if got != c.want || reason != c.reason {
			t.Errorf("Classify(%v) = %s %q, want %s %q", c.err, got, reason, c.want, c.reason)
		}
	}
}

func TestTapWaitForAndSince(t *testing.T) {
	tap := NewTap("peer", nil)
	m := tap.Mark()
	go func() {
		time.Sleep(20 * time.Millisecond)
		tap.Write([]byte("first\r\nsecond line with id abc"))
		tap.Write([]byte("d\n"))
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, sm, next, err := tap.WaitFor(ctx, m, regexp.MustCompile(`id (\w+)`))
	if err != nil || sm[1] != "abcd" {
		t.Fatalf("WaitFor = %v, %v; want the id split across writes", sm, err)
	}
	if lines := tap.Since(m); len(lines) != 2 || lines[0].Text != "first" {
		t.Fatalf("Since = %+v", lines)
	}
	short, cancel2 := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel2()
	if _, _, _, err := tap.WaitFor(short, next, regexp.MustCompile("never")); err == nil || !strings.Contains(err.Error(), "never") {
		t.Fatalf("a wait that times out must say what it waited for, got %v", err)
	}
	path := filepath.Join(t.TempDir(), "log")
	if err := tap.WriteFile(path, m); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	if !strings.Contains(string(b), " first\n") {
		t.Fatalf("log file %q lacks the lines", b)
	}
}

func TestExpectedFailures(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.yaml")
	os.WriteFile(path, []byte("- client: go\n  server: upstream-*\n  case: refuse-alpn\n  reason: a known bug\n"), 0o644)
	list, err := LoadExpectedFailures(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := expectedFailure(list, PeerIdentity{Name: "go"}, PeerIdentity{Name: "upstream-1.4.1"}, "refuse-alpn", ""); !ok {
		t.Error("pattern did not match")
	}
	if _, ok := expectedFailure(list, PeerIdentity{Name: "go"}, PeerIdentity{Name: "go"}, "refuse-alpn", ""); ok {
		t.Error("matched another server")
	}
	os.WriteFile(path, []byte("- client: go\n  server: x\n  case: y\n"), 0o644)
	if _, err := LoadExpectedFailures(path); err == nil {
		t.Error("an entry without a reason was accepted")
	}
	os.WriteFile(path, []byte("- client: go\n  server: x\n  case: y\n  reason: r\n  symptom: \"(\"\n"), 0o644)
	if _, err := LoadExpectedFailures(path); err == nil || !strings.Contains(err.Error(), "bad symptom") {
		t.Errorf("a symptom that is no regular expression: %v", err)
	}
	os.WriteFile(path, []byte("- client: go\n  server: x\n  case: y\n  reason: r\n  symptom: ^stalled\n"), 0o644)
	list, err = LoadExpectedFailures(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := expectedFailure(list, PeerIdentity{Name: "go"}, PeerIdentity{Name: "x"}, "y", "stalled at 20 s"); !ok {
		t.Error("the symptom did not match its failure")
	}
	if _, ok := expectedFailure(list, PeerIdentity{Name: "go"}, PeerIdentity{Name: "x"}, "y", "echo differs"); ok {
		t.Error("the entry excused a failure other than its symptom")
	}
}

// Boards are matched by the firmware they run and the iroh it is built on, not by name.
func TestExpectedFailuresByFirmwareAndIroh(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.yaml")
	doc := "- client: go\n  server_firmware: \"*\"\n  server_iroh_version: \"1.*\"\n  case: refuse-alpn-large-hello\n  reason: iroh drops it\n" +
		"- client_firmware: irohconf-fw 0.1.*\n  server: go\n  case: echo-*\n  reason: firmware 0.1 bug\n"
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	list, err := LoadExpectedFailures(path)
	if err != nil {
		t.Fatal(err)
	}
	goPeer := PeerIdentity{Name: "go"}
	bench := PeerIdentity{Name: "esp32s3-devkitc-usb", Firmware: "irohconf-fw", FirmwareVersion: "irohconf-fw 0.1.0", IrohVersion: "1.4.1"}
	for _, tc := range []struct {
		name           string
		client, server PeerIdentity
		kase           string
		want           bool
	}{
		{"a real board by its firmware", goPeer, bench, "refuse-alpn-large-hello", true},
		{"the virtual board", goPeer, PeerIdentity{Name: "virtual-board", Firmware: "irohconf-fw", IrohVersion: "1.4.1"}, "refuse-alpn-large-hello", true},
		{"another iroh", goPeer, PeerIdentity{Name: "b", Firmware: "irohconf-fw", IrohVersion: "2.0.0"}, "refuse-alpn-large-hello", false},
		{"no firmware declared", goPeer, PeerIdentity{Name: "upstream-1.4.1", IrohVersion: "1.4.1"}, "refuse-alpn-large-hello", false},
		{"iroh version unknown", goPeer, PeerIdentity{Name: "ex", Firmware: "iroh-esp32-example"}, "refuse-alpn-large-hello", false},
		{"the board's own version", bench, goPeer, "echo-1KiB", true},
		{"another firmware version", PeerIdentity{Name: "b", Firmware: "irohconf-fw", FirmwareVersion: "irohconf-fw 0.2.0"}, goPeer, "echo-1KiB", false},
	} {
		if _, got := expectedFailure(list, tc.client, tc.server, tc.kase, ""); got != tc.want {
			t.Errorf("%s: matched %v, want %v", tc.name, got, tc.want)
		}
	}
	if err := os.WriteFile(path, []byte("- client: go\n  case: x\n  reason: no server\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadExpectedFailures(path); err == nil || !strings.Contains(err.Error(), "needs a client") {
		t.Errorf("an entry without a server matcher: %v", err)
	}
}

// Waiting cells move to the front of a pair that starts with them, the rest keep their order.
func TestWaitingFirst(t *testing.T) {
	var kases []Case
	for _, n := range []string{"a", "idle", "b", "c"} {
		k := Case{Name: n}
		if n == "idle" {
			k.Waits = 35 * time.Second
		}
		kases = append(kases, k)
	}
	var got []string
	for _, k := range waitingFirst(kases) {
		got = append(got, k.Name)
	}
	if strings.Join(got, ",") != "idle,a,b,c" {
		t.Errorf("order %v", got)
	}
}
