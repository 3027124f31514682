package bench

import (
	"math"
	"net"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestMedianAndPercentile(t *testing.T) {
	for _, tc := range []struct {
		xs       []float64
		med, p90 float64
	}{
		{[]float64{3, 1, 2}, 2, 3},
		{[]float64{4, 1, 3, 2}, 2.5, 4},
		{[]float64{7}, 7, 7},
		{[]float64{10, 9, 8, 7, 6, 5, 4, 3, 2, 1}, 5.5, 9},
	} {
		if got := median(tc.xs); got != tc.med {
			t.Errorf("median(%v) = %v, want %v", tc.xs, got, tc.med)
		}
		if got := percentile(tc.xs, 90); got != tc.p90 {
			t.Errorf("p90(%v) = %v, want %v", tc.xs, got, tc.p90)
		}
	}
	if !math.IsNaN(median(nil)) || !math.IsNaN(percentile(nil, 90)) {
		t.Error("no samples must give NaN")
	}
}

func TestCPUOfThisProcess(t *testing.T) {
	before, err := processCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	// Spin until the reading moves by 100 ms (a shared machine gives this process a share of a
	// core only), and no longer than the wall time allows.
	var after time.Duration
	for start := time.Now(); after-before < 100*time.Millisecond; {
		if time.Since(start) > 20*time.Second {
			t.Fatalf("20 s of spinning counted as %v of CPU", after-before)
		}
		for range 1000000 {
		}
		if after, err = processCPU(os.Getpid()); err != nil {
			t.Fatal(err)
		}
	}
	file, err := cgroupCPUFile(os.Getpid())
	if err != nil {
		t.Skipf("no cgroup CPU accounting here: %v", err)
	}
	if _, err := cgroupCPU(file); err != nil {
		t.Errorf("%s: %v", file, err)
	}
}

func TestPidOfUDPPort(t *testing.T) {
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	pid, err := pidOfUDPPort(uint16(c.LocalAddr().(*net.UDPAddr).Port))
	if err != nil {
		t.Fatal(err)
	}
	if pid != os.Getpid() {
		t.Errorf("pid %d, want this process, %d", pid, os.Getpid())
	}
}

func TestLimitsAreMeasured(t *testing.T) {
	if mbps, _ := goAESGCM(DatagramSize, 50*time.Millisecond); mbps <= 0 {
		t.Errorf("AES-GCM: %v MB/s", mbps)
	}
	for _, f := range []func(int, time.Duration) (float64, float64, error){udpLoopback, udpLoopbackGSO} {
		if mbps, _, err := f(DatagramSize, time.Second); err != nil || mbps <= 0 {
			t.Errorf("UDP loopback: %v MB/s, %v", mbps, err)
		}
	}
	if _, _, err := firmwareAESGCM(t.Context(), "", DatagramSize, time.Millisecond); err == nil {
		t.Error("a missing example must be an error")
	}
}

func ptr(x float64) *float64 { return &x }

// sampleRun is a run of two rounds in which the Go client's echo to upstream 1.4.1 gives echo
// MB/s, upstream to upstream 100, UDP loopback 1000 in both rounds.
func sampleRun(echo float64) *Run {
	run := &Run{
		Clients: []string{"go", "upstream-1.4.1"},
		Servers: []string{"go", "upstream-1.4.1", "virtual-board"},
		Limits: []Limit{
			{Name: LimitAESGo, MBps: 2000, Samples: []float64{2000, 2000}, Rounds: map[string][]float64{MeasureEcho: {2000, 2000}}},
			{Name: LimitUDP, MBps: 1000, Samples: []float64{1000, 1000}, Rounds: map[string][]float64{MeasureEcho: {1000, 1000}}},
			{Name: LimitAESFirmware, MBps: 500, Samples: []float64{500, 500}, Rounds: map[string][]float64{MeasureEcho: {500, 500}}},
		},
		Results: []Result{
			{Client: "go", Server: "upstream-1.4.1", Measure: MeasureEcho, Median: ptr(echo), P90: ptr(echo), Unit: "MB/s", Samples: []float64{echo, echo}, Rounds: []float64{echo, echo}, Outcome: "ok"},
			{Client: "upstream-1.4.1", Server: "upstream-1.4.1", Measure: MeasureEcho, Median: ptr(100), P90: ptr(100), Unit: "MB/s", Samples: []float64{100, 100}, Rounds: []float64{100, 100}, Outcome: "ok"},
			{Client: "go", Server: "upstream-1.4.1", Measure: MeasureHandshake, Median: ptr(2), P90: ptr(3), Unit: "ms", Samples: []float64{2, 3}, Rounds: []float64{2, 3}, Outcome: "ok"},
			{Client: "go", Server: "virtual-board", Measure: MeasureUpload, Unit: "MB/s", Samples: []float64{}, Outcome: "unsupported", Reason: "serves only echo/0"},
		},
	}
	run.Schedule = []Schedule{{Measure: MeasureEcho, Rounds: []Round{
		{Start: 10, Seconds: 2.5, Order: []string{"go -> upstream-1.4.1", "upstream-1.4.1 -> upstream-1.4.1"}},
		{Start: 12.5, Seconds: 3.25, Order: []string{"upstream-1.4.1 -> upstream-1.4.1", "go -> upstream-1.4.1"}},
	}}}
	deriveRatios(run)
	return run
}

func TestCompare(t *testing.T) {
	moved, missing := Compare(sampleRun(100), sampleRun(70), 0.2)
	if len(moved) != 1 || moved[0].Measure != MeasureEcho || !moved[0].Worse || math.Abs(moved[0].Change+0.3) > 1e-9 {
		t.Errorf("moved %+v", moved)
	}
	if len(missing) != 0 {
		t.Errorf("missing %v", missing)
	}
	if moved, _ := Compare(sampleRun(100), sampleRun(115), 0.2); len(moved) != 0 {
		t.Errorf("a 15%% change is within 20%%: %+v", moved)
	}
	old := sampleRun(100)
	old.Results = old.Results[1:]
	if _, missing := Compare(old, sampleRun(100), 0.2); len(missing) != 1 || !strings.Contains(missing[0], "not in the earlier run") {
		t.Errorf("missing %v", missing)
	}
}

func TestPage(t *testing.T) {
	page, err := Page(sampleRun(95))
	if err != nil {
		t.Fatal(err)
	}
	s := string(page)
	for _, want := range []string{
		"0.95×", "of upstream-1.4.1 → upstream-1.4.1", // the Go pair's ratio to its reference
		// Too few rounds for a confidence interval: the range. Echo crosses twice: 95 of 1000/2.
		"0.95× (range 0.95–0.95)", "19% (range 19–19%) of the limit (udp_loopback)",
		"unsupported", "serves only echo/0",
		"2.5–3.2", "go → upstream-1.4.1; upstream-1.4.1 → upstream-1.4.1", // how the rounds ran
	} {
		if !strings.Contains(s, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(s, "http://") || strings.Contains(s, "https://") || strings.Contains(s, "<script src") {
		t.Error("the page must be self-contained")
	}
}

func TestReferencePair(t *testing.T) {
	clients := []string{"go", "upstream-1.4.1", "upstream-1.0.0"}
	for _, tc := range []struct{ c, s, rc, rs string }{
		{"go", "go", "upstream-1.4.1", "upstream-1.4.1"},
		{"go", "upstream-1.0.0", "upstream-1.0.0", "upstream-1.0.0"},
		{"upstream-1.0.0", "go", "upstream-1.0.0", "upstream-1.0.0"},
		{"go", "virtual-board", "upstream-1.4.1", "virtual-board"},
	} {
		rc, rs, ok := referencePair(tc.c, tc.s, clients)
		if !ok || rc != tc.rc || rs != tc.rs {
			t.Errorf("%s → %s: %s → %s (%v), want %s → %s", tc.c, tc.s, rc, rs, ok, tc.rc, tc.rs)
		}
	}
	if _, _, ok := referencePair("upstream-1.4.1", "upstream-1.0.0", clients); ok {
		t.Error("an upstream pair has no reference")
	}
}

func TestPairLimit(t *testing.T) {
	limits := []Limit{{Name: LimitAESGo, MBps: 2000}, {Name: LimitAESFirmware, MBps: 300}, {Name: LimitUDP, MBps: 400}, {Name: LimitUDPGSO, MBps: 1000}}
	for _, tc := range []struct {
		server string
		wire   float64
		want   float64
		name   string
	}{
		{"go", 1, 1000, LimitUDPGSO},                // the faster UDP
		{"go", 2, 500, LimitUDPGSO},                 // an echo's payload crosses twice
		{"virtual-board", 1, 300, LimitAESFirmware}, // the board's crypto is slower
	} {
		if got, name := pairLimit(limits, "go", tc.server, tc.wire); got != tc.want || name != tc.name {
			t.Errorf("go → %s, wire ×%v: %v (%s), want %v (%s)", tc.server, tc.wire, got, name, tc.want, tc.name)
		}
	}
}

func TestPrintRatios(t *testing.T) {
	var b strings.Builder
	PrintRatios(&b, sampleRun(95))
	for _, want := range []string{"ratio echo", "go→upstream-1.4.1 0.95×", "limit echo", "go→upstream-1.4.1 19%"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, b.String())
		}
	}
}

func TestDeriveRatios(t *testing.T) {
	ok := func(client, server, measure string, rounds ...float64) Result {
		m := median(rounds)
		return Result{Client: client, Server: server, Measure: measure, Median: &m, P90: &m, Samples: rounds, Rounds: rounds, Outcome: "ok"}
	}
	run := &Run{
		Clients: []string{"go", "upstream-1.4.1", "upstream-1.0.0"},
		Servers: []string{"go", "upstream-1.4.1", "upstream-1.0.0"},
		Limits: []Limit{
			{Name: LimitUDP, Rounds: map[string][]float64{MeasureEcho: {1000, 250, 1000}, MeasureUpload: {100, 100, 100}}},
			{Name: LimitAESGo, Rounds: map[string][]float64{MeasureEcho: {2000, 2000, 2000}, MeasureUpload: {2000, 2000, 2000}}},
		},
		Results: []Result{
			// Round by round 0.5, 2 and 0.5: the ratio is their median, 0.5, where the ratio of the
			// medians (100/100) would say 1.
			ok("go", "upstream-1.4.1", MeasureEcho, 50, 100, 200),
			ok("upstream-1.4.1", "upstream-1.4.1", MeasureEcho, 100, 50, 400),
			// Times: the Go server's handshakes over upstream 1.0.0's, 0.9 to 1.5.
			ok("upstream-1.0.0", "go", MeasureHandshake, 9, 12, 15),
			ok("upstream-1.0.0", "upstream-1.0.0", MeasureHandshake, 10, 10, 10),
			// A reference with fewer rounds (an interrupted run) gives no ratio.
			ok("go", "upstream-1.0.0", MeasureEcho, 100, 100, 100),
			ok("upstream-1.0.0", "upstream-1.0.0", MeasureEcho, 100, 100),
			// A reference that failed gives none either.
			ok("go", "go", MeasureUpload, 50, 50, 50),
			{Client: "upstream-1.4.1", Server: "upstream-1.4.1", Measure: MeasureUpload, Outcome: "error", Reason: "round 2: timeout", Samples: []float64{70}, Rounds: []float64{70}},
		},
	}
	deriveRatios(run)
	byKey := map[[3]string]Result{}
	for _, r := range run.Results {
		byKey[[3]string{r.Client, r.Server, r.Measure}] = r
	}
	check := func(what string, got *Spread, of string, med, lo, hi float64, rounds ...float64) {
		t.Helper()
		if got == nil {
			t.Fatalf("%s: none", what)
		}
		close := func(a, b float64) bool { return math.Abs(a-b) < 1e-9 }
		if got.Of != of || !close(got.Median, med) || !close(got.Min, lo) || !close(got.Max, hi) || !slices.EqualFunc(got.Rounds, rounds, close) {
			t.Errorf("%s: %+v, want %s median %v range %v-%v rounds %v", what, *got, of, med, lo, hi, rounds)
		}
	}
	echo := byKey[[3]string{"go", "upstream-1.4.1", MeasureEcho}]
	check("go -> upstream-1.4.1 echo ratio", echo.Ratio, "upstream-1.4.1 -> upstream-1.4.1", 0.5, 0.5, 2, 0.5, 2, 0.5)
	// Echo crosses twice: UDP 1000/2, 250/2, 1000/2 per round; AES 2000 is never the lowest.
	check("go -> upstream-1.4.1 echo limit", echo.Limit, LimitUDP, 0.4, 0.1, 0.8, 0.1, 0.8, 0.4)
	hs := byKey[[3]string{"upstream-1.0.0", "go", MeasureHandshake}]
	check("upstream-1.0.0 -> go handshake ratio", hs.Ratio, "upstream-1.0.0 -> upstream-1.0.0", 1.2, 0.9, 1.5, 0.9, 1.2, 1.5)
	if hs.Limit != nil {
		t.Errorf("a handshake has no limit: %+v", *hs.Limit)
	}
	if r := byKey[[3]string{"go", "upstream-1.0.0", MeasureEcho}]; r.Ratio != nil {
		t.Errorf("rounds that do not line up gave a ratio: %+v", *r.Ratio)
	}
	up := byKey[[3]string{"go", "go", MeasureUpload}]
	if up.Ratio != nil {
		t.Errorf("a failed reference gave a ratio: %+v", *up.Ratio)
	}
	check("go -> go upload limit", up.Limit, LimitUDP, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5)
	if r := byKey[[3]string{"upstream-1.4.1", "upstream-1.4.1", MeasureUpload}]; r.Ratio != nil || r.Limit != nil {
		t.Error("a failed result gets no ratio and no limit")
	}
}
