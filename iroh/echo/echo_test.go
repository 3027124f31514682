package echo_test

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/irohconf/irohconf/iroh/echo"
	"github.com/irohconf/irohconf/iroh/endpoint"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const testTimeout = 20 * time.Second

func pair(t *testing.T, srv *echo.Server) (*endpoint.Conn, chan endpoint.Record) {
	t.Helper()
	recs := make(chan endpoint.Record, 4)
	s, err := endpoint.Listen(context.Background(), endpoint.Config{Handlers: srv.Handlers(echo.ALPN), OnConnection: func(r endpoint.Record) { recs <- r }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	cl, err := endpoint.Listen(context.Background(), endpoint.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cl.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	c, err := cl.Dial(ctx, s.ID(), s.Addr(), echo.ALPN, endpoint.DialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return c, recs
}

func record(t *testing.T, recs chan endpoint.Record) endpoint.Record {
	t.Helper()
	select {
	case r := <-recs:
		return r
	case <-time.After(testTimeout):
		t.Fatal("no record")
		return endpoint.Record{}
	}
}

// A client that neither opens a stream nor closes is given up on after CloseWait; the server
// then closes with code 0 as iroh's Router does when a handler returns.
func TestServerGivesUpOnASilentClient(t *testing.T) {
	c, recs := pair(t, &echo.Server{CloseWait: 300 * time.Millisecond})
	r := record(t, recs)
	if r.Err == nil || !strings.Contains(r.Err.Error(), "neither opened a stream nor closed") {
		t.Errorf("server error %v", r.Err)
	}
	select {
	case <-c.Context().Done():
	case <-time.After(testTimeout):
		t.Fatal("the client's connection stayed open")
	}
	if ci := endpoint.CloseInfoOf(context.Cause(c.Context())); !ci.Normal() || !ci.Remote {
		t.Errorf("client saw %+v, want code 0 from the server", ci)
	}
}

// A stream the client abandons is an error on the server's record.
func TestServerReportsAResetStream(t *testing.T) {
	c, recs := pair(t, &echo.Server{CloseWait: testTimeout})
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	st, err := c.OpenStream(ctx)
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte("half a message")
	if _, err := st.Write(msg); err != nil {
		t.Fatal(err)
	}
	// The echo of what was sent so far proves the server is copying stream 0.
	back := make([]byte, len(msg))
	if _, err := io.ReadFull(st, back); err != nil {
		t.Fatal(err)
	}
	st.CancelWrite(7)
	// Whether the server meets the reset or the close first, its copy of stream 0 fails.
	_ = c.Close(0, echo.CloseReason)
	r := record(t, recs)
	if r.Err == nil || !strings.Contains(r.Err.Error(), "stream 0") {
		t.Errorf("server error %v, want the reset stream", r.Err)
	}
}

func TestRunRejectsNegativeOptions(t *testing.T) {
	if _, err := echo.Run(context.Background(), nil, echo.Options{Size: -1}); err == nil {
		t.Error("a negative size was accepted")
	}
}

// Echo fails, naming the byte, when the server answers something else: here a server that
// answers every stream with a fixed text.
func TestEchoChecksTheReply(t *testing.T) {
	liar := endpoint.HandlerFunc(func(ctx context.Context, c *endpoint.Conn) error {
		st, err := c.AcceptStream(ctx)
		if err != nil {
			return err
		}
		buf := make([]byte, 64)
		for {
			if _, err := st.Read(buf); err != nil {
				break
			}
		}
		_, _ = st.Write([]byte("Hello, World!"))
		_ = st.Close()
		<-c.Context().Done()
		return nil
	})
	s, err := endpoint.Listen(context.Background(), endpoint.Config{Handlers: map[string]endpoint.Handler{echo.ALPN: liar}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	cl, err := endpoint.Listen(context.Background(), endpoint.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	c, err := cl.Dial(ctx, s.ID(), s.Addr(), echo.ALPN, endpoint.DialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(0, "")
	_, err = echo.Echo(ctx, c, []byte("Hello, world!"))
	if err == nil || !strings.Contains(err.Error(), "differs at byte 7") {
		t.Errorf("Echo: %v, want a difference at byte 7", err)
	}
}
