package framework

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	. "github.com/onsi/ginkgo/v2"

	"github.com/irohconf/irohconf/reports"
)

// runCell is one spec: it runs the case in its cell, decides the verdict, writes the cell's logs
// and report entry, and passes, skips or fails the spec as the verdict says.
func (m *Matrix) runCell(ctx SpecContext, k Case, client ClientPeer, server ServerPeer, srv Server,
	startErr error, clientLog, serverLog *Tap) {
	cname, sname := client.Manifest().Name, server.Manifest().Name
	start := time.Now()
	logDir, err := reports.CellLogDir(m.runDir, cname, sname, k.Name)
	if err != nil {
		Fail(fmt.Sprintf("error: cannot create the cell's log folder: %v", err))
	}
	cell := &Cell{Client: client, Server: srv, ServerPeer: server, ClientLog: clientLog, ServerLog: serverLog, LogDir: logDir}
	cmark, smark := clientLog.Mark(), serverLog.Mark()

	err = k.needs(client.Manifest(), server.Manifest())
	if err == nil {
		err = startErr
	}
	if err == nil {
		err = m.startCellWire(cell, k)
	}
	if err == nil {
		err = runCase(ctx, k, cell, srv)
	}
	if cell.wire != nil {
		if _, werr := cell.wire.finish(ctx); werr != nil {
			err = joinCellErrors(err, werr)
		}
	}
	v := decide(err, m.Expected, IdentityOf(client), IdentityOf(server), k.Name)

	if v.Note != "" {
		cell.Notef("%s", v.Note)
	}
	if v.Outcome != Unsupported {
		serverFile := "server.log"
		if _, isBoard := srv.(Board); isBoard {
			serverFile = "serial.log" // a board's output is its serial console
		}
		_ = clientLog.WriteFile(filepath.Join(logDir, "client.log"), cmark)
		_ = serverLog.WriteFile(filepath.Join(logDir, serverFile), smark)
	}
	_ = cell.writeNotes(v.Outcome, v.Reason)
	AddReportEntry(cellEntry, cellRecord(k, client, server, cell, v, start), ReportEntryVisibilityNever)

	switch {
	case v.Skip != "":
		Skip(v.Skip)
	case v.Fail != "":
		Fail(v.Fail)
	}
}

// runCase runs the case within its timeout and asks a server that can tell whether it crashed.
func runCase(ctx context.Context, k Case, cell *Cell, srv Server) error {
	if ca, ok := srv.(CellAware); ok {
		ca.CellStarted()
	}
	heap := openHeapWindows(ctx, cell, srv)
	cctx, cancel := context.WithTimeout(ctx, k.timeout())
	err := runProtected(cctx, k, cell)
	timedOut := cctx.Err() != nil && ctx.Err() == nil
	cancel()
	crashed := map[string]bool{}
	for _, side := range []struct {
		name string
		peer any
	}{{"server", srv}, {"client", cell.Client}} {
		if cw, ok := side.peer.(CrashWatcher); ok {
			crash := cw.Crashed()
			crashed[side.name] = crash != nil
			if crash != nil && err == nil {
				err = crash
			} else if crash != nil {
				err = fmt.Errorf("%w; and the %s crashed: %v", err, side.name, crash)
			}
		}
	}
	heap.record(ctx, cell, crashed)
	if err != nil && timedOut {
		err = fmt.Errorf("the case did not finish within %s: %w", k.timeout(), err)
	}
	return err
}

// runProtected turns a panic in a case into a failure of that cell.
func runProtected(ctx context.Context, k Case, cell *Cell) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("case %s panicked: %v", k.Name, r)
		}
	}()
	return k.Run(ctx, cell)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
