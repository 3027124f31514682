package framework

import (
	"context"
	"errors"
	"fmt"
	"slices"
)

// capability is a feature a manifest may declare, with the driver interface that provides it.
// The list below is the one place both are named: the matrix refuses to be built when a peer
// declares a feature its driver does not implement, or implements one it does not declare.
type capability struct {
	feature Feature
	// iface names the driver interface; empty when the feature is a flag of the base contract
	// (dial --idle, a fixed secret) that every driver takes.
	iface    string
	provides func(Peer) bool
	// declaredOnly: implementing the interface does not oblige a peer to declare the feature
	// (one board driver runs firmware with and without a console, boards with and without
	// reset lines).
	declaredOnly bool
}

func implements[T any](p Peer) bool { _, ok := p.(T); return ok }

var capabilities = []capability{
	{feature: FeatureTicketDecoder, iface: "TicketDecoder", provides: implements[TicketDecoder]},
	{feature: FeatureMisbehavingClient, iface: "MisbehavingClient", provides: implements[MisbehavingClient]},
	{feature: FeatureSNIControl, iface: "SNIClient", provides: implements[SNIClient]},
	{feature: FeatureKeyShareControl, iface: "KeyShareClient", provides: implements[KeyShareClient]},
	{feature: FeatureConsole, iface: "BoardPeer", provides: implements[BoardPeer], declaredOnly: true},
	{feature: FeatureReset, iface: "BoardPeer", provides: implements[BoardPeer], declaredOnly: true},
	{feature: FeatureHeap, iface: "BoardPeer", provides: implements[BoardPeer], declaredOnly: true},
	{feature: FeatureIdleDial},    // DialRequest.Idle
	{feature: FeatureFixedSecret}, // ServerOptions.Secret, DialRequest.Secret
}

func knownFeature(f Feature) bool {
	return slices.ContainsFunc(capabilities, func(c capability) bool { return c.feature == f })
}

// checkCapabilities says where a peer's manifest and its driver disagree.
func checkCapabilities(p Peer) error {
	m := p.Manifest()
	var errs []error
	for _, c := range capabilities {
		if c.provides == nil {
			continue
		}
		declared, has := m.Has(c.feature), c.provides(p)
		switch {
		case declared && !has:
			errs = append(errs, fmt.Errorf("%s declares %s but its driver %T is not a %s", m.Name, c.feature, p, c.iface))
		case !declared && has && !c.declaredOnly:
			errs = append(errs, fmt.Errorf("%s's driver %T is a %s but the manifest does not declare %s", m.Name, p, c.iface, c.feature))
		}
	}
	return errors.Join(errs...)
}

// BoardPeer is a server peer whose servers are boards: the firmware on a board or the virtual
// board, with a console and (where wired) reset.
type BoardPeer interface {
	ServerPeer
	StartBoard(ctx context.Context, opts ServerOptions, log *Tap) (Board, error)
}

// startServer starts a server; a board peer's is started as a board.
func startServer(ctx context.Context, p ServerPeer, opts ServerOptions, log *Tap) (Server, error) {
	if bp, ok := p.(BoardPeer); ok {
		b, err := bp.StartBoard(ctx, opts, log)
		if err != nil {
			return nil, err
		}
		return b, nil
	}
	return p.StartServer(ctx, opts, log)
}

// Check says whether the matrix can be built: every peer's driver provides what its manifest
// declares and declares what its driver provides. Register calls it; a suite may call it first
// to report the error its own way.
func (m *Matrix) Check() error {
	var errs []error
	for _, p := range m.peers() {
		errs = append(errs, checkCapabilities(p))
	}
	for _, c := range m.Clients {
		if !c.Manifest().HasRole(RoleClient) {
			errs = append(errs, fmt.Errorf("%s is a client in the matrix but does not declare the client role", c.Manifest().Name))
		}
	}
	for _, s := range m.Servers {
		if !s.Manifest().HasRole(RoleServer) {
			errs = append(errs, fmt.Errorf("%s is a server in the matrix but does not declare the server role", s.Manifest().Name))
		}
	}
	errs = append(errs, m.checkFaults())
	return errors.Join(errs...)
}
