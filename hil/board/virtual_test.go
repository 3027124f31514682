package board

import (
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"github.com/irohconf/irohconf/internal/syncio"
	"os"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/irohconf/irohconf/hil/boardlines"
	"github.com/irohconf/irohconf/hil/console"
	"github.com/irohconf/irohconf/hil/profile"
	"github.com/irohconf/irohconf/iroh/contract"
	"github.com/irohconf/irohconf/iroh/key"
	"github.com/irohconf/irohconf/iroh/rpk"
)

// requireVirtualBoard returns the profile of the built virtual board. Without the binary the
// test says why; under `make test` (IROHCONF_REQUIRE_VIRTUAL_BOARD=1, the binary built
// first) a missing binary fails.
func requireVirtualBoard(t *testing.T, extra string) *profile.Profile {
	t.Helper()
	p, err := profile.Parse([]byte("name: virtual\nkind: virtual\nfirmware: irohconf\nboot_timeout: 30s\n" + extra))
	if err != nil {
		t.Fatal(err)
	}
	bin, err := VirtualBoardBinary(p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(bin); err != nil {
		msg := "virtual board not built (" + bin + ": " + err.Error() + "); `make virtual-board` builds it"
		if os.Getenv("IROHCONF_REQUIRE_VIRTUAL_BOARD") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return p
}

var hex64 = regexp.MustCompile(`^[0-9a-f]{64}$`)

func TestVirtualBoard(t *testing.T) {
	p := requireVirtualBoard(t, "")
	var log syncio.Buffer
	b := openBoard(t, p, &log)
	ctx := within(t, 60*time.Second)
	if b.HasModemLines() {
		t.Error("the virtual board's pty reported modem lines")
	}

	info, err := b.Boot(ctx)
	if err != nil {
		t.Fatalf("Boot: %v\nserial log:\n%s", err, log.String())
	}
	if !hex64.MatchString(info.ID) || !strings.HasPrefix(info.Ticket, "endpoint") {
		t.Errorf("id %q ticket %q", info.ID, info.Ticket)
	}
	if !info.Addr.Addr().IsLoopback() || info.Addr.Port() == 0 {
		t.Errorf("listening on %v, want a loopback address", info.Addr)
	}
	if info.Banner == nil || info.Banner.ResetReason != "software" || info.ResetMethod != profile.ResetConsole {
		t.Errorf("banner %+v after a console reset (%s)", info.Banner, info.ResetMethod)
	}

	st, err := b.Status(ctx)
	if err != nil {
		t.Fatalf("Status: %v", err)
	}
	if st.OpenConnections != 0 || st.ConnectionsServed != 0 || st.BytesEchoed != 0 {
		t.Errorf("a fresh board reports %+v", st)
	}
	if id, err := b.ID(ctx); err != nil || id != info.ID {
		t.Errorf("id command: %q %v, boot said %q", id, err, info.ID)
	}
	if tk, err := b.Ticket(ctx); err != nil || tk != info.Ticket {
		t.Errorf("ticket command: %q %v, boot said %q", tk, err, info.Ticket)
	}
	if _, err := b.Command(ctx, "frobnicate", regexp.MustCompile(`never`)); !errors.Is(err, ErrUnknownCommand) {
		t.Errorf("unknown command: %v", err)
	}

	again, err := b.Reset(ctx)
	if err != nil {
		t.Fatalf("Reset: %v", err)
	}
	if again.ID != info.ID {
		t.Errorf("the id changed across a reset: %s, then %s", info.ID, again.ID)
	}
	if again.Banner == nil || again.Banner.Boot != info.Banner.Boot+1 {
		t.Errorf("boot count %+v after %+v", again.Banner, info.Banner)
	}
	if st2, err := b.Status(ctx); err != nil || st2.UptimeMillis > st.UptimeMillis+uint64(time.Since(info.ReadyAt).Milliseconds())+1000 {
		t.Errorf("uptime after reset: %+v %v", st2, err)
	}

	if err := b.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	select {
	case <-b.proc.Done():
	default:
		t.Error("the virtual board still runs after Close")
	}
	if !strings.Contains(log.String(), "virtual board stopped") {
		t.Error("the serial log does not say the board stopped")
	}
}

func TestVirtualBoardFixedSecret(t *testing.T) {
	seed := make([]byte, ed25519.SeedSize)
	for i := range seed {
		seed[i] = byte(i * 7)
	}
	p := requireVirtualBoard(t, "virtual: {secret: "+hex.EncodeToString(seed)+"}\n")
	b := openBoard(t, p, nil)
	info, err := b.Boot(within(t, 60*time.Second))
	if err != nil {
		t.Fatalf("Boot: %v", err)
	}
	want := hex.EncodeToString(ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey))
	if info.ID != want {
		t.Errorf("id %s, want the public key of IROH_SECRET %s", info.ID, want)
	}
}

func TestVirtualBoardThatDies(t *testing.T) {
	p := requireVirtualBoard(t, "")
	b := openBoard(t, p, nil)
	ctx := within(t, 60*time.Second)
	if _, err := b.Boot(ctx); err != nil {
		t.Fatalf("Boot: %v", err)
	}
	if err := b.proc.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_, err := b.Expect(ctx, boardlines.Accepted)
	var ended *console.EndedError
	if !errors.As(err, &ended) || !strings.Contains(err.Error(), "the virtual board exited") {
		t.Fatalf("Expect after the board died: %v", err)
	}
	if ctx.Err() != nil {
		t.Error("the wait ran into its timeout instead of failing when the board died")
	}
	// Close reports the unclean exit but still cleans up.
	if err := b.Close(); err == nil || !strings.Contains(err.Error(), "exited") {
		t.Errorf("Close: %v", err)
	}
}

// A Go peer dials the virtual board's ticket address; the board's connection lines parse and
// its STATUS counts the connection.
func TestVirtualBoardEchoLines(t *testing.T) {
	p := requireVirtualBoard(t, "")
	if err := rpk.Available(); err != nil {
		msg := "the Go peer needs the crypto/tls overlay (make test-hil-driver sets it): " + err.Error()
		if os.Getenv("IROHCONF_REQUIRE_VIRTUAL_BOARD") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	b := openBoard(t, p, nil)
	ctx := within(t, 60*time.Second)
	info, err := b.Boot(ctx)
	if err != nil {
		t.Fatalf("Boot: %v", err)
	}
	id, err := key.ParsePublicKey(info.ID)
	if err != nil {
		t.Fatal(err)
	}
	dialer, err := key.GenerateSecretKey()
	if err != nil {
		t.Fatal(err)
	}
	res := contract.Dial(ctx, contract.DialRequest{ID: id, Addr: info.Addr, Size: 3000, Count: 1, Secret: &dialer})
	if !res.OK {
		t.Fatalf("dial: %+v", res)
	}
	m, err := b.Expect(ctx, boardlines.Accepted)
	if err != nil || m.Submatches[1] != dialer.Public().String() {
		t.Fatalf("Accepted: %v %v, want the dialer %s", m, err, dialer.Public())
	}
	m, err = b.Expect(ctx, boardlines.Copied)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := boardlines.ParseCopied(m.Line.Text); err != nil || n != 3000 {
		t.Errorf("Copied over %d byte(s), %v; want 3000", n, err)
	}
	if _, err := b.Expect(ctx, boardlines.Closed); err != nil {
		t.Fatal(err)
	}
	st, err := b.Status(ctx)
	if err != nil || st.ConnectionsServed != 1 || st.BytesEchoed != 3000 || st.OpenConnections != 0 {
		t.Errorf("status %+v %v", st, err)
	}
}
