package peers

import (
	"strings"
	"sync"

	"github.com/irohconf/irohconf/suites/framework"
)

// cellCursor says where a server's wait for a client's connection starts in its log: after the
// current cell began (framework.CellAware) and after the client's connection the previous wait
// returned. A client with a fixed id (a board) dials in many cells; each wait is for its next
// connection in the cell, not its first ever.
type cellCursor struct {
	mu     sync.Mutex
	cell   framework.Mark
	waited map[string]framework.Mark
}

func (c *cellCursor) start(at framework.Mark) {
	c.mu.Lock()
	c.cell = at
	c.mu.Unlock()
}

func (c *cellCursor) from(base framework.Mark, remoteID string) framework.Mark {
	c.mu.Lock()
	defer c.mu.Unlock()
	return max(base, c.cell, c.waited[strings.ToLower(remoteID)])
}

func (c *cellCursor) took(remoteID string, next framework.Mark) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.waited == nil {
		c.waited = map[string]framework.Mark{}
	}
	c.waited[strings.ToLower(remoteID)] = next
}

// CellStarted marks where the cell's console lines begin.
func (s *boardServer) CellStarted() { s.cells.start(s.tap.Mark()) }

func (s *boardServer) waitFrom(remoteID string) framework.Mark {
	return s.cells.from(s.since, remoteID)
}

func (s *boardServer) waited(remoteID string, next framework.Mark) { s.cells.took(remoteID, next) }
