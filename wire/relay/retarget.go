package relay

import (
	"errors"
	"fmt"
	"net/netip"
)

// Retarget sends what clients send from now on to target: the server moved (a board that came
// back from a reset on another port). Every client starts afresh towards it, from a new socket;
// what the old server still sends is lost, as it would be on a real path. Records and the
// capture keep naming the first target as the server, so that one capture shows one server
// (the capture's section header names the first; this move is not written in it).
func (r *Relay) Retarget(target netip.AddrPort) error {
	if !target.IsValid() || target.Port() == 0 {
		return fmt.Errorf("relay: target %q is not an address with a port", target)
	}
	target = unmap(target)
	if target.Addr().Is4() != r.cfg.Target.Addr().Unmap().Is4() {
		return fmt.Errorf("relay: cannot move from %s to %s, another address family", r.cfg.Target, target)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return errors.New("relay: closed")
	}
	r.target = target
	var errs []error
	for client, s := range r.sessions {
		errs = append(errs, s.up.conn.Close())
		for _, u := range s.stale {
			errs = append(errs, u.conn.Close())
		}
		delete(r.sessions, client)
	}
	return errors.Join(errs...)
}
