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
	if err == nil {
		var m *framework.Matrix
		if m, err = peers.NewMatrix("interop", set, cases.Interop()); err == nil {
			return m
		}
	}
	panic(err) // a broken manifest, profile or list of expected failures: nothing to run
}()

var _ = matrix.Register()
