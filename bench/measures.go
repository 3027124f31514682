package bench

import (
	"context"
	"fmt"
	"io"
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

// Plan is what a run measures; the zero value is not useful, see DefaultPlan.
type Plan struct {
	Handshakes  int           // sequential connections for the handshake measure
	RateFor     time.Duration // how long the connection rate runs
	BulkSize    int           // bytes per upload or echo
	BoardSize   int           // bytes per upload or echo with a board as the server
	BulkRepeats int           // uploads and echoes of BulkSize, one after another
	Streams     int           // concurrent streams ...
	StreamSize  int           // ... of this many bytes each
	StreamRuns  int           // how often the concurrent streams run
}

// DefaultPlan is the plan of make bench-matrix.
var DefaultPlan = Plan{
	Handshakes: 50, RateFor: 5 * time.Second,
	BulkSize: 64 << 20, BoardSize: 4 << 20, BulkRepeats: 5,
	Streams: 8, StreamSize: 8 << 20, StreamRuns: 3,
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

// runPair measures one pair; progress lines go to progress.
func runPair(ctx context.Context, p pair, plan Plan, progress io.Writer) []Result {
	var out []Result
	add := func(measure, unit string, samples []float64, err error) {
		r := Result{Client: p.client.Name(), Server: p.server.Name(), Measure: measure, Unit: unit, Samples: samples, Outcome: "ok"}
		switch e := err.(type) {
		case nil:
			if len(samples) == 0 {
				r.Outcome, r.Reason = "error", "no samples"
			} else {
				med, p90 := median(samples), percentile(samples, 90)
				r.Median, r.P90 = &med, &p90
			}
		case unsupported:
			r.Outcome, r.Reason = "unsupported", e.Error()
		default:
			r.Outcome, r.Reason = "error", e.Error()
		}
		if r.Samples == nil {
			r.Samples = []float64{}
		}
		out = append(out, r)
		fmt.Fprintln(progress, r.line())
	}
	dial := func(timeout time.Duration, args ...string) (dialResult, time.Duration, time.Duration, error) {
		args = append([]string{p.server.Ticket(), "--timeout", timeout.String()}, args...)
		dctx, cancel := context.WithTimeout(ctx, timeout+30*time.Second)
		defer cancel()
		before, err := p.server.CPU()
		if err != nil {
			return dialResult{}, 0, 0, err
		}
		r, clientCPU, err := p.client.Dial(dctx, args)
		if err != nil {
			return r, 0, 0, err
		}
		after, err := p.server.CPU()
		return r, clientCPU, after - before, err
	}
	itoa := strconv.Itoa

	// Handshakes: sequential connections, each with one 13-byte echo.
	r, _, _, err := dial(60*time.Second, "--alpn", echoALPN, "--connections", itoa(plan.Handshakes), "--size", "13")
	if err == nil && len(r.HandshakesMS) != plan.Handshakes {
		err = fmt.Errorf("%d handshakes reported, want %d", len(r.HandshakesMS), plan.Handshakes)
	}
	add(MeasureHandshake, "ms", r.HandshakesMS, err)

	// Connection rate: connections one after another for RateFor.
	r, _, _, err = dial(plan.RateFor+60*time.Second, "--alpn", echoALPN, "--duration", plan.RateFor.String(), "--size", "13")
	var rate []float64
	if err == nil {
		rate = []float64{float64(r.Connections) / plan.RateFor.Seconds()}
	}
	add(MeasureConnRate, "conn/s", rate, err)

	size := plan.BulkSize
	if p.isBoard {
		size = plan.BoardSize
	}
	bulk := func(alpn, measure, cpuClient, cpuServer string) {
		if alpn == uploadALPN && !p.servesUpload {
			err := unsupported(p.server.Name() + " serves only " + echoALPN + " (no upload protocol)")
			add(measure, "MB/s", nil, err)
			add(cpuClient, "s/MB", nil, err)
			add(cpuServer, "s/MB", nil, err)
			return
		}
		if err := fits(size, p.clientDecl, p.serverDecl); err != nil {
			add(measure, "MB/s", nil, err)
			add(cpuClient, "s/MB", nil, err)
			add(cpuServer, "s/MB", nil, err)
			return
		}
		r, cc, sc, err := dial(300*time.Second, "--alpn", alpn, "--size", itoa(size), "--count", itoa(plan.BulkRepeats))
		var tput, ccpu, scpu []float64
		if err == nil {
			if len(r.EchoMS) != plan.BulkRepeats {
				err = fmt.Errorf("%d transfers reported, want %d", len(r.EchoMS), plan.BulkRepeats)
			}
			for _, ms := range r.EchoMS {
				tput = append(tput, float64(size)/1e6/(ms/1000))
			}
			mb := float64(r.Bytes) / 1e6
			ccpu, scpu = []float64{cc.Seconds() / mb}, []float64{sc.Seconds() / mb}
		}
		add(measure, "MB/s", tput, err)
		add(cpuClient, "s/MB", ccpu, err)
		add(cpuServer, "s/MB", scpu, err)
	}
	bulk(uploadALPN, MeasureUpload, MeasureCPUClientUpload, MeasureCPUServerUpload)
	bulk(echoALPN, MeasureEcho, MeasureCPUClientEcho, MeasureCPUServerEcho)

	// Concurrent streams, where both peers declare enough of them.
	if n := min(p.clientDecl.Limits.ConcurrentBidiStreams, p.serverDecl.Limits.ConcurrentBidiStreams); n < plan.Streams {
		add(MeasureStreams, "MB/s", nil, unsupported(fmt.Sprintf("the pair declares %d concurrent bidirectional streams, the measure needs %d", n, plan.Streams)))
	} else if err := fits(plan.StreamSize, p.clientDecl, p.serverDecl); err != nil {
		add(MeasureStreams, "MB/s", nil, err)
	} else {
		r, _, _, err := dial(300*time.Second, "--alpn", echoALPN, "--size", itoa(plan.StreamSize), "--count", itoa(plan.Streams),
			"--streams", itoa(plan.Streams), "--connections", itoa(plan.StreamRuns))
		var tput []float64
		if err == nil && len(r.EchoMS) != plan.Streams*plan.StreamRuns {
			err = fmt.Errorf("%d echoes reported, want %d", len(r.EchoMS), plan.Streams*plan.StreamRuns)
		}
		if err == nil {
			// The streams of one connection start together: the slowest one ends the run.
			for run := range plan.StreamRuns {
				slowest := 0.0
				for _, ms := range r.EchoMS[run*plan.Streams : (run+1)*plan.Streams] {
					slowest = max(slowest, ms)
				}
				tput = append(tput, float64(plan.Streams*plan.StreamSize)/1e6/(slowest/1000))
			}
		}
		add(MeasureStreams, "MB/s", tput, err)
	}
	return out
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
	return fmt.Sprintf("%s median %s p90 %s %s (%d samples)", head, num(*r.Median), num(*r.P90), r.Unit, len(r.Samples))
}

// num prints a number with about four significant digits.
func num(x float64) string {
	return strconv.FormatFloat(x, 'g', 4, 64)
}
