package virtual

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/irohconf/irohconf/hil/profile"
)

// These tests run small shell programs in place of the virtual board, to check how Start and
// Stop handle a process that misbehaves; the board itself is tested in package board.

func script(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "board.sh")
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

func start(t *testing.T, bin string, o Options) (*Process, error) {
	t.Helper()
	o.Binary = bin
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	p, err := Start(ctx, o)
	if p != nil {
		t.Cleanup(func() { p.Stop() })
	}
	return p, err
}

func TestNotBuilt(t *testing.T) {
	_, err := start(t, filepath.Join(t.TempDir(), "virtual-board"), Options{})
	if !errors.Is(err, ErrNotBuilt) {
		t.Errorf("err = %v", err)
	}
}

func TestAnnouncesAndStopsCleanly(t *testing.T) {
	args := filepath.Join(t.TempDir(), "args")
	bin := script(t, `echo "$@ secret=$IROH_SECRET" > `+args+`
trap 'exit 0' TERM
echo "console /dev/pts/99"
echo "late stdout line"
echo "diagnostic" >&2
while :; do sleep 0.05; done
`)
	var stderr strings.Builder
	p, err := start(t, bin, Options{Bind: "127.0.0.1:0", Secret: strings.Repeat("ab", 32), Link: "/tmp/x", Stderr: &lockedBuilder{b: &stderr}})
	if err != nil {
		t.Fatal(err)
	}
	if p.ConsolePath != "/dev/pts/99" {
		t.Errorf("console %q", p.ConsolePath)
	}
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(p.Stderr(), "late stdout line") && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if err := p.Stop(); err != nil {
		t.Errorf("Stop: %v", err)
	}
	select {
	case <-p.Done():
	default:
		t.Error("Stop returned before the process exited")
	}
	got, _ := os.ReadFile(args)
	if want := "--bind 127.0.0.1:0 --link /tmp/x secret=" + strings.Repeat("ab", 32); strings.TrimSpace(string(got)) != want {
		t.Errorf("started with %q, want %q", got, want)
	}
	if s := p.Stderr(); !strings.Contains(s, "diagnostic") || !strings.Contains(s, "(stdout) late stdout line") {
		t.Errorf("stderr kept: %q", s)
	}
}

func TestProfileOptionsPassTheBoardsMemory(t *testing.T) {
	p, err := profile.Load("../../fixtures/boards/virtual-example-firmware.yaml")
	if err != nil {
		t.Fatal(err)
	}
	args := filepath.Join(t.TempDir(), "args")
	bin := script(t, `echo "$@" > `+args+`
trap 'exit 0' TERM
echo "console /dev/pts/97"
while :; do sleep 0.05; done
`)
	o := ProfileOptions(p, bin)
	if o.Binary != bin || o.Heap != p.Memory.Heap() || o.MainStack != 48*1024 {
		t.Errorf("options %+v for memory %+v", o, p.Memory)
	}
	proc, err := start(t, bin, o)
	if err != nil {
		t.Fatal(err)
	}
	if err := proc.Stop(); err != nil {
		t.Errorf("Stop: %v", err)
	}
	got, _ := os.ReadFile(args)
	want := fmt.Sprintf("--bind 127.0.0.1:0 --heap %d --main-stack 49152 --example-firmware", p.Memory.Heap())
	if strings.TrimSpace(string(got)) != want {
		t.Errorf("started with %q, want %q", got, want)
	}
}

func TestExitsBeforeAnnouncing(t *testing.T) {
	_, err := start(t, script(t, "echo 'IROH_SECRET: not 64 hex digits' >&2\nexit 2\n"), Options{})
	if err == nil || !strings.Contains(err.Error(), "exited before naming its console") || !strings.Contains(err.Error(), "not 64 hex digits") {
		t.Errorf("err = %v", err)
	}
}

func TestWrongFirstLine(t *testing.T) {
	_, err := start(t, script(t, "echo 'hello'\nexec sleep 5\n"), Options{})
	if err == nil || !strings.Contains(err.Error(), `first stdout line "hello"`) {
		t.Errorf("err = %v", err)
	}
}

func TestSilentBoardTimesOut(t *testing.T) {
	begin := time.Now()
	_, err := start(t, script(t, "trap 'exit 0' TERM\nwhile :; do sleep 0.05; done\n"), Options{StartTimeout: 300 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "did not name its console within 300ms") {
		t.Errorf("err = %v", err)
	}
	if time.Since(begin) > 10*time.Second {
		t.Errorf("Start took %v", time.Since(begin))
	}
}

func TestStopKillsABoardThatIgnoresTERM(t *testing.T) {
	if testing.Short() {
		t.Skip("waits StopTimeout")
	}
	p, err := start(t, script(t, "trap '' TERM\necho 'console /dev/pts/98'\nwhile :; do sleep 0.05; done\n"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	err = p.Stop()
	if err == nil || !strings.Contains(err.Error(), "was killed") {
		t.Errorf("Stop: %v", err)
	}
	select {
	case <-p.Done():
	default:
		t.Error("the process still runs")
	}
}

type lockedBuilder struct{ b *strings.Builder }

func (l *lockedBuilder) Write(p []byte) (int, error) { return l.b.Write(p) }
