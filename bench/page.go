package bench

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

//go:embed page.html.tmpl
var pageTemplate string

// Write puts bench.json and index.html into dir.
func Write(dir string, run *Run) error {
	b, err := json.MarshalIndent(run, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "bench.json"), append(b, '\n'), 0o644); err != nil {
		return err
	}
	page, err := Page(run)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "index.html"), page, 0o644)
}

// The page's view of a run.
type pageView struct {
	Run      *Run
	Minutes  string
	Limits   []limitView
	Measures []measureView
	Schedule []scheduleView
}

// scheduleView is how one measure's rounds ran: a pair and its reference pair were sampled in
// the same round, so at most a round's duration apart.
type scheduleView struct {
	Measure       string
	Rounds, Units int
	MinS, MaxS    float64
	FirstOfEach   string // the unit each round began with
}

type limitView struct {
	Limit
	Bar      float64 // percent of the largest limit
	Min, Max float64 // of the samples
}

type measureView struct {
	MeasureInfo
	Servers []string
	Rows    []rowView
}

type rowView struct {
	Client string
	Cells  []cellView
}

type cellView struct {
	Outcome, Reason string
	Median, P90     string
	Samples, Rounds int
	Bar             float64 // percent of the measure's largest median
	Ratio           string  // a Go pair: the median and range of its per-round ratios to ...
	RatioOf         string  // ... its reference pair
	RatioGood       bool    // the median is within 10% or better
	RatioNoise      bool    // the interval spans 1: no difference beyond this run's noise
	Fraction        string  // a throughput: of the pair's limit
	FractionOf      string
}

// Page renders the run as one self-contained HTML page.
func Page(run *Run) ([]byte, error) {
	v := pageView{Run: run, Minutes: fmt.Sprintf("%.1f", run.Seconds/60)}
	largest := 0.0
	for _, l := range run.Limits {
		largest = max(largest, l.MBps)
	}
	for _, l := range run.Limits {
		lv := limitView{Limit: l, Bar: percentOf(l.MBps, largest)}
		if len(l.Samples) > 0 {
			lv.Min, lv.Max = slices.Min(l.Samples), slices.Max(l.Samples)
		}
		v.Limits = append(v.Limits, lv)
	}
	for _, sc := range run.Schedule {
		sv := scheduleView{Measure: sc.Measure, Rounds: len(sc.Rounds)}
		var firsts []string
		for i, r := range sc.Rounds {
			sv.Units = max(sv.Units, len(r.Order))
			if i == 0 || r.Seconds < sv.MinS {
				sv.MinS = r.Seconds
			}
			sv.MaxS = max(sv.MaxS, r.Seconds)
			if len(r.Order) > 0 {
				firsts = append(firsts, r.Order[0])
			}
		}
		sv.FirstOfEach = arrow(strings.Join(firsts, "; "))
		v.Schedule = append(v.Schedule, sv)
	}
	byKey := map[[3]string]Result{}
	for _, r := range run.Results {
		byKey[[3]string{r.Client, r.Server, r.Measure}] = r
	}
	for _, m := range Measures {
		mv := measureView{MeasureInfo: m, Servers: run.Servers}
		top := 0.0
		for _, r := range run.Results {
			if r.Measure == m.Name && r.Median != nil {
				top = max(top, *r.Median)
			}
		}
		for _, c := range run.Clients {
			row := rowView{Client: c}
			for _, s := range run.Servers {
				r, ok := byKey[[3]string{c, s, m.Name}]
				if !ok {
					row.Cells = append(row.Cells, cellView{Outcome: "missing", Reason: "not measured"})
					continue
				}
				cell := cellView{Outcome: r.Outcome, Reason: r.Reason, Samples: len(r.Samples)}
				if r.Median != nil {
					cell.Median, cell.P90 = num(*r.Median), num(*r.P90)
					cell.Bar = percentOf(*r.Median, top)
					cell.Rounds = len(r.Rounds)
					if q := r.Ratio; q != nil {
						cell.Ratio, cell.RatioOf = q.ratioText(), arrow(q.Of)
						cell.RatioGood = (q.Median >= 0.9 && m.HigherIsBetter) || (q.Median <= 1.1 && !m.HigherIsBetter)
						cell.RatioNoise = q.WithinNoise(1)
					}
					if q := r.Limit; q != nil {
						cell.Fraction, cell.FractionOf = q.percentText(), q.Of
					}
				}
				row.Cells = append(row.Cells, cell)
			}
			mv.Rows = append(mv.Rows, row)
		}
		v.Measures = append(v.Measures, mv)
	}
	t, err := template.New("page").Parse(pageTemplate)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := t.Execute(&b, v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func percentOf(x, top float64) float64 {
	if top <= 0 || math.IsNaN(x) {
		return 0
	}
	return math.Round(1000*x/top) / 10
}

// referencePair is what a pair with the Go peer on one side is compared with: upstream to
// upstream of the version on the other side; for Go to Go, the newest upstream version to
// itself; for Go to a board, the newest upstream version to that board (the firmware is built
// on it). Clients lists the newest upstream version first after go.
func referencePair(client, server string, clients []string) (string, string, bool) {
	newest := ""
	for _, c := range clients {
		if strings.HasPrefix(c, "upstream-") {
			newest = c
			break
		}
	}
	switch {
	case client == "go" && server == "go":
		return newest, newest, newest != ""
	case client == "go" && strings.HasPrefix(server, "upstream-"):
		return server, server, true
	case client == "go":
		return newest, server, newest != ""
	case server == "go" && strings.HasPrefix(client, "upstream-"):
		return client, client, true
	}
	return "", "", false
}

// pairLimit is the lowest limit a pair's payload passes through, in payload MB/s: UDP loopback
// (the faster of plain batches and segmentation offload) divided by how often each payload byte
// crosses the connection (wireFactor; echo: twice), and the AES-128-GCM seal+open of one core of
// the pair's crypto (the firmware provider's when the board is a side; Go's otherwise, the same
// AES-NI instructions ring uses in upstream): each side seals or opens every payload byte once
// per crossing, and in an echo each side does both.
func pairLimit(limits []Limit, client, server string, wireFactor float64) (float64, string) {
	aes := LimitAESGo
	if server == "virtual-board" {
		aes = LimitAESFirmware
	}
	// UDP: the faster way of sending, as a QUIC stack uses what the kernel offers.
	udp, udpName, crypto, cryptoName := 0.0, "", 0.0, ""
	for _, l := range limits {
		switch {
		case (l.Name == LimitUDP || l.Name == LimitUDPGSO) && l.MBps/max(wireFactor, 1) > udp:
			udp, udpName = l.MBps/max(wireFactor, 1), l.Name
		case l.Name == aes && l.MBps > 0:
			crypto, cryptoName = l.MBps, l.Name
		}
	}
	if crypto > 0 && (udp == 0 || crypto < udp) {
		return crypto, cryptoName
	}
	return udp, udpName
}

// PrintRatios writes, per measure, each Go pair's ratio to its reference pair and each
// throughput's share of its limit, with their intervals over the rounds: the page's derived
// numbers, for a terminal.
func PrintRatios(w io.Writer, run *Run) {
	for _, m := range Measures {
		var ratios, shares []string
		for _, r := range run.Results {
			if r.Measure != m.Name {
				continue
			}
			if r.Ratio != nil {
				ratios = append(ratios, fmt.Sprintf("%s→%s %s", r.Client, r.Server, r.Ratio.ratioText()))
			}
			if r.Limit != nil {
				shares = append(shares, fmt.Sprintf("%s→%s %s", r.Client, r.Server, r.Limit.percentText()))
			}
		}
		if len(ratios) > 0 {
			fmt.Fprintf(w, "ratio %-18s %s\n", m.Name, strings.Join(ratios, ", "))
		}
		if len(shares) > 0 {
			fmt.Fprintf(w, "limit %-18s %s\n", m.Name, strings.Join(shares, ", "))
		}
	}
}
