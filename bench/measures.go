package bench

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"
)

// Result is one pair and measure of a run: the objects of bench.json.
type Result struct {
	Client  string    `json:"client"`
	Server  string    `json:"server"`
	Measure string    `json:"measure"`
	Median  *float64  `json:"median"`
	P90     *float64  `json:"p90"`
	Unit    string    `json:"unit"`
	Samples []float64 `json:"samples"`
	// Outcome is "ok", "unsupported" (a peer does not declare what the measure needs) or
	// "error"; Reason says why when it is not ok.
	Outcome string `json:"outcome"`
	Reason  string `json:"reason,omitempty"`
	// Rounds is the value of each round (a handshake round: the median of its connections), in
	// round order: what the ratios divide.
	Rounds []float64 `json:"rounds,omitempty"`
	// Ratio: a pair with the Go peer on one side against its reference pair, round by round.
	Ratio *Spread `json:"ratio,omitempty"`
	// Limit: a throughput as a fraction of the lowest limit its payload passes through, round by
	// round.
	Limit *Spread `json:"limit,omitempty"`
}

// The measures, in report order.
const (
	MeasureHandshake = "handshake"
	MeasureConnRate  = "connection_rate"
	MeasureUpload    = "upload"
	MeasureEcho      = "echo"
	MeasureStreams   = "streams"
	// CPU per MB of payload, of each side, during the upload and echo measures.
	MeasureCPUClientUpload = "cpu_client_upload"
	MeasureCPUServerUpload = "cpu_server_upload"
	MeasureCPUClientEcho   = "cpu_client_echo"
	MeasureCPUServerEcho   = "cpu_server_echo"
)

// MeasureInfo describes a measure for the page and the comparison.
type MeasureInfo struct {
	Name, Unit, Title string
	// HigherIsBetter: throughput and rates; times and CPU are better lower.
	HigherIsBetter bool
	// Throughput: payload MB/s, shown as a fraction of the machine's limit.
	Throughput bool
	// WireFactor is how often each payload byte crosses the connection (echo: twice).
	WireFactor float64
}

// Measures lists every measure in report order.
var Measures = []MeasureInfo{
	{Name: MeasureHandshake, Unit: "ms", Title: "Handshake (median and p90 of sequential connections)"},
	{Name: MeasureConnRate, Unit: "conn/s", Title: "Connection rate (one after another, handshake + 13-byte echo + close)", HigherIsBetter: true},
	{Name: MeasureUpload, Unit: "MB/s", Title: "Upload, one stream, one way", HigherIsBetter: true, Throughput: true, WireFactor: 1},
	{Name: MeasureEcho, Unit: "MB/s", Title: "Echo, one stream (payload MB/s one way; twice that crosses the connection)", HigherIsBetter: true, Throughput: true, WireFactor: 2},
	{Name: MeasureStreams, Unit: "MB/s", Title: "Concurrent streams: 8 × 8 MiB echoed at once (payload MB/s one way, all streams)", HigherIsBetter: true, Throughput: true, WireFactor: 2},
	{Name: MeasureCPUClientUpload, Unit: "s/MB", Title: "Client CPU seconds per MB, upload"},
	{Name: MeasureCPUServerUpload, Unit: "s/MB", Title: "Server CPU seconds per MB, upload"},
	{Name: MeasureCPUClientEcho, Unit: "s/MB", Title: "Client CPU seconds per MB of payload, echo"},
	{Name: MeasureCPUServerEcho, Unit: "s/MB", Title: "Server CPU seconds per MB of payload, echo"},
}

// MeasureByName finds a measure's description.
func MeasureByName(name string) (MeasureInfo, bool) {
	for _, m := range Measures {
		if m.Name == name {
			return m, true
		}
	}
	return MeasureInfo{}, false
}

// Plan is what a run measures; the zero value is not useful, see DefaultPlan. Every measure is
// taken in rounds: a round takes one sample of every pair (and, for throughputs, of every limit),
// in an order that changes from round to round (roundOrders).
type Plan struct {
	HandshakeRounds int           // rounds of the handshake measure, each ...
	Handshakes      int           // ... this many sequential connections per pair
	RateRounds      int           // rounds of the connection rate, each ...
	RateFor         time.Duration // ... connecting one after another for this long
	BulkRounds      int           // rounds of upload and of echo, each one transfer of ...
	BulkSize        int           // ... this many bytes
	BoardSize       int           // ... or this many with a board as the server
	StreamRounds    int           // rounds of the concurrent streams, each one connection of ...
	Streams         int           // ... this many concurrent streams ...
	StreamSize      int           // ... of this many bytes each
	LimitFor        time.Duration // how long one sample of a limit runs
}

// DefaultPlan is the plan of make bench-matrix: about 6 minutes on 2 cores (a round of echo takes
// about 9 s, of the concurrent streams about 8 s: a pair and its reference pair are sampled
// seconds apart). A handshake round's value is the median of its connections: 20 of them steady
// it against the bimodal times (1.2 or 3 ms) a loaded machine gives. More rounds narrow the
// ratios' 95% intervals (roughly as one over the square root of the rounds); they are many where
// a round is cheap (handshakes: 1.4 s; bulk: 5-9 s) and fewer where it is not.
var DefaultPlan = Plan{
	HandshakeRounds: 30, Handshakes: 20,
	RateRounds: 5, RateFor: time.Second,
	BulkRounds: 15, BulkSize: 64 << 20, BoardSize: 1 << 20,
	StreamRounds: 7, Streams: 8, StreamSize: 8 << 20,
	LimitFor: 500 * time.Millisecond,
}

// QuickPlan is a short run that shows the whole run works (bench-matrix -quick, the tests).
var QuickPlan = Plan{
	HandshakeRounds: 2, Handshakes: 3,
	RateRounds: 2, RateFor: 300 * time.Millisecond,
	BulkRounds: 2, BulkSize: 1 << 20, BoardSize: 256 << 10,
	StreamRounds: 2, Streams: 8, StreamSize: 256 << 10,
	LimitFor: 100 * time.Millisecond,
}

// WithRounds is the plan with every measure taken in n rounds.
func (p Plan) WithRounds(n int) Plan {
	p.HandshakeRounds, p.RateRounds, p.BulkRounds, p.StreamRounds = n, n, n, n
	return p
}

// Check says what in a plan cannot run.
func (p Plan) Check() error {
	for _, n := range []struct {
		name string
		v    int
	}{
		{"handshake rounds", p.HandshakeRounds}, {"handshakes", p.Handshakes}, {"rate rounds", p.RateRounds},
		{"bulk rounds", p.BulkRounds}, {"bulk size", p.BulkSize}, {"board size", p.BoardSize},
		{"stream rounds", p.StreamRounds}, {"streams", p.Streams}, {"stream size", p.StreamSize},
	} {
		if n.v < 1 {
			return fmt.Errorf("the plan's %s must be at least 1, not %d", n.name, n.v)
		}
	}
	if p.RateFor <= 0 || p.LimitFor <= 0 {
		return fmt.Errorf("the plan's durations must be positive (rate for %s, limit for %s)", p.RateFor, p.LimitFor)
	}
	return nil
}

// pair is one client and one server with what they declare.
type pair struct {
	client       client
	server       server
	clientDecl   declared
	serverDecl   declared
	isBoard      bool // the server is a board: smaller payloads
	servesUpload bool
}

func (p pair) name() string { return p.client.Name() + " -> " + p.server.Name() }

// taken is one round's sample of one measure of a pair: the round's value (the ratios divide
// these) and the samples it came from (a handshake round has one per connection).
type taken struct {
	measure string
	value   float64
	samples []float64
}

// phase is one measure (with the CPU measures taken alongside it) taken in rounds.
type phase struct {
	measures []string // what each round's sample gives, the main measure first
	rounds   int
	limits   bool // the limits are units of its rounds: a throughput
	// unsupported says why a pair cannot take the measure; nil when it can.
	unsupported func(p pair) error
	take        func(ctx context.Context, p pair) ([]taken, error)
}

// phases are the measures of a plan, in report order.
func phases(plan Plan) []phase {
	itoa := strconv.Itoa
	bulkSize := func(p pair) int {
		if p.isBoard {
			return plan.BoardSize
		}
		return plan.BulkSize
	}
	bulk := func(alpn, measure, cpuClient, cpuServer string) phase {
		return phase{
			measures: []string{measure, cpuClient, cpuServer}, rounds: plan.BulkRounds, limits: true,
			unsupported: func(p pair) error {
				if alpn == uploadALPN && !p.servesUpload {
					return unsupported(p.server.Name() + " serves only " + echoALPN + " (no upload protocol)")
				}
				return fits(bulkSize(p), p.clientDecl, p.serverDecl)
			},
			take: func(ctx context.Context, p pair) ([]taken, error) {
				size := bulkSize(p)
				r, cc, sc, err := p.dial(ctx, 120*time.Second, "--alpn", alpn, "--size", itoa(size), "--count", "1")
				if err != nil {
					return nil, err
				}
				if len(r.EchoMS) != 1 || r.EchoMS[0] <= 0 || r.Bytes <= 0 {
					return nil, fmt.Errorf("%d transfers of %d bytes reported, want 1", len(r.EchoMS), r.Bytes)
				}
				mb := float64(r.Bytes) / 1e6
				return []taken{
					one(measure, float64(size)/1e6/(r.EchoMS[0]/1000)),
					one(cpuClient, cc.Seconds()/mb),
					one(cpuServer, sc.Seconds()/mb),
				}, nil
			},
		}
	}
	return []phase{
		{
			measures: []string{MeasureHandshake}, rounds: plan.HandshakeRounds,
			unsupported: func(pair) error { return nil },
			take: func(ctx context.Context, p pair) ([]taken, error) {
				r, _, _, err := p.dial(ctx, 60*time.Second, "--alpn", echoALPN, "--connections", itoa(plan.Handshakes), "--size", "13")
				if err != nil {
					return nil, err
				}
				if len(r.HandshakesMS) != plan.Handshakes {
					return nil, fmt.Errorf("%d handshakes reported, want %d", len(r.HandshakesMS), plan.Handshakes)
				}
				return []taken{{MeasureHandshake, median(r.HandshakesMS), r.HandshakesMS}}, nil
			},
		},
		{
			measures: []string{MeasureConnRate}, rounds: plan.RateRounds,
			unsupported: func(pair) error { return nil },
			take: func(ctx context.Context, p pair) ([]taken, error) {
				r, _, _, err := p.dial(ctx, plan.RateFor+60*time.Second, "--alpn", echoALPN, "--duration", plan.RateFor.String(), "--size", "13")
				if err != nil {
					return nil, err
				}
				return []taken{one(MeasureConnRate, float64(r.Connections)/plan.RateFor.Seconds())}, nil
			},
		},
		bulk(uploadALPN, MeasureUpload, MeasureCPUClientUpload, MeasureCPUServerUpload),
		bulk(echoALPN, MeasureEcho, MeasureCPUClientEcho, MeasureCPUServerEcho),
		{
			measures: []string{MeasureStreams}, rounds: plan.StreamRounds, limits: true,
			unsupported: func(p pair) error {
				if n := min(p.clientDecl.Limits.ConcurrentBidiStreams, p.serverDecl.Limits.ConcurrentBidiStreams); n < plan.Streams {
					return unsupported(fmt.Sprintf("the pair declares %d concurrent bidirectional streams, the measure needs %d", n, plan.Streams))
				}
				return fits(plan.StreamSize, p.clientDecl, p.serverDecl)
			},
			take: func(ctx context.Context, p pair) ([]taken, error) {
				r, _, _, err := p.dial(ctx, 120*time.Second, "--alpn", echoALPN, "--size", itoa(plan.StreamSize),
					"--count", itoa(plan.Streams), "--streams", itoa(plan.Streams))
				if err != nil {
					return nil, err
				}
				if len(r.EchoMS) != plan.Streams {
					return nil, fmt.Errorf("%d echoes reported, want %d", len(r.EchoMS), plan.Streams)
				}
				// The streams start together: the slowest one ends the sample.
				return []taken{one(MeasureStreams, float64(plan.Streams*plan.StreamSize)/1e6/(slices.Max(r.EchoMS)/1000))}, nil
			},
		},
	}
}

func one(measure string, v float64) taken { return taken{measure, v, []float64{v}} }

// dial runs one dial of the pair's client against its server, with the CPU time both used.
func (p pair) dial(ctx context.Context, timeout time.Duration, args ...string) (dialResult, time.Duration, time.Duration, error) {
	args = append([]string{p.server.Ticket(), "--timeout", timeout.String()}, args...)
	ctx, cancel := context.WithTimeout(ctx, timeout+30*time.Second)
	defer cancel()
	before, err := p.server.CPU()
	if err != nil {
		return dialResult{}, 0, 0, err
	}
	r, clientCPU, err := p.client.Dial(ctx, args)
	if err != nil {
		return r, 0, 0, err
	}
	after, err := p.server.CPU()
	return r, clientCPU, after - before, err
}

// unsupported is a measure a peer does not declare.
type unsupported string

func (u unsupported) Error() string { return string(u) }

// fits: both peers accept echoes of n bytes.
func fits(n int, decls ...declared) error {
	for _, d := range decls {
		if max := d.Limits.MaxEchoPayload; max > 0 && n > max {
			return unsupported(fmt.Sprintf("a peer declares payloads up to %d bytes", max))
		}
	}
	return nil
}

// line is the progress line of a result.
func (r Result) line() string {
	head := fmt.Sprintf("%-16s -> %-16s %-18s", r.Client, r.Server, r.Measure)
	if r.Outcome != "ok" {
		return fmt.Sprintf("%s %s: %s", head, r.Outcome, r.Reason)
	}
	return fmt.Sprintf("%s median %s p90 %s %s (%d samples, %d rounds)", head, num(*r.Median), num(*r.P90), r.Unit, len(r.Samples), len(r.Rounds))
}

// num prints a number with about four significant digits.
func num(x float64) string {
	return strconv.FormatFloat(x, 'g', 4, 64)
}
