package cases

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"time"

	"github.com/irohconf/irohconf/iroh/ticket"
	"github.com/irohconf/irohconf/peercontract"
	"github.com/irohconf/irohconf/suites/framework"
)

// Hil is the catalogue of the hardware-in-the-loop suite: the board cases, then the interop
// cases with the board as server.
func Hil() []framework.Case {
	cs := []framework.Case{Boot(), BoardTicket(), ResetRecovery(), Soak()}
	for _, k := range Interop() {
		if k.Name == TicketDifferential().Name {
			continue // a decoder property of the clients, not of the board: the interop suite runs it
		}
		cs = append(cs, k)
	}
	return cs
}

func board(c *framework.Cell) (framework.Board, error) {
	b, ok := c.Server.(framework.Board)
	if !ok {
		return nil, framework.Testbed(fmt.Errorf("server %s declares board features but is not a board", c.ServerManifest().Name))
	}
	return b, nil
}

// Boot: the board resets, boots and announces itself ready; the boot time is recorded.
func Boot() framework.Case {
	return framework.Case{
		Name: "boot", Abbr: "B",
		Description: "the board resets and boots to ready (endpoint bound, id, ticket, router started); boot time recorded",
		ServerNeeds: []framework.Feature{framework.FeatureReset},
		Needs:       servesEcho,
		Timeout:     90 * time.Second,
		Run: func(ctx context.Context, c *framework.Cell) error {
			b, err := board(c)
			if err != nil {
				return err
			}
			took, err := b.Reset(ctx)
			if err != nil {
				return err
			}
			c.Record("boot_ms", float64(took.Microseconds())/1000)
			_, err = echoOnce(ctx, c, framework.DialRequest{ALPN: EchoALPN, Size: 13, Count: 1})
			return err
		},
	}
}

// BoardTicket: the id and ticket the board prints parse and match each other and the address
// it listens on.
func BoardTicket() framework.Case {
	return framework.Case{
		Name: "board-ticket", Abbr: "BT",
		Description: "the endpoint id and long ticket the board prints parse, name the same id, and include its listening address",
		Needs:       servesEcho,
		Timeout:     10 * time.Second,
		Run: func(ctx context.Context, c *framework.Cell) error {
			announced := c.Announced() // what the board printed, not the path the cell dials
			t, err := ticket.Parse(announced.Ticket())
			if err != nil {
				return fmt.Errorf("the board's ticket does not parse: %w", err)
			}
			if t.ID.String() != announced.ID() {
				return fmt.Errorf("the ticket names %s, the board prints Endpoint ID %s", t.ID, announced.ID())
			}
			var addrs []string
			for _, a := range t.IPAddrs() {
				addrs = append(addrs, a.String())
			}
			for _, a := range announced.Addrs() {
				if !slices.Contains(addrs, a) {
					return fmt.Errorf("the ticket's addresses %v do not include the listening address %s", addrs, a)
				}
			}
			return nil
		},
	}
}

// ResetRecovery: a reset in the middle of an echo; the new boot is seen, the id is the same
// (the secret is fixed), and dialing works again.
func ResetRecovery() framework.Case {
	return framework.Case{
		Name: "reset-recovery", Abbr: "RR",
		Description: "a reset during an echo: a new boot is seen, the id is unchanged (fixed secret), and dialing works again",
		ServerNeeds: []framework.Feature{framework.FeatureReset, framework.FeatureFixedSecret},
		Needs:       servesEcho,
		Timeout:     120 * time.Second,
		Run: func(ctx context.Context, c *framework.Cell) error {
			b, err := board(c)
			if err != nil {
				return err
			}
			idBefore := c.Server.ID()
			// One long stream (128 MiB through the board's 16 KiB windows) that the reset cuts
			// short. One stream, so the board prints nothing until it ends and its console stays
			// readable for the reset. A reset board sends no CONNECTION_CLOSE, so the client
			// would notice only at its idle timeout: the case ends the dial itself.
			type dialed struct {
				res peercontract.Result
				err error
			}
			done := make(chan dialed, 1)
			dctx, cancelDial := context.WithCancel(ctx)
			defer cancelDial()
			mark := c.ServerLog.Mark()
			go func() {
				res, err := c.Dial(dctx, framework.DialRequest{Ticket: c.Server.Ticket(), ALPN: EchoALPN, Size: 128 << 20, Count: 1, Timeout: 5 * time.Minute})
				done <- dialed{res, err}
			}()
			wctx, wcancel := context.WithTimeout(ctx, 15*time.Second)
			_, _, _, err = c.ServerLog.WaitFor(wctx, mark, acceptedLine)
			wcancel()
			if err != nil {
				return fmt.Errorf("the board never accepted the echo connection: %w", err)
			}
			c.Notef("resetting the board during the echo")
			took, err := b.Reset(ctx)
			if err != nil {
				return fmt.Errorf("after the reset: %w", err)
			}
			c.Record("boot_ms", float64(took.Microseconds())/1000)
			var d dialed
			select {
			case d = <-done:
			default:
				cancelDial()
				d = <-done
			}
			if d.err != nil && ctx.Err() == nil && dctx.Err() == nil {
				return d.err
			}
			c.Notef("the interrupted dial: ok=%v error=%q", d.res.OK, d.res.Error)
			if d.res.OK {
				return fmt.Errorf("the 128 MiB echo finished before the reset: it was not interrupted (a faster board needs a longer echo)")
			}
			if c.Server.ID() != idBefore {
				return fmt.Errorf("the id changed across the reset: %s, then %s", idBefore, c.Server.ID())
			}
			_, err = echoOnce(ctx, c, framework.DialRequest{ALPN: EchoALPN, Size: 1 << 10, Count: 1})
			if err != nil {
				return fmt.Errorf("dialing after the reset: %w", err)
			}
			return nil
		},
	}
}

// settledStatus is the board's status once its free heap stopped growing for a second (at most
// 5 s): the connection of the cell before may hold heap for a moment after it closed, and a
// baseline taken then would be low by that much (by how soon the cell before ended, not by what
// the soak leaks).
func settledStatus(ctx context.Context, b framework.Board) (framework.BoardStatus, error) {
	st, err := b.Status(ctx)
	if err != nil || st.HeapFree == nil {
		return st, err
	}
	const poll = 250 * time.Millisecond
	deadline, still := time.Now().Add(5*time.Second), 0
	for still < 4 && time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return st, ctx.Err()
		case <-time.After(poll):
		}
		next, err := b.Status(ctx)
		if err != nil {
			return st, err
		}
		if next.HeapFree == nil || *next.HeapFree <= *st.HeapFree {
			still++
		} else {
			still = 0
		}
		st = next
	}
	return st, nil
}

// Soak: 100 connections in sequence; then the board has no open connection and its free heap
// is back within a bound of where it started.
func Soak() framework.Case {
	const (
		conns = 100
		// heapBound is how much less free heap the board may report after the soak: allocator
		// fragmentation and caches, not a leak per connection.
		heapBound = 16 << 10
		// heapRelease is how long the heap may take to come back after the last connection.
		heapRelease = 90 * time.Second
	)
	return framework.Case{
		Name: "soak", Abbr: "SK",
		Description: fmt.Sprintf("%d connections in sequence; then no open connection and free heap back within %d KiB (within %s)", conns, heapBound>>10, heapRelease),
		ServerNeeds: []framework.Feature{framework.FeatureConsole},
		Needs:       servesEcho,
		Timeout:     5 * time.Minute,
		Run: func(ctx context.Context, c *framework.Cell) error {
			b, err := board(c)
			if err != nil {
				return err
			}
			before, err := settledStatus(ctx, b)
			if err != nil {
				return fmt.Errorf("status before the soak: %w", err)
			}
			start := time.Now()
			for i := range conns {
				if _, err := echoOnce(ctx, c, framework.DialRequest{ALPN: EchoALPN, Size: 1 << 10, Count: 1}); err != nil {
					return fmt.Errorf("connection %d of %d: %w", i+1, conns, err)
				}
			}
			c.Record("connections_per_s", conns/time.Since(start).Seconds())
			// The board notices the last close a moment after the client: poll, bounded.
			var after framework.BoardStatus
			for {
				if after, err = b.Status(ctx); err != nil {
					return fmt.Errorf("status after the soak: %w", err)
				}
				if after.OpenConnections == 0 || ctx.Err() != nil {
					break
				}
				select {
				case <-ctx.Done():
				case <-time.After(200 * time.Millisecond):
				}
			}
			c.Notef("status before: %+v after: %+v", before, after)
			if after.OpenConnections != 0 {
				return fmt.Errorf("%d connections still open after the soak", after.OpenConnections)
			}
			if served := after.ConnectionsServed - before.ConnectionsServed; served < conns {
				return fmt.Errorf("the board counts %d connections served during the soak, want %d", served, conns)
			}
			if !c.ServerManifest().Has(framework.FeatureHeap) {
				c.Notef("%s declares no heap figures: heap bound not checked", c.ServerManifest().Name)
				return nil
			}
			if before.HeapFree == nil || after.HeapFree == nil {
				return fmt.Errorf("%s declares heap figures, but its STATUS has none (heap_free null): the leak bound cannot be checked", c.ServerManifest().Name)
			}
			// iroh keeps a closed connection's state for a while (tens of seconds on the virtual
			// board): a leak is heap that does not come back within heapRelease.
			c.Record("heap_free_before", float64(*before.HeapFree))
			c.Record("heap_free_after", float64(*after.HeapFree))
			ended := time.Now()
			for int64(*before.HeapFree)-int64(*after.HeapFree) > heapBound && time.Since(ended) < heapRelease && ctx.Err() == nil {
				select {
				case <-ctx.Done():
				case <-time.After(time.Second):
				}
				if after, err = b.Status(ctx); err != nil {
					return fmt.Errorf("status while the heap is released: %w", err)
				}
				if after.HeapFree == nil {
					return fmt.Errorf("%s stopped reporting heap figures", c.ServerManifest().Name)
				}
			}
			c.Record("heap_free_released", float64(*after.HeapFree))
			c.Record("heap_release_s", time.Since(ended).Seconds())
			if fell := int64(*before.HeapFree) - int64(*after.HeapFree); fell > heapBound {
				return fmt.Errorf("free heap fell from %d to %d bytes over %d connections and was not back within %d KiB %s later (bound %d)",
					*before.HeapFree, *after.HeapFree, conns, heapBound>>10, heapRelease, heapBound)
			}
			return nil
		},
	}
}

// acceptedLine is the board's console line for an accepted connection (iroh ESP32 examples).
var acceptedLine = regexp.MustCompile(`Accepted connection from [0-9a-f]{64}`)
