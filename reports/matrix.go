package reports

import (
	"maps"
	"slices"
)

// matrix is the run arranged as clients × servers, shared by every renderer so that junit.xml,
// summary.md and index.html list things in the same order: peers in declaration order, cases
// in catalogue order.
type matrix struct {
	run     Run
	peers   map[string]Peer
	cases   map[string]Case
	clients []string
	servers []string
	// cells[client][server] holds that pair's cells in catalogue order.
	cells map[string]map[string][]Cell
}

func newMatrix(run Run) *matrix {
	m := &matrix{
		run:   run,
		peers: make(map[string]Peer, len(run.Peers)),
		cases: make(map[string]Case, len(run.Cases)),
		cells: map[string]map[string][]Cell{},
	}
	caseOrder := make(map[string]int, len(run.Cases))
	for i, c := range run.Cases {
		m.cases[c.Name] = c
		caseOrder[c.Name] = i
	}
	isClient, isServer := map[string]bool{}, map[string]bool{}
	for _, c := range run.Cells {
		isClient[c.Client], isServer[c.Server] = true, true
		if m.cells[c.Client] == nil {
			m.cells[c.Client] = map[string][]Cell{}
		}
		m.cells[c.Client][c.Server] = append(m.cells[c.Client][c.Server], c)
	}
	// A peer is a row when it has cells as a client or declares the role (so a client that
	// never ran shows as an empty row rather than vanishing); the same for columns.
	for _, p := range run.Peers {
		m.peers[p.Name] = p
		if isClient[p.Name] || slices.Contains(p.Roles, RoleClient) {
			m.clients = append(m.clients, p.Name)
		}
		if isServer[p.Name] || slices.Contains(p.Roles, RoleServer) {
			m.servers = append(m.servers, p.Name)
		}
	}
	for _, byServer := range m.cells {
		for _, cells := range byServer {
			slices.SortStableFunc(cells, func(a, b Cell) int { return caseOrder[a.Case] - caseOrder[b.Case] })
		}
	}
	return m
}

// pair is one (client, server) with its cells.
type pair struct {
	Client, Server string
	Cells          []Cell
}

// Name is the pair's id in JUnit and log paths: <client>__<server>.
func (p pair) Name() string { return p.Client + "__" + p.Server }

// pairs lists the pairs that have cells, client-major.
func (m *matrix) pairs() []pair {
	var out []pair
	for _, c := range m.clients {
		for _, s := range m.servers {
			if cells := m.cells[c][s]; len(cells) > 0 {
				out = append(out, pair{c, s, cells})
			}
		}
	}
	return out
}

// ordered lists every cell client-major: clients, then servers, in peer order, then cases in
// catalogue order.
func (m *matrix) ordered() []Cell {
	var out []Cell
	for _, p := range m.pairs() {
		out = append(out, p.Cells...)
	}
	return out
}

// problems lists the failed and errored cells, in matrix order.
func (m *matrix) problems() []Cell {
	var out []Cell
	for _, p := range m.pairs() {
		for _, c := range p.Cells {
			if c.Outcome == Failed || c.Outcome == Error {
				out = append(out, c)
			}
		}
	}
	return out
}

func (m *matrix) label(caseName string) string { return m.cases[caseName].Label() }

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }
