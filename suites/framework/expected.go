package framework

import (
	"bytes"
	"fmt"
	"os"
	"path"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

// ExpectedFailure is a cell known to fail because of a defect in a peer, kept in a list the
// way twister keeps quarantines and ESP-IDF keeps known failures: the cell still runs and is
// still reported as failed, with the known reason, but it does not fail the run. A listed cell
// that succeeds does fail the run, so the list cannot go stale.
//
// A side is matched by peer name (Client, Server), or by what it runs, so that one entry covers
// every board with the defective firmware whatever its profile is called: the firmware
// (ClientFirmware, ServerFirmware: "irohconf-fw", "iroh-esp32-example", or with the version a
// board's banner printed, "irohconf-fw 0.1.*") and the iroh release it is built on
// (ClientIrohVersion, ServerIrohVersion: "1.4.1", "1.*"). Every matcher given must match; a
// peer that declares no firmware or iroh version matches no such matcher.
type ExpectedFailure struct {
	// Client and Server are peer names or path.Match patterns ("upstream-*"); empty is any
	// peer when the side has another matcher.
	Client            string `yaml:"client"`
	Server            string `yaml:"server"`
	ClientFirmware    string `yaml:"client_firmware"`
	ServerFirmware    string `yaml:"server_firmware"`
	ClientIrohVersion string `yaml:"client_iroh_version"`
	ServerIrohVersion string `yaml:"server_iroh_version"`
	Case              string `yaml:"case"`
	// Reason says what is wrong and where it is tracked.
	Reason string `yaml:"reason"`
	// Intermittent marks a defect that shows in some runs only (a race in a peer): a listed cell
	// that succeeds is noted and does not fail the run. Use it only with evidence that the cell
	// fails both ways for the same reason.
	Intermittent bool `yaml:"intermittent"`
	// Symptom, when set, is a regular expression the failure's reason must match: a cell of the
	// entry that fails otherwise fails the run. It keeps a broad entry (every case of a pair)
	// from excusing failures other than the one listed.
	Symptom string `yaml:"symptom"`

	symptom *regexp.Regexp
}

// PeerIdentity is what an expected failure matches of one side of a cell.
type PeerIdentity struct {
	Name string
	// Firmware is the manifest's firmware, FirmwareVersion what the peer reported (a board's
	// banner: "irohconf-fw 0.1.0"); IrohVersion the iroh release it is built on.
	Firmware, FirmwareVersion, IrohVersion string
}

// IdentityOf is a peer's identity for the list of expected failures.
func IdentityOf(p Peer) PeerIdentity {
	m := p.Manifest()
	id := PeerIdentity{Name: m.Name, Firmware: m.Firmware, IrohVersion: m.IrohVersion}
	if v := p.Version(); m.Firmware != "" && strings.HasPrefix(v, m.Firmware+" ") {
		id.FirmwareVersion = v
	}
	return id
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
		noClient := e.Client == "" && e.ClientFirmware == "" && e.ClientIrohVersion == ""
		noServer := e.Server == "" && e.ServerFirmware == "" && e.ServerIrohVersion == ""
		if noClient || noServer || e.Case == "" || e.Reason == "" {
			return nil, fmt.Errorf("%s: entry %d needs a client (client, client_firmware or client_iroh_version), a server (server, server_firmware or server_iroh_version), case and reason", file, i+1)
		}
		if e.Symptom != "" {
			re, err := regexp.Compile(e.Symptom)
			if err != nil {
				return nil, fmt.Errorf("%s: entry %d: bad symptom: %w", file, i+1, err)
			}
			list[i].symptom = re
		}
		for _, p := range []string{e.Client, e.Server, e.ClientFirmware, e.ServerFirmware, e.ClientIrohVersion, e.ServerIrohVersion, e.Case} {
			if _, err := path.Match(p, ""); err != nil {
				return nil, fmt.Errorf("%s: entry %d: bad pattern %q: %w", file, i+1, p, err)
			}
		}
	}
	return list, nil
}

// expectedFailure returns the entry for a cell that failed with reason failure ("" when it did
// not fail), if there is one.
func expectedFailure(list []ExpectedFailure, client, server PeerIdentity, kase, failure string) (ExpectedFailure, bool) {
	for _, e := range list {
		if failure != "" && !e.shows(failure) {
			continue
		}
		if k, _ := path.Match(e.Case, kase); k &&
			side(e.Client, e.ClientFirmware, e.ClientIrohVersion, client) &&
			side(e.Server, e.ServerFirmware, e.ServerIrohVersion, server) {
			return e, true
		}
	}
	return ExpectedFailure{}, false
}

// shows reports whether a failure's reason is the entry's symptom (any reason without one).
func (e ExpectedFailure) shows(failure string) bool {
	if e.Symptom == "" {
		return true
	}
	re := e.symptom
	if re == nil { // an entry not read by LoadExpectedFailures
		re = regexp.MustCompile(e.Symptom)
	}
	return re.MatchString(failure)
}

// side tells whether one side's matchers (empty: not given) match a peer.
func side(name, firmware, iroh string, p PeerIdentity) bool {
	if name != "" && !match(name, p.Name) {
		return false
	}
	if firmware != "" && !match(firmware, p.Firmware) && !match(firmware, p.FirmwareVersion) {
		return false
	}
	return iroh == "" || match(iroh, p.IrohVersion)
}

// match is path.Match on a value that must be known: an empty value matches no pattern.
func match(pattern, value string) bool {
	ok, _ := path.Match(pattern, value)
	return ok && value != ""
}
