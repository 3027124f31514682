package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
)

// LoadRun reads bench.json from a run folder (or the file itself).
func LoadRun(path string) (*Run, error) {
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		path = filepath.Join(path, "bench.json")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r Run
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &r, nil
}

// Moved is one measure whose median changed by more than the threshold between two runs.
type Moved struct {
	Client, Server, Measure, Unit string
	Old, New                      float64
	// Change is new/old - 1; Worse says whether the change is a regression.
	Change float64
	Worse  bool
}

// Compare lists the medians (and limits) that moved by more than threshold (0.2: 20%) from
// old to new, the largest change first, and the measures that ran in one run but not the other.
func Compare(old, cur *Run, threshold float64) (moved []Moved, missing []string) {
	key := func(r Result) string { return r.Client + "\x00" + r.Server + "\x00" + r.Measure }
	before := map[string]Result{}
	for _, r := range old.Results {
		before[key(r)] = r
	}
	seen := map[string]bool{}
	for _, r := range cur.Results {
		seen[key(r)] = true
		o, ok := before[key(r)]
		switch {
		case !ok:
			missing = append(missing, fmt.Sprintf("%s -> %s %s: not in the earlier run", r.Client, r.Server, r.Measure))
			continue
		case (o.Median == nil) != (r.Median == nil):
			missing = append(missing, fmt.Sprintf("%s -> %s %s: %s before, %s now", r.Client, r.Server, r.Measure, o.Outcome, r.Outcome))
			continue
		case r.Median == nil || *o.Median == 0:
			continue
		}
		change := *r.Median / *o.Median - 1
		if math.Abs(change) > threshold {
			info, _ := MeasureByName(r.Measure)
			moved = append(moved, Moved{r.Client, r.Server, r.Measure, r.Unit, *o.Median, *r.Median, change, (change < 0) == info.HigherIsBetter})
		}
	}
	for k, r := range before {
		if !seen[k] {
			missing = append(missing, fmt.Sprintf("%s -> %s %s: not in this run", r.Client, r.Server, r.Measure))
		}
	}
	limits := map[string]float64{}
	for _, l := range old.Limits {
		limits[l.Name] = l.MBps
	}
	for _, l := range cur.Limits {
		if o := limits[l.Name]; o > 0 && l.MBps > 0 {
			if change := l.MBps/o - 1; math.Abs(change) > threshold {
				moved = append(moved, Moved{"limit", "", l.Name, "MB/s", o, l.MBps, change, change < 0})
			}
		}
	}
	sort.Slice(moved, func(i, j int) bool { return math.Abs(moved[i].Change) > math.Abs(moved[j].Change) })
	sort.Strings(missing)
	return moved, missing
}

// PrintComparison writes Compare's answer for people.
func PrintComparison(w io.Writer, oldName, newName string, old, cur *Run, threshold float64) {
	moved, missing := Compare(old, cur, threshold)
	fmt.Fprintf(w, "compare: %s (%s) -> %s (%s): %d medians moved by more than %.0f%%\n",
		oldName, old.Started.Format("2006-01-02 15:04Z"), newName, cur.Started.Format("2006-01-02 15:04Z"), len(moved), threshold*100)
	for _, m := range moved {
		verdict := "better"
		if m.Worse {
			verdict = "WORSE"
		}
		fmt.Fprintf(w, "  %-6s %-16s -> %-16s %-18s %s -> %s %s (%+.0f%%)\n", verdict, m.Client, m.Server, m.Measure, num(m.Old), num(m.New), m.Unit, m.Change*100)
	}
	for _, m := range missing {
		fmt.Fprintf(w, "  %s\n", m)
	}
}
