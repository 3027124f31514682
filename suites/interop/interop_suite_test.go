// The interop suite: every client peer against every server peer, every case of the catalogue.
// Run it with `make interop`; slice it with --label-filter (suite:, client:, server:, case:).
package interop_test

import (
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/irohconf/irohconf/suites/cases"
	"github.com/irohconf/irohconf/suites/framework"
	"github.com/irohconf/irohconf/suites/peers"
)

func TestInterop(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "irohconf interop")
}

var matrix = func() *framework.Matrix {
	set, err := peers.InteropSet()
	if err != nil {
		panic(err) // a broken manifest: nothing to run
	}
	expected, err := framework.LoadExpectedFailures(peers.ExpectedFailuresFile())
	if err != nil {
		panic(err)
	}
	return &framework.Matrix{
		Suite:      "interop",
		Clients:    set.Clients,
		Servers:    set.Servers,
		Cases:      cases.Interop(),
		ReportRoot: peers.ReportRoot(),
		Expected:   expected,
	}
}()

var _ = matrix.Register()
