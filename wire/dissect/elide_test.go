package dissect_test

import (
	"testing"

	"github.com/irohconf/irohconf/iroh/echo"
	"github.com/irohconf/irohconf/wire/dissect"
	"github.com/irohconf/irohconf/wire/wiretest"
)

// A capture longer than MaxFrames is dissected by its head and tail: the handshake and the
// client's close are still read, frames keep their numbers in the whole capture, and the middle
// left out is named.
func TestElidedMiddle(t *testing.T) {
	run := wiretest.Echo(t, wiretest.Options{Echo: echo.Options{Size: 1 << 20, Count: 1}})
	if run.DialErr != nil || run.EchoErr != nil {
		t.Fatal(run.Describe())
	}
	const max = 300
	res, err := dissect.Dissect(ctx(t), dissect.Input{Capture: run.Capture(), KeyLogs: run.KeyLogs(), MaxFrames: max})
	if err != nil {
		t.Fatal(err)
	}
	w, total := res.Wire, len(run.Records)
	if total <= max {
		t.Fatalf("the echo crossed in %d frames, not more than %d: nothing to elide", total, max)
	}
	if w.Elided == nil || w.Elided.From != max*2/3+1 || w.Elided.To != total-(max-max*2/3) || w.Elided.Count != total-max {
		t.Fatalf("elided %+v of %d frames, want the middle left out of %d", w.Elided, total, max)
	}
	if w.Frames != max || w.Undecrypted != 0 {
		t.Fatalf("%d frames dissected, %d undecrypted %v; want %d, all decrypted", w.Frames, w.Undecrypted, w.UndecryptedFrames, max)
	}
	c := w.Handshaken()
	if c == nil || c.Handshake.ALPN != echo.ALPN || !c.Handshake.ClientFinished {
		t.Fatalf("handshake not read from the head: %+v", c)
	}
	close := c.CloseBy(dissect.Client)
	if close == nil || close.Code != 0 {
		t.Fatalf("the client's close was not read from the tail: %+v", c.Closes)
	}
	if close.Frame <= w.Elided.To || close.Frame > total {
		t.Errorf("the close is frame %d; want its number in the whole capture (%d..%d)", close.Frame, w.Elided.To+1, total)
	}
}
