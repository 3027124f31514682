package shard

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/irohconf/irohconf/reports"
)

func keys(n int) []string {
	var out []string
	for i := range n {
		out = append(out, fmt.Sprintf("c%02d → s %d", i%5, i))
	}
	return out
}

// Every key lands in exactly one shard, in the order given.
func checkPartition(t *testing.T, in []string, shards [][]string) {
	t.Helper()
	seen := map[string]int{}
	for s, part := range shards {
		last := -1
		for _, k := range part {
			if _, dup := seen[k]; dup {
				t.Fatalf("%q is in shard %d and shard %d", k, seen[k]+1, s+1)
			}
			seen[k] = s
			i := slices.Index(in, k)
			if i < 0 {
				t.Fatalf("shard %d holds %q, which was not given", s+1, k)
			}
			if i < last {
				t.Errorf("shard %d lists %q out of the given order", s+1, k)
			}
			last = i
		}
	}
	if len(seen) != len(in) {
		t.Fatalf("%d of %d keys were assigned", len(seen), len(in))
	}
}

func TestAssignByCountIsBalancedAndDeterministic(t *testing.T) {
	for _, total := range []int{1, 2, 3, 7, 40} {
		for _, n := range []int{1, 2, 3, 4, 9} {
			in := keys(total)
			shards, err := Assign(in, n, nil)
			if err != nil {
				t.Fatal(err)
			}
			checkPartition(t, in, shards)
			lo, hi := total, 0
			for _, s := range shards {
				lo, hi = min(lo, len(s)), max(hi, len(s))
			}
			if hi-lo > 1 {
				t.Errorf("%d cells in %d shards: sizes from %d to %d", total, n, lo, hi)
			}
			// The same keys in another order give the same split (each job lists cells its own way).
			rev := slices.Clone(in)
			slices.Reverse(rev)
			again, _ := Assign(rev, n, nil)
			for s := range shards {
				a := slices.Sorted(slices.Values(shards[s]))
				b := slices.Sorted(slices.Values(again[s]))
				if !slices.Equal(a, b) {
					t.Fatalf("%d cells, %d shards: shard %d depends on the order of the keys: %v vs %v", total, n, s+1, a, b)
				}
			}
		}
	}
}

// By count, a matrix of pairs with the same even number of cases must not put one case of
// every pair in the same shard (a slow case would make that shard the slow one).
func TestAssignByCountScattersEachCase(t *testing.T) {
	var in []string
	for _, pair := range []string{"a → a", "a → b", "b → a", "b → b", "c → a", "c → b"} {
		for _, kase := range []string{"handshake", "echo", "idle", "soak"} {
			in = append(in, Key(pair[:1], pair[len(pair)-1:], kase))
		}
	}
	shards, err := Assign(in, 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	checkPartition(t, in, shards)
	for _, kase := range []string{"handshake", "echo", "idle", "soak"} {
		in0 := 0
		for _, k := range shards[0] {
			if strings.HasSuffix(k, " "+kase) {
				in0++
			}
		}
		if in0 == 0 || in0 == 6 {
			t.Errorf("every %s cell is in one shard: %v", kase, shards)
		}
	}
}

func TestAssignByDurationBalancesTime(t *testing.T) {
	in := keys(12)
	// One long cell, a few medium ones, many short ones: by count, one shard would get
	// the long cell and as many others as the rest.
	d := map[string]float64{}
	for i, k := range in {
		switch {
		case i == 0:
			d[k] = 60000
		case i < 4:
			d[k] = 20000
		default:
			d[k] = 1000
		}
	}
	shards, err := Assign(in, 2, d)
	if err != nil {
		t.Fatal(err)
	}
	checkPartition(t, in, shards)
	var load [2]float64
	for s, part := range shards {
		for _, k := range part {
			load[s] += d[k]
		}
	}
	// Total 128 s: the long cell plus short ones on one side, the medium ones on the other.
	if math.Abs(load[0]-load[1]) > 1000 {
		t.Errorf("loads %v differ by more than the shortest cell", load)
	}
	if !slices.Contains(shards[0], in[0]) || len(shards[0]) == len(shards[1]) {
		t.Errorf("shards %v: want the long cell first with fewer cells beside it", shards)
	}
}

func TestAssignNewCellsWeighTheMean(t *testing.T) {
	in := []string{"a", "b", "new1", "new2"}
	shards, err := Assign(in, 2, map[string]float64{"a": 100, "b": 100, "gone": 5})
	if err != nil {
		t.Fatal(err)
	}
	if len(shards[0]) != 2 || len(shards[1]) != 2 {
		t.Errorf("shards %v: new cells should weigh like the known ones", shards)
	}
}

func TestAssignRejectsBadInput(t *testing.T) {
	if _, err := Assign([]string{"a", "a"}, 2, nil); err == nil {
		t.Error("a key listed twice was accepted")
	}
	if _, err := Assign([]string{"a"}, 0, nil); err == nil {
		t.Error("zero shards were accepted")
	}
	// More shards than cells: the extra shards are empty, not an error.
	shards, err := Assign([]string{"a"}, 3, nil)
	if err != nil || len(shards) != 3 || len(shards[0])+len(shards[1])+len(shards[2]) != 1 {
		t.Errorf("Assign(1 cell, 3) = %v, %v", shards, err)
	}
}

func TestParse(t *testing.T) {
	s, err := Parse("2/4")
	if err != nil || s != (reports.Shard{Index: 2, Total: 4}) {
		t.Errorf("Parse(2/4) = %v, %v", s, err)
	}
	for _, bad := range []string{"", "2", "0/4", "5/4", "a/b", "1/0", "-1/2", "1/2/3"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
	if _, err := Select([]string{"a"}, reports.Shard{Index: 3, Total: 2}, nil); err == nil {
		t.Error("Select(3/2) accepted")
	}
}
