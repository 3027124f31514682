// Package shard splits a suite's cells into n parts of about equal running time, so that n CI
// jobs (SHARD=1/n ... SHARD=n/n) each run one part and `irohconf report merge` joins their
// reports. Every job computes the split on its own, so the split depends only on its inputs:
// the cell keys and, when given, the durations of a previous run (the same file for every job).
package shard

import (
	"cmp"
	"fmt"
	"hash/fnv"
	"slices"
	"strconv"
	"strings"

	"github.com/irohconf/irohconf/reports"
)

// Key names a cell: client, server and case, as in results.json.
func Key(client, server, caseName string) string { return client + " → " + server + " " + caseName }

// Parse reads "k/n" (1 <= k <= n), the form of SHARD=k/n.
func Parse(s string) (reports.Shard, error) {
	ks, ns, ok := strings.Cut(strings.TrimSpace(s), "/")
	k, errK := strconv.Atoi(ks)
	n, errN := strconv.Atoi(ns)
	if !ok || errK != nil || errN != nil || n < 1 || k < 1 || k > n {
		return reports.Shard{}, fmt.Errorf("shard %q: want k/n with 1 <= k <= n, e.g. 2/4", s)
	}
	return reports.Shard{Index: k, Total: n}, nil
}

// Durations maps the key of every cell of a previous run to how long it took (ms).
func Durations(run reports.Run) map[string]float64 {
	out := make(map[string]float64, len(run.Cells))
	for _, c := range run.Cells {
		out[Key(c.Client, c.Server, c.Case)] = c.DurationMS
	}
	return out
}

// DurationsFrom reads Durations from a run folder (one holding results.json, e.g.
// reports/latest). A missing or unreadable run is an error; callers that can do without
// durations split by count instead (Assign with nil).
func DurationsFrom(runDir string) (map[string]float64, error) {
	run, err := reports.Load(runDir)
	if err != nil {
		return nil, fmt.Errorf("durations of the previous run: %w", err)
	}
	return Durations(run), nil
}

// Assign splits keys into n shards (index 0 is shard 1/n). Without durations every cell weighs
// the same, so shard sizes differ by at most one. With durations a cell weighs what it took in
// that run, a cell the run did not have weighs the mean of those it had, and the cells go, the
// longest first, each to the shard with the least time so far (ties: the lower shard; equal
// weights: an order scattered by a hash of the key). Each shard lists its keys in the order given, so a suite runs them in
// its usual order. Keys must be unique.
func Assign(keys []string, n int, durations map[string]float64) ([][]string, error) {
	if n < 1 {
		return nil, fmt.Errorf("shard: %d shards: want at least one", n)
	}
	pos := make(map[string]int, len(keys))
	for i, k := range keys {
		if _, dup := pos[k]; dup {
			return nil, fmt.Errorf("shard: cell %q is listed twice", k)
		}
		pos[k] = i
	}
	weight := weights(keys, durations)
	order := slices.Clone(keys)
	slices.SortFunc(order, func(a, b string) int {
		if c := cmp.Compare(weight[b], weight[a]); c != 0 {
			return c
		}
		// Equal weights in a fixed but scattered order: in key order, the cells of a matrix
		// with an even number of cases per pair would go round the shards in step, every
		// pair's slow case (idle, soak) to the same shard.
		if c := cmp.Compare(spread(a), spread(b)); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	load := make([]float64, n)
	count := make([]int, n)
	shards := make([][]string, n)
	for _, k := range order {
		best := 0
		for s := 1; s < n; s++ {
			if load[s] < load[best] || (load[s] == load[best] && count[s] < count[best]) {
				best = s
			}
		}
		load[best] += weight[k]
		count[best]++
		shards[best] = append(shards[best], k)
	}
	for _, s := range shards {
		slices.SortFunc(s, func(a, b string) int { return pos[a] - pos[b] })
	}
	return shards, nil
}

// Select is the part of keys that shard s runs.
func Select(keys []string, s reports.Shard, durations map[string]float64) ([]string, error) {
	if s.Total < 1 || s.Index < 1 || s.Index > s.Total {
		return nil, fmt.Errorf("shard %s: want 1 <= k <= n", s)
	}
	shards, err := Assign(keys, s.Total, durations)
	if err != nil {
		return nil, err
	}
	return shards[s.Index-1], nil
}

// weights gives every key its duration; unknown keys get the mean of the known ones, and with no
// known duration at all every key weighs 1 (a split by count). Negative or zero durations count
// as the smallest positive known one, so a cell never weighs nothing.
func weights(keys []string, durations map[string]float64) map[string]float64 {
	w := make(map[string]float64, len(keys))
	var sum, smallest float64
	known := 0
	for _, k := range keys {
		if d, ok := durations[k]; ok && d > 0 {
			sum += d
			known++
			if smallest == 0 || d < smallest {
				smallest = d
			}
		}
	}
	for _, k := range keys {
		d, ok := durations[k]
		switch {
		case known == 0:
			w[k] = 1
		case !ok:
			w[k] = sum / float64(known)
		case d <= 0:
			w[k] = smallest
		default:
			w[k] = d
		}
	}
	return w
}

// spread is a key's place among keys of equal weight (FNV-1a: the same in every job).
func spread(key string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(key))
	return h.Sum64()
}
