package bench

import (
	"math"
	"testing"
)

// The interval is the textbook one: for 9 samples the 2nd and 8th (96.1% coverage), for 10 the
// 2nd and 9th (97.9%), for 20 the 6th and 15th (95.9%); 5 samples are too few for 95%.
func TestMedianInterval(t *testing.T) {
	seq := func(n int) []float64 {
		xs := make([]float64, n)
		for i := range xs {
			xs[i] = float64(n - i) // descending: the interval must sort
		}
		return xs
	}
	for _, tc := range []struct {
		n      int
		lo, hi float64
	}{{9, 2, 8}, {10, 2, 9}, {20, 6, 15}, {6, 1, 6}} {
		lo, hi, ok := medianInterval(seq(tc.n), 0.95)
		if !ok || lo != tc.lo || hi != tc.hi {
			t.Errorf("n=%d: [%v, %v] %v, want [%v, %v]", tc.n, lo, hi, ok, tc.lo, tc.hi)
		}
	}
	if _, _, ok := medianInterval(seq(5), 0.95); ok {
		t.Error("5 samples gave a 95% interval")
	}
	if p := binomialHalf(9, 1); math.Abs(p-9.0/512) > 1e-12 {
		t.Errorf("binomialHalf(9, 1) = %v", p)
	}
}

// From 6 rounds on a spread's noise is its median's confidence interval, not its range: one
// outlier round above 1 does not make eight rounds below it "within noise".
func TestSpreadInterval(t *testing.T) {
	s := spreadOf("ref", []float64{0.80, 0.81, 0.82, 0.83, 0.84, 0.85, 0.86, 0.87, 1.30})
	if s.Low != 0.81 || s.High != 0.87 || s.Min != 0.80 || s.Max != 1.30 {
		t.Fatalf("spread %+v", *s)
	}
	if s.WithinNoise(1) || !s.WithinNoise(0.85) {
		t.Errorf("within noise of 1: %v, of 0.85: %v", s.WithinNoise(1), s.WithinNoise(0.85))
	}
	if got := s.ratioText(); got != "0.84× (95% CI 0.81–0.87)" {
		t.Errorf("ratioText = %q", got)
	}
	few := spreadOf("ref", []float64{0.8, 1.3})
	if !few.WithinNoise(1) || few.ratioText() != "1.05× (range 0.80–1.30)" {
		t.Errorf("two rounds: %+v %q", *few, few.ratioText())
	}
}
