package reports

import "slices"

// Fault is the network condition a cell ran under: the fault profile of its relay (wire/faults)
// and the seed of the relay's decisions. Profiles are a dimension of the matrix: the matrix
// page shows the cells under faults apart, one badge per profile.
type Fault struct {
	Profile string `json:"profile"`
	// Seed is absent for a cell that never started its relay (unsupported, for one).
	Seed uint64 `json:"seed,omitempty"`
}

// mergeFaultSeed is the merged runs' fault seed: theirs when they agree, else nil (each cell
// still names its own seed).
func mergeFaultSeed(runs []Run) *uint64 {
	var seeds []uint64
	for _, r := range runs {
		if r.FaultSeed != nil && !slices.Contains(seeds, *r.FaultSeed) {
			seeds = append(seeds, *r.FaultSeed)
		}
	}
	if len(seeds) != 1 {
		return nil
	}
	return &seeds[0]
}
