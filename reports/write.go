package reports

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// The files of a run folder.
const (
	ResultsFile = "results.json"
	JUnitFile   = "junit.xml"
	SummaryFile = "summary.md"
	IndexFile   = "index.html"
	// GinkgoReportFile is where a suite should put Ginkgo's JSON report (e.g. with
	// reporters.GenerateJSONReport from ReportAfterSuite, before calling Write) so index.html
	// links it. Any other file at the top of the run folder is linked too.
	GinkgoReportFile = "ginkgo-report.json"
)

// Write writes the report of run into runDir (results.json, junit.xml, summary.md,
// index.html), then, when runDir sits in a runs/ folder (as NewRunDir makes it), points the
// latest symlink beside runs/ at it.
//
// Write checks the run first (see Run.Validate) and renders every file in memory before it
// touches the disk; each file is written to a temporary name and renamed into place, so a bad
// run writes nothing and a reader never sees half a file. An empty Run.ID becomes runDir's name.
func Write(runDir string, run Run) error {
	if run.ID == "" {
		run.ID = filepath.Base(filepath.Clean(runDir))
	}
	if run.CodeVersion == "" {
		run.CodeVersion = CodeVersion(runDir)
	}
	if err := run.Validate(); err != nil {
		err = fmt.Errorf("not writing the report of %s: %w", runDir, err)
		if kept := keepRejected(runDir, run, err); kept != "" {
			err = fmt.Errorf("%w\n(the run as given is kept in %s)", err, kept)
		}
		return err
	}
	// Specs may run in random order or in parallel; the report lists cells in matrix order.
	run.Cells = newMatrix(run).ordered()
	results, err := renderResults(run)
	if err != nil {
		return err
	}
	if err := writeReport(runDir, run, map[string][]byte{ResultsFile: results}); err != nil {
		return err
	}
	// A run refused earlier is superseded by this one.
	if err := os.Remove(filepath.Join(runDir, RejectedFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return pointLatest(runDir)
}

// RejectedFile keeps a run that Write refused, with the reason, so its cells are not lost;
// the report files stay as they were.
const RejectedFile = "rejected-run.json"

// keepRejected writes the refused run next to the report, best effort: it returns the file's
// path, or "" when even that was not possible.
func keepRejected(runDir string, run Run, why error) string {
	if fi, err := os.Stat(runDir); err != nil || !fi.IsDir() {
		return ""
	}
	doc := struct {
		Schema string      `json:"schema"`
		Error  string      `json:"error"`
		Run    resultsFile `json:"run"`
	}{Schema: "irohconf/rejected-run/v1", Error: why.Error(), Run: resultsFile{
		Schema: Schema, Suite: run.Suite, RunID: run.ID, CodeVersion: run.CodeVersion, Shard: run.Shard,
		MergedFrom: run.MergedFrom, Start: run.Start, End: run.End,
		Host: run.Host, Peers: slices.Clone(run.Peers), Cases: run.Cases, Results: run.Cells,
	}}
	for i, p := range doc.Run.Peers {
		if _, err := json.Marshal(p.Manifest); err != nil {
			doc.Run.Peers[i].Manifest = fmt.Sprintf("%+v (not JSON: %v)", p.Manifest, err)
		}
	}
	for i, c := range doc.Run.Results {
		if _, err := json.Marshal(c); err != nil { // NaN or Inf in a measurement
			doc.Run.Results[i] = Cell{Client: c.Client, Server: c.Server, Case: c.Case, Outcome: c.Outcome,
				Reason: fmt.Sprintf("%s\n[measurements dropped: %v]", c.Reason, err), Logs: c.Logs}
		}
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return ""
	}
	if err := writeFilesAtomically(runDir, map[string][]byte{RejectedFile: b}); err != nil {
		return ""
	}
	return filepath.Join(runDir, RejectedFile)
}

// Render writes junit.xml, summary.md and index.html again from <runDir>/results.json, e.g.
// after a change to the templates or after Ginkgo's report was added to the folder. It leaves
// results.json and the latest link as they are.
func Render(runDir string) error {
	run, err := Load(runDir)
	if err != nil {
		return err
	}
	return writeReport(runDir, run, nil)
}

// writeReport renders the derived files, adds them to files, and writes them all.
func writeReport(runDir string, run Run, files map[string][]byte) error {
	if fi, err := os.Stat(runDir); err != nil {
		return fmt.Errorf("run folder: %w", err)
	} else if !fi.IsDir() {
		return fmt.Errorf("run folder %s is not a folder", runDir)
	}
	if files == nil {
		files = map[string][]byte{}
	}
	junit, err := renderJUnit(run)
	if err != nil {
		return err
	}
	exists := func(rel string) bool {
		_, err := os.Stat(filepath.Join(runDir, filepath.FromSlash(rel)))
		return err == nil
	}
	index, err := renderIndex(run, extraFiles(runDir), exists)
	if err != nil {
		return err
	}
	files[JUnitFile] = junit
	files[SummaryFile] = renderSummary(run)
	files[IndexFile] = index
	return writeFilesAtomically(runDir, files)
}

// ownFiles are the files Write makes; everything else at the top of a run folder is someone
// else's (Ginkgo's reports, a pcap) and gets a link.
var ownFiles = map[string]bool{ResultsFile: true, JUnitFile: true, SummaryFile: true, IndexFile: true, RejectedFile: true}

func extraFiles(runDir string) []string {
	entries, err := os.ReadDir(runDir)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || ownFiles[name] || strings.HasPrefix(name, ".") {
			continue
		}
		out = append(out, name)
	}
	return out
}

// writeFilesAtomically writes every file to a temporary name in dir first and renames them
// only when all were written, so a failure leaves the previous files as they were.
func writeFilesAtomically(dir string, files map[string][]byte) (err error) {
	temps := make(map[string]string, len(files))
	defer func() {
		if err != nil {
			for _, tmp := range temps {
				os.Remove(tmp)
			}
		}
	}()
	for _, name := range sortedKeys(files) {
		tmp, werr := writeTemp(dir, name, files[name])
		if werr != nil {
			return werr
		}
		temps[name] = tmp
	}
	var errs []error
	for _, name := range sortedKeys(temps) {
		if rerr := os.Rename(temps[name], filepath.Join(dir, name)); rerr != nil {
			errs = append(errs, fmt.Errorf("writing %s: %w", name, rerr))
		} else {
			delete(temps, name)
		}
	}
	return errors.Join(errs...)
}

func writeTemp(dir, name string, data []byte) (string, error) {
	f, err := os.CreateTemp(dir, "."+name+".tmp-*")
	if err != nil {
		return "", fmt.Errorf("writing %s: %w", name, err)
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, 0o644)
	}
	if err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("writing %s: %w", name, err)
	}
	return tmp, nil
}
