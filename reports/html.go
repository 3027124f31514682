package reports

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"strings"
	"unicode/utf8"
)

//go:embed templates/index.html.tmpl
var templateFS embed.FS

// index.html is one self-contained page (inline CSS and JS, no network) so it opens from disk,
// from a CI artifact, or from a copied folder.
var indexTemplate = template.Must(template.New("index.html.tmpl").Funcs(template.FuncMap{
	"symbol": func(o Outcome) string { return o.Symbol() },
	"ms": func(v float64) string {
		return fmt.Sprintf("%.1f ms", v)
	},
	"printable": printable,
	"kib":       kib,
	"linkDir":   func(p string) string { return linkTarget(p, true) },
	"link":      func(p string) string { return linkTarget(p, false) },
}).ParseFS(templateFS, "templates/index.html.tmpl"))

type indexView struct {
	Suite, ID            string
	Start, End, Duration string
	Host                 [][2]string
	Totals               Counts
	Outcomes             []Outcome
	Servers              []peerView
	Rows                 []rowView
	Problems             []badgeView
	Cases                []Case
	Peers                []peerDetail
	Cells                []badgeView
	Files                []fileLink
	// FaultRows is the matrix of the cells that ran under a network fault profile, one badge
	// per profile; FaultSeed is the run's seed of them.
	FaultRows []rowView
	FaultSeed string
	// MainCells is how many cells the main matrix shows (those over the perfect path).
	MainCells int
	// Heap are the board cells' heap figures (HeapRows); HeapLowest the lowest free heap of all.
	Heap       []HeapRow
	HeapLowest *HeapRow
}

type peerView struct {
	Peer
	Roles string
}

type peerDetail struct {
	peerView
	Conformance PeerConformance
	Unsupported string
	Manifest    string
}

type rowView struct {
	Client peerView
	Pairs  []pairView
}

type pairView struct {
	Client, Server string
	Badges         []badgeView
}

// faultRows arranges the cells that ran under a fault profile as clients × servers, the profile
// being the third dimension (one badge each); nil when no cell did.
func (m *matrix) faultRows(pv func(string) peerView, hasLogs func(string) bool) []rowView {
	var rows []rowView
	any := false
	for _, c := range m.clients {
		row := rowView{Client: pv(c)}
		for _, s := range m.servers {
			pair := pairView{Client: c, Server: s}
			for _, cell := range m.cells[c][s] {
				if cell.Fault != nil {
					pair.Badges = append(pair.Badges, m.badge(cell, hasLogs))
					any = true
				}
			}
			row.Pairs = append(row.Pairs, pair)
		}
		rows = append(rows, row)
	}
	if !any {
		return nil
	}
	return rows
}

type badgeView struct {
	Cell
	// HasLogs: the log folder exists, so the page links it (a link to nothing helps no one).
	HasLogs  bool
	Abbr     string
	Title    string
	Versions string
	Metrics  string
	// Wire links the cell's wire evidence that exists (capture, dissection, frame log, key log).
	Wire []fileLink
}

type fileLink struct{ Name, Label string }

// truncate keeps tooltips readable; the full reason is in the failures list and results.json.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n]) + "…"
}

func (m *matrix) badge(c Cell, hasLogs func(string) bool) badgeView {
	title := fmt.Sprintf("%s %s: %s", c.Outcome.Symbol(), c.Case, c.Outcome)
	if c.Reason != "" {
		title += "\n" + truncate(c.Reason, 400)
	}
	var versions []string
	for _, k := range sortedKeys(c.PeerVersions) {
		versions = append(versions, k+" "+c.PeerVersions[k])
	}
	var metrics []string
	if c.HandshakeMS != nil {
		metrics = append(metrics, fmt.Sprintf("handshake %.1f ms", *c.HandshakeMS))
	}
	if c.ThroughputMbps != nil {
		metrics = append(metrics, fmt.Sprintf("%.2f Mbit/s", *c.ThroughputMbps))
	}
	for _, k := range sortedKeys(c.Metrics) {
		metrics = append(metrics, fmt.Sprintf("%s=%g", k, c.Metrics[k]))
	}
	if c.Fault != nil {
		title += fmt.Sprintf("\nnetwork fault profile %s, seed %d", c.Fault.Profile, c.Fault.Seed)
	}
	if c.Logs != "" && !hasLogs(c.Logs) {
		title += "\n(no logs were kept)"
	}
	var wire []fileLink
	for _, f := range c.Evidence.files() {
		if hasLogs(f.Name) {
			wire = append(wire, f)
		}
	}
	return badgeView{Cell: c, HasLogs: c.Logs != "" && hasLogs(c.Logs), Abbr: m.label(c.Case), Title: printable(title),
		Versions: strings.Join(versions, ", "), Metrics: strings.Join(metrics, ", "), Wire: wire}
}

// renderIndex renders index.html; hasLogs tells whether a path under the run folder (a cell's
// log folder, a file of its evidence) exists.
func renderIndex(run Run, extra []string, hasLogs func(rel string) bool) ([]byte, error) {
	m := newMatrix(run)
	view := indexView{
		Suite: run.Suite, ID: run.ID,
		Start: formatTime(run.Start), End: formatTime(run.End), Duration: formatDuration(run),
		Totals:   Summarize(run.Cells),
		Outcomes: Outcomes,
		Cases:    run.Cases,
	}
	for _, k := range sortedKeys(run.Host) {
		view.Host = append(view.Host, [2]string{k, run.Host[k]})
	}
	pv := func(name string) peerView {
		p := m.peers[name]
		return peerView{Peer: p, Roles: strings.Join(p.Roles, ", ")}
	}
	for _, s := range m.servers {
		view.Servers = append(view.Servers, pv(s))
	}
	for _, c := range m.clients {
		row := rowView{Client: pv(c)}
		for _, s := range m.servers {
			pair := pairView{Client: c, Server: s}
			for _, cell := range m.cells[c][s] {
				if cell.Fault == nil { // the cells under faults have a matrix of their own
					pair.Badges = append(pair.Badges, m.badge(cell, hasLogs))
					view.MainCells++
				}
			}
			row.Pairs = append(row.Pairs, pair)
		}
		view.Rows = append(view.Rows, row)
	}
	view.FaultRows = m.faultRows(pv, hasLogs)
	if run.FaultSeed != nil {
		view.FaultSeed = fmt.Sprint(*run.FaultSeed)
	}
	for _, c := range m.problems() {
		view.Problems = append(view.Problems, m.badge(c, hasLogs))
	}
	for _, p := range m.pairs() {
		for _, c := range p.Cells {
			view.Cells = append(view.Cells, m.badge(c, hasLogs))
		}
	}
	for i, pc := range Conformance(run) {
		d := peerDetail{peerView: pv(run.Peers[i].Name), Conformance: pc,
			Unsupported: strings.Join(run.Peers[i].Unsupported, ", ")}
		if run.Peers[i].Manifest != nil {
			b, err := json.MarshalIndent(run.Peers[i].Manifest, "", "  ")
			if err != nil {
				return nil, fmt.Errorf("peer %s: manifest: %w", run.Peers[i].Name, err)
			}
			d.Manifest = string(b)
		}
		view.Peers = append(view.Peers, d)
	}
	view.Heap = HeapRows(run)
	for i, r := range view.Heap {
		if view.HeapLowest == nil || r.MinFreeBytes < view.HeapLowest.MinFreeBytes {
			view.HeapLowest = &view.Heap[i]
		}
	}
	view.Files = []fileLink{
		{ResultsFile, "results (JSON)"}, {JUnitFile, "JUnit XML"}, {SummaryFile, "summary (Markdown)"},
	}
	for _, name := range extra {
		label := name
		if name == GinkgoReportFile {
			label = "Ginkgo JSON report"
		}
		view.Files = append(view.Files, fileLink{name, label})
	}
	var buf bytes.Buffer
	if err := indexTemplate.Execute(&buf, view); err != nil {
		return nil, fmt.Errorf("rendering index.html: %w", err)
	}
	return buf.Bytes(), nil
}
