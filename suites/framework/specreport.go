package framework

import (
	"encoding/json"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/types"

	"github.com/irohconf/irohconf/reports"
)

// cellFromSpec reads the cell a spec recorded. A spec that never recorded one (interrupted, or
// timed out by Ginkgo) becomes a cell from its labels, failed with Ginkgo's reason.
func cellFromSpec(r SpecReport) (reports.Cell, bool) {
	for _, e := range r.ReportEntries {
		if e.Name != cellEntry {
			continue
		}
		// In the process that ran the spec the entry holds the value itself; in the report
		// gathered from parallel processes it holds its JSON.
		if c, ok := e.Value.GetRawValue().(reports.Cell); ok {
			return c, true
		}
		var c reports.Cell
		if err := json.Unmarshal([]byte(e.Value.AsJSON), &c); err == nil && c.Case != "" {
			return c, true
		}
	}
	if r.LeafNodeType != types.NodeTypeIt || r.State == types.SpecStateSkipped && r.Failure.IsZero() {
		return reports.Cell{}, false
	}
	var c reports.Cell
	for _, l := range r.Labels() {
		switch {
		case strings.HasPrefix(l, "client:"):
			c.Client = strings.TrimPrefix(l, "client:")
		case strings.HasPrefix(l, "server:"):
			c.Server = strings.TrimPrefix(l, "server:")
		case strings.HasPrefix(l, "case:"):
			c.Case = strings.TrimPrefix(l, "case:")
		case strings.HasPrefix(l, "net:"):
			c.Fault = &reports.Fault{Profile: strings.TrimPrefix(l, "net:")}
		}
	}
	if c.Client == "" || c.Server == "" || c.Case == "" {
		return reports.Cell{}, false
	}
	c.Start, c.DurationMS = r.StartTime, ms(r.RunTime)
	c.Logs = reports.CellLogPath(c.Client, c.Server, c.Case)
	switch {
	case r.State.Is(types.SpecStatePassed):
		c.Outcome = Succeeded
	case r.State == types.SpecStateTimedout:
		c.Outcome, c.Reason = Failed, "timed out: "+r.Failure.Message
	case r.State.Is(types.SpecStateInterrupted | types.SpecStateAborted):
		c.Outcome, c.Reason = Errored, "the run was interrupted: "+r.Failure.Message
	default:
		c.Outcome, c.Reason = Errored, r.Failure.Message
	}
	return c, true
}
