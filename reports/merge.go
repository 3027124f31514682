package reports

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Merge joins runs of one suite and one code version into one run: the shards of a sharded run,
// or the runs of several bench hosts, each with its own boards. It refuses, with every reason,
// runs of different suites or code versions, an incomplete or repeated set of shards, a peer or
// case declared differently by two runs, and a cell that ran twice with different outcomes.
// A cell that ran twice with the same outcome is kept once (from the first run given) and named
// in the notes.
//
// The merged run starts with the earliest start and ends with the latest end; hosts that
// differ are listed side by side ("a, b"); its ID is left empty (Write names it after its folder).
func Merge(runs []Run) (merged Run, notes []string, err error) {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if len(runs) == 0 {
		return Run{}, nil, errors.New("merge: no runs given")
	}
	first := runs[0]
	merged = Run{Suite: first.Suite, CodeVersion: first.CodeVersion, Host: map[string]string{}}
	for i, r := range runs {
		name := runName(r, i)
		if r.Suite != first.Suite {
			bad("%s is a run of suite %q, %s of suite %q", name, r.Suite, runName(first, 0), first.Suite)
		}
		if r.CodeVersion != first.CodeVersion {
			bad("%s ran code %s, %s ran code %s: runs of different code are not merged",
				name, orUnknown(r.CodeVersion), runName(first, 0), orUnknown(first.CodeVersion))
		}
		if merged.Start.IsZero() || (!r.Start.IsZero() && r.Start.Before(merged.Start)) {
			merged.Start = r.Start
		}
		if r.End.After(merged.End) {
			merged.End = r.End
		}
		merged.MergedFrom = append(merged.MergedFrom, Source{RunID: r.ID, Shard: r.Shard,
			Hostname: r.Host["hostname"], Cells: len(r.Cells)})
	}
	if first.CodeVersion == "" {
		notes = append(notes, "the runs record no code version: they could not be checked to be of the same code")
	}
	errs = append(errs, checkShards(runs)...)
	merged.Host = mergeHosts(runs)
	merged.FaultSeed = mergeFaultSeed(runs)

	// Peers and cases: the union, in the order first declared; one name, one declaration.
	peerFrom, caseFrom := map[string]int{}, map[string]int{}
	for i, r := range runs {
		for _, p := range r.Peers {
			j, seen := peerFrom[p.Name]
			if !seen {
				peerFrom[p.Name] = i
				merged.Peers = append(merged.Peers, p)
				continue
			}
			known := &merged.Peers[slices.IndexFunc(merged.Peers, func(m Peer) bool { return m.Name == p.Name })]
			// A version is empty in a run that never learned it (a board none of its cells booted).
			known.Version = cmp.Or(known.Version, p.Version)
			p.Version = cmp.Or(p.Version, known.Version)
			if !sameJSON(p, *known) {
				bad("peer %q is declared differently by %s and %s (kind, version, runtime, roles or manifest)",
					p.Name, runName(runs[j], j), runName(r, i))
			}
		}
		for _, c := range r.Cases {
			j, seen := caseFrom[c.Name]
			if !seen {
				caseFrom[c.Name] = i
				merged.Cases = append(merged.Cases, c)
				continue
			}
			if c != caseNamed(runs[j].Cases, c.Name) {
				bad("case %q is declared differently by %s and %s", c.Name, runName(runs[j], j), runName(r, i))
			}
		}
	}

	// Cells: each once.
	type key struct{ client, server, kase string }
	cellFrom := map[key]int{}
	for i, r := range runs {
		for _, c := range r.Cells {
			k := key{c.Client, c.Server, c.Case}
			j, seen := cellFrom[k]
			if !seen {
				cellFrom[k] = i
				merged.Cells = append(merged.Cells, c)
				continue
			}
			prev := merged.Cells[slices.IndexFunc(merged.Cells, func(m Cell) bool {
				return m.Client == c.Client && m.Server == c.Server && m.Case == c.Case
			})]
			if prev.Outcome != c.Outcome {
				bad("cell %s → %s %s ran twice with different outcomes: %s in %s, %s in %s",
					c.Client, c.Server, c.Case, prev.Outcome, runName(runs[j], j), c.Outcome, runName(r, i))
				continue
			}
			if r.Shard != nil {
				bad("cell %s → %s %s ran in %s and in %s: shards of one split never share a cell",
					c.Client, c.Server, c.Case, runName(runs[j], j), runName(r, i))
				continue
			}
			notes = append(notes, fmt.Sprintf("cell %s → %s %s ran twice (%s in %s and in %s); the report keeps the first, the other's logs stay in its run",
				c.Client, c.Server, c.Case, c.Outcome, runName(runs[j], j), runName(r, i)))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return Run{}, notes, fmt.Errorf("not merging %d runs:\n%w", len(runs), err)
	}
	if err := merged.Validate(); err != nil {
		return Run{}, notes, fmt.Errorf("the merged run is not valid: %w", err)
	}
	return merged, notes, nil
}

// checkShards accepts runs that are all unsharded (several bench hosts), or exactly the shards
// 1..n of one n-way split.
func checkShards(runs []Run) []error {
	var errs []error
	var sharded []int
	for i, r := range runs {
		if r.Shard != nil {
			sharded = append(sharded, i)
		}
	}
	if len(sharded) == 0 {
		return nil
	}
	if len(sharded) != len(runs) {
		for i, r := range runs {
			if r.Shard == nil {
				errs = append(errs, fmt.Errorf("%s is a whole run, the others are shards: merge the shards of one run", runName(r, i)))
			}
		}
		return errs
	}
	want := *runs[0].Shard
	byIndex := map[int]int{}
	cells := 0
	for i, r := range runs {
		s := *r.Shard
		if s.Split != want.Split {
			errs = append(errs, fmt.Errorf("%s split the cells by %s, %s by %s: shards of different splits",
				runName(r, i), orUnknown(s.Split), runName(runs[0], 0), orUnknown(want.Split)))
			continue
		}
		if s.Total != want.Total || s.Cells != want.Cells {
			errs = append(errs, fmt.Errorf("%s is shard %s of %d cells, %s is shard %s of %d cells: shards of different splits",
				runName(r, i), s, s.Cells, runName(runs[0], 0), want, want.Cells))
			continue
		}
		if j, dup := byIndex[s.Index]; dup {
			errs = append(errs, fmt.Errorf("shard %s is given twice (%s and %s)", s, runName(runs[j], j), runName(r, i)))
			continue
		}
		byIndex[s.Index] = i
		cells += len(r.Cells)
	}
	for k := 1; k <= want.Total; k++ {
		if _, ok := byIndex[k]; !ok {
			errs = append(errs, fmt.Errorf("shard %d/%d is missing", k, want.Total))
		}
	}
	if len(errs) == 0 && want.Cells > 0 && cells != want.Cells {
		errs = append(errs, fmt.Errorf("the %d shards hold %d cells, the matrix has %d: the shards did not split the same matrix",
			want.Total, cells, want.Cells))
	}
	return errs
}

// mergeHosts keeps what every run's host agrees on and lists differing values in run order.
func mergeHosts(runs []Run) map[string]string {
	values := map[string][]string{}
	for _, r := range runs {
		for k, v := range r.Host {
			if !slices.Contains(values[k], v) {
				values[k] = append(values[k], v)
			}
		}
	}
	out := make(map[string]string, len(values))
	for k, vs := range values {
		out[k] = strings.Join(vs, ", ")
	}
	return out
}

func runName(r Run, i int) string {
	s := fmt.Sprintf("run #%d", i+1)
	if r.ID != "" {
		s += " (" + r.ID
		if r.Shard != nil {
			s += ", shard " + r.Shard.String()
		}
		s += ")"
	} else if r.Shard != nil {
		s += " (shard " + r.Shard.String() + ")"
	}
	return s
}

func orUnknown(v string) string {
	if v == "" {
		return "(unknown)"
	}
	return v
}

func caseNamed(cs []Case, name string) Case {
	return cs[slices.IndexFunc(cs, func(c Case) bool { return c.Name == name })]
}

// sameJSON compares two values as results.json holds them (a manifest read back from JSON is a
// map, one given by a suite a struct).
func sameJSON(a, b any) bool {
	ja, erra := json.Marshal(a)
	jb, errb := json.Marshal(b)
	if erra != nil || errb != nil {
		return false
	}
	var va, vb any
	if json.Unmarshal(ja, &va) != nil || json.Unmarshal(jb, &vb) != nil {
		return false
	}
	na, _ := json.Marshal(va) // maps marshal with sorted keys: a canonical form
	nb, _ := json.Marshal(vb)
	return bytes.Equal(na, nb)
}

// MergeDirs merges the runs in dirs (folders holding results.json) into outDir, which must not
// exist yet or be empty: it copies every input's logs/ folder (a file two inputs both have with
// different content, such as a pair's server key log, is kept from the first and written as
// <name>.<input><ext> from the others), copies each input's other top-level files (Ginkgo's
// report) as <name>.<input><ext>, and writes the merged report with Write. Nothing is written
// when the runs cannot be merged.
func MergeDirs(outDir string, dirs []string) (notes []string, err error) {
	runs, merged, notes, err := loadAndMerge(dirs)
	if err != nil {
		return notes, err
	}
	created, err := emptyOrNew(outDir)
	if err != nil {
		return notes, err
	}
	notes, err = writeMerged(outDir, dirs, runs, merged, notes)
	if err != nil {
		// The folder was new or empty: whatever is in it now is this merge's half-written output.
		entries, _ := os.ReadDir(outDir)
		for _, e := range entries {
			os.RemoveAll(filepath.Join(outDir, e.Name()))
		}
		if created {
			os.Remove(outDir)
		}
	}
	return notes, err
}

// MergeNew is MergeDirs into a new run folder under root (see NewRunDir), named by the merged
// run's start; Write points root/latest at it. It returns the folder.
func MergeNew(root string, dirs []string) (runDir string, notes []string, err error) {
	runs, merged, notes, err := loadAndMerge(dirs)
	if err != nil {
		return "", notes, err
	}
	runDir, err = NewRunDir(root, merged.Start)
	if err != nil {
		return "", notes, err
	}
	notes, err = writeMerged(runDir, dirs, runs, merged, notes)
	if err != nil {
		os.RemoveAll(runDir) // made here a moment ago: nothing else is in it
		return "", notes, err
	}
	return runDir, notes, nil
}

func loadAndMerge(dirs []string) (runs []Run, merged Run, notes []string, err error) {
	var errs []error
	for _, d := range dirs {
		r, err := Load(d)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", d, err))
			continue
		}
		runs = append(runs, r)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, Run{}, nil, err
	}
	merged, notes, err = Merge(runs)
	return runs, merged, notes, err
}

func writeMerged(outDir string, dirs []string, runs []Run, merged Run, notes []string) ([]string, error) {
	if err := os.MkdirAll(filepath.Join(outDir, LogsDir), 0o755); err != nil {
		return notes, err
	}
	labels := inputLabels(runs)
	for i, d := range dirs {
		copied, err := copyTree(filepath.Join(d, LogsDir), filepath.Join(outDir, LogsDir), labels[i])
		if err != nil {
			return notes, fmt.Errorf("copying the logs of %s: %w", d, err)
		}
		notes = append(notes, copied...)
		for _, name := range extraFiles(d) {
			if err := copyFile(filepath.Join(d, name), filepath.Join(outDir, labelled(name, labels[i]))); err != nil {
				return notes, fmt.Errorf("copying %s of %s: %w", name, d, err)
			}
		}
	}
	return notes, Write(outDir, merged)
}

// inputLabels names each input in file names: its shard ("shard-2") or its run id, unique.
func inputLabels(runs []Run) []string {
	out := make([]string, len(runs))
	used := map[string]bool{}
	for i, r := range runs {
		l := PathSegment(r.ID)
		if r.Shard != nil {
			l = fmt.Sprintf("shard-%d", r.Shard.Index)
		}
		base := l
		for n := 2; used[l]; n++ {
			l = fmt.Sprintf("%s-%d", base, n)
		}
		used[l] = true
		out[i] = l
	}
	return out
}

func labelled(name, label string) string {
	ext := filepath.Ext(name)
	return strings.TrimSuffix(name, ext) + "." + label + ext
}

// emptyOrNew makes sure dir is an empty folder, creating it (created) when it does not exist.
func emptyOrNew(dir string) (created bool, err error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return true, os.MkdirAll(dir, 0o755)
	}
	if err != nil {
		return false, err
	}
	if len(entries) > 0 {
		return false, fmt.Errorf("%s is not empty: merge into a new folder", dir)
	}
	return false, nil
}

// copyTree copies src into dst (a missing src is no error: a run may have kept no logs). A file
// already in dst with the same content is skipped; with other content the new one is written
// beside it, labelled, and named in the notes.
func copyTree(src, dst, label string) (notes []string, err error) {
	if _, err := os.Stat(src); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	err = filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case !d.Type().IsRegular():
			return nil // sockets, links: nothing a report links to
		}
		if existing, err := os.ReadFile(target); err == nil {
			mine, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			if bytes.Equal(existing, mine) {
				return nil
			}
			target = labelled(target, label)
			notes = append(notes, fmt.Sprintf("%s differs between the runs; the copy from %s is %s",
				filepath.ToSlash(filepath.Join(LogsDir, rel)), label, filepath.Base(target)))
		}
		return copyFile(p, target)
	})
	return notes, err
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	if fi, err := os.Stat(src); err == nil {
		return os.Chtimes(dst, time.Now(), fi.ModTime())
	}
	return nil
}
