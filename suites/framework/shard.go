package framework

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"

	. "github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/types"

	"github.com/irohconf/irohconf/internal/repo"
	"github.com/irohconf/irohconf/reports"
	"github.com/irohconf/irohconf/reports/shard"
)

// Sharding: `make <suite> SHARD=k/n` runs part k of n of the matrix, so n CI jobs together run
// it once and `irohconf report merge` joins their reports. Every process of every job computes
// the same split on its own (reports/shard), from the cells the label filter selects and, when
// IROHCONF_SHARD_DURATIONS names a previous run, the time each cell took in it. Cells of other
// shards are not registered at all: they neither run nor appear in the report, and a pair with
// no cell in this shard never starts its server.
const (
	shardEnv     = "IROHCONF_SHARD"
	durationsEnv = "IROHCONF_SHARD_DURATIONS"
)

// sharding is a matrix's part of a sharded run; the zero value runs every cell.
type sharding struct {
	part      *reports.Shard     // nil: the whole matrix
	durations map[string]float64 // of the previous run; nil: split by count
	split     string             // how the cells were split, the same in every shard of one run

	once     sync.Once
	selected map[string]bool
	cells    int // cells the label filter selects in the whole matrix
	err      error
}

// shardingFromEnv reads SHARD and the durations (a relative path is taken from the checkout,
// where make runs). A durations path that does not exist (a first run, no earlier report in
// CI's cache) means a split by count; one that exists but cannot be read is an error, since
// shards that split differently would run some cells twice and others never.
func shardingFromEnv() (*sharding, error) {
	v := os.Getenv(shardEnv)
	if v == "" {
		return &sharding{}, nil
	}
	part, err := shard.Parse(v)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", shardEnv, err)
	}
	s := &sharding{part: &part, split: "count"}
	path := os.Getenv(durationsEnv)
	if path == "" {
		return s, nil
	}
	if root, err := repo.Root(); err == nil && !filepath.IsAbs(path) {
		path = filepath.Join(root, path) // Ginkgo runs a suite in its package folder
	}
	info, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		progress(fmt.Sprintf("irohconf: %s=%s does not exist: shard %s splits the cells by count", durationsEnv, path, part))
		return s, nil
	case err != nil:
		return nil, fmt.Errorf("%s: %w", durationsEnv, err)
	case !info.IsDir():
		if filepath.Base(path) != reports.ResultsFile {
			return nil, fmt.Errorf("%s=%s: want a run folder or its %s", durationsEnv, path, reports.ResultsFile)
		}
		path = filepath.Dir(path)
	}
	if s.durations, err = shard.DurationsFrom(path); err != nil {
		return nil, fmt.Errorf("%s: %w", durationsEnv, err)
	}
	s.split = "durations " + durationsDigest(s.durations)
	return s, nil
}

// durationsDigest names a set of durations, so a merge sees whether every shard split alike.
func durationsDigest(d map[string]float64) string {
	keys := make([]string, 0, len(d))
	for k := range d {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	h := sha256.New()
	for _, k := range keys {
		fmt.Fprintf(h, "%s\x00%s\n", k, strconv.FormatFloat(d[k], 'g', -1, 64))
	}
	return fmt.Sprintf("sha256:%x", h.Sum(nil)[:8])
}

// casesInShard are the cases of the pair this process registers. It is called while Ginkgo
// builds the tree, when the label filter is known; the first call splits the whole matrix.
func (m *Matrix) casesInShard(client ClientPeer, server ServerPeer) []Case {
	if m.shard == nil || m.shard.part == nil {
		return m.Cases
	}
	m.shard.once.Do(m.splitMatrix)
	if m.shard.err != nil {
		panic(fmt.Sprintf("irohconf %s matrix, shard %s: %v", m.Suite, m.shard.part, m.shard.err)) // nothing can run
	}
	var out []Case
	for _, k := range m.Cases {
		if m.shard.selected[shard.Key(client.Manifest().Name, server.Manifest().Name, k.Name)] {
			out = append(out, k)
		}
	}
	return out
}

// splitMatrix selects this shard's cells among those the label filter (LABELS) selects, so
// SHARD and LABELS compose: the shards of a sliced run split the slice.
func (m *Matrix) splitMatrix() {
	s := m.shard
	filter, err := types.ParseLabelFilter(GinkgoLabelFilter())
	if err != nil {
		s.err = fmt.Errorf("the label filter: %w", err)
		return
	}
	var keys []string
	for _, c := range m.Clients {
		for _, sv := range m.Servers {
			if !m.runsPair(c, sv) {
				continue
			}
			cname, sname := c.Manifest().Name, sv.Manifest().Name
			for _, k := range m.Cases {
				labels := append(append(m.pairLabels(cname, sname), k.labels()...), m.cellLabels(cname, sname, k)...)
				if filter(labels) {
					keys = append(keys, shard.Key(cname, sname, k.Name))
				}
			}
		}
	}
	sel, err := shard.Select(keys, *s.part, s.durations)
	if err != nil {
		s.err = err
		return
	}
	if len(sel) == 0 {
		// Ginkgo would run nothing and write no report, and the merge would miss this shard.
		s.err = fmt.Errorf("no cell falls to this shard: the label filter selects %d cells, fewer than %d shards", len(keys), s.part.Total)
		return
	}
	s.cells = len(keys)
	s.selected = make(map[string]bool, len(sel))
	for _, k := range sel {
		s.selected[k] = true
	}
}

// reportShard is what the run records of its shard (nil for a whole run).
func (m *Matrix) reportShard() *reports.Shard {
	if m.shard == nil || m.shard.part == nil {
		return nil
	}
	m.shard.once.Do(m.splitMatrix)
	return &reports.Shard{Index: m.shard.part.Index, Total: m.shard.part.Total, Cells: m.shard.cells, Split: m.shard.split}
}
