package peers

import (
	"context"
	"encoding/json"
	"io"
	"testing"
	"time"

	"github.com/irohconf/irohconf/peercontract"
	"github.com/irohconf/irohconf/suites/framework"
)

// A client with a fixed id (a board) dials a server many times: each wait for its connection is
// for the next one the server reports, not the first.
func TestWaitConnectionTakesEachConnectionOnce(t *testing.T) {
	tap := framework.NewTap("server", io.Discard)
	s := &contractServer{tap: tap, since: tap.Mark()}
	const board = "782f4d2f132762b880ea5570c5fceca55752f4c9ba6830b122eb97a8c00e2473"
	for _, c := range []peercontract.Connection{
		{Event: peercontract.EventConnection, RemoteID: board, ALPN: "echo/0", Bytes: 13, Streams: 1},
		{Event: peercontract.EventConnection, RemoteID: "aa" + board[2:], ALPN: "echo/0", Bytes: 7, Streams: 1},
		{Event: peercontract.EventConnection, RemoteID: board, ALPN: "echo/0", Bytes: 0, Streams: 1},
	} {
		line, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		tap.Write(append(line, '\n'))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for _, want := range []int64{13, 0} {
		c, err := s.WaitConnection(ctx, board)
		if err != nil || c.Bytes != want {
			t.Fatalf("connection with %d bytes, want %d (%v)", c.Bytes, want, err)
		}
	}
	if c, err := s.WaitConnection(ctx, "aa"+board[2:]); err != nil || c.Bytes != 7 {
		t.Errorf("another client's connection: %+v %v", c, err)
	}
	// A connection from before the cell began is not the cell's.
	line, _ := json.Marshal(peercontract.Connection{Event: peercontract.EventConnection, RemoteID: board, ALPN: "echo/0", Bytes: 99, Streams: 1})
	tap.Write(append(line, '\n'))
	s.CellStarted()
	short, cancel2 := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel2()
	if _, err := s.WaitConnection(short, board); err == nil {
		t.Error("a third connection from the board was found; there were two")
	}
}
