package framework

import (
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"

	"github.com/irohconf/irohconf/reports"
	"github.com/irohconf/irohconf/wire/faults"
)

// Network faults as a dimension of the matrix: a case with a Profile runs with that fault
// profile (wire/faults) in its cell's relay, so a cell is (client, server, case, profile), and
// its spec is labelled net:<profile>. Every fault decision of a run comes from one run seed:
// IROHCONF_FAULT_SEED when set, else one derived from the run's folder (which every parallel
// process of the run shares). Each cell's relay gets a seed of its own, derived from the run
// seed and the cell's names, so one run seed repeats every cell of a run, in any shard or slice.

// FaultSeedEnv names the variable that repeats an earlier run's fault decisions.
const FaultSeedEnv = "IROHCONF_FAULT_SEED"

// seedBits keeps seeds exact in JSON readers that hold numbers as doubles (jq, browsers).
const seedBits = 53

// faultSeeds is a matrix's run seed, decided once per process.
type faultSeeds struct {
	once sync.Once
	seed uint64
	err  error
}

// ProfileLabel is the label of a case's specs that run under a fault profile.
func ProfileLabel(profile string) string { return "net:" + profile }

// checkFaults checks what the matrix's fault dimension needs before anything runs: every case's
// profile exists and IROHCONF_FAULT_SEED, when set, is a number.
func (m *Matrix) checkFaults() error {
	var errs []error
	for _, k := range m.Cases {
		if k.Profile == "" {
			continue
		}
		if _, err := faults.Parse(k.Profile); err != nil {
			errs = append(errs, fmt.Errorf("case %s: %w", k.Name, err))
		}
	}
	if _, err := seedFromEnv(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func seedFromEnv() (uint64, error) {
	v := os.Getenv(FaultSeedEnv)
	if v == "" {
		return 0, nil
	}
	s, err := strconv.ParseUint(v, 0, 64)
	if err != nil {
		return 0, fmt.Errorf("%s=%q: want an unsigned number (a run's fault_seed in results.json): %w", FaultSeedEnv, v, err)
	}
	return s, nil
}

// RunFaultSeed is the run's fault seed (see FaultSeedEnv); known once the run's folder is.
func (m *Matrix) RunFaultSeed() (uint64, error) {
	m.faultSeeds.once.Do(func() {
		if v := os.Getenv(FaultSeedEnv); v != "" {
			m.faultSeeds.seed, m.faultSeeds.err = seedFromEnv()
			return
		}
		if m.runDir == "" {
			m.faultSeeds.err = errors.New("no run folder yet: the run's fault seed is derived from it")
			return
		}
		m.faultSeeds.seed = hashSeed(filepath.Base(m.runDir))
	})
	return m.faultSeeds.seed, m.faultSeeds.err
}

// CellFaultSeed is the seed of one cell's relay: the same run seed and names give the same seed.
func CellFaultSeed(run uint64, client, server, kase string) uint64 {
	return hashSeed(strconv.FormatUint(run, 10), client, server, kase)
}

func hashSeed(parts ...string) uint64 {
	h := fnv.New64a()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return h.Sum64() & (1<<seedBits - 1)
}

// cellWirePath is what a cell's relay does: Matrix.WirePath when the suite sets one, else the
// case's fault profile with the cell's seed (the zero WirePath, forwarding all, for a case
// without one).
func (m *Matrix) cellWirePath(k Case, client, server Manifest) (WirePath, error) {
	if m.WirePath != nil {
		return m.WirePath(k, client, server), nil
	}
	if k.Profile == "" {
		return WirePath{}, nil
	}
	p, err := faults.Parse(k.Profile)
	if err != nil {
		return WirePath{}, err
	}
	run, err := m.RunFaultSeed()
	if err != nil {
		return WirePath{}, err
	}
	return WirePath{Profile: p, Seed: CellFaultSeed(run, client.Name, server.Name, k.Name)}, nil
}

// faultRecord is a cell's fault in the report: its relay's profile and seed, or the case's
// profile alone for a cell that never started a relay (unsupported, or its server did not
// start); nil for a cell over a path that forwarded everything.
func faultRecord(k Case, p *WirePath) *reports.Fault {
	if p == nil || p.Profile.Name == "" && p.Profile.IsNone() {
		if k.Profile != "" {
			return &reports.Fault{Profile: k.Profile}
		}
		return nil
	}
	return &reports.Fault{Profile: p.Profile.Name, Seed: p.Seed}
}

// reportFaultSeed is the run seed for the report: nil when no case of the matrix has a profile.
func (m *Matrix) reportFaultSeed() *uint64 {
	for _, k := range m.Cases {
		if k.Profile != "" {
			if s, err := m.RunFaultSeed(); err == nil {
				return &s
			}
			return nil
		}
	}
	return nil
}

// QuickFaultsLabel marks the quick slice of the fault dimension, which `make interop` runs:
// for every server each profile once, with a client that can run the cell (one that the case's
// needs do not rule out), rotating with the profile, so every profile meets every server and
// the clients share the work.
const QuickFaultsLabel = "faults:quick"

// cellLabels are the labels of one cell beyond its pair's and its case's: the quick slice.
func (m *Matrix) cellLabels(client, server string, k Case) []string {
	if k.Profile == "" {
		return nil
	}
	si := slices.IndexFunc(m.Servers, func(s ServerPeer) bool { return s.Manifest().Name == server })
	if si < 0 {
		return nil
	}
	var able []string
	for _, c := range m.Clients {
		if k.needs(c.Manifest(), m.Servers[si].Manifest()) == nil {
			able = append(able, c.Manifest().Name)
		}
	}
	if len(able) == 0 {
		return nil // no client can: the full fault matrix reports why
	}
	profileIndex := 0
	for _, o := range m.Cases {
		if o.Name == k.Name {
			break
		}
		if o.Profile != "" {
			profileIndex++
		}
	}
	if able[(profileIndex+si)%len(able)] != client {
		return nil
	}
	return []string{QuickFaultsLabel}
}
