package dissect

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/irohconf/irohconf/iroh/echo"
	"github.com/irohconf/irohconf/wire/faults"
	"github.com/irohconf/irohconf/wire/wiretest"
)

// dissectWith dissects in with one engine only.
func dissectWith(t *testing.T, eng string, in Input) (wireJSON, frameLog string) {
	t.Helper()
	engine = eng
	defer func() { engine = "" }()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	r, err := Dissect(ctx, in)
	if err != nil {
		t.Fatalf("%s: %v", eng, err)
	}
	js, err := json.MarshalIndent(r.Wire, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return string(js), strings.Join(r.FrameLog, "\n")
}

// sharkd and tshark read the same wire from a capture: a handshake and concurrent streams, a
// refusal, no key logs, a migration and corrupted datagrams.
func TestEnginesAgree(t *testing.T) {
	profile := func(name string) faults.Profile {
		p, err := faults.Parse(name)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tc := range []struct {
		name    string
		opts    wiretest.Options
		noKeys  bool
		refused bool
	}{
		{name: "streams", opts: wiretest.Options{Echo: echo.Options{Size: 64 << 10, Count: 3, Streams: 3}}},
		{name: "wrong ALPN", opts: wiretest.Options{ALPN: "no-such-protocol/0", Timeout: 10 * time.Second}, refused: true},
		{name: "no key logs", opts: wiretest.Options{}, noKeys: true},
		{name: "rebind-port", opts: wiretest.Options{Profile: profile("rebind-port"), Seed: 1, Echo: echo.Options{Size: 256 << 10, Count: 2}}},
		{name: "corrupt", opts: wiretest.Options{Profile: profile("corrupt"), Seed: 1, Echo: echo.Options{Size: 256 << 10, Count: 2}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			run := wiretest.Echo(t, tc.opts)
			if (run.DialErr != nil) != tc.refused {
				t.Fatal(run.Describe())
			}
			in := Input{Capture: run.Capture()}
			if !tc.noKeys {
				in.KeyLogs = run.KeyLogs()
			}
			tj, tl := dissectWith(t, "tshark", in)
			sj, sl := dissectWith(t, "sharkd", in)
			if tj != sj {
				t.Errorf("wire.json from tshark:\n%s\nfrom sharkd:\n%s", tj, sj)
			}
			if tl != sl {
				t.Errorf("wire.txt from tshark:\n%s\nfrom sharkd:\n%s", tl, sl)
			}
		})
	}
	CloseSharkd()
}

// A sharkd process that ended between two captures is replaced.
func TestSharkdReplaced(t *testing.T) {
	run := wiretest.Echo(t, wiretest.Options{})
	in := Input{Capture: run.Capture(), KeyLogs: run.KeyLogs()}
	want, _ := dissectWith(t, "sharkd", in)
	sharkds.mu.Lock()
	if len(sharkds.idle) != 1 {
		sharkds.mu.Unlock()
		t.Fatalf("%d idle sharkd processes after a capture, want 1", len(sharkds.idle))
	}
	killed := sharkds.idle[0]
	sharkds.mu.Unlock()
	_ = killed.cmd.Process.Kill()
	_ = killed.cmd.Wait()
	if got, _ := dissectWith(t, "sharkd", in); got != want {
		t.Errorf("after the process was killed:\n%s\nwant\n%s", got, want)
	}
	CloseSharkd()
}
