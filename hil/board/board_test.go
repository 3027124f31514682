package board

import (
	"bytes"
	"context"
	"errors"
	"github.com/irohconf/irohconf/internal/syncio"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/irohconf/irohconf/hil/boardlines"
	"github.com/irohconf/irohconf/hil/console"
	"github.com/irohconf/irohconf/hil/flash"
	"github.com/irohconf/irohconf/hil/internal/scripted"
	"github.com/irohconf/irohconf/hil/port"
	"github.com/irohconf/irohconf/hil/profile"
)

// serialProfile is a profile for a scripted board on path.
func serialProfile(t *testing.T, path, firmware, reset, extra string) *profile.Profile {
	t.Helper()
	doc := "name: scripted\nkind: serial\nchip: esp32s3\nfirmware: " + firmware + "\nport: {path: " + path + "}\nreset: \"" + reset + "\"\n" + extra
	if !strings.Contains(extra, "boot_timeout") {
		doc += "boot_timeout: 20s\n"
	}
	p, err := profile.Parse([]byte(doc))
	if err != nil {
		t.Fatalf("profile: %v", err)
	}
	return p
}

func openBoard(t *testing.T, p *profile.Profile, log io.Writer) *Board {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b, err := Open(ctx, p, log)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return b
}

func within(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func ourBoard(t *testing.T, boots ...string) *scripted.Board {
	logs := make([][]byte, len(boots))
	for i, name := range boots {
		logs[i] = scripted.BootLog(t, name)
	}
	return scripted.Start(t, scripted.Config{Boots: logs, PowerOn: true, Commands: true,
		ID: scripted.FixtureID, Ticket: scripted.FixtureTicket, Status: scripted.FixtureStatus})
}

func TestBootOurFirmware(t *testing.T) {
	sb := ourBoard(t, "irohconf-normal.log")
	var log syncio.Buffer
	b := openBoard(t, serialProfile(t, sb.Path, "irohconf", "console", ""), &log)
	if b.HasModemLines() {
		t.Error("a pty reported modem lines")
	}
	info, err := b.Boot(within(t, 30*time.Second))
	if err != nil {
		t.Fatalf("Boot: %v", err)
	}
	if info.ID != scripted.FixtureID || info.Ticket != scripted.FixtureTicket || info.Addr.String() != scripted.FixtureAddr {
		t.Errorf("boot info %+v", info)
	}
	if info.Banner == nil || info.Banner.Version != "0.1.0" || info.Banner.ResetReason != "poweron" {
		t.Errorf("banner %+v", info.Banner)
	}
	if info.ResetMethod != profile.ResetConsole || info.BootTime <= 0 || b.Last() != info {
		t.Errorf("reset %s, boot time %v", info.ResetMethod, info.BootTime)
	}
	if got := sb.Received(); len(got) != 1 || got[0] != "reset" {
		t.Errorf("the board received %q, want one reset", got)
	}
	// The boot log read is the one after the reset, from its first line.
	lines := b.Console().Lines(info.FirstLine)
	if len(lines) == 0 || lines[0].Text != "Restarting..." || !strings.HasPrefix(lines[1].Text, "ESP-ROM:") {
		t.Errorf("the boot log does not start at the reset: %v", lines[:min(2, len(lines))])
	}
	// The serial log has the power-on boot too, the reset note, and timestamps.
	l := log.String()
	if strings.Count(l, "Router started, accepting connections") != 2 || !strings.Contains(l, "# send: reset") {
		t.Errorf("serial log:\n%s", l)
	}
}

func TestCommands(t *testing.T) {
	sb := ourBoard(t, "irohconf-normal.log")
	b := openBoard(t, serialProfile(t, sb.Path, "irohconf", "console", ""), nil)
	ctx := within(t, 30*time.Second)
	if _, err := b.Boot(ctx); err != nil {
		t.Fatal(err)
	}
	st, err := b.Status(ctx)
	if err != nil {
		t.Fatalf("Status: %v", err)
	}
	if st.UptimeMillis != 51234 || st.ConnectionsServed != 3 || st.BytesEchoed != 36 || st.HeapFree == nil || *st.HeapMin != 98304 {
		t.Errorf("status %+v", st)
	}
	if id, err := b.ID(ctx); err != nil || id != scripted.FixtureID {
		t.Errorf("ID = %q, %v", id, err)
	}
	if tk, err := b.Ticket(ctx); err != nil || tk != scripted.FixtureTicket {
		t.Errorf("Ticket = %q, %v", tk, err)
	}
	if _, err := b.Command(ctx, "frobnicate", regexp.MustCompile(`never`)); !errors.Is(err, ErrUnknownCommand) {
		t.Errorf("unknown command: %v", err)
	}
	if _, err := b.Command(ctx, "two\nlines", boardlines.Status); err == nil {
		t.Error("a command with a newline was sent")
	}
}

func TestForeignFirmware(t *testing.T) {
	sb := scripted.Start(t, scripted.Config{Boots: [][]byte{scripted.BootLog(t, "iroh-example-normal.log")}})
	p := serialProfile(t, sb.Path, "foreign", "none", "")
	b := openBoard(t, p, nil)
	ctx := within(t, 30*time.Second)
	if _, err := b.Reset(ctx); !errors.Is(err, ErrCannotReset) {
		t.Errorf("Reset with reset: none: %v", err)
	}
	// Nobody can reset it here: Boot waits for a boot, which "someone" starts now.
	go func() {
		time.Sleep(50 * time.Millisecond)
		sb.SendLines(scripted.BootLog(t, "iroh-example-normal.log"))
	}()
	info, err := b.Boot(ctx)
	if err != nil {
		t.Fatalf("Boot: %v", err)
	}
	if info.ID != scripted.FixtureID || info.Ticket != scripted.FixtureTicket || info.Banner != nil || info.ResetMethod != profile.ResetNone {
		t.Errorf("boot info %+v", info)
	}
	// Its echo lines parse.
	m, err := b.Expect(ctx, boardlines.Accepted)
	if err != nil || len(m.Submatches[1]) != 64 {
		t.Fatalf("Accepted: %v", err)
	}
	m, err = b.Expect(ctx, boardlines.Copied)
	if n, perr := boardlines.ParseCopied(m.Line.Text); err != nil || perr != nil || n != 12 {
		t.Errorf("Copied: %d %v %v", n, err, perr)
	}
	if _, err := b.Expect(ctx, boardlines.Closed); err != nil {
		t.Error(err)
	}
	// No console: commands are refused without sending anything.
	if _, err := b.Status(ctx); !errors.Is(err, ErrNoConsole) {
		t.Errorf("Status: %v, want ErrNoConsole", err)
	}
	if got := sb.Received(); len(got) != 0 {
		t.Errorf("bytes were sent to foreign firmware: %q", got)
	}
}

func TestResetNeedingLinesOnAPty(t *testing.T) {
	for _, method := range []string{"classic", "usb-jtag", "D0|R1|W0.1|R0"} {
		t.Run(method, func(t *testing.T) {
			sb := ourBoard(t, "irohconf-normal.log")
			b := openBoard(t, serialProfile(t, sb.Path, "irohconf", method, ""), nil)
			_, err := b.Boot(within(t, 30*time.Second))
			if !errors.Is(err, port.ErrNoModemLines) || !strings.Contains(err.Error(), "no modem lines") ||
				!strings.Contains(err.Error(), "reset_fallback: console") {
				t.Fatalf("Boot: %v, want a clear no-modem-lines error", err)
			}
			if got := sb.Received(); len(got) != 0 {
				t.Errorf("the board received %q", got)
			}
		})
	}
	t.Run("fallback", func(t *testing.T) {
		sb := ourBoard(t, "irohconf-normal.log")
		b := openBoard(t, serialProfile(t, sb.Path, "irohconf", "classic", "reset_fallback: console\n"), nil)
		info, err := b.Boot(within(t, 30*time.Second))
		if err != nil {
			t.Fatalf("Boot: %v", err)
		}
		if info.ResetMethod != profile.ResetConsole || !strings.Contains(info.ResetNote, "no modem lines") {
			t.Errorf("reset %s, note %q", info.ResetMethod, info.ResetNote)
		}
	})
}

func TestBootFailures(t *testing.T) {
	for _, tc := range []struct {
		log  string
		kind console.CrashKind
	}{
		{"panic.log", console.Panic},
		{"brownout.log", console.Brownout},
		{"watchdog.log", console.Watchdog},
	} {
		t.Run(tc.log, func(t *testing.T) {
			sb := ourBoard(t, "irohconf-normal.log", tc.log)
			b := openBoard(t, serialProfile(t, sb.Path, "irohconf", "console", ""), nil)
			start := time.Now()
			_, err := b.Boot(within(t, 60*time.Second))
			var ce *console.CrashError
			if !errors.As(err, &ce) || ce.Kind != tc.kind {
				t.Fatalf("Boot: %v, want a %s crash", err, tc.kind)
			}
			// "At once": long before the profile's 20 s boot timeout.
			if waited := time.Since(start); waited > 10*time.Second {
				t.Errorf("the crash was reported after %v", waited)
			}
			if len(ce.Before) == 0 || len(ce.After) == 0 {
				t.Errorf("no log around the crash: %v", err)
			}
		})
	}
}

func TestGarbageBootsFine(t *testing.T) {
	sb := ourBoard(t, "irohconf-normal.log", "garbage.log")
	var log syncio.Buffer
	b := openBoard(t, serialProfile(t, sb.Path, "irohconf", "console", ""), &log)
	info, err := b.Boot(within(t, 30*time.Second))
	if err != nil {
		t.Fatalf("Boot: %v", err)
	}
	if info.ID != scripted.FixtureID {
		t.Errorf("id %q", info.ID)
	}
	if !strings.Contains(log.String(), "not UTF-8") || !strings.Contains(log.String(), "cut") {
		t.Errorf("the garbage is not noted in the serial log")
	}
}

func TestNeverReady(t *testing.T) {
	sb := ourBoard(t, "irohconf-normal.log", "never-ready.log")
	b := openBoard(t, serialProfile(t, sb.Path, "irohconf", "console", "boot_timeout: 1s\n"), nil)
	start := time.Now()
	_, err := b.Boot(within(t, 30*time.Second))
	var te *console.TimeoutError
	if !errors.As(err, &te) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Boot: %v, want a timeout", err)
	}
	if waited := time.Since(start); waited > 10*time.Second {
		t.Errorf("boot_timeout 1s, but Boot took %v", waited)
	}
	if !strings.Contains(err.Error(), "WiFi connect failed") || !strings.Contains(err.Error(), "Router started") {
		t.Errorf("the error does not say what was awaited and what came: %v", err)
	}
}

func TestCrashAfterReady(t *testing.T) {
	sb := ourBoard(t, "irohconf-normal.log")
	b := openBoard(t, serialProfile(t, sb.Path, "irohconf", "console", ""), nil)
	ctx := within(t, 30*time.Second)
	if _, err := b.Boot(ctx); err != nil {
		t.Fatal(err)
	}
	go sb.SendLines([]byte("Guru Meditation Error: Core  0 panic'ed (LoadProhibited). Exception was unhandled.\nCore  0 register dump:\nPC      : 0x420a3b1c\n"))
	_, err := b.Expect(ctx, boardlines.Accepted)
	if !errors.Is(err, console.ErrCrash) {
		t.Fatalf("Expect: %v, want a crash", err)
	}
	// The next reset reports nothing stale, and the board is ready again.
	info, err := b.Reset(ctx)
	if err != nil || info.PreviousCrash != nil {
		t.Fatalf("Reset: %v (previous crash %v)", err, info.PreviousCrash)
	}
}

func TestUnreportedCrashIsKeptAcrossReset(t *testing.T) {
	sb := ourBoard(t, "irohconf-normal.log")
	b := openBoard(t, serialProfile(t, sb.Path, "irohconf", "console", ""), nil)
	ctx := within(t, 30*time.Second)
	if _, err := b.Boot(ctx); err != nil {
		t.Fatal(err)
	}
	sb.SendLines([]byte("abort() was called at PC 0x4207a1c3 on core 0\n"))
	deadline := time.Now().Add(5 * time.Second)
	for len(b.Console().Crashes(0)) == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	info, err := b.Reset(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.PreviousCrash == nil || info.PreviousCrash.Kind != console.Abort {
		t.Errorf("previous crash %v", info.PreviousCrash)
	}
}

func TestFlash(t *testing.T) {
	sb := ourBoard(t, "irohconf-normal.log")
	elf := filepath.Join(t.TempDir(), "fw.elf")
	if err := os.WriteFile(elf, []byte("\x7fELF"), 0o644); err != nil {
		t.Fatal(err)
	}
	var log syncio.Buffer
	b := openBoard(t, serialProfile(t, sb.Path, "irohconf", "console", "flash: {baud: 460800, args: [--chip, esp32s3]}\n"), &log)
	ctx := within(t, 30*time.Second)

	t.Run("missing", func(t *testing.T) {
		t.Setenv("ESPFLASH", "")
		t.Setenv("PATH", t.TempDir())
		if err := b.Flash(ctx, elf); !errors.Is(err, flash.ErrEspflashMissing) || !strings.Contains(err.Error(), "cargo install espflash") {
			t.Errorf("Flash without espflash: %v", err)
		}
	})

	t.Run("runs espflash with the port released", func(t *testing.T) {
		// espflash cannot run without a chip; a stand-in records how it was called and opens
		// the port the way espflash would.
		dir := t.TempDir()
		args := filepath.Join(dir, "args")
		fake := filepath.Join(dir, "espflash")
		script := "#!/bin/sh\necho \"$@\" > " + args + "\necho '[00:00:01] Flashing has completed!'\n" +
			"exec 3<>\"$3\" || exit 9\nexit 0\n"
		if err := os.WriteFile(fake, []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
		t.Setenv("ESPFLASH", fake)
		if err := b.Flash(ctx, elf); err != nil {
			t.Fatalf("Flash: %v", err)
		}
		got, _ := os.ReadFile(args)
		want := "flash --port " + sb.Path + " --baud 460800 --chip esp32s3 " + elf
		if strings.TrimSpace(string(got)) != want {
			t.Errorf("espflash %s, want %s", got, want)
		}
		// The log shows the port closed before espflash ran and opened again after it.
		l := log.String()
		closed := strings.Index(l, "flash: closing "+sb.Path)
		output := strings.Index(l, "espflash: [00:00:01] Flashing has completed!")
		reopened := strings.LastIndex(l, "port "+sb.Path+" opened")
		if closed < 0 || output < closed || reopened < output {
			t.Errorf("serial log does not show close, espflash, reopen in order (%d %d %d)", closed, output, reopened)
		}
		// The console reads again afterwards.
		if _, err := b.Boot(ctx); err != nil {
			t.Fatalf("Boot after flashing: %v", err)
		}
	})

	t.Run("failure quotes espflash", func(t *testing.T) {
		fake := filepath.Join(t.TempDir(), "espflash")
		os.WriteFile(fake, []byte("#!/bin/sh\necho 'Error: espflash::connection_failed' >&2\nexit 1\n"), 0o755)
		t.Setenv("ESPFLASH", fake)
		err := b.Flash(ctx, elf)
		if err == nil || !strings.Contains(err.Error(), "connection_failed") {
			t.Errorf("Flash: %v", err)
		}
		if _, err := b.Status(ctx); err != nil {
			t.Errorf("the console does not work after a failed flash: %v", err)
		}
	})
}

func TestOpenErrors(t *testing.T) {
	p := serialProfile(t, "/dev/irohconf-no-such-port", "irohconf", "console", "")
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	if _, err := Open(ctx, p, nil); err == nil || !strings.Contains(err.Error(), "irohconf-no-such-port") {
		t.Errorf("Open: %v", err)
	}
	vp, err := profile.Parse([]byte("name: v\nkind: virtual\nfirmware: irohconf\nvirtual: {binary: /nonexistent/virtual-board}\n"))
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("IROHCONF_VIRTUAL_BOARD", "")
	if _, err := Open(context.Background(), vp, nil); err == nil || !strings.Contains(err.Error(), "make virtual-board") {
		t.Errorf("Open virtual without the binary: %v", err)
	}
}

func TestBootThatStartsOver(t *testing.T) {
	normal := scripted.BootLog(t, "irohconf-normal.log")
	// The first boot stops after its id (power lost), then the board boots again in full.
	cut := bytes.Index(normal, []byte("Long ticket"))
	first := normal[:bytes.LastIndexByte(normal[:cut], '\n')+1]
	sb := scripted.Start(t, scripted.Config{Boots: [][]byte{normal, append(append([]byte{}, first...), normal...)},
		PowerOn: true, Commands: true})
	b := openBoard(t, serialProfile(t, sb.Path, "irohconf", "console", ""), nil)
	info, err := b.Boot(within(t, 30*time.Second))
	if err != nil {
		t.Fatalf("Boot: %v", err)
	}
	if info.Ticket != scripted.FixtureTicket || len(info.Notes) != 1 || !strings.Contains(info.Notes[0], "started over") {
		t.Errorf("boot info %+v", info)
	}
}

func TestBootWithoutBanner(t *testing.T) {
	normal := scripted.BootLog(t, "irohconf-normal.log")
	noBanner := regexp.MustCompile(`(?m)^.*irohconf-fw 0.1.0 boot.*\n`).ReplaceAll(normal, nil)
	sb := scripted.Start(t, scripted.Config{Boots: [][]byte{normal, noBanner}, PowerOn: true, Commands: true})
	b := openBoard(t, serialProfile(t, sb.Path, "irohconf", "console", ""), nil)
	info, err := b.Boot(within(t, 30*time.Second))
	if err != nil {
		t.Fatalf("Boot: %v", err)
	}
	if info.Banner != nil || len(info.Notes) != 1 || info.Notes[0] != "no boot banner was seen" {
		t.Errorf("boot info %+v", info)
	}
}
