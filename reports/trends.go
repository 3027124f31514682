package reports

import (
	"fmt"
	"html/template"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// TrendRuns is how many of a suite's runs the runs index shows per cell.
const TrendRuns = 12

// LoadRuns reads every run under root/runs, oldest first, and the folders whose results.json
// could not be read (with why). Shard runs that a merged run in the same folder was made of are
// left out: the merged run stands for them.
func LoadRuns(root string) (runs []Run, dirs []string, problems map[string]error, err error) {
	entries, err := os.ReadDir(filepath.Join(root, RunsDir))
	if err != nil {
		return nil, nil, nil, err
	}
	problems = map[string]error{}
	for _, e := range entries { // folder names are UTC start times: this is oldest first
		if !e.IsDir() {
			continue
		}
		run, err := Load(filepath.Join(root, RunsDir, e.Name()))
		if err != nil {
			problems[e.Name()] = err
			continue
		}
		runs = append(runs, run)
		dirs = append(dirs, e.Name())
	}
	runs, dirs = withoutMergedShards(runs, dirs)
	return runs, dirs, problems, nil
}

// withoutMergedShards drops the shard runs that a merged run among runs was made of.
func withoutMergedShards(runs []Run, dirs []string) ([]Run, []string) {
	merged := map[string]bool{}
	for _, r := range runs {
		for _, src := range r.MergedFrom {
			merged[src.RunID] = true
		}
	}
	keep := 0
	for i, r := range runs {
		if r.Shard != nil && merged[r.ID] {
			continue
		}
		runs[keep], dirs[keep] = r, dirs[i]
		keep++
	}
	return runs[:keep], dirs[:keep]
}

// CellKey identifies a cell across runs.
type CellKey struct {
	Client string `json:"client"`
	Server string `json:"server"`
	Case   string `json:"case"`
}

func (k CellKey) String() string { return k.Client + " → " + k.Server + " " + k.Case }

// Seen is one run's outcome of a cell.
type Seen struct {
	RunID   string  `json:"run_id"`
	Outcome Outcome `json:"outcome"`
	Reason  string  `json:"reason,omitempty"`
}

// FlakyCell is a cell whose outcome changed across runs of the same suite and code version.
type FlakyCell struct {
	Suite       string `json:"suite"`
	CodeVersion string `json:"code_version"`
	CellKey
	Runs []Seen `json:"runs"`
}

// Flaky lists the cells whose outcome changed across runs (given oldest first) of one suite and
// one code version, in suite, code version and first-seen order. Runs that record no code
// version are left out: nothing says their code was the same. A "-dirty" version is trusted as
// given (a working tree with changes may change between runs; commit to be sure).
func Flaky(runs []Run) []FlakyCell {
	type group struct{ suite, version string }
	var groups []group
	seen := map[group]map[CellKey][]Seen{}
	order := map[group][]CellKey{}
	for _, r := range runs {
		if r.CodeVersion == "" {
			continue
		}
		g := group{r.Suite, r.CodeVersion}
		if seen[g] == nil {
			seen[g] = map[CellKey][]Seen{}
			groups = append(groups, g)
		}
		for _, c := range r.Cells {
			k := CellKey{c.Client, c.Server, c.Case}
			if _, ok := seen[g][k]; !ok {
				order[g] = append(order[g], k)
			}
			seen[g][k] = append(seen[g][k], Seen{RunID: r.ID, Outcome: c.Outcome, Reason: c.Reason})
		}
	}
	var out []FlakyCell
	for _, g := range groups {
		for _, k := range order[g] {
			s := seen[g][k]
			if slices.ContainsFunc(s, func(x Seen) bool { return x.Outcome != s[0].Outcome }) {
				out = append(out, FlakyCell{Suite: g.suite, CodeVersion: g.version, CellKey: k, Runs: s})
			}
		}
	}
	return out
}

// suiteTrend is one suite's cells over its last runs, for the runs index.
type suiteTrend struct {
	Suite string
	Runs  []trendRun // oldest first
	Cells []cellTrend
}

type trendRun struct{ Dir, ID, CodeVersion string }

type cellTrend struct {
	CellKey
	Flaky      bool
	Outcomes   []trendMark // one per run of the suite; Outcome "" when the run did not have the cell
	Handshake  template.HTML
	Throughput template.HTML
}

type trendMark struct {
	Outcome Outcome
	// Expected: a failure listed as a known defect of a peer (striped, as on the run's page).
	Expected bool
	Title    string
}

// trends arranges the last TrendRuns runs of each suite (runs and dirs oldest first) per cell:
// cells in the newest run's matrix order, then cells only older runs had.
func trends(runs []Run, dirs []string) []suiteTrend {
	bySuite := map[string][]int{}
	var suites []string
	for i, r := range runs {
		if _, ok := bySuite[r.Suite]; !ok {
			suites = append(suites, r.Suite)
		}
		bySuite[r.Suite] = append(bySuite[r.Suite], i)
	}
	slices.Sort(suites)
	var out []suiteTrend
	for _, s := range suites {
		idx := bySuite[s]
		if len(idx) > TrendRuns {
			idx = idx[len(idx)-TrendRuns:]
		}
		st := suiteTrend{Suite: s}
		var group []Run
		for _, i := range idx {
			st.Runs = append(st.Runs, trendRun{Dir: dirs[i], ID: runs[i].ID, CodeVersion: runs[i].CodeVersion})
			group = append(group, runs[i])
		}
		flaky := map[CellKey]bool{}
		for _, f := range Flaky(group) {
			flaky[f.CellKey] = true
		}
		var keys []CellKey
		known := map[CellKey]bool{}
		for i := len(group) - 1; i >= 0; i-- {
			for _, c := range newMatrix(group[i]).ordered() {
				k := CellKey{c.Client, c.Server, c.Case}
				if !known[k] {
					known[k] = true
					keys = append(keys, k)
				}
			}
		}
		for _, k := range keys {
			ct := cellTrend{CellKey: k, Flaky: flaky[k]}
			var hs, tp []*float64
			for j, r := range group {
				i := slices.IndexFunc(r.Cells, func(c Cell) bool { return c.Client == k.Client && c.Server == k.Server && c.Case == k.Case })
				if i < 0 {
					ct.Outcomes = append(ct.Outcomes, trendMark{Title: st.Runs[j].Dir + ": not run"})
					hs, tp = append(hs, nil), append(tp, nil)
					continue
				}
				c := r.Cells[i]
				title := fmt.Sprintf("%s (%s): %s", st.Runs[j].Dir, orUnknown(r.CodeVersion), c.Outcome)
				if c.ExpectedFailure != "" {
					title += " (expected: " + c.ExpectedFailure + ")"
				}
				if c.Reason != "" {
					title += ": " + truncate(firstLine(c.Reason), 200)
				}
				ct.Outcomes = append(ct.Outcomes, trendMark{Outcome: c.Outcome, Expected: c.ExpectedFailure != "", Title: printable(title)})
				hs, tp = append(hs, c.HandshakeMS), append(tp, c.ThroughputMbps)
			}
			ct.Handshake = sparkline(hs, "handshake", "ms")
			ct.Throughput = sparkline(tp, "throughput", "Mbit/s")
			st.Cells = append(st.Cells, ct)
		}
		out = append(out, st)
	}
	return out
}

// sparkline draws values (nil: not measured in that run) as a small inline SVG: a line through
// the measured points, scaled between their minimum and maximum, the last one marked and
// written beside it. It is "" when nothing was measured.
func sparkline(values []*float64, what, unit string) template.HTML {
	const w, h, pad = 96.0, 20.0, 2.0
	lo, hi, n := 0.0, 0.0, 0
	for _, v := range values {
		if v == nil {
			continue
		}
		if n == 0 || *v < lo {
			lo = *v
		}
		if n == 0 || *v > hi {
			hi = *v
		}
		n++
	}
	if n == 0 {
		return ""
	}
	step := 0.0
	if len(values) > 1 {
		step = (w - 2*pad) / float64(len(values)-1)
	}
	y := func(v float64) float64 {
		if hi == lo {
			return h / 2
		}
		return pad + (h-2*pad)*(hi-v)/(hi-lo)
	}
	var points []string
	var lastX, lastY, last float64
	for i, v := range values {
		if v == nil {
			continue
		}
		lastX, lastY, last = pad+step*float64(i), y(*v), *v
		points = append(points, fmt.Sprintf("%.1f,%.1f", lastX, lastY))
	}
	title := fmt.Sprintf("%s: last %.4g %s, min %.4g, max %.4g over %d runs", what, last, unit, lo, hi, n)
	// Only numbers and fixed words go into the markup, so it is safe to emit as HTML.
	return template.HTML(fmt.Sprintf(`<svg class="spark" data-spark=%q data-points="%d" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" role="img"><title>%s</title>`+
		`<polyline fill="none" stroke="#0969da" stroke-width="1.5" points="%s"/><circle cx="%.1f" cy="%.1f" r="2" fill="#0969da"/></svg>`+
		` <span class="muted" data-last>%.3g %s</span>`,
		what, n, w, h, w, h, template.HTMLEscapeString(title), strings.Join(points, " "), lastX, lastY, last, unit))
}
