package framework

import (
	"errors"
	"strings"
	"testing"
)

// Every verdict a cell can get, decided from what its case returned and the list of expected
// failures.
func TestDecide(t *testing.T) {
	list := []ExpectedFailure{{Client: "c", Server: "s-*", Case: "k", Reason: "a known bug"},
		{Client: "c", Server: "r-*", Case: "k", Reason: "a race", Intermittent: true},
		{Client: "c", Server: "q-*", Case: "k", Reason: "a stall", Intermittent: true, Symptom: "^dial did not finish within"}}
	for _, tc := range []struct {
		name     string
		err      error
		server   string
		outcome  Outcome
		reason   string // a part of it
		expected string
		skip     bool
		fail     string // a part of it; "" when the spec passes
	}{
		{name: "succeeded", server: "t", outcome: Succeeded},
		{name: "failed", err: errors.New("echo differs"), server: "t", outcome: Failed, reason: "echo differs", fail: "echo differs"},
		{name: "unsupported", err: NotDeclared("t", "t does not serve echo/0"), server: "t", outcome: Unsupported, reason: "t does not serve", skip: true},
		{name: "error", err: Testbed(errors.New("no engine")), server: "t", outcome: Errored, reason: "no engine", fail: "error (test bed): no engine"},
		{name: "expected failure", err: errors.New("refusal lost"), server: "s-1", outcome: Failed,
			reason: "expected failure (a known bug): refusal lost", expected: "a known bug"},
		{name: "stale expected failure", server: "s-1", outcome: Succeeded, fail: "listed as an expected failure (a known bug) but succeeded"},
		{name: "intermittent failure that fails", err: errors.New("stalled"), server: "r-1", outcome: Failed,
			reason: "expected failure (a race): stalled", expected: "a race"},
		{name: "intermittent failure that succeeds passes", server: "r-1", outcome: Succeeded},
		{name: "intermittent failure with its symptom", err: errors.New("dial did not finish within 20s"), server: "q-1", outcome: Failed,
			reason: "expected failure (a stall): dial did not finish", expected: "a stall"},
		{name: "a failure other than the listed symptom fails the run", err: errors.New("echo differs"), server: "q-1", outcome: Failed,
			reason: "echo differs", fail: "echo differs"},
		{name: "intermittent failure with a symptom that succeeds passes", server: "q-1", outcome: Succeeded},
		{name: "listed cell that errors still fails", err: Testbed(errors.New("no engine")), server: "s-1", outcome: Errored, fail: "error (test bed)"},
		{name: "listed cell that is unsupported is skipped", err: NotDeclared("s-1", "no"), server: "s-1", outcome: Unsupported, skip: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := decide(tc.err, list, PeerIdentity{Name: "c"}, PeerIdentity{Name: tc.server}, "k")
			if v.Outcome != tc.outcome || !strings.Contains(v.Reason, tc.reason) || v.Expected != tc.expected {
				t.Errorf("verdict %+v, want outcome %s, reason with %q, expected %q", v, tc.outcome, tc.reason, tc.expected)
			}
			if (v.Skip != "") != tc.skip {
				t.Errorf("skip %q, want skipped %v", v.Skip, tc.skip)
			}
			if (tc.fail == "") != (v.Fail == "") || !strings.Contains(v.Fail, tc.fail) {
				t.Errorf("fail %q, want %q", v.Fail, tc.fail)
			}
		})
	}
}
