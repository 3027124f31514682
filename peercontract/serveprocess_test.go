package peercontract_test

import (
	"context"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/irohconf/irohconf/peercontract"
)

const readyLine = `{"event":"ready","endpoint_id":"ab","ticket":"endpointab","addrs":["127.0.0.1:1"],"version":"test 1"}`

// serveScript is a program that speaks serve's part of the contract as script says.
func serveScript(script string) *exec.Cmd {
	return exec.Command("sh", "-c", script)
}

func TestStartServeReadyAndStop(t *testing.T) {
	var mu sync.Mutex
	var lines []string
	second := make(chan struct{})
	cmd := serveScript(`trap 'exit 0' TERM; echo '` + readyLine + `'; echo '{"event":"connection"}'; while :; do sleep 0.05; done`)
	p, err := peercontract.StartServe(context.Background(), cmd, peercontract.ServeOptions{Line: func(l string) {
		mu.Lock()
		defer mu.Unlock()
		if lines = append(lines, l); len(lines) == 2 {
			close(second)
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	if p.Ready.EndpointID != "ab" || p.Ready.Addrs[0] != "127.0.0.1:1" {
		t.Errorf("ready = %+v", p.Ready)
	}
	select { // lines after the ready line keep coming to Line
	case <-second:
	case <-time.After(10 * time.Second):
		t.Error("no second line")
	}
	if err := p.Stop(); err != nil {
		t.Errorf("stop: %v", err)
	}
	select {
	case <-p.Exited():
	default:
		t.Error("Stop returned before the process exited")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(lines) != 2 || lines[0] != readyLine {
		t.Errorf("lines = %q, want the ready and the connection line", lines)
	}
}

func TestStartServeFailures(t *testing.T) {
	for _, tc := range []struct {
		name, script, want string
		opts               peercontract.ServeOptions
	}{
		{"exits first", `echo broken >&2; exit 3`, "exited before its ready line: exit status 3", peercontract.ServeOptions{}},
		{"other first line", `echo hello; exec sleep 30`, "ready line is not the contract's JSON", peercontract.ServeOptions{}},
		{"no ready line in time", `exec sleep 30`, "printed no ready line within 200ms", peercontract.ServeOptions{ReadyWithin: 200 * time.Millisecond}},
		{"output closed, still running", `exec >&-; exec sleep 30`, "closed its output without a ready line", peercontract.ServeOptions{ReadyWithin: 200 * time.Millisecond}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := serveScript(tc.script)
			start := time.Now()
			_, err := peercontract.StartServe(context.Background(), cmd, tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to say %q", err, tc.want)
			}
			if time.Since(start) > 15*time.Second {
				t.Errorf("took %s: the process was not stopped promptly", time.Since(start))
			}
			if cmd.ProcessState == nil {
				t.Error("the process was not waited for")
			}
		})
	}
}

func TestStartServeContextEnds(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	cmd := serveScript(`exec sleep 30`)
	if _, err := peercontract.StartServe(ctx, cmd, peercontract.ServeOptions{}); err == nil || !strings.Contains(err.Error(), "deadline exceeded") {
		t.Fatalf("err = %v", err)
	}
	if cmd.ProcessState == nil {
		t.Error("the process was not waited for")
	}
}

func TestStopKillsWhatIgnoresSIGTERM(t *testing.T) {
	cmd := serveScript(`trap '' TERM; echo '` + readyLine + `'; exec sleep 30`)
	p, err := peercontract.StartServe(context.Background(), cmd, peercontract.ServeOptions{StopWithin: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	err = p.Stop()
	if err == nil || !strings.Contains(err.Error(), "ignored SIGTERM for 200ms and was killed") {
		t.Fatalf("stop: %v", err)
	}
	if again := p.Stop(); again != err {
		t.Errorf("second Stop = %v, want the first's %v", again, err)
	}
}

func TestStopReportsAnEarlierExit(t *testing.T) {
	cmd := serveScript(`echo '` + readyLine + `'; exit 4`)
	p, err := peercontract.StartServe(context.Background(), cmd, peercontract.ServeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.Exited():
	case <-time.After(10 * time.Second):
		t.Fatal("the program did not exit")
	}
	if err := p.Stop(); err == nil || !strings.Contains(err.Error(), "had already exited: exit status 4") {
		t.Fatalf("stop: %v", err)
	}
}
