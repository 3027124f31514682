package framework

import (
	"context"
	"errors"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"

	"github.com/irohconf/irohconf/reports"
)

// The whole framework on fake peers: a Ginkgo suite of a matrix (Register: the tree, running
// cells, verdicts, cells from spec reports, the report) runs in a child process of this test
// binary, as Ginkgo runs one suite per process, and the test reads the report it wrote and how
// the run ended. No Docker, no Rust, no board.

const fakeSuiteEnv = "IROHCONF_FRAMEWORK_FAKE_SUITE"

func TestMain(m *testing.M) {
	if os.Getenv(fakeSuiteEnv) != "" {
		flag.Parse()
		os.Exit(runFakeSuite())
	}
	os.Exit(m.Run())
}

// suiteT is what RunSpecs needs of a testing.T.
type suiteT struct{ failed bool }

func (t *suiteT) Fail() { t.failed = true }

func runFakeSuite() int {
	client := newFakeClient("cl")
	up, down := newFakeServer("sv"), newFakeServer("sv-down")
	down.startErr = errors.New("the fake server does not start")
	m := &Matrix{
		Suite:   "fake",
		Clients: []ClientPeer{client},
		Servers: []ServerPeer{up, down},
		Cases:   fakeCases(),
		Expected: []ExpectedFailure{
			{Client: "cl", Server: "sv", Case: "known", Reason: "a known bug"},
			{Client: "cl", Server: "sv", Case: "stale", Reason: "a fixed bug"},
		},
		ReportRoot: os.Getenv("IROHCONF_RUN_DIR"),
	}
	if os.Getenv(fakeSuiteEnv) == wireSuite {
		m.Clients, m.Servers, m.Cases = []ClientPeer{newDialingClient("go-cl")}, []ServerPeer{newEchoServer("echo-sv")}, wireCases()
		m.Expected = nil
	}
	if os.Getenv("IROHCONF_FAKE_SESSION") != "" {
		// A client that dials through a session, in a matrix without the pair (sc, sv-down).
		m.Clients = append(m.Clients, fakeSessionClient{newFakeClient("sc")})
		m.Pairs = func(c ClientPeer, s ServerPeer) bool {
			return c.Manifest().Name != "sc" || s.Manifest().Name != "sv-down"
		}
	}
	m.Register()
	t := &suiteT{}
	RunSpecs(t, "irohconf framework on fake peers")
	if t.failed {
		return 1
	}
	return 0
}

func fakeCases() []Case {
	fail := func(err error) func(context.Context, *Cell) error {
		return func(context.Context, *Cell) error { return err }
	}
	return []Case{
		{Name: "ok", Run: func(ctx context.Context, c *Cell) error {
			res, err := c.Dial(ctx, DialRequest{Ticket: c.Server.Ticket(), ALPN: "echo/0", Size: 13, Count: 1})
			if err != nil || !res.OK {
				return errors.New("the fake dial failed")
			}
			c.Record("handshake_ms", 1.5)
			return nil
		}},
		{Name: "fails", Run: fail(errors.New("echo differs"))},
		{Name: "unsupported", ClientNeeds: []Feature{FeatureTicketDecoder}, Run: fail(errors.New("ran although unsupported"))},
		{Name: "testbed", Run: fail(Testbed(errors.New("no engine")))},
		{Name: "known", Run: fail(errors.New("the known bug"))},
		{Name: "stale", Run: fail(nil)},
		{Name: "panics", Run: func(context.Context, *Cell) error { panic("boom") }},
		{Name: "hangs", Timeout: 50 * time.Millisecond, Run: func(ctx context.Context, _ *Cell) error {
			<-ctx.Done()
			return ctx.Err()
		}},
	}
}

// runSuite runs the fake suite on the specs the label filter picks, with env added to its
// environment, and returns its report and whether the run passed.
func runSuite(t *testing.T, filter string, env ...string) (reports.Run, bool) {
	t.Helper()
	run, _, passed := runSuiteIn(t, "1", filter, env...)
	return run, passed
}

// runSuiteIn runs one of the fake suites (fakeSuiteEnv's value: "1" the fake peers, wireSuite
// the peers with real traffic) with env added to its environment, and also returns the run's
// folder.
func runSuiteIn(t *testing.T, suite, filter string, env ...string) (reports.Run, string, bool) {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-ginkgo.label-filter="+filter, "-ginkgo.no-color")
	cmd.Env = append(os.Environ(), fakeSuiteEnv+"="+suite, "IROHCONF_RUN_DIR="+dir,
		"IROHCONF_PROGRESS="+filepath.Join(dir, "progress"))
	cmd.Env = append(cmd.Env, append([]string{shardEnv + "=", durationsEnv + "="}, env...)...) // the last value of a name counts
	if err := os.WriteFile(filepath.Join(dir, "progress"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := cmd.CombinedOutput()
	if testing.Verbose() {
		t.Logf("the fake suite's output:\n%s", out)
	}
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("running the fake suite: %v", err)
	}
	run, lerr := reports.Load(dir)
	if lerr != nil {
		t.Fatalf("the fake suite wrote no report: %v\n%s", lerr, out)
	}
	return run, dir, err == nil
}

func cellOf(t *testing.T, run reports.Run, server, kase string) reports.Cell {
	t.Helper()
	for _, c := range run.Cells {
		if c.Client == "cl" && c.Server == server && c.Case == kase {
			return c
		}
	}
	t.Fatalf("no cell cl → %s %s in %+v", server, kase, run.Cells)
	return reports.Cell{}
}

func TestSuiteVerdicts(t *testing.T) {
	t.Run("a run of succeeded, unsupported and expected failures passes", func(t *testing.T) {
		run, passed := runSuite(t, "server:sv && (case:ok || case:unsupported || case:known)")
		if !passed {
			t.Error("the run failed")
		}
		if len(run.Cells) != 3 {
			t.Fatalf("%d cells, want 3: %+v", len(run.Cells), run.Cells)
		}
		if c := cellOf(t, run, "sv", "ok"); c.Outcome != Succeeded || c.HandshakeMS == nil || *c.HandshakeMS != 1.5 || c.PeerVersions["cl"] != "fake 1" {
			t.Errorf("ok: %+v", c)
		}
		if c := cellOf(t, run, "sv", "unsupported"); c.Outcome != Unsupported || !strings.Contains(c.Reason, "client cl does not declare ticket-decoder") {
			t.Errorf("unsupported: %+v", c)
		}
		if c := cellOf(t, run, "sv", "known"); c.Outcome != Failed || c.ExpectedFailure != "a known bug" || !strings.Contains(c.Reason, "the known bug") {
			t.Errorf("known: %+v", c)
		}
		for _, p := range run.Peers {
			if p.Name == "cl" && strings.Join(p.Unsupported, ",") != "unsupported" {
				t.Errorf("the client declares %v unsupported, want [unsupported]", p.Unsupported)
			}
			if p.Name == "sv" && len(p.Unsupported) != 0 {
				t.Errorf("the server is blamed for %v", p.Unsupported)
			}
		}
	})
	for _, tc := range []struct {
		name, filter, server, kase string
		outcome                    Outcome
		reason                     string
	}{
		{"a failed cell fails the run", "server:sv && case:fails", "sv", "fails", Failed, "echo differs"},
		{"a test bed error fails the run", "server:sv && case:testbed", "sv", "testbed", Errored, "no engine"},
		{"a stale expected failure fails the run", "server:sv && case:stale", "sv", "stale", Succeeded, ""},
		{"a panicking case fails its cell", "server:sv && case:panics", "sv", "panics", Failed, "panicked: boom"},
		{"a case that does not finish fails its cell", "server:sv && case:hangs", "sv", "hangs", Failed, "did not finish within 50ms"},
		{"a server that does not start errors its cells", "server:sv-down && case:ok", "sv-down", "ok", Errored, "the fake server does not start"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			run, passed := runSuite(t, tc.filter)
			if passed {
				t.Error("the run passed")
			}
			c := cellOf(t, run, tc.server, tc.kase)
			if c.Outcome != tc.outcome || !strings.Contains(c.Reason, tc.reason) {
				t.Errorf("cell %+v, want %s with %q", c, tc.outcome, tc.reason)
			}
		})
	}
}

// A session client's cells dial through the session the pair started, and record the heap its
// windows saw; a pair the matrix leaves out has no cells.
func TestSessionClientAndPairs(t *testing.T) {
	run, _ := runSuite(t, "client:sc && (case:ok || case:fails)", "IROHCONF_FAKE_SESSION=1")
	var ok *reports.Cell
	for i, c := range run.Cells {
		if c.Server == "sv-down" {
			t.Errorf("a cell of a pair the matrix leaves out: %+v", c)
		}
		if c.Client == "sc" && c.Server == "sv" && c.Case == "ok" {
			ok = &run.Cells[i]
		}
	}
	if ok == nil {
		t.Fatalf("no cell sc → sv ok in %+v", run.Cells)
	}
	if ok.Outcome != Succeeded || ok.Metrics[MetricHeapPeak] != 4096 || ok.Metrics[MetricHeapMinFree] != 100_000 {
		t.Errorf("sc → sv ok: %+v", *ok)
	}
}
