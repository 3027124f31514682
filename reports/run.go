// Package reports turns one run of a suite (a matrix of cells: client × server × case) into a
// report folder: results.json (the machine-readable source), junit.xml (for CI systems),
// summary.md (the matrix as text) and index.html (the matrix as a page that opens from disk).
//
// A suite creates the folder with NewRunDir, gives every cell a log folder with CellLogDir,
// and calls Write once at the end. Write checks the whole run first and writes nothing when
// the run is malformed, so a bad run never replaces a good report.
package reports

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"path"
	"strings"
	"time"
)

// Outcome is how a cell ended. There are exactly four; anything else is rejected by Write.
type Outcome string

const (
	// Succeeded: the case ran and every check held.
	Succeeded Outcome = "succeeded"
	// Failed: the case ran and a check did not hold (the implementations disagree).
	Failed Outcome = "failed"
	// Unsupported: a peer declared (in its manifest) that it cannot run this case.
	// It is never inferred from a failure.
	Unsupported Outcome = "unsupported"
	// Error: the test bed broke (no Docker engine, a board that does not answer, a build that
	// failed), so the case says nothing about the implementations.
	Error Outcome = "error"
)

// Outcomes lists every outcome in report order.
var Outcomes = []Outcome{Succeeded, Failed, Unsupported, Error}

// Valid reports whether o is one of the four outcomes.
func (o Outcome) Valid() bool {
	switch o {
	case Succeeded, Failed, Unsupported, Error:
		return true
	}
	return false
}

// Symbol is the one-character mark used in text matrices, as in the QUIC interop runner
// (✓ ✕ ?), plus ! for errors of the test bed.
func (o Outcome) Symbol() string {
	switch o {
	case Succeeded:
		return "✓"
	case Failed:
		return "✕"
	case Unsupported:
		return "?"
	case Error:
		return "!"
	}
	return "‽"
}

// Peer kinds (Peer.Kind).
const (
	KindGo           = "go"
	KindUpstream     = "upstream"
	KindVirtualBoard = "virtual-board"
	KindBoard        = "board"
)

// Peer runtimes (Peer.Runtime): how the suite ran the peer.
const (
	RuntimeInProcess       = "in-process"
	RuntimeProcess         = "process"
	RuntimeDocker          = "docker"
	RuntimeProcessFallback = "process-fallback" // upstream as a plain process because no Docker engine answered
	RuntimeSerial          = "serial"
	RuntimePTY             = "pty"
)

// Peer roles (Peer.Roles).
const (
	RoleClient  = "client"
	RoleServer  = "server"
	RoleConsole = "console"
)

// Peer is one implementation under test, as it took part in this run.
type Peer struct {
	// Name is the peer's id in the matrix and in log paths, e.g. "go", "upstream-1.4.1",
	// "virtual-board", "esp32c6-0001".
	Name string `json:"name"`
	// Kind is one of KindGo, KindUpstream, KindVirtualBoard, KindBoard.
	Kind string `json:"kind"`
	// Version names exactly what ran: a crate version, a git commit, a firmware build id.
	Version string `json:"version"`
	// Runtime is one of the Runtime* constants.
	Runtime string `json:"runtime"`
	// Roles are the roles the peer declares (RoleClient, RoleServer, RoleConsole).
	Roles []string `json:"roles"`
	// Unsupported lists the cases the peer declares it cannot run (from its manifest).
	Unsupported []string `json:"unsupported,omitempty"`
	// Manifest is the peer's declared capabilities, kept as given (it must marshal to JSON).
	Manifest any `json:"manifest,omitempty"`
}

// Case is one entry of the case catalogue.
type Case struct {
	// Name is the stable case id, e.g. "handshake", "echo-64k".
	Name string `json:"name"`
	// Abbr is the short code in matrices, e.g. "H", "E64"; Name is used when empty.
	Abbr string `json:"abbr"`
	// Description says in one sentence what the case checks.
	Description string `json:"description"`
}

// Label is the case's code in matrices.
func (c Case) Label() string {
	if c.Abbr != "" {
		return c.Abbr
	}
	return c.Name
}

// Cell is the result of one case for one (client, server) pair.
type Cell struct {
	Client  string  `json:"client"`
	Server  string  `json:"server"`
	Case    string  `json:"case"`
	Outcome Outcome `json:"outcome"`
	// Reason says why the cell did not succeed (or anything worth knowing when it did).
	Reason     string    `json:"reason,omitempty"`
	Start      time.Time `json:"start,omitzero"`
	DurationMS float64   `json:"duration_ms"`
	// HandshakeMS is the time from dial to an established connection, when measured.
	HandshakeMS *float64 `json:"handshake_ms,omitempty"`
	// ThroughputMbps is the echo throughput, when measured.
	ThroughputMbps *float64 `json:"throughput_mbps,omitempty"`
	// Metrics holds any other measurements (heap free, bytes echoed, streams, ...).
	Metrics map[string]float64 `json:"metrics,omitempty"`
	// Logs is the cell's log folder relative to the run folder, with forward slashes,
	// e.g. "logs/go__upstream-1.4.1/handshake" (see CellLogPath).
	Logs string `json:"logs,omitempty"`
	// Evidence is the cell's wire: capture, dissection, frame log and key logs, when the cell
	// ran through the relay.
	Evidence *Evidence `json:"evidence,omitempty"`
	// PeerVersions maps peer name to the version that ran this cell, when a peer reports it
	// per connection (e.g. a board's firmware build read from its console).
	PeerVersions map[string]string `json:"peer_versions,omitempty"`
	// Fault is the network fault profile the cell ran under (its relay's), with the seed of the
	// relay's decisions; nil for a cell over a path that forwarded everything.
	Fault *Fault `json:"fault,omitempty"`
	// ExpectedFailure is set on a failed cell listed as a known defect of a peer (the suite's
	// list of expected failures): the reason it is known. Such a cell does not fail the run.
	ExpectedFailure string `json:"expected_failure,omitempty"`
}

// Run is one run of a suite: its peers, its cases and every cell.
type Run struct {
	// Suite names the suite, e.g. "interop" or "hil".
	Suite string
	// ID is the run's id; Write uses the run folder's name when it is empty.
	ID    string
	Start time.Time
	End   time.Time
	// Host describes the machine (see HostInfo).
	Host  map[string]string
	Peers []Peer
	Cases []Case
	Cells []Cell
	// CodeVersion names the irohconf code that ran (git describe --always --dirty); Write fills
	// it when empty (see CodeVersion). Runs of different code are never merged.
	CodeVersion string
	// Shard is set on a run of one part of the matrix (SHARD=k/n); nil for a whole run.
	Shard *Shard
	// MergedFrom lists the runs that `irohconf report merge` joined into this one.
	MergedFrom []Source
	// FaultSeed is the seed every cell's fault seed derives from (IROHCONF_FAULT_SEED repeats
	// the run); nil when no cell ran under a fault profile, or merged runs had different ones.
	FaultSeed *uint64
}

// Shard says which part of a sharded run a run is: shard Index of Total (1-based, as in
// SHARD=k/n).
type Shard struct {
	Index int `json:"index"`
	Total int `json:"total"`
	// Cells is the number of cells of the whole matrix (every shard together), when known;
	// a merge checks that the shards add up to it.
	Cells int `json:"cells,omitempty"`
	// Split says how the cells were split ("count", or "durations sha256:…" naming the previous
	// run's durations); a merge checks that every shard split alike.
	Split string `json:"split,omitempty"`
}

func (s Shard) String() string { return fmt.Sprintf("%d/%d", s.Index, s.Total) }

// Source is one run a merged run was made of.
type Source struct {
	RunID    string `json:"run_id"`
	Shard    *Shard `json:"shard,omitempty"`
	Hostname string `json:"hostname,omitempty"`
	Cells    int    `json:"cells"`
}

// Validate checks that the run can be reported without guessing: at least one cell, known
// outcomes, every cell naming a declared peer and case, no cell twice, log paths inside the
// run folder, unique peer names and case names/codes. It returns every problem it finds.
func (r *Run) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	if strings.TrimSpace(r.Suite) == "" {
		bad("run has no suite name")
	}
	if !r.Start.IsZero() && !r.End.IsZero() && r.End.Before(r.Start) {
		bad("run ends (%s) before it starts (%s)", r.End.Format(time.RFC3339), r.Start.Format(time.RFC3339))
	}
	if len(r.Cells) == 0 {
		bad("run has no cells: nothing to report")
	}
	if s := r.Shard; s != nil && (s.Total < 1 || s.Index < 1 || s.Index > s.Total || s.Cells < 0) {
		bad("shard %d/%d (of %d cells): want 1 <= index <= total", s.Index, s.Total, s.Cells)
	}

	peers := make(map[string]bool, len(r.Peers))
	segments := make(map[string]string, len(r.Peers))
	for i, p := range r.Peers {
		switch {
		case p.Name == "":
			bad("peer #%d has no name", i)
		case peers[p.Name]:
			bad("peer %q is declared twice", p.Name)
		default:
			// Two names that map to one log folder would mix their logs.
			if other, ok := segments[PathSegment(p.Name)]; ok {
				bad("peers %q and %q would share the log folder name %q", other, p.Name, PathSegment(p.Name))
			}
			segments[PathSegment(p.Name)] = p.Name
		}
		peers[p.Name] = true
		if p.Manifest != nil {
			if _, err := json.Marshal(p.Manifest); err != nil {
				bad("peer %q: manifest does not encode as JSON: %v", p.Name, err)
			}
		}
	}
	cases := make(map[string]bool, len(r.Cases))
	abbrs := make(map[string]string, len(r.Cases))
	for i, c := range r.Cases {
		switch {
		case c.Name == "":
			bad("case #%d has no name", i)
		case cases[c.Name]:
			bad("case %q is declared twice", c.Name)
		}
		cases[c.Name] = true
		if other, ok := abbrs[c.Label()]; ok {
			bad("cases %q and %q share the code %q", other, c.Name, c.Label())
		}
		abbrs[c.Label()] = c.Name
	}

	type key struct{ client, server, kase string }
	seen := make(map[key]bool, len(r.Cells))
	for i, c := range r.Cells {
		where := fmt.Sprintf("cell #%d (%s → %s, %s)", i, c.Client, c.Server, c.Case)
		if !c.Outcome.Valid() {
			bad("%s: unknown outcome %q (want one of succeeded, failed, unsupported, error)", where, c.Outcome)
		}
		if !peers[c.Client] {
			bad("%s: client %q is not a declared peer", where, c.Client)
		}
		if !peers[c.Server] {
			bad("%s: server %q is not a declared peer", where, c.Server)
		}
		if !cases[c.Case] {
			bad("%s: case %q is not a declared case", where, c.Case)
		}
		k := key{c.Client, c.Server, c.Case}
		if seen[k] {
			bad("%s: this cell appears more than once", where)
		}
		seen[k] = true
		if err := checkLogPath(c.Logs); err != nil {
			bad("%s: %v", where, err)
		}
		for _, f := range c.Evidence.files() {
			if err := checkLogPath(f.Name); err != nil {
				bad("%s: evidence %s: %v", where, f.Label, err)
			}
		}
		if c.DurationMS < 0 || !finite(c.DurationMS) {
			bad("%s: duration %v ms is not a finite non-negative number", where, c.DurationMS)
		}
		if c.HandshakeMS != nil && !finite(*c.HandshakeMS) {
			bad("%s: handshake time %v ms is not a finite number", where, *c.HandshakeMS)
		}
		if c.ThroughputMbps != nil && !finite(*c.ThroughputMbps) {
			bad("%s: throughput %v Mbit/s is not a finite number", where, *c.ThroughputMbps)
		}
		for name, v := range c.Metrics {
			if !finite(v) {
				bad("%s: metric %q = %v is not a finite number", where, name, v)
			}
		}
	}
	return errors.Join(errs...)
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

// checkLogPath accepts an empty path or a clean relative slash path that stays inside the run
// folder: the report links to it, so it must not point anywhere else.
func checkLogPath(p string) error {
	if p == "" {
		return nil
	}
	if strings.Contains(p, `\`) || strings.Contains(p, ":") {
		return fmt.Errorf("log path %q must be a relative path with forward slashes", p)
	}
	if path.IsAbs(p) {
		return fmt.Errorf("log path %q must be relative to the run folder", p)
	}
	clean := path.Clean(p)
	if clean == "." || clean == ".." || strings.HasPrefix(clean, "../") {
		return fmt.Errorf("log path %q leaves the run folder", p)
	}
	return nil
}
