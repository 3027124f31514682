package framework

import (
	"bytes"
	"fmt"
	"os"
	"path"

	"go.yaml.in/yaml/v3"
)

// ExpectedFailure is a cell known to fail because of a defect in a peer, kept in a list the
// way twister keeps quarantines and ESP-IDF keeps known failures: the cell still runs and is
// still reported as failed, with the known reason, but it does not fail the run. A listed cell
// that succeeds does fail the run, so the list cannot go stale.
type ExpectedFailure struct {
	// Client and Server are peer names or path.Match patterns ("upstream-*").
	Client string `yaml:"client"`
	Server string `yaml:"server"`
	Case   string `yaml:"case"`
	// Reason says what is wrong and where it is tracked.
	Reason string `yaml:"reason"`
}

// LoadExpectedFailures reads the list strictly (unknown fields and bad patterns are errors).
func LoadExpectedFailures(file string) ([]ExpectedFailure, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var list []ExpectedFailure
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&list); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	for i, e := range list {
		if e.Client == "" || e.Server == "" || e.Case == "" || e.Reason == "" {
			return nil, fmt.Errorf("%s: entry %d needs client, server, case and reason", file, i+1)
		}
		for _, p := range []string{e.Client, e.Server, e.Case} {
			if _, err := path.Match(p, ""); err != nil {
				return nil, fmt.Errorf("%s: entry %d: bad pattern %q: %w", file, i+1, p, err)
			}
		}
	}
	return list, nil
}

// expectedFailure returns the entry for a cell, if there is one.
func expectedFailure(list []ExpectedFailure, client, server, kase string) (ExpectedFailure, bool) {
	for _, e := range list {
		c, _ := path.Match(e.Client, client)
		s, _ := path.Match(e.Server, server)
		k, _ := path.Match(e.Case, kase)
		if c && s && k {
			return e, true
		}
	}
	return ExpectedFailure{}, false
}
