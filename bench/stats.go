package bench

import (
	"math"
	"slices"
)

// median of xs (the mean of the middle two for an even count); NaN for none.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Sorted(slices.Values(xs))
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// percentile is the nearest-rank p-th percentile (0 < p <= 100) of xs; NaN for none.
func percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Sorted(slices.Values(xs))
	rank := int(math.Ceil(p / 100 * float64(len(s))))
	return s[min(max(rank, 1), len(s))-1]
}

// medianInterval is a distribution-free confidence interval for the median that xs are samples
// of: the order statistics x(k) and x(n+1-k), with the largest k for which the chance that the
// median lies outside them is at most 1-conf (each sample falls below the median with chance
// 1/2, so the count below is binomial). It needs enough samples: 6 for 95%.
func medianInterval(xs []float64, conf float64) (lo, hi float64, ok bool) {
	n := len(xs)
	k, below := 0, 0.0 // below: the chance that fewer than k+1 samples fall below the median
	for j := 0; j < n; j++ {
		below += binomialHalf(n, j)
		if 2*below > 1-conf {
			break
		}
		k = j + 1
	}
	if k == 0 {
		return math.NaN(), math.NaN(), false
	}
	s := slices.Sorted(slices.Values(xs))
	return s[k-1], s[n-k], true
}

// binomialHalf is the chance of j successes in n trials of chance 1/2.
func binomialHalf(n, j int) float64 {
	lg := func(x int) float64 { v, _ := math.Lgamma(float64(x + 1)); return v }
	return math.Exp(lg(n) - lg(j) - lg(n-j) - float64(n)*math.Ln2)
}
