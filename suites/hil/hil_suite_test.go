// The hardware-in-the-loop suite: one board (a real board over serial, or the virtual board)
// as server, every client peer against it, the board cases plus the interop catalogue.
// Run it with `make hil PORT=/dev/ttyUSB0`, `make hil BOARD=<profile>` or `make hil-virtual`.
package hil_test

import (
	"os"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/irohconf/irohconf/suites/cases"
	"github.com/irohconf/irohconf/suites/framework"
	"github.com/irohconf/irohconf/suites/peers"
)

func TestHil(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "irohconf hil")
}

var matrix = func() *framework.Matrix {
	set, err := peers.HilSet(os.Getenv("IROHCONF_BOARD"), os.Getenv("IROHCONF_PORT"), os.Getenv(peers.EnvFlash))
	if err == nil {
		var m *framework.Matrix
		if m, err = peers.NewMatrix("hil", set, cases.Hil()); err == nil {
			return m
		}
	}
	panic(err) // a broken manifest, profile or list of expected failures: nothing to run
}()

var _ = matrix.Register()
