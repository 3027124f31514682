package board_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/irohconf/irohconf/hil/board"
	"github.com/irohconf/irohconf/hil/boardlines"
	"github.com/irohconf/irohconf/hil/profile"
)

// How a suite drives a board: open it from its profile, boot it, read its status, wait for a
// connection, close it.
func ExampleOpen() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	prof, err := profile.Load("fixtures/boards/virtual.yaml")
	if err != nil {
		fmt.Println(err)
		return
	}
	serialLog, err := os.Create("serial.log")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer serialLog.Close()

	b, err := board.Open(ctx, prof, serialLog)
	if err != nil {
		fmt.Println(err) // the case is an error: the test bed broke
		return
	}
	defer b.Close() // always: it stops the virtual board

	boot, err := b.Boot(ctx)
	if err != nil {
		fmt.Println(err) // a *console.CrashError or *console.TimeoutError quotes the log
		return
	}
	fmt.Println("dial", boot.Ticket, "expecting", boot.ID)

	if st, err := b.Status(ctx); errors.Is(err, board.ErrNoConsole) {
		fmt.Println("unsupported: no console on this firmware")
	} else if err == nil {
		fmt.Println("served", st.ConnectionsServed)
	}

	if m, err := b.Expect(ctx, boardlines.Accepted); err == nil {
		fmt.Println("accepted", m.Submatches[1])
	}
}
