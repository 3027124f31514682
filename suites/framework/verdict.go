package framework

// verdict is what becomes of a cell: its outcome and reason in the report, and what its spec
// does, which decides whether the run passes.
type verdict struct {
	Outcome Outcome
	Reason  string
	// Expected is the reason of the expected-failure entry a cell failed as listed.
	Expected string
	// Note is a line for the cell's notes.
	Note string
	// Skip, when set, skips the spec with this message (unsupported); Fail, when set, fails it.
	Skip, Fail string
}

// decide turns what a cell's case returned into its verdict. A cell listed as an expected
// failure that fails is reported failed but passes the run; one that succeeds fails the run,
// so the list cannot go stale.
func decide(err error, expected []ExpectedFailure, client, server PeerIdentity, kase string) verdict {
	outcome, reason := Classify(err)
	v := verdict{Outcome: outcome, Reason: reason}
	failure := ""
	if outcome == Failed {
		failure = reason
	}
	known, isKnown := expectedFailure(expected, client, server, kase, failure)
	switch {
	case outcome == Unsupported:
		v.Skip = "unsupported: " + reason
	case isKnown && outcome == Failed:
		v.Reason = "expected failure (" + known.Reason + "): " + reason
		v.Expected = known.Reason
		v.Note = "listed as an expected failure: " + known.Reason
	case isKnown && outcome == Succeeded && known.Intermittent:
		v.Note = "listed as an intermittent failure (" + known.Reason + "); succeeded this time"
	case isKnown && outcome == Succeeded:
		v.Note = "listed as an expected failure (" + known.Reason + ") but succeeded"
		v.Fail = "listed as an expected failure (" + known.Reason + ") but succeeded: take it off the list"
	case outcome == Failed:
		v.Fail = reason
	case outcome == Errored:
		v.Fail = "error (test bed): " + reason
	}
	return v
}
