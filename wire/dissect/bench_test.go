package dissect_test

import (
	"testing"

	"github.com/irohconf/irohconf/iroh/echo"
	"github.com/irohconf/irohconf/wire/dissect"
	"github.com/irohconf/irohconf/wire/wiretest"
)

// BenchmarkDissect measures what dissecting a cell's capture costs (tshark and the analysis),
// for a handshake with one small echo and for an echo of 2 x 256 KiB.
func BenchmarkDissect(b *testing.B) {
	for _, tc := range []struct {
		name string
		opts echo.Options
	}{
		{"13B", echo.Options{Size: 13}},
		{"2x256KiB", echo.Options{Size: 256 << 10, Count: 2}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			run := wiretest.Echo(b, wiretest.Options{Echo: tc.opts})
			if run.DialErr != nil || run.EchoErr != nil {
				b.Fatal(run.Describe())
			}
			in := dissect.Input{Capture: run.Capture(), KeyLogs: run.KeyLogs()}
			for b.Loop() {
				if _, err := dissect.Dissect(b.Context(), in); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(run.Records)), "frames")
		})
	}
}
