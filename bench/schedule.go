package bench

// roundOrders is the order in which n units (pairs and limits) run in each of rounds rounds, so
// that while the machine's load drifts no unit always runs first or always right after the same
// unit. The rows come from a Williams design (a balanced Latin square): the first row is
// 0, 1, m-1, 2, m-2, ... (steps +1, -2, +3, -4, ...) and row r adds r to every entry, modulo an
// even m. With n even (m = n) the rows in turn put every unit once in every position and right
// after every other unit exactly once. An odd n is padded with a placeholder unit (m = n+1) left
// out of the rows, which joins its two neighbours; so the rows are taken in the order that
// repeats neither a first unit nor a neighbour as long as it can (for 5 rounds or more from 7
// units on; a unit may then follow the same one a second time, never in every round). Beyond m
// rounds the rows start over.
func roundOrders(n, rounds int) [][]int {
	if n <= 0 || rounds <= 0 {
		return nil
	}
	m := n + n%2
	first := make([]int, m)
	for j := 1; j < m; j++ {
		if j%2 == 1 {
			first[j] = (j + 1) / 2
		} else {
			first[j] = m - j/2
		}
	}
	rows := make([][]int, m)
	for r := range rows {
		for _, u := range first {
			if u = (u + r) % m; u < n {
				rows[r] = append(rows[r], u)
			}
		}
	}

	// The rows in turn, each time the first one left that repeats no first unit and no
	// neighbour (or, when none is left, the first one left).
	type adjacent struct{ a, b int }
	var orders [][]int
	for len(orders) < rounds {
		used := make([]bool, m)
		firsts := map[int]bool{}
		seen := map[adjacent]bool{}
		fresh := func(row []int) bool {
			if firsts[row[0]] {
				return false
			}
			for i := 1; i < len(row); i++ {
				if seen[adjacent{row[i-1], row[i]}] {
					return false
				}
			}
			return true
		}
		for k := 0; k < m && len(orders) < rounds; k++ {
			pick := -1
			for r := range rows {
				if used[r] {
					continue
				}
				if fresh(rows[r]) {
					pick = r
					break
				}
				if pick < 0 {
					pick = r
				}
			}
			used[pick] = true
			row := rows[pick]
			firsts[row[0]] = true
			for i := 1; i < len(row); i++ {
				seen[adjacent{row[i-1], row[i]}] = true
			}
			orders = append(orders, append([]int(nil), row...))
		}
	}
	return orders
}
