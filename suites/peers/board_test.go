package peers

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/irohconf/irohconf/suites/framework"
)

const boardClient = "3b6a27bcceb6a42d62a3a8d02a6f0d73653215771de243a63ac048a18b59da29"

// The board driver turns the console's lines of one connection into the contract's connection
// event, as they appear in the serial log (timestamp, ESP-IDF prefix, colours on a real board):
// an abnormal end is the event's error, so the server-side checks see it.
func TestBoardConnectionEvents(t *testing.T) {
	const stamp = "2026-12-01T17:00:00.000000Z | "
	for _, tc := range []struct {
		name    string
		lines   []string
		bytes   int64
		streams int
		err     string
	}{
		{"normal", []string{
			"I (41002) irohconf_fw: Accepted connection from " + boardClient,
			"I (41090) irohconf_fw: Copied over 12 byte(s)",
			"I (41095) irohconf_fw: Copied over 30 byte(s)",
			"I (41200) irohconf_fw: Connection closed",
		}, 42, 2, ""},
		{"idle timeout", []string{
			"I (41002) irohconf_fw: Accepted connection from " + boardClient,
			"\x1b[0;33mW (71002) irohconf_fw: Connection ended: timed out\x1b[0m",
			"I (71003) irohconf_fw: Connection closed",
		}, 0, 0, "connection ended: timed out"},
		{"stream failed", []string{
			"I (41002) irohconf_fw: Accepted connection from " + boardClient,
			"W (41100) irohconf_fw: Echo stream failed: reading the stream: connection lost",
			"W (41101) irohconf_fw: Connection ended: aborted by peer: the cryptographic handshake failed: error 80",
			"I (41102) irohconf_fw: Connection closed",
		}, 0, 1, "echo stream failed: reading the stream: connection lost; connection ended: aborted by peer"},
		{"other connections' lines are not this one's", []string{
			"I (41000) irohconf_fw: Accepted connection from " + strings.Repeat("ab", 32),
			"W (41001) irohconf_fw: Connection ended: timed out",
			"I (41001) irohconf_fw: Connection closed",
			"I (41002) irohconf_fw: Accepted connection from " + boardClient,
			"I (41090) irohconf_fw: Copied over 5 byte(s)",
			"I (41200) irohconf_fw: Connection closed",
		}, 5, 1, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tap := framework.NewTap("board", nil)
			s := &boardServer{tap: tap, since: tap.Mark()}
			for _, l := range tc.lines {
				tap.Printf("%s%s", stamp, l)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			ev, err := s.WaitConnection(ctx, boardClient)
			if err != nil {
				t.Fatal(err)
			}
			if ev.RemoteID != boardClient || ev.Bytes != tc.bytes || ev.Streams != tc.streams {
				t.Errorf("event %+v, want remote %s, %d bytes on %d streams", ev, boardClient, tc.bytes, tc.streams)
			}
			if tc.err == "" && ev.Error != "" || tc.err != "" && !strings.Contains(ev.Error, tc.err) {
				t.Errorf("event error %q, want %q", ev.Error, tc.err)
			}
			if strings.Contains(ev.Error, "\x1b") {
				t.Errorf("event error %q keeps a colour escape", ev.Error)
			}
		})
	}
}

// A connection the board accepted and never reported closed is an error once the wait ends.
func TestBoardConnectionNeverClosed(t *testing.T) {
	tap := framework.NewTap("board", nil)
	s := &boardServer{tap: tap, since: tap.Mark()}
	tap.Printf("I (41002) irohconf_fw: Accepted connection from %s", boardClient)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := s.WaitConnection(ctx, boardClient); err == nil || !strings.Contains(err.Error(), "did not report it closed") {
		t.Errorf("got %v, want an error saying the board did not report the connection closed", err)
	}
}
