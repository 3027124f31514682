package bench

import (
	"slices"
	"testing"
)

func TestRoundOrders(t *testing.T) {
	for n := 1; n <= 17; n++ {
		for _, rounds := range []int{1, 2, 5, n, 2*n + 1} {
			orders := roundOrders(n, rounds)
			if len(orders) != rounds {
				t.Fatalf("n=%d: %d rounds, want %d", n, len(orders), rounds)
			}
			for r, row := range orders {
				// Every unit exactly once per round.
				if got := slices.Sorted(slices.Values(row)); len(got) != n || got[0] != 0 || got[n-1] != n-1 || len(slices.Compact(got)) != n {
					t.Fatalf("n=%d round %d: %v is not an order of the %d units", n, r, row, n)
				}
			}
		}
	}
	type adjacent struct{ a, b int }
	for n := 2; n <= 17; n++ {
		orders := roundOrders(n, n)
		// No unit runs first twice in n rounds.
		firsts := map[int]int{}
		for r, row := range orders {
			if earlier, ok := firsts[row[0]]; ok {
				t.Errorf("n=%d: unit %d runs first in rounds %d and %d", n, row[0], earlier, r)
			}
			firsts[row[0]] = r
		}
		// No unit runs right after the same unit twice: over all n rounds when n is even, over
		// the first 2 (3 units), 3 (5 units), 5 (7 units and more) when it is odd.
		fresh := n
		if n%2 == 1 {
			fresh = max(2, min(n-2, 5))
		}
		seen := map[adjacent]int{}
		for r, row := range orders[:fresh] {
			for i := 1; i < n; i++ {
				a := adjacent{row[i-1], row[i]}
				if earlier, ok := seen[a]; ok {
					t.Errorf("n=%d: %d runs right after %d in rounds %d and %d", n, a.b, a.a, earlier, r)
				}
				seen[a] = r
			}
		}
		// n even: every unit in every position once.
		if n%2 == 0 {
			for u := range n {
				positions := map[int]bool{}
				for _, row := range orders {
					positions[slices.Index(row, u)] = true
				}
				if len(positions) != n {
					t.Errorf("n=%d: unit %d takes %d of the %d positions", n, u, len(positions), n)
				}
			}
		}
	}
	// The rows go on past n rounds, and the first rounds do not change with the count asked.
	if a, b := roundOrders(6, 3), roundOrders(6, 14); !slices.EqualFunc(a, b[:3], slices.Equal) || !slices.Equal(b[6], b[0]) {
		t.Errorf("roundOrders(6, 3) = %v, roundOrders(6, 14) = %v", a, b)
	}
	if roundOrders(0, 3) != nil || roundOrders(3, 0) != nil {
		t.Error("no units or no rounds: no orders")
	}
}
