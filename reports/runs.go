package reports

import (
	"bytes"
	"fmt"
	"html/template"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"
)

// RunsIndexFile is the page beside runs/ that lists every run, newest first, so the runs of one
// `make test` (interop, then hil) are found together.
const RunsIndexFile = "index.html"

// runEntry is one line of the runs index.
type runEntry struct {
	Dir                     string
	Suite                   string
	Start                   time.Time
	DurationS               float64
	Counts                  Counts
	ExpectedFailures, Peers int
	Problem                 string // results.json that could not be read
}

var runsIndexTemplate = template.Must(template.New("runs").Funcs(template.FuncMap{
	"mark": func(o Outcome) string {
		if o == "" {
			return "·" // the run did not have the cell
		}
		return o.Symbol()
	},
}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>irohconf runs</title>
<style>
body { font-family: system-ui, sans-serif; margin: 1.5rem; color: #1f2328; }
table { border-collapse: collapse; } th, td { border: 1px solid #d0d7de; padding: .3rem .6rem; text-align: left; }
th { background: #f6f8fa; } .bad { color: #cf222e; font-weight: 600; } .muted { color: #656d76; }
.mark { display: inline-block; width: 1.1rem; text-align: center; border-radius: 3px; margin-right: 1px; color: #fff; font-size: .8rem; background: #d0d7de; }
.mark.succeeded { background: #1a7f37; } .mark.failed { background: #cf222e; }
.mark.expected { background: repeating-linear-gradient(45deg, #cf222e 0 3px, #e8a0a4 3px 6px); } .mark.unsupported { background: #8c959f; } .mark.error { background: #bc4c00; }
tr.flaky td:first-child { border-left: 4px solid #cf222e; } td.marks, td.plot { white-space: nowrap; } svg.spark { vertical-align: middle; }
</style></head><body>
<h1>irohconf runs</h1>
<p class="muted">Newest first. <a href="latest/index.html">latest</a> is the most recent run of any suite.</p>
<table data-runs>
<tr><th>run</th><th>suite</th><th>started (UTC)</th><th>took</th><th>cells</th><th>✓</th><th>✕</th><th>?</th><th>!</th></tr>
{{range .Runs}}<tr data-run="{{.Dir}}">
<td><a href="runs/{{.Dir}}/index.html">{{.Dir}}</a></td>
{{if .Problem}}<td colspan="8" class="bad">{{.Problem}}</td>{{else}}
<td>{{.Suite}}</td><td>{{.Start.UTC.Format "2006-01-02 15:04:05"}}</td><td>{{printf "%.0f" .DurationS}} s</td>
<td>{{.Counts.Total}}</td><td>{{.Counts.Succeeded}}</td>
<td{{if .Counts.Failed}} class="bad"{{end}}>{{.Counts.Failed}}{{if .ExpectedFailures}} <span class="muted">({{.ExpectedFailures}} expected)</span>{{end}}</td>
<td>{{.Counts.Unsupported}}</td><td{{if .Counts.Error}} class="bad"{{end}}>{{.Counts.Error}}</td>{{end}}
</tr>
{{end}}</table>
{{range .Trends}}
<h2>{{.Suite}}: every cell over the last {{len .Runs}} runs</h2>
<p class="muted">Oldest left, newest right; · not run. <span class="bad">flaky</span>: the outcome changed across runs of the same code version.
Handshake (ms) and throughput (Mbit/s) as measured in each run; hover for values.</p>
<table data-trends="{{.Suite}}">
<tr><th>cell</th><th>outcome per run</th><th>handshake</th><th>throughput</th></tr>
{{range .Cells}}<tr data-trend="{{.String}}"{{if .Flaky}} data-flaky class="flaky"{{end}}>
<td>{{.Client}} → {{.Server}} <b>{{.Case}}</b>{{if .Flaky}} <span class="bad">flaky</span>{{end}}</td>
<td class="marks">{{range .Outcomes}}<span class="mark {{.Outcome}}{{if .Expected}} expected{{end}}" data-outcome="{{.Outcome}}" title="{{.Title}}">{{mark .Outcome}}</span>{{end}}</td>
<td class="plot">{{.Handshake}}</td><td class="plot">{{.Throughput}}</td>
</tr>
{{end}}</table>
{{end}}
</body></html>
`))

// WriteRunsIndex rewrites root/index.html from the results.json of every run under root/runs.
func WriteRunsIndex(root string) error {
	dirs, err := os.ReadDir(filepath.Join(root, RunsDir))
	if err != nil {
		return err
	}
	var entries []runEntry
	var runs []Run
	var runDirs []string
	for _, d := range dirs {
		if !d.IsDir() {
			continue
		}
		e := runEntry{Dir: d.Name()}
		run, err := Load(filepath.Join(root, RunsDir, d.Name()))
		if err != nil {
			e.Problem = "no report: " + err.Error()
		} else {
			runs, runDirs = append(runs, run), append(runDirs, d.Name())
			e.Suite, e.Start, e.Peers = run.Suite, run.Start, len(run.Peers)
			e.DurationS = run.End.Sub(run.Start).Seconds()
			e.Counts = Summarize(run.Cells)
			for _, c := range run.Cells {
				if c.ExpectedFailure != "" {
					e.ExpectedFailures++
				}
			}
		}
		entries = append(entries, e)
	}
	// Run folders are named by their UTC start, so names sort by time.
	slices.SortFunc(entries, func(a, b runEntry) int { return -compareNames(a.Dir, b.Dir) })
	var buf bytes.Buffer
	runs, runDirs = withoutMergedShards(runs, runDirs)
	view := struct {
		Runs   []runEntry
		Trends []suiteTrend
	}{entries, trends(runs, runDirs)}
	if err := runsIndexTemplate.Execute(&buf, view); err != nil {
		return fmt.Errorf("runs index: %w", err)
	}
	tmp := filepath.Join(root, "."+RunsIndexFile+".tmp-"+strconv.Itoa(os.Getpid()))
	if err := os.WriteFile(tmp, buf.Bytes(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(root, RunsIndexFile))
}

func compareNames(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
