package bench

import (
	"fmt"
	"slices"
	"strings"
)

// Spread is a quotient taken once per round (a Go pair over its reference pair, a throughput over
// its limit), both sides sampled in the same round, summarised by the median of the rounds'
// quotients, a 95% confidence interval of that median (from 6 rounds on) and their range: an
// interval that spans 1 (or a target) says the difference is within the noise of this run.
type Spread struct {
	Of     string  `json:"of"` // the reference pair ("upstream-1.4.1 -> upstream-1.4.1") or the limit
	Median float64 `json:"median"`
	// Low and High bound the median with 95% confidence (order statistics, no assumption about
	// the distribution); both zero when the rounds are too few.
	Low    float64   `json:"low,omitempty"`
	High   float64   `json:"high,omitempty"`
	Min    float64   `json:"min"`
	Max    float64   `json:"max"`
	Rounds []float64 `json:"rounds"` // the quotient of each round
}

// confidence is the coverage of a Spread's interval.
const confidence = 0.95

// perRound divides num by den round by round; false when the rounds do not line up or a
// denominator is not positive.
func perRound(num, den []float64) ([]float64, bool) {
	if len(num) == 0 || len(num) != len(den) {
		return nil, false
	}
	q := make([]float64, len(num))
	for i := range num {
		if den[i] <= 0 {
			return nil, false
		}
		q[i] = num[i] / den[i]
	}
	return q, true
}

func spreadOf(of string, q []float64) *Spread {
	s := &Spread{Of: of, Median: median(q), Min: slices.Min(q), Max: slices.Max(q), Rounds: q}
	if lo, hi, ok := medianInterval(q, confidence); ok {
		s.Low, s.High = lo, hi
	}
	return s
}

// hasInterval says whether the rounds were enough for a confidence interval (Low and High are
// then set; ratios and shares are never 0).
func (s *Spread) hasInterval() bool { return s.Low != 0 || s.High != 0 }

// bounds are the interval the median lies in as far as this run can tell: the confidence
// interval, or the range when the rounds are too few for one.
func (s *Spread) bounds() (lo, hi float64) {
	if !s.hasInterval() {
		return s.Min, s.Max
	}
	return s.Low, s.High
}

// WithinNoise reports whether this run cannot tell the quotient from x: its interval holds x.
func (s *Spread) WithinNoise(x float64) bool {
	lo, hi := s.bounds()
	return lo <= x && x <= hi
}

// deriveRatios fills each result's Ratio (a Go pair against its reference pair) and Limit (a
// throughput against the lowest limit its payload passes through, as measured in the same round).
func deriveRatios(run *Run) {
	byKey := map[[3]string]int{}
	for i, r := range run.Results {
		byKey[[3]string{r.Client, r.Server, r.Measure}] = i
	}
	for i := range run.Results {
		r := &run.Results[i]
		r.Ratio, r.Limit = nil, nil
		if r.Outcome != "ok" || len(r.Rounds) == 0 {
			continue
		}
		if rc, rs, ok := referencePair(r.Client, r.Server, run.Clients); ok {
			if j, ok := byKey[[3]string{rc, rs, r.Measure}]; ok && run.Results[j].Outcome == "ok" {
				if q, ok := perRound(r.Rounds, run.Results[j].Rounds); ok {
					r.Ratio = spreadOf(rc+" -> "+rs, q)
				}
			}
		}
		info, _ := MeasureByName(r.Measure)
		if !info.Throughput {
			continue
		}
		limits := make([]float64, len(r.Rounds))
		name := ""
		for k := range r.Rounds {
			var round []Limit
			for _, l := range run.Limits {
				if k < len(l.Rounds[r.Measure]) {
					round = append(round, Limit{Name: l.Name, MBps: l.Rounds[r.Measure][k]})
				}
			}
			mbps, n := pairLimit(round, r.Client, r.Server, info.WireFactor)
			if name != "" && n != name {
				name = "the lowest limit of each round"
			} else if name == "" {
				name = n
			}
			limits[k] = mbps
		}
		if q, ok := perRound(r.Rounds, limits); ok {
			r.Limit = spreadOf(name, q)
		}
	}
}

// ratioText is a ratio and its interval for people: "0.95× (95% CI 0.81–1.10)", or its range
// when the rounds are too few for an interval: "0.95× (range 0.81–1.10)".
func (s *Spread) ratioText() string {
	lo, hi := s.bounds()
	return fmt.Sprintf("%.2f× (%s %.2f–%.2f)", s.Median, s.boundsName(), lo, hi)
}

// percentText is a fraction as percent and its interval: "19% (95% CI 17–22%)".
func (s *Spread) percentText() string {
	lo, hi := s.bounds()
	return fmt.Sprintf("%.0f%% (%s %.0f–%.0f%%)", 100*s.Median, s.boundsName(), 100*lo, 100*hi)
}

func (s *Spread) boundsName() string {
	if !s.hasInterval() {
		return "range"
	}
	return fmt.Sprintf("%.0f%% CI", 100*confidence)
}

// arrow prints "a -> b" as "a → b" for the page.
func arrow(s string) string { return strings.ReplaceAll(s, " -> ", " → ") }
