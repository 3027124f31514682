package reports

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// Schema is the value of results.json's "schema" field. A change that breaks readers gets a
// new version; adding fields does not.
const Schema = "irohconf/results/v1"

// Counts counts cells by outcome.
type Counts struct {
	Succeeded   int `json:"succeeded"`
	Failed      int `json:"failed"`
	Unsupported int `json:"unsupported"`
	Error       int `json:"error"`
	Total       int `json:"total"`
}

func (c *Counts) add(o Outcome) {
	switch o {
	case Succeeded:
		c.Succeeded++
	case Failed:
		c.Failed++
	case Unsupported:
		c.Unsupported++
	case Error:
		c.Error++
	}
	c.Total++
}

// Of returns the count of one outcome.
func (c Counts) Of(o Outcome) int {
	switch o {
	case Succeeded:
		return c.Succeeded
	case Failed:
		return c.Failed
	case Unsupported:
		return c.Unsupported
	case Error:
		return c.Error
	}
	return 0
}

// Summarize counts every cell of the run by outcome.
func Summarize(cells []Cell) Counts {
	var c Counts
	for _, cell := range cells {
		c.add(cell.Outcome)
	}
	return c
}

// PeerConformance is one implementation's claim, in the spirit of the Gateway API conformance
// reports: what ran, how its cells ended, and which cases it declared unsupported. A cell counts
// for both of its peers: an interop failure is not attributed to one side.
type PeerConformance struct {
	Peer     string `json:"peer"`
	Kind     string `json:"kind"`
	Version  string `json:"version"`
	Runtime  string `json:"runtime"`
	Cells    Counts `json:"cells"`
	AsClient Counts `json:"as_client"`
	AsServer Counts `json:"as_server"`
	// Cases gives each case the peer took part in one verdict: failed if any of its cells
	// failed, else error if any errored, else succeeded if any succeeded, else unsupported.
	Cases map[string]Outcome `json:"cases"`
	// DeclaredUnsupported is Peer.Unsupported: what the peer said it cannot do.
	DeclaredUnsupported []string `json:"declared_unsupported"`
	// Result is the worst case verdict in the same order (unsupported only when nothing ran).
	Result Outcome `json:"result"`
}

// verdictRank orders outcomes for a per-peer verdict: a failure outweighs everything, a broken
// test bed outweighs a success, and unsupported only stands when nothing else happened.
func verdictRank(o Outcome) int {
	switch o {
	case Failed:
		return 3
	case Error:
		return 2
	case Succeeded:
		return 1
	}
	return 0
}

func worse(a, b Outcome) Outcome {
	if a == "" || verdictRank(b) > verdictRank(a) {
		return b
	}
	return a
}

// Conformance returns one PeerConformance per declared peer, in the run's peer order.
func Conformance(run Run) []PeerConformance {
	out := make([]PeerConformance, 0, len(run.Peers))
	for _, p := range run.Peers {
		pc := PeerConformance{
			Peer: p.Name, Kind: p.Kind, Version: p.Version, Runtime: p.Runtime,
			Cases:               map[string]Outcome{},
			DeclaredUnsupported: slices.Clone(p.Unsupported),
		}
		if pc.DeclaredUnsupported == nil {
			pc.DeclaredUnsupported = []string{}
		}
		for _, c := range run.Cells {
			if c.Client != p.Name && c.Server != p.Name {
				continue
			}
			pc.Cells.add(c.Outcome)
			if c.Client == p.Name {
				pc.AsClient.add(c.Outcome)
			}
			if c.Server == p.Name {
				pc.AsServer.add(c.Outcome)
			}
			pc.Cases[c.Case] = worse(pc.Cases[c.Case], c.Outcome)
		}
		for _, v := range pc.Cases {
			pc.Result = worse(pc.Result, v)
		}
		out = append(out, pc)
	}
	return out
}

// resultsFile is results.json. Run fields are kept as given; summary and conformance are
// derived from them on every write.
type resultsFile struct {
	Schema      string            `json:"schema"`
	Suite       string            `json:"suite"`
	RunID       string            `json:"run_id"`
	CodeVersion string            `json:"code_version,omitempty"`
	Shard       *Shard            `json:"shard,omitempty"`
	MergedFrom  []Source          `json:"merged_from,omitempty"`
	FaultSeed   *uint64           `json:"fault_seed,omitempty"`
	Start       time.Time         `json:"start"`
	End         time.Time         `json:"end"`
	DurationMS  float64           `json:"duration_ms"`
	Host        map[string]string `json:"host"`
	Peers       []Peer            `json:"peers"`
	Cases       []Case            `json:"cases"`
	Results     []Cell            `json:"results"`
	Summary     Counts            `json:"summary"`
	Conformance []PeerConformance `json:"conformance"`
}

func renderResults(run Run) ([]byte, error) {
	f := resultsFile{
		Schema: Schema, Suite: run.Suite, RunID: run.ID,
		CodeVersion: run.CodeVersion, Shard: run.Shard, MergedFrom: run.MergedFrom, FaultSeed: run.FaultSeed,
		Start: run.Start, End: run.End, DurationMS: runDurationMS(run),
		Host: run.Host, Peers: run.Peers, Cases: run.Cases, Results: run.Cells,
		Summary:     Summarize(run.Cells),
		Conformance: Conformance(run),
	}
	if f.Host == nil {
		f.Host = map[string]string{}
	}
	for i := range f.Peers {
		if f.Peers[i].Roles == nil {
			f.Peers[i].Roles = []string{}
		}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	// Reasons and logs are read in a terminal as often as in a browser: keep < > & readable.
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(f); err != nil {
		return nil, fmt.Errorf("encoding results.json: %w", err)
	}
	return buf.Bytes(), nil
}

func runDurationMS(run Run) float64 {
	if run.Start.IsZero() || run.End.IsZero() {
		return 0
	}
	return float64(run.End.Sub(run.Start)) / float64(time.Millisecond)
}

// Load reads a run back from <runDir>/results.json, e.g. to render it again.
func Load(runDir string) (Run, error) {
	name := filepath.Join(runDir, ResultsFile)
	b, err := os.ReadFile(name)
	if err != nil {
		return Run{}, err
	}
	var f resultsFile
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&f); err != nil {
		return Run{}, fmt.Errorf("%s: %w", name, err)
	}
	if f.Schema != Schema {
		return Run{}, fmt.Errorf("%s: schema %q, this reader knows %q", name, f.Schema, Schema)
	}
	run := Run{
		Suite: f.Suite, ID: f.RunID, Start: f.Start, End: f.End, Host: f.Host,
		Peers: f.Peers, Cases: f.Cases, Cells: f.Results,
		CodeVersion: f.CodeVersion, Shard: f.Shard, MergedFrom: f.MergedFrom, FaultSeed: f.FaultSeed,
	}
	if err := run.Validate(); err != nil {
		return Run{}, fmt.Errorf("%s: %w", name, err)
	}
	return run, nil
}
