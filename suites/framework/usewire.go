package framework

import "github.com/irohconf/irohconf/wire/dissect"

// UseWire makes a cell built outside a matrix (a case's unit test) answer Wire with what wire
// returns, instead of a relay's dissected capture.
func (c *Cell) UseWire(wire func() (*dissect.Wire, error)) {
	cw := &cellWire{}
	cw.once.Do(func() { cw.wire, cw.err = wire() })
	c.wire = cw
}
